"""ActiveScanner vs random sampling, emcee, dynesty and an MLscanner-style loop.

Problems are draws of :func:`~skhep_ml.datasets.make_scan_family` (seed =
draw; kinds, dimensions, boxes and pieces by seed, exact truth), plus the 3-d
cosine toy of arXiv:2207.09959 on ``[-10π, 10π]^3`` (13 pieces). Every method
runs until it has ``N`` in-target points (or its call budget) and reports, per
draw: the calls to ``N`` in-target points, the efficiency per iteration, the
coverage of the truth's mass by the first ``N`` found points over the ideal
(as many points drawn from the truth), and for the surrogate methods the
recall and precision of their in-target calls on held-out truth points.
Writes ``docs/benchmarks/scan.rst`` (records in ``scan.json``).

``python benchmarks/bench_scan.py`` is the full run (20 draws, N = 5,000, the
scanner's defaults); ``--draws``, ``--n-target`` and ``--reduced`` (smaller
design, iterations and candidate sets for every method) size it down;
``--smoke`` checks the script end to end in seconds.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
import warnings

import numpy as np
import runner
import torch
from _common import rst_table
from runner import Method, Problem

from skhep_ml import ActiveScanner
from skhep_ml.datasets import (
    TruthClusters,
    ideal_coverage,
    make_scan_family,
    scan_coverage,
    surrogate_recall_precision,
)
from skhep_ml.datasets.scan_family import ScanRegion

#: the methods, in the order they run on a draw
METHODS = ("random", "emcee", "dynesty", "MLscanner-GBM", "ActiveScanner")


class CosineToy(ScanRegion):
    """O = [2 + cos(x1/7) cos(x2/7) cos(x3/7)]^5 in 100 ± 20 over [-10π, 10π]^3.

    Exact membership from the formula; the truth is drawn by rejection from the
    box (7 % accepted) and the 13 pieces are labelled by the connected
    components of a fine grid of the region.
    """

    kind = "cosine"

    def __init__(self):
        super().__init__([[-10 * np.pi, 10 * np.pi]] * 3, (80.0, 120.0), "cosine3d")
        g = 121
        axis = np.linspace(0.0, 1.0, g)
        U = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
        from scipy.ndimage import label

        self._grid_n = g
        inside = self._inside_unit(U).reshape(g, g, g)
        self._labels, _ = label(inside)
        counts = np.bincount(self._labels.ravel())[1:]
        self.piece_shares = counts / counts.sum()
        self.volume_fraction = float(inside.mean())

    def _value(self, U):
        X = self.from_unit(U)
        c = np.cos(X / 7.0).prod(axis=1)
        return (2.0 + c) ** 5

    def _piece(self, U):
        idx = np.clip(np.rint(U * (self._grid_n - 1)).astype(int), 0, self._grid_n - 1)
        lab = self._labels[idx[:, 0], idx[:, 1], idx[:, 2]] - 1
        # a point off the grid's region (at an edge): the nearest labelled cell
        return np.maximum(lab, 0)

    def _sample_unit(self, n, rng):
        out, have = [], 0
        while have < n:
            U = rng.random((200_000, 3))
            U = U[self._inside_unit(U)]
            out.append(U)
            have += len(U)
        return np.vstack(out)[:n]


class Counted:
    """An objective that counts its calls and keeps the in-target points."""

    def __init__(self, problem):
        self.problem = problem
        self.low, self.high = problem.target
        self.n_calls = 0
        self.found = []
        self.n_found = 0
        self.calls_to = None

    def __call__(self, X, n_target=None):
        X = np.atleast_2d(np.asarray(X, dtype=float))
        values = self.problem.objective(X)
        inside = (values >= self.low) & (values <= self.high)
        hits = np.flatnonzero(inside)
        if n_target and self.calls_to is None and self.n_found + len(hits) >= n_target:
            self.calls_to = self.n_calls + int(hits[n_target - self.n_found - 1]) + 1
        self.n_calls += len(X)
        self.n_found += len(hits)
        self.found.append(X[inside])
        return values

    def points(self, n):
        found = [f for f in self.found if len(f)]
        return np.vstack(found)[:n] if found else np.empty((0, self.problem.n_dim))


def band_loglike(problem, values):
    """The likelihood a physicist scans the band with: a Gaussian in the band,
    ``-χ²/2`` with ``χ = (O - c) / h`` (``c ± h`` the band)."""
    low, high = problem.target
    return -0.5 * ((values - 0.5 * (low + high)) / (0.5 * (high - low))) ** 2


# ------------------------------------------------------------------ methods
def run_random(problem, n_target, max_calls, rng, settings):
    f = Counted(problem)
    while f.n_found < n_target and f.n_calls < max_calls:
        f(problem.from_unit(rng.random((50_000, problem.n_dim))), n_target)
    return f, None, []


def run_emcee(problem, n_target, max_calls, rng, settings):
    """Stretch move, ``max(32, 4 d)`` walkers (emcee's guide: at least ``2 d``),
    a burn-in of ``settings["burn"]`` steps whose points are not kept, flat
    prior in the box; points outside the box cost no call."""
    import emcee

    f = Counted(problem)
    d = problem.n_dim
    n_walkers = max(32, 4 * d)

    def log_prob(X, keep):
        out = np.full(len(X), -np.inf)
        U = problem.to_unit(X)
        ok = ((U >= 0) & (U <= 1)).all(axis=1)
        if ok.any():
            if keep:
                out[ok] = band_loglike(problem, f(X[ok], n_target))
            else:
                f.n_calls += int(ok.sum())
                out[ok] = band_loglike(problem, problem.objective(X[ok]))
        return out

    p0 = problem.from_unit(rng.random((n_walkers, d)))
    burn = emcee.EnsembleSampler(
        n_walkers, d, log_prob, vectorize=True, kwargs={"keep": False}
    )
    burn.random_state = np.random.RandomState(rng.integers(2**31)).get_state()
    state = burn.run_mcmc(p0, settings["burn"], progress=False)
    sampler = emcee.EnsembleSampler(
        n_walkers, d, log_prob, vectorize=True, kwargs={"keep": True}
    )
    sampler.random_state = burn.random_state
    eff = []
    while f.n_found < n_target and f.n_calls < max_calls:
        c0, n0 = f.n_calls, f.n_found
        state = sampler.run_mcmc(state, 50, progress=False)
        eff.append((f.n_found - n0) / max(1, f.n_calls - c0))
    return f, None, eff


def run_dynesty(problem, n_target, max_calls, rng, settings):
    """dynesty's static nested sampler (multi-ellipsoid bounds, its automatic
    sampling method), ``nlive = max(500, 50 d)`` live points for a multimodal
    posterior, the Gaussian band likelihood and a flat prior on the box; stops
    at ``N`` in-target calls, the call budget or its own dlogz = 0.5."""
    import dynesty

    f = Counted(problem)
    d = problem.n_dim

    def loglike(x):
        return float(band_loglike(problem, f(x[None, :], n_target))[0])

    nlive = max(settings["nlive"], 50 * d)
    sampler = dynesty.NestedSampler(
        loglike,
        problem.from_unit,
        d,
        nlive=nlive,
        bound="multi",
        rstate=np.random.default_rng(int(rng.integers(2**31))),
    )
    for _ in sampler.sample(dlogz=0.5, maxcall=max_calls):
        if f.n_found >= n_target:
            break
    return f, None, []


def run_mlscanner(problem, n_target, max_calls, rng, settings):
    """An MLscanner-style loop (arXiv:2207.09959's recipe with a boosted-tree
    surrogate): a histogram gradient-boosting regressor of the observable,
    refit every iteration on all calls; each iteration evaluates the
    ``K = n_per_iteration`` candidates of highest predicted likelihood out of
    ``n_candidates`` uniform ones, 10 % of K uniform."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    f = Counted(problem)
    d = problem.n_dim
    U = rng.random((settings["n_initial"], d))
    values = f(problem.from_unit(U), n_target)
    allU, allv = [U], [values]
    eff = [f.n_found / f.n_calls]
    model = None
    K = settings["n_per_iteration"]
    while f.n_found < n_target and f.n_calls < max_calls:
        model = HistGradientBoostingRegressor(random_state=0).fit(
            np.vstack(allU), np.concatenate(allv)
        )
        cand = rng.random((settings["n_candidates"], d))
        like = band_loglike(problem, model.predict(cand))
        n_rand = K // 10
        top = np.argpartition(-like, K - n_rand)[: K - n_rand]
        U = np.vstack([cand[top], rng.random((n_rand, d))])
        n0, c0 = f.n_found, f.n_calls
        values = f(problem.from_unit(U), n_target)
        eff.append((f.n_found - n0) / (f.n_calls - c0))
        allU.append(U)
        allv.append(values)
    if model is None:
        return f, None, eff

    def predict_in_target(X):
        v = model.predict(problem.to_unit(X))
        return (v >= problem.target[0]) & (v <= problem.target[1])

    return f, predict_in_target, eff


def run_active_scanner(problem, n_target, max_calls, rng, settings):
    f = Counted(problem)
    sizes = {
        k: settings[k]
        for k in ("n_initial", "n_per_iteration", "n_candidates")
        if settings.get(k)
    }
    scan = ActiveScanner(
        objective=lambda X: f(X, n_target),
        bounds=problem.bounds,
        target=problem.target,
        n_target=n_target,
        max_evaluations=max_calls,
        random_state=int(rng.integers(2**31)),
        **sizes,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ScanStoppedWarning is in the record
        scan.fit()
    eff = [h["efficiency"] for h in scan.history_]
    return f, scan.predict_in_target, eff


RUNS = {
    "random": run_random,
    "emcee": run_emcee,
    "dynesty": run_dynesty,
    "MLscanner-GBM": run_mlscanner,
    "ActiveScanner": run_active_scanner,
}


# -------------------------------------------------------------------- metrics
def evaluate(problem, truth, f, predict_in_target, eff, n_target):
    """The metrics of one method on one draw."""
    found = f.points(n_target)
    cov = scan_coverage(found, problem, clusters=truth["clusters"]) if len(found) else 0
    ideal = ideal_coverage(problem, max(1, len(found)), clusters=truth["clusters"])
    recall = precision = math.nan
    if predict_in_target is not None:
        recall, precision = surrogate_recall_precision(
            predict_in_target, problem, n_points=truth["n_test"]
        )
    late = eff[3:] if len(eff) > 3 else []
    return dict(
        calls=f.calls_to if f.calls_to is not None else math.nan,
        n_calls=f.n_calls,
        n_found=int(min(f.n_found, n_target)),
        coverage=cov,
        ideal=ideal,
        coverage_ratio=cov / ideal if ideal else math.nan,
        recall=recall,
        precision=precision,
        eff=[float(e) for e in eff],
        eff_from_3=float(np.mean(late)) if late else math.nan,
        eff_min_from_3=float(np.min(late)) if late else math.nan,
    )


def make_problem(draw, args):
    if draw == "cosine3d":
        region, seed = CosineToy(), 0
    else:
        region, seed = make_scan_family(int(draw)), int(draw)
    clusters = TruthClusters(region, n_clusters=args.n_clusters)
    return Problem(
        region.name,
        data=region,
        draw=seed,
        truth=dict(clusters=clusters, n_test=args.n_test),
    )


def methods(args, settings, settings_mls):
    """The methods of ``args.methods``; the MLscanner loop gets ``settings_mls``."""

    def method(name):
        def fn(task, budget, seed):
            rng = np.random.default_rng([seed, task.draw, METHODS.index(name)])
            problem = task.data
            max_calls = int(args.max_calls_factor * args.n_target)
            if name == "random":  # cheap: its calls are only bounded by time
                max_calls = int(3 * args.n_target / problem.volume_fraction)
            own = settings_mls if name == "MLscanner-GBM" else settings
            t0 = time.perf_counter()
            f, pit, eff = RUNS[name](problem, args.n_target, max_calls, rng, own)
            wall = time.perf_counter() - t0
            out = evaluate(problem, task.truth, f, pit, eff, args.n_target)
            out.update(
                wall=wall,
                kind=problem.kind,
                n_dim=problem.n_dim,
                n_pieces=problem.n_pieces,
                volume_fraction=problem.volume_fraction,
            )
            return out

        return Method(name, fn)

    return [method(m) for m in METHODS if m in args.methods]


# ----------------------------------------------------------------------- page
def _q(values, higher):
    v = np.asarray([x for x in values if np.isfinite(x)], float)
    if not len(v):
        return math.nan, math.nan, 0
    return (
        float(np.median(v)),
        float(np.quantile(v, 0.1 if higher else 0.9)),
        len(v),
    )


def summary_rows(records, n_target):
    """Per method: median and worst decile of each metric over the draws."""
    rows = []
    for m in METHODS:
        rs = [r for r in records if r["method"] == m]
        if not rs:
            continue
        by_draw = {
            (r["problem"], r["draw"]): r for r in records if r["method"] == "random"
        }
        vs_random = [
            by_draw[(r["problem"], r["draw"])]["calls"] / r["calls"]
            for r in rs
            if (r["problem"], r["draw"]) in by_draw and np.isfinite(r["calls"])
        ]
        reached = sum(np.isfinite(r["calls"]) for r in rs)
        row = {"method": m, "reached N": f"{reached}/{len(rs)}"}
        for key, label, higher in (
            ("coverage_ratio", "coverage/ideal", True),
            ("recall", "recall", True),
            ("precision", "precision", True),
            ("eff_from_3", "efficiency it>=3", True),
        ):
            med, worst, n = _q([r[key] for r in rs], higher)
            row[label] = "—" if n == 0 else f"{med:.3f} / {worst:.3f}"
        med, worst, n = _q(vs_random, True)
        row["random calls / calls"] = "—" if n == 0 else f"{med:.3g} / {worst:.3g}"
        cov_ok = sum(r["coverage_ratio"] >= 0.9 for r in rs)
        row["coverage >= 0.9 ideal"] = f"{cov_ok}/{len(rs)}"
        rows.append(row)
    return rows


def draw_rows(records):
    rows = []
    for r in records:
        rows.append(
            {
                "problem": r["problem"],
                "pieces": r["n_pieces"],
                "volume": f"{r['volume_fraction']:.2g}",
                "method": r["method"],
                "calls to N": "—"
                if not np.isfinite(r["calls"])
                else f"{int(r['calls']):,}",
                "found": r["n_found"],
                "cov/ideal": f"{r['coverage_ratio']:.3f}",
                "recall": "—" if not np.isfinite(r["recall"]) else f"{r['recall']:.3f}",
                "precision": "—"
                if not np.isfinite(r["precision"])
                else f"{r['precision']:.3f}",
                "eff it>=3": "—"
                if not np.isfinite(r["eff_from_3"])
                else f"{r['eff_from_3']:.3f}",
                "wall [s]": f"{r['wall']:.0f}",
            }
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20, help="family draws 0..n-1")
    parser.add_argument("--first-draw", type=int, default=0)
    parser.add_argument("--n-target", type=int, default=5000)
    parser.add_argument(
        "--reduced",
        action="store_true",
        help="n_initial=n_per_iteration=500, 20,000 candidates, dynesty nlive 250",
    )
    parser.add_argument("--max-calls-factor", type=float, default=20.0)
    parser.add_argument("--n-clusters", type=int, default=256)
    parser.add_argument("--n-test", type=int, default=5000)
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--no-toy", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the records of scan.json that this run does not redo "
        "(e.g. the peers when only --methods ActiveScanner runs)",
    )
    parser.add_argument(
        "--page-only",
        action="store_true",
        help="rewrite scan.rst from the records in scan.json (same arguments)",
    )
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = dict(n_initial=None, n_per_iteration=None, n_candidates=None)
    settings.update(burn=500, nlive=500)
    mls = dict(n_initial=1000, n_per_iteration=1000, n_candidates=100_000)
    if args.reduced or args.smoke:
        settings.update(
            n_initial=500, n_per_iteration=500, n_candidates=20_000, burn=200, nlive=250
        )
        mls = dict(n_initial=500, n_per_iteration=500, n_candidates=20_000)
    if args.smoke:
        args.draws, args.n_target, args.no_toy = 1, 100, True
        args.n_clusters, args.n_test = 32, 500
        settings.update(burn=20, nlive=100)
    # the MLscanner loop uses the scanner's sizes (its own when they are None)
    settings_mls = {k: settings[k] or mls[k] for k in mls}
    all_settings = dict(settings, **{"mls_" + k: v for k, v in settings_mls.items()})
    out_dir = runner.output_dir(args.smoke)
    t_start = time.perf_counter()
    draws = [str(s) for s in range(args.first_draw, args.first_draw + args.draws)]
    if not args.no_toy:
        draws.append("cosine3d")
    if args.page_only:
        env, records = runner.load(out_dir / "scan.json")
        minutes = float(env.get("minutes", 0))
        write_page(records, args, draws, all_settings, minutes, out_dir)
        return records
    problems = [make_problem(d, args) for d in draws]

    ms = methods(args, settings, dict(settings, **settings_mls))
    records = runner.run(
        problems,
        ms,
        seeds=[0],
        out=None if args.no_write else out_dir / "scan.json",
        merge=args.merge,
        log=lambda r: print(
            r["problem"],
            r["method"],
            {k: r[k] for k in ("calls", "coverage_ratio", "recall", "precision")},
            flush=True,
        ),
    )
    total = time.perf_counter() - t_start
    if args.merge and not args.no_write:  # this run's records and the kept ones
        records = runner.load(out_dir / "scan.json")[1]
    if not args.no_write:  # the run's minutes, for a page rewritten later
        env = dict(runner.environment(), minutes=total / 60)
        runner.save(out_dir / "scan.json", records, env)
    write_page(records, args, draws, all_settings, total / 60, out_dir)
    return records


def goal_lines(fam, toy):
    """The issue's goals against this run's numbers (met / not met)."""
    scan = [r for r in fam if r["method"] == "ActiveScanner"]
    if not scan:
        return "(the scanner did not run)"
    n = len(scan)
    cov_ok = sum(r["coverage_ratio"] >= 0.9 for r in scan)
    rec = np.median([r["recall"] for r in scan])
    prec = np.median([r["precision"] for r in scan])
    both = sum(r["recall"] >= 0.8 and r["precision"] >= 0.8 for r in scan)
    late = [r["eff_min_from_3"] for r in scan if np.isfinite(r["eff_min_from_3"])]
    eff_ok = sum(e >= 0.8 for e in late)
    lines = [
        f"* coverage >= 90 % of the ideal on >= 90 % of the draws: {cov_ok}/{n} "
        f"draws ({'met' if cov_ok >= 0.9 * n else 'not met'});",
        f"* surrogate recall and precision >= 0.8: both on {both}/{n} draws "
        f"(medians {rec:.3f} / {prec:.3f});",
        f"* efficiency >= 0.8 in every iteration from the third: {eff_ok}/"
        f"{len(late)} draws that ran that long ({n - len(late)} reached N "
        "before a third iteration);",
    ]
    by = {r["method"]: r for r in toy}
    if "ActiveScanner" in by and "random" in by:
        ratio = by["random"]["calls"] / by["ActiveScanner"]["calls"]
        cov = by["ActiveScanner"]["coverage_ratio"]
        lines.append(
            f"* 3-d toy: {ratio:.1f}x fewer calls than random for N in-target "
            f"points (goal >= 5x: {'met' if ratio >= 5 else 'not met'}), "
            f"coverage/ideal {cov:.3f}."
        )
    return "\n".join(lines)


def write_page(records, args, draws, all_settings, minutes, out_dir):
    """Print and write ``scan.rst`` from the records."""
    fam = [r for r in records if r["problem"] != "cosine3d"]
    toy = [r for r in records if r["problem"] == "cosine3d"]
    given = [a for a in sys.argv[1:] if a != "--page-only"]
    cmd = "python benchmarks/bench_scan.py " + " ".join(given)
    columns = [
        "method",
        "reached N",
        "coverage/ideal",
        "coverage >= 0.9 ideal",
        "recall",
        "precision",
        "efficiency it>=3",
        "random calls / calls",
    ]
    draw_cols = [
        "problem",
        "pieces",
        "volume",
        "method",
        "calls to N",
        "found",
        "cov/ideal",
        "recall",
        "precision",
        "eff it>=3",
        "wall [s]",
    ]
    page = PAGE.format(
        n_target=f"{args.n_target:,}",
        n_draws=len([d for d in draws if d != "cosine3d"]),
        summary=rst_table(summary_rows(fam, args.n_target), columns),
        toy=rst_table(draw_rows(toy), draw_cols) if toy else "(not run)",
        draws=rst_table(draw_rows(fam), draw_cols),
        settings=", ".join(f"``{k}={v}``" for k, v in all_settings.items() if v),
        max_calls=f"{int(args.max_calls_factor * args.n_target):,}",
        cmd=cmd.strip(),
        minutes=f"{minutes:.1f}",
        goals=goal_lines(fam, toy),
        merged=(
            " With ``--merge`` only the methods named by ``--methods`` ran; the "
            "other methods' records were kept from the earlier run that wrote "
            "``scan.json`` (same draws, sizes and seeds), and the minutes are "
            "this run's."
            if getattr(args, "merge", False)
            else ""
        ),
        env=(
            f"torch {torch.__version__}, {args.threads} thread(s), "
            f"{platform.processor() or platform.machine()}, Python "
            f"{sys.version.split()[0]}"
        ),
    )
    print(page)
    if not args.no_write:
        with open(out_dir / "scan.rst", "w") as fh:
            fh.write(page)


PAGE = """Active scan
===========

Draws ``0 .. {n_draws}-1`` of :func:`~skhep_ml.datasets.make_scan_family`
(each a kind, a dimension 2-10, a box and its pieces drawn by seed, with
exact truth; none was used to tune the scanner, whose exploration was
developed on draws 1000+ of the same family) and the 3-d cosine toy of
arXiv:2207.09959 on ``[-10π, 10π]^3`` (13 pieces). Every method runs until
it has ``N = {n_target}`` in-target points or ``{max_calls}`` calls (random
sampling: as many as it takes) and is judged on its first ``N`` in-target
points:

* *calls to N*: objective calls until the N-th in-target point ("—": not
  reached within the budget); *random calls / calls* is random sampling's
  count over the method's, per draw;
* *coverage/ideal*: :func:`~skhep_ml.datasets.scan_coverage` of the found
  points (the region's mass in the 256 truth clusters, shared among the
  pieces by volume, that hold a found point) over
  :func:`~skhep_ml.datasets.ideal_coverage` of as many truth points;
* *recall / precision*: :func:`~skhep_ml.datasets.surrogate_recall_precision`
  of the surrogate's ``predict_in_target`` on held-out truth points (methods
  with a surrogate only);
* *efficiency it>=3*: in-target share of the calls of iterations 3 and later
  (emcee: per 50 steps after burn-in).

Methods: random sampling; `emcee <https://emcee.readthedocs.io>`_ (stretch
move, ``max(32, 4 d)`` walkers, a burn-in whose points are not kept, the
Gaussian likelihood ``-χ²/2`` of the band and a flat prior on the box);
`dynesty <https://dynesty.readthedocs.io>`_ (static nested sampling with
multi-ellipsoid bounds, ``max(nlive, 50 d)`` live points, same likelihood
and prior, stopped at N in-target calls, the budget or dlogz = 0.5);
an MLscanner-style loop (a gradient-boosting regressor of the observable,
the top-K predicted likelihood out of uniform candidates, 10 % of K
uniform); :class:`~skhep_ml.ActiveScanner` with its defaults. Settings of
this run: {settings}.

A method that stops short of N (dynesty at its dlogz, the MLscanner loop at
the budget) is judged on the points it found (the *found* column): its
coverage/ideal compares with as few truth points and is not comparable with
a run that reached N. The scanner stops at N: a scan that gets there within
a few iterations has had little time to spread, so its coverage grows with
N (at N = 1,000 the same draws gave a median 0.69).

Median / worst decile over the family draws
-------------------------------------------

{summary}

Goals (issue 20)
----------------

{goals}

The 3-d cosine toy
------------------

{toy}

Per draw
--------

{draws}

Produced by ``{cmd}`` in {minutes} min ({env}; a shared, oversubscribed CPU:
the wall times are indicative only).{merged} The full run is
``python benchmarks/bench_scan.py`` (20 draws, N = 5,000, every method at its
full size).
"""


if __name__ == "__main__":
    main()
