"""Likelihood ratios on the EFT-morphing simulator family: skhep_ml vs madminer and sbi.

Draws of :func:`skhep_ml.datasets.make_simulator_family` (1 to 3 parameters:
interference, squared-only (sign degeneracy) and rate (boundary at 0) kinds;
exact joint ratio, joint score, marginal likelihood, Fisher information and
expected −2Δlog L) side by side in one process, at the same training rows,
network (two hidden layers of 64 tanh units), epochs, batch size and learning
rate:

* ``skhep_ml auto``: :class:`~skhep_ml.ALICERatioEstimator` with its defaults
  (``loss="auto"``: ALICES, as the joint score is passed);
* ``skhep_ml carl``: the same estimator with ``loss="carl"``;
* ``madminer alices``: madminer's ``ParameterizedRatioEstimator`` with
  ``method="alices"``, ``alpha=0.1`` and the joint score clipped at ±20
  (the settings of ``bench_ratio.py``), its amsgrad and learning-rate decay
  to ``lr/10``; ``madminer carl`` likewise.

* ``sbi nre_a`` / ``sbi nre_c``: sbi's neural ratio estimation (NRE-A,
  Hermans et al. 2020; NRE-C, Miller et al. 2022) as sbi's documentation
  sets it up: a ``BoxUniform`` prior on the box, its default classifier
  (``"resnet"``, 50 hidden features, z-scored inputs) and ``train()``
  defaults (batch 200, lr 5e-4, early stopping after 20 epochs without
  validation improvement; NRE-C with ``num_classes=5``, ``gamma=1``), capped
  at ``10 × --epochs`` epochs; trained on as many simulations ``(θ, x)``
  (θ from the prior) as the other methods have training rows. Its
  ``log r(x, θ) = log p(x|θ)/p(x)`` (up to a constant) gives the ratio to
  θ_1 as ``log r(x, θ) - log r(x, θ_1)``. sbi is an optional peer (the
  ``bench`` extra); it can live outside the environment on ``PYTHONPATH``.

The ``skhep_ml`` variants of one fit share it (``auto``, ``auto-raw``,
``auto-norm``); their regions differ only in the normalisation of
:meth:`~skhep_ml.ALICERatioEstimator.log_ratio_grid`: ``auto`` its default
(the training rows from θ_1), ``-raw`` none (``x_reference=None``),
``-norm`` ``N_REFERENCE`` fresh events at θ_1.

Per draw and method:

* ``mse``: MSE of ``log r̂(x|θ, θ_ref)`` against the exact one on 20 000
  held-out rows of ``make_training`` (θ uniform in the box);
* the expected 68 % / 95 % regions for ``N_EVENTS`` events at the draw's
  ``theta_true``: ``q̂`` is ``N_EVENTS`` × the mean of ``log r̂`` over events
  simulated there, the truth the exact Asimov curve
  (:meth:`~skhep_ml.datasets.MorphingSimulator.expected_q`), both on a grid of
  the box (201, 31², 11³ points), regions ``q ≤ χ²_k``: ``iou68``/``iou95``
  (intersection over union on the grid), ``area68`` (area of the learned
  region over the true one), ``mle_dist`` (grid argmin of ``q̂`` to that of
  ``q``, in units of the box width); the tables of goals add
  ``area68_off = |area68 - 1|``;
* coverage (skhep_ml rows and the exact likelihood): the fraction of
  ``N_PSEUDO`` pseudo-experiments of ``N_EVENTS`` events at ``theta_true``
  whose region contains it (:func:`~skhep_ml.ratio.coverage`, on a coarser
  grid: 61, 15², 7³ points), with Wilks' threshold (``cov68``, ``cov95``)
  and with thresholds calibrated on independent pseudo-experiments
  (:func:`~skhep_ml.ratio.calibrated_thresholds`, ``cal68``, ``cal95``);
* ``seconds``: fit wall-clock (after a warm-up fit per library).

``--fisher`` instead compares the Fisher information at ``theta_true`` of
:class:`~skhep_ml.ratio.SALLYTransformer` and madminer's ``ScoreEstimator``
(``method="sally"``), both trained on the joint score of events simulated
there, with the exact one (relative Frobenius error).

Run (full size; sbi from the ``bench`` extra or on ``PYTHONPATH``)::

    OMP_NUM_THREADS=1 python benchmarks/bench_ratio_family.py --draws 10 \
        --sizes 1000,10000,100000 --methods "skhep_ml auto,skhep_ml auto-raw,\
    skhep_ml auto-norm,skhep_ml carl,madminer alices,madminer carl,sbi nre_a,sbi nre_c"
    OMP_NUM_THREADS=1 python benchmarks/bench_ratio_family.py --fisher --sizes 100000

The page goes to ``docs/benchmarks/ratio_family.rst`` (``--fisher``:
``ratio_fisher.inc``, included by it); ``--smoke`` runs it end to end in
seconds.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import itertools
import logging
import pathlib
import time
import warnings

import numpy as np
import runner
import torch
from _common import DOCS_BENCH, rst_table
from runner import Method, Problem
from scipy.stats import chi2

from skhep_ml import ALICERatioEstimator
from skhep_ml.datasets import make_simulator_family
from skhep_ml.ratio import (
    CalibratedRatio,
    SALLYTransformer,
    calibrated_thresholds,
    coverage,
    likelihood_profile,
)

N_EVENTS = 100
N_PSEUDO = 200
ALPHA = 0.1
CLIP = 20.0
HIDDEN = (64, 64)
ACTIVATION = "tanh"
LEVELS = (0.68, 0.95)
#: grid points per parameter for the expected regions / for coverage
GRID_POINTS = {1: 201, 2: 31, 3: 11}
COVERAGE_POINTS = {1: 61, 2: 15, 3: 7}
#: events per θ of CalibratedRatio ("-cal" variants)
N_CALIBRATION = 2000
#: reference events normalising the ratio ("-norm" variants)
N_REFERENCE = 20_000
DOCS = DOCS_BENCH / "ratio_family.rst"
FISHER = DOCS.with_name("ratio_fisher.inc")
#: the hand-written reading of the numbers, included after the tables
NOTES = DOCS.with_name("ratio_family_notes.inc")


def box_grid(sim, points):
    axes = [np.linspace(lo, hi, points) for lo, hi in sim.theta_bounds]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, sim.n_theta)


def nearest_grid_point(grid, theta):
    """The grid with its row nearest to ``theta`` replaced by ``theta``."""
    grid = grid.copy()
    grid[np.argmin(((grid - theta) ** 2).sum(1))] = theta
    return grid


def family_problem(seed, n_asimov, kinds=None):
    sim = make_simulator_family(seed, kinds=kinds)
    grid = box_grid(sim, GRID_POINTS[sim.n_theta])
    X_test, *_ = sim.make_training(20_000, random_state=10_000 + seed)
    x_asimov, _ = sim.sample(n_asimov, sim.theta_true, random_state=20_000 + seed)
    q_exact = sim.expected_q(grid, n_events=N_EVENTS)
    return Problem(
        f"family_{sim.n_theta}d",
        draw=seed,
        data=dict(sim=sim, grid=grid, X_test=X_test, x_asimov=x_asimov),
        truth=dict(
            log_r=sim.log_ratio(X_test[:, : sim.n_x], X_test[:, sim.n_x :]),
            q=q_exact,
        ),
    )


# ------------------------------------------------------------------ methods
#: the last skhep_ml fit, shared by the variants that differ only after it
_FIT_CACHE: dict = {}


def train_skhep(method, X, y, r, t, *, epochs, batch_size, lr, seed):
    """``(seconds, estimator)`` of the fit behind ``method`` (cached: last one)."""
    loss = "carl" if method.startswith("carl") else "auto"
    wide, long = "wide" in method, "long" in method
    key = (loss, wide, long, len(X), X[:3].tobytes(), epochs, batch_size, lr, seed)
    if key in _FIT_CACHE:
        return _FIT_CACHE[key]
    est = ALICERatioEstimator(
        loss=loss,
        alpha=ALPHA,
        score_clip=CLIP,
        hidden_layer_sizes=(128, 128) if wide else HIDDEN,
        activation=ACTIVATION,
        max_epochs=3 * epochs if long else epochs,
        batch_size=batch_size,
        lr=lr,
        random_state=seed,
    )
    t0 = time.perf_counter()
    est.fit(X, y, joint_ratio=r, joint_score=t)
    _FIT_CACHE.clear()
    _FIT_CACHE[key] = (time.perf_counter() - t0, est)
    return _FIT_CACHE[key]


def fit_skhep(method, sim, X, y, r, t, *, epochs, batch_size, lr, seed):
    seconds, est = train_skhep(
        method, X, y, r, t, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed
    )
    log_ratio_grid = est.log_ratio_grid  # normalised by the training θ_1 rows
    if "raw" in method:
        log_ratio_grid = functools.partial(est.log_ratio_grid, x_reference=None)
    if "norm" in method:
        # normalised at every θ by N_REFERENCE fresh events at the reference
        x_ref, _ = sim.sample(N_REFERENCE, sim.theta_ref, random_state=seed + 99)
        log_ratio_grid = functools.partial(est.log_ratio_grid, x_reference=x_ref)
    if method.endswith("cal"):
        # CARL's calibration per grid θ (the MSE column stays uncalibrated:
        # its rows have 20 000 distinct θ)
        log_ratio_grid = CalibratedRatio(
            log_ratio_grid,
            lambda th, n, rng: sim.sample(n, th, random_state=rng)[0],
            theta_ref=sim.theta_ref,
            n_calibration=N_CALIBRATION,
            random_state=seed,
        ).log_ratio_grid
    return seconds, est.predict_log_ratio, log_ratio_grid


class _NoTracker:
    """sbi's tracker protocol, logging nothing (no ``sbi-logs`` directory)."""

    log_dir = None

    def log_metric(self, name, value, step=None):
        pass

    def log_metrics(self, metrics, step=None):
        pass

    def log_params(self, params):
        pass

    def add_figure(self, name, figure, step=None):
        pass

    def flush(self):
        pass


def grid_of(predict):
    """``log_ratio_grid(x, grid)`` -> (n_grid, n_x) from a row-wise ``predict``
    of ``[x, theta]`` rows (the peers' counterpart of the estimator's method)."""

    def log_ratio_grid(x, grid):
        rows = np.column_stack(
            [np.tile(x, (len(grid), 1)), np.repeat(grid, len(x), axis=0)]
        )
        return predict(rows).reshape(len(grid), len(x))

    return log_ratio_grid


def fit_sbi(method, sim, X, y, r, t, *, epochs, batch_size, lr, seed):
    """sbi's NRE-A / NRE-C at its documented defaults on ``len(X)`` simulations."""
    from sbi.inference import NRE_A, NRE_C
    from sbi.utils import BoxUniform

    n_x = sim.n_x
    # as many (θ, x) simulations, θ from the prior, as the other methods' rows
    Xs, ys, *_ = sim.make_training(2 * len(X), random_state=seed + 5)
    sims = Xs[ys == 0][: len(X)]
    theta = torch.as_tensor(sims[:, n_x:], dtype=torch.float32)
    x = torch.as_tensor(sims[:, :n_x], dtype=torch.float32)
    lo, hi = (torch.as_tensor(b, dtype=torch.float32) for b in sim.theta_bounds.T)
    prior = BoxUniform(lo, hi)
    trainer = {"nre_a": NRE_A, "nre_c": NRE_C}[method]
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    inference = trainer(prior=prior, tracker=_NoTracker(), show_progress_bars=False)
    net = inference.append_simulations(theta, x).train(max_num_epochs=10 * epochs)
    seconds = time.perf_counter() - t0
    net.eval()
    theta_ref = torch.as_tensor(sim.theta_ref, dtype=torch.float32)

    def logits(xb, thb):
        with torch.no_grad():
            return net(thb, xb).double().numpy()

    def predict(Xq):
        out = []
        for s in range(0, len(Xq), 65536):
            b = torch.as_tensor(Xq[s : s + 65536], dtype=torch.float32)
            xb, thb = b[:, :n_x], b[:, n_x:]
            out.append(logits(xb, thb) - logits(xb, theta_ref.expand(len(b), -1)))
        return np.concatenate(out)

    return seconds, predict, grid_of(predict)


def fit_madminer(method, sim, X, y, r, t, *, epochs, batch_size, lr, seed):
    from madminer.ml import ParameterizedRatioEstimator

    n_x = sim.n_x
    est = ParameterizedRatioEstimator(n_hidden=HIDDEN, activation=ACTIVATION)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    est.train(
        method=method,
        x=X[:, :n_x],
        y=y[:, None],
        theta=X[:, n_x:],
        r_xz=r[:, None],
        t_xz=np.clip(t, -CLIP, CLIP),
        alpha=ALPHA,
        n_epochs=epochs,
        batch_size=batch_size,
        initial_lr=lr,
        final_lr=lr / 10,
        validation_split=None,
        early_stopping=False,
        verbose="none",
        n_workers=0,
    )
    seconds = time.perf_counter() - t0

    # madminer's own scalings, then batched calls of its model (its
    # evaluate_* helpers build inputs row by row, ~100x slower)
    def predict(Xq):
        out = []
        est.model.eval()
        for s in range(0, len(Xq), 65536):
            b = Xq[s : s + 65536]
            x_s = torch.as_tensor(
                est._transform_inputs(b[:, :n_x]), dtype=torch.float32
            )
            th_s = torch.as_tensor(
                est._transform_parameters(b[:, n_x:]), dtype=torch.float32
            )
            with torch.no_grad():
                _, log_r, _ = est.model(th_s, x_s, track_score=False)
            out.append(log_r[:, 0].double().numpy())
        return np.concatenate(out)

    return seconds, predict, grid_of(predict)


LIBRARIES = {"skhep_ml": fit_skhep, "madminer": fit_madminer, "sbi": fit_sbi}


def region_metrics(q_hat, q, grid, sim):
    k = sim.n_theta
    out = {}
    for cl in LEVELS:
        t = chi2.ppf(cl, k)
        a, b = q_hat <= t, q <= t
        tag = f"{round(100 * cl)}"
        out[f"iou{tag}"] = float((a & b).sum() / max((a | b).sum(), 1))
        out[f"area{tag}"] = float(a.sum() / max(b.sum(), 1))
    width = np.diff(sim.theta_bounds, axis=1)[:, 0]
    d = (grid[np.argmin(q_hat)] - grid[np.argmin(q)]) / width
    out["mle_dist"] = float(np.linalg.norm(d))
    if k > 1:
        # θ_0 alone, the others profiled out: its 68 % interval on the grid
        prof_hat = likelihood_profile(
            -0.5 * q_hat[:, None], grid, n_events=1, parameters_of_interest=[0]
        )
        prof = likelihood_profile(
            -0.5 * q[:, None], grid, n_events=1, parameters_of_interest=[0]
        )
        a, b = prof_hat.regions[0.68], prof.regions[0.68]
        out["iou68_prof"] = float((a & b).sum() / max((a | b).sum(), 1))
    return out


def coverage_metrics(log_ratio_grid, sim, seed):
    grid = nearest_grid_point(
        box_grid(sim, COVERAGE_POINTS[sim.n_theta]), sim.theta_true
    )

    def simulate(theta, n, rng):
        return sim.sample(n, theta, random_state=rng)[0]

    kw = dict(n_events=N_EVENTS, confidence_levels=LEVELS)
    cal = calibrated_thresholds(
        log_ratio_grid,
        simulate,
        grid,
        theta_test=sim.theta_true[None],
        n_toys=N_PSEUDO,
        random_state=seed + 1,
        **kw,
    )
    at_truth = {cl: float(v[0]) for cl, v in cal.thresholds.items()}
    wilks = coverage(
        log_ratio_grid,
        simulate,
        grid,
        sim.theta_true,
        n_pseudo=N_PSEUDO,
        random_state=seed,
        **kw,
    )
    q = wilks.q_true
    out = {}
    for cl in LEVELS:
        tag = f"{round(100 * cl)}"
        out[f"cov{tag}"] = wilks.coverage[cl]
        out[f"cal{tag}"] = float(np.mean(q <= at_truth[cl]))
    return out


def make_methods(names, args):
    kw = dict(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)

    def method(name, warmup):
        lib, loss = name.split(" ")
        fit = LIBRARIES[lib]

        def fn(problem, n, seed):
            d = problem.data
            sim = d["sim"]
            X, y, r, t = sim.make_training(n, random_state=1000 * problem.draw + 7)
            seconds, predict, log_ratio_grid = fit(
                loss, sim, X, y, r, t, **kw, seed=seed
            )
            mse = float(np.mean((predict(d["X_test"]) - problem.truth["log_r"]) ** 2))
            lr_grid = log_ratio_grid(d["x_asimov"], d["grid"])
            q_hat = N_EVENTS * lr_grid.mean(1)
            q_hat = 2 * (q_hat.max() - q_hat)
            out = dict(mse=mse, seconds=seconds)
            out.update(region_metrics(q_hat, problem.truth["q"], d["grid"], sim))
            if lib == "skhep_ml" and not args.no_coverage:
                out.update(coverage_metrics(log_ratio_grid, sim, seed))
            return out

        return Method(name, fn, warmup=warmup)

    def exact(problem, n, seed):
        sim = problem.data["sim"]
        return coverage_metrics(sim.log_ratio_grid, sim, seed)

    def warmup(lib):
        sim = make_simulator_family(0)
        Xw, yw, rw, tw = sim.make_training(512, random_state=0)
        warm = dict(epochs=2, batch_size=args.batch_size, lr=args.lr, seed=0)
        losses = ("nre_a", "nre_c") if lib == "sbi" else ("carl", "alices")
        return lambda: [LIBRARIES[lib](m, sim, Xw, yw, rw, tw, **warm) for m in losses]

    out, warmed = [], set()
    for name in names:
        lib = name.split(" ")[0]
        if importlib.util.find_spec(lib) is None:
            print(f"{name}: {lib} is not installed, left out", flush=True)
            continue
        out.append(method(name, None if lib in warmed else warmup(lib)))
        warmed.add(lib)
    if not args.no_coverage and not args.no_exact:
        out.append(Method("exact likelihood", exact))
    return out


# -------------------------------------------------------------- Fisher info
def fisher_methods(args):
    kw = dict(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)

    def fn_for(lib):
        def fn(problem, n, seed):
            sim = problem.data["sim"]
            theta = sim.theta_true
            x, z = sim.sample(n, theta, random_state=1000 * problem.draw + 3)
            t = sim.joint_score(x, z, theta)
            x_eval = problem.data["x_asimov"]
            t0 = time.perf_counter()
            if lib == "skhep_ml":
                est = SALLYTransformer(
                    hidden_layer_sizes=HIDDEN,
                    activation=ACTIVATION,
                    max_epochs=kw["epochs"],
                    batch_size=kw["batch_size"],
                    lr=kw["lr"],
                    random_state=seed,
                ).fit(x, t)
                seconds = time.perf_counter() - t0
                info = est.fisher_information(x_eval)
            else:
                from madminer.ml import ScoreEstimator

                est = ScoreEstimator(n_hidden=HIDDEN, activation=ACTIVATION)
                torch.manual_seed(seed)
                est.train(
                    method="sally",
                    x=x,
                    t_xz=t,
                    n_epochs=kw["epochs"],
                    batch_size=kw["batch_size"],
                    initial_lr=kw["lr"],
                    final_lr=kw["lr"] / 10,
                    validation_split=None,
                    early_stopping=False,
                    verbose="none",
                    n_workers=0,
                )
                seconds = time.perf_counter() - t0
                t_hat = est.evaluate_score(x_eval)
                t_hat = t_hat[0] if isinstance(t_hat, tuple) else t_hat
                info = np.einsum("ni,nj->ij", t_hat, t_hat) / len(t_hat)
            exact = sim.fisher_information(theta)
            err = np.linalg.norm(info - exact) / np.linalg.norm(exact)
            return dict(fisher_err=float(err), seconds=seconds)

        return fn

    return [Method(f"{lib} sally", fn_for(lib)) for lib in ("skhep_ml", "madminer")]


# -------------------------------------------------------------------- page
def metric_distribution(records, method, metric, goal=None, higher=False):
    values = [r[metric] for r in records if r["method"] == method and metric in r]
    d = runner.distribution(values, higher, goal)
    return dict(
        method=method,
        metric=metric,
        draws=d["n"],
        median=d["median"],
        worst_decile=d["worst_decile"],
        worst=d["worst"],
        goal="" if goal is None else f"{'>=' if higher else '<='} {goal:.3g}",
        met=f"{d['met']}/{d['n']}" if goal is not None else "",
    )


def _table(rows, columns, **kw):
    """``rst_table``, or a line saying there is nothing to compare."""
    return rst_table(rows, columns, **kw) if rows else "(no pairs of methods)"


def ratio_rows(records):
    specs = [
        runner.Ratio(
            "MSE: skhep_ml auto / best madminer",
            "mse",
            "skhep_ml auto",
            ("madminer alices", "madminer carl"),
            goal=0.5,
        ),
        runner.Ratio(
            "MSE: skhep_ml auto / best sbi",
            "mse",
            "skhep_ml auto",
            ("sbi nre_a", "sbi nre_c"),
        ),
        runner.Ratio(
            "fit s: skhep_ml auto / madminer alices",
            "seconds",
            "skhep_ml auto",
            "madminer alices",
            goal=1 / 3,
        ),
        runner.Ratio(
            "fit s: skhep_ml carl / madminer carl",
            "seconds",
            "skhep_ml carl",
            "madminer carl",
            goal=1 / 3,
        ),
    ]
    rows = []
    for n in sorted({r["budget"] for r in records}):
        at_n = [r for r in records if r["budget"] == n]
        for row in runner.distribution_rows(at_n, specs):
            if row["draws"]:
                rows.append({**row, "ratio": f"{row['ratio']} (n = {n:,})"})
    return rows


def page(records, args, command):
    # |area ratio - 1| of the 68 % region (goal: within 20 %)
    records = [
        {**r, "area68_off": abs(r["area68"] - 1)} if "area68" in r else r
        for r in records
    ]
    cols = ["problem", "draw", "budget", "method", "mse", "iou68", "iou95"]
    cols += ["area68", "iou68_prof", "mle_dist", "cov68", "cov95", "cal68", "cal95"]
    cols += ["seconds"]
    lines = [
        args.title,
        "=" * len(args.title),
        "",
        "Written by ``benchmarks/bench_ratio_family.py`` (its docstring defines",
        "every column). Command::",
        "",
        f"    {command}",
        "",
        f"{len({r['draw'] for r in records})} draws, {N_EVENTS} events for the",
        f"regions, {N_PSEUDO} pseudo-experiments for coverage. Timings measured",
        "under load (a 2-core machine shared by several sessions).",
        "",
        "Per draw",
        "--------",
        "",
        rst_table(records, cols, floatfmt=".3g"),
        "",
        "Distributions over the draws",
        "----------------------------",
        "",
        _table(
            ratio_rows(records),
            ["ratio", "better", "draws", *runner.DISTRIBUTION_COLUMNS],
            floatfmt=".3g",
        ),
        "",
    ]
    goals = []
    for n, dims in itertools.product(sorted({r["budget"] for r in records}), (1, 2, 3)):
        sub = [
            r for r in records if r["problem"] == f"family_{dims}d" and r["budget"] == n
        ]
        if not sub:
            continue
        where = f"({dims}-d, n = {n:,})"
        for m in (
            "skhep_ml auto",
            "skhep_ml auto-raw",
            "skhep_ml auto-norm",
            "madminer alices",
            "sbi nre_c",
        ):
            for metric, goal, higher in (
                ("iou68", 0.8 if dims > 1 else None, True),
                ("area68", None, False),
                ("area68_off", 0.2 if dims > 1 else None, False),
                ("mle_dist", None, False),
            ):
                row = metric_distribution(sub, m, metric, goal, higher)
                row["method"] = f"{m} {where}"
                if row["draws"]:
                    goals.append(row)
        for m in (
            "skhep_ml auto",
            "skhep_ml auto-raw",
            "skhep_ml auto-norm",
            "exact likelihood",
        ):
            for metric in ("cov68", "cov95", "cal68", "cal95"):
                row = metric_distribution(sub, m, metric)
                row["method"] = f"{m} {where}"
                if row["draws"]:
                    goals.append(row)
    lines += [
        _table(
            goals,
            ["method", "metric", "draws", *runner.DISTRIBUTION_COLUMNS],
            floatfmt=".3g",
        ),
        "",
    ]
    return "\n".join(lines)


def fisher_page(records, command):
    lines = [
        "Fisher information of SALLY",
        "~~~~~~~~~~~~~~~~~~~~~~~~~~~",
        "",
        "Command::",
        "",
        f"    {command}",
        "",
        rst_table(
            records,
            ["problem", "draw", "budget", "method", "fisher_err", "seconds"],
            floatfmt=".3g",
        ),
        "",
        rst_table(
            [
                {
                    **metric_distribution(
                        [r for r in records if r["budget"] == n], m, "fisher_err", 0.1
                    ),
                    "method": f"{m} (n = {n:,})",
                }
                for n in sorted({r["budget"] for r in records})
                for m in ("skhep_ml sally", "madminer sally")
            ],
            ["method", "metric", "draws", *runner.DISTRIBUTION_COLUMNS],
            floatfmt=".3g",
        ),
        "",
    ]
    return "\n".join(lines)


def includes():
    """The Fisher-information table and the notes, where they exist."""
    return "".join(f"\n.. include:: {p.name}\n" for p in (FISHER, NOTES) if p.exists())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--first-draw", type=int, default=0)
    parser.add_argument("--sizes", type=str, default="10000")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--methods",
        type=str,
        default="skhep_ml auto,skhep_ml carl,madminer alices,madminer carl,"
        "sbi nre_a,sbi nre_c",
        help="comma-separated; skhep_ml also has auto-wide (128, 128), "
        "auto-long (3x epochs), auto-cal (CalibratedRatio on the grid), "
        "auto-raw (log_ratio_grid unnormalised), auto-norm (normalised by "
        "20 000 fresh reference events); sbi nre_a, sbi nre_c",
    )
    parser.add_argument(
        "--kinds",
        type=str,
        default=None,
        help="fix the kinds, e.g. interference,squared",
    )
    parser.add_argument("--grid-points", type=int, default=None, help="per parameter")
    parser.add_argument("--out", type=str, default=None)
    parser.add_argument(
        "--from-json",
        type=str,
        default=None,
        help="render the page from the records of an earlier (or interrupted) run",
    )
    parser.add_argument(
        "--title", type=str, default="Likelihood ratios on the simulator family"
    )
    parser.add_argument(
        "--command", type=str, default=None, help="the command shown on the page"
    )
    parser.add_argument("--no-coverage", action="store_true")
    parser.add_argument("--no-exact", action="store_true", help="no exact rows")
    parser.add_argument(
        "--merge", action="store_true", help="add the records to the existing JSON"
    )
    parser.add_argument("--fisher", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    logging.getLogger("madminer").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    command = "OMP_NUM_THREADS=1 python benchmarks/bench_ratio_family.py " + " ".join(
        argv if argv is not None else __import__("sys").argv[1:]
    )
    if args.smoke:
        args.draws, args.sizes, args.epochs = 1, "400", 1
        global N_PSEUDO, GRID_POINTS, COVERAGE_POINTS
        N_PSEUDO, GRID_POINTS, COVERAGE_POINTS = (
            20,
            {1: 11, 2: 5, 3: 3},
            {
                1: 11,
                2: 5,
                3: 3,
            },
        )
    if args.command:
        command = args.command
    if args.from_json:
        records = runner.load(args.from_json)[1]
        fisher = any("fisher_err" in r for r in records)
        default = FISHER if fisher else DOCS
        out = pathlib.Path(args.out) if args.out else default
        text = fisher_page(records, command) if fisher else page(records, args, command)
        if not fisher and out == DOCS:
            text += includes()
        out.write_text(text)
        print(text)
        return
    out_dir = runner.output_dir(args.smoke)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    draws = range(args.first_draw, args.first_draw + args.draws)
    if args.grid_points:
        GRID_POINTS.update(dict.fromkeys(GRID_POINTS, args.grid_points))
    kinds = tuple(args.kinds.split(",")) if args.kinds else None
    n_asimov = 500 if args.smoke else 3000
    problems = [family_problem(s, n_asimov, kinds) for s in draws]

    def log(r):
        keys = ("mse", "iou68", "area68", "cov68", "cal68", "fisher_err", "seconds")
        vals = " ".join(f"{k}={r[k]:.3g}" for k in keys if k in r)
        print(f"{r['problem']} draw {r['draw']} {r['method']}: {vals}", flush=True)

    if args.fisher:
        out = (out_dir / FISHER.name) if args.smoke else FISHER
        records = runner.run(
            problems,
            fisher_methods(args),
            sizes,
            log=log,
            out=None if args.no_write else out.with_suffix(".json"),
        )
        text = fisher_page(records, command)
    else:
        out = (out_dir / DOCS.name) if args.smoke else DOCS
        out = pathlib.Path(args.out) if args.out else out
        records = runner.run(
            problems,
            make_methods(args.methods.split(","), args),
            sizes,
            log=log,
            out=None if args.no_write else out.with_suffix(".json"),
            merge=args.merge,
        )
        text = page(records, args, command)
        if not args.smoke and out == DOCS:
            text += includes()
    print(text)
    if not args.no_write:
        pathlib.Path(out).write_text(text)
        print(f"written to {out}")


if __name__ == "__main__":
    main()
