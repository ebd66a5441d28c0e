"""NeuralImportanceIntegrator beside vegas and madnis at equal integrand-call budgets.

Problems: draws of :func:`skhep_ml.datasets.make_integrand_family` (mixtures of
1-4 rotated Gaussians, Breit-Wigner ridges along random directions, thin
shells, camels and discontinuous indicators, exact integral 1) in three
dimension bands, 2-4, 5-8 and 9-16 (band ``b`` draws seeds ``1000 b + i``),
and the fixed tasks of :func:`skhep_ml.datasets.make_integrand` (camel in
d = 2, 4, 8, a thin ring in 2-d, a Breit-Wigner ridge along a diagonal in 4-d,
two crossing resonances in 3-d). Methods, each given the same number of
integrand calls:

* ``skhep_ml``: :class:`~skhep_ml.NeuralImportanceIntegrator` with its
  defaults (single channel); its warnings during the fit are recorded
  (``warned``). ``skhep_ml-mc``: one channel per component of a family draw
  with more than one, the components' values as ``prior_weights`` (on the
  crossing resonances two Breit-Wigner channel mappings, on camel d8
  ``channels=2``).
* ``vegas``: ``vegas.Integrator``, 5 adaptation iterations (discarded) and 10
  iterations whose weighted average is the result (30 % / 70 % of the calls).
* ``madnis``: ``madnis.integrator.Integrator`` set up as its documentation
  recommends: ``VegasPreTraining`` (64 bins, damping 0.7) on 10 % of the calls
  in 5 iterations, then the flow (madnis's default) trained with the variance
  loss, Adam at 1e-3 with cosine decay over all steps, batches of 512 (budgets
  up to 1e5) or 1024, buffered training with 3 buffer steps per online step
  (buffer of 10 online batches): half of the calls in training, the other half
  in ``integrate``. ``madnis-mc``: the same with one channel per component of a
  family draw with more than one and the components' shares as prior channel
  weights (``has_channel_weight_prior``; madnis's multi-channel default loss,
  the stratified variance).

Metrics: relative error ``σ/I``, pull ``(I - I_true)/σ``, ``std(w)/mean(w)`` and
unweighting efficiencies ``mean/max`` and ``mean/q_0.999`` of the final
proposal's weights, every method on 1e5 extra calls of plain (unstratified)
sampling from its final proposal (``mean/max`` falls as the sample grows:
equal samples compare the proposals, not the budgets), wall seconds, overhead
per integrand call (wall minus the time spent in the integrand, divided by the
calls; the extra calls not included) and weights per second.

Ratios (per draw; distributions over the draws): ``error_ratio`` is skhep_ml's
relative error over the better of vegas, madnis and madnis-mc;
``eff_ratio_vs_madnis`` its ``mean/max`` efficiency over the better madnis
variant's; ``overhead_ratio_vs_madnis`` its overhead per call over madnis's
(single channel). The ``-mc`` rows compare ``skhep_ml-mc`` with the same peers.

Run ``python benchmarks/bench_integration.py`` (the full size: 20 draws per
band at 1e5 and 1e6 calls, and the fixed tasks; hours on a CPU) or choose the
size with ``--draws`` / ``--draws-1e6`` / ``--budgets`` / ``--bands`` /
``--tasks``. The records (one per seed, problem, draw, budget and method, see
``runner.py``) are kept in ``docs/benchmarks/integration.json``, new ones merged
into those there; ``--table-only`` rewrites the page from it; ``--smoke``
checks the script end to end in seconds.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings

import numpy as np
import runner
import torch
from _common import rst_table, setup_threads, write_page
from runner import Method, Problem, Ratio

from skhep_ml import NeuralImportanceIntegrator
from skhep_ml.datasets import make_integrand, make_integrand_family
from skhep_ml.integrate import BreitWignerMapping

TASKS = ["camel_d2", "camel_d4", "camel_d8", "ring_d2", "ridge_d4", "resonances_d3"]
#: dimension bands of the family draws: name -> (lowest, highest dimension)
BANDS = {"d2-4": (2, 4), "d5-8": (5, 8), "d9-16": (9, 16)}
MADNIS = ("madnis", "madnis-mc")
PEERS = ("vegas", *MADNIS)
#: extra calls of plain sampling from every final proposal (weight metrics)
N_EXTRA = 100_000
#: |pull| beyond which a result counts as wrong (the issue's goal)
PULL_LIMIT = 4.0


def ratio_specs(ours, suffix=""):
    """The three ratios of the variant ``ours`` against the peers."""
    return [
        Ratio("error_ratio" + suffix, "rel_error", ours, PEERS, goal=1.0),
        Ratio(
            "eff_ratio_vs_madnis" + suffix,
            "eff_max",
            ours,
            MADNIS,
            higher_is_better=True,
            goal=1.0,
        ),
        Ratio(
            "overhead_ratio_vs_madnis" + suffix,
            "overhead_us",
            ours,
            "madnis",
            goal=0.5,
        ),
    ]


RATIOS = ratio_specs("skhep_ml")
MC_RATIOS = ratio_specs("skhep_ml-mc", "_mc")
COLUMNS = [
    "problem",
    "draw",
    "d",
    "k",
    "budget",
    "method",
    "rel_error",
    "pull",
    "warned",
    "rel_std",
    "eff_max",
    "eff_q999",
    "wall_s",
    "overhead_us",
]


class Counted:
    """Wraps an integrand: counts calls and the seconds spent inside it."""

    def __init__(self, f):
        self.f, self.calls, self.seconds = f, 0, 0.0

    def __call__(self, X):
        start = time.perf_counter()
        out = self.f(X)
        self.seconds += time.perf_counter() - start
        self.calls += len(X)
        return out


def _weight_metrics(w):
    w = np.asarray(w, float)
    m = w.mean()
    if not m > 0:
        return dict(rel_std=math.nan, eff_max=0.0, eff_q999=0.0)
    return dict(
        rel_std=float(w.std() / m),
        eff_max=float(m / w.max()),
        eff_q999=float(m / np.quantile(w, 0.999)),
    )


#: numpy's floating-point warnings: not the integrator's diagnostics
_FP_WARNINGS = ("overflow encountered", "divide by zero", "invalid value")


def _diagnostics(caught):
    """The integrator's own warnings among those caught during a fit."""
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, (RuntimeWarning, UserWarning))
        and not any(s in str(w.message) for s in _FP_WARNINGS)
    ]


# ------------------------------------------------------------------- methods
def run_skhep(f, budget, seed, channels=None, prior_weights=None):
    g = Counted(f)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = NeuralImportanceIntegrator(
            integrand=g,
            n_dims=f.n_features,
            max_evaluations=budget,
            channels=channels,
            prior_weights=prior_weights,
            random_state=seed,
        ).fit()
    wall = time.perf_counter() - start
    r = est.result_
    calls, f_seconds = g.calls, g.seconds
    messages = _diagnostics(caught)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, w = est.sample(N_EXTRA, random_state=seed)
    return dict(
        value=r.value,
        error=r.error,
        calls=calls,
        wall=wall,
        f_seconds=f_seconds,
        warned=bool(messages),
        warning=messages[0][:160] if messages else "",
        **_weight_metrics(w),
    )


def run_vegas(f, budget, seed):
    import vegas

    d = f.n_features
    g = Counted(f)

    @vegas.lbatchintegrand
    def fb(x):
        return g(np.asarray(x))

    np.random.seed(seed)
    start = time.perf_counter()
    # seeded through numpy (vegas's default generator is gvar's, unseeded here)
    integ = vegas.Integrator([[0.0, 1.0]] * d, ran_array_generator=np.random.random)
    neval = max(100, budget // 15)
    integ(fb, nitn=5, neval=neval)
    result = integ(fb, nitn=10, neval=neval)
    wall = time.perf_counter() - start
    calls, f_seconds = g.calls, g.seconds
    # weights of the adapted map (no stratification), extra calls
    y = np.random.uniform(size=(N_EXTRA, d))
    x, jac = np.empty_like(y), np.empty(len(y))
    integ.map.map(y, x, jac)
    wm = _weight_metrics(f(x) * jac)
    return dict(
        value=result.mean,
        error=result.sdev,
        calls=calls,
        wall=wall,
        f_seconds=f_seconds,
        **wm,
    )


def madnis_setup(budget, n_channels=1):
    """The recommended schedule: VEGAS calls per iteration, batch, online steps."""
    batch = 512 if budget <= 100_000 else 1024
    vegas_per_iter = max(10, int(0.1 * budget) // (5 * n_channels))
    online = max(1, int(0.4 * budget) // batch)
    return vegas_per_iter, batch, online


def run_madnis(f, budget, seed, n_channels=None):
    """madnis as recommended (see the module docstring); channels: components."""
    from madnis.integrator import Integrand, Integrator, VegasPreTraining
    from madnis.integrator.losses import variance
    from torch.optim.lr_scheduler import CosineAnnealingLR

    d = f.n_features
    g = Counted(f)
    C = n_channels or 1
    vegas_per_iter, batch, online = madnis_setup(budget, C)
    steps = 4 * online  # 3 buffered steps per online step

    def values(x):
        return torch.as_tensor(g(x.detach().double().numpy()), dtype=x.dtype)

    if n_channels:

        def function(x, channels):
            start = time.perf_counter()  # the prior is the integrand's work too
            comp = f.component_values(x.detach().double().numpy())
            total = comp.sum(1, keepdims=True)
            alpha = np.where(total > 0, comp / np.where(total > 0, total, 1), 1 / C)
            g.seconds += time.perf_counter() - start
            g.calls += len(x)
            return (
                torch.as_tensor(total[:, 0], dtype=x.dtype),
                torch.as_tensor(alpha, dtype=x.dtype),
            )

        integrand = Integrand(
            function, input_dim=d, channel_count=C, has_channel_weight_prior=True
        )
        loss = None  # madnis's multi-channel default: the stratified variance
    else:
        integrand = Integrand(values, input_dim=d)
        loss = variance
    torch.manual_seed(seed)
    start = time.perf_counter()
    integ = Integrator(
        integrand,
        loss=loss,
        batch_size=batch,
        learning_rate=1e-3,
        scheduler=lambda opt: CosineAnnealingLR(opt, steps),
        buffer_capacity=10 * batch,
        buffered_steps=3,
    )
    pre = VegasPreTraining(integ, bins=64, damping=0.7)
    pre.rng = np.random.default_rng(seed)
    pre.train([vegas_per_iter] * 5)
    pre.initialize_integrator()
    integ.train(steps)
    value, error = integ.integrate(max(batch, budget - g.calls))
    wall = time.perf_counter() - start
    calls, f_seconds = g.calls, g.seconds
    with torch.no_grad():
        batch_out = integ.sample(N_EXTRA)
    wm = _weight_metrics(batch_out.weights.detach().double().numpy())
    return dict(
        value=value, error=error, calls=calls, wall=wall, f_seconds=f_seconds, **wm
    )


def _metrics(res, truth):
    """The page's metrics of one run (``res``: value, error, calls, seconds)."""
    error = res["error"]
    value = res["value"]
    return dict(
        value=value,
        rel_error=error / abs(value) if value else math.inf,
        pull=(value - truth) / error
        if error > 0
        else math.copysign(math.inf, value - truth),
        rel_std=res["rel_std"],
        eff_max=res["eff_max"],
        eff_q999=res["eff_q999"],
        wall_s=res["wall"],
        overhead_us=1e6 * (res["wall"] - res["f_seconds"]) / res["calls"],
        weights_per_s=res["calls"] / res["wall"],
        calls=res["calls"],
        **{k: res[k] for k in ("warned", "warning") if k in res},
    )


def _failed(exc):
    """The record of a run that raised: NaN metrics and the error."""
    nan = math.nan
    keys = ("value", "rel_error", "pull", "rel_std", "eff_max", "eff_q999")
    return dict(
        dict.fromkeys(keys, nan),
        wall_s=nan,
        overhead_us=nan,
        weights_per_s=nan,
        calls=0,
        failed=f"{type(exc).__name__}: {exc}"[:90],
    )


# ------------------------------------------------------------------ problems
def task(name):
    """A fixed task of :func:`skhep_ml.datasets.make_integrand`."""
    f = make_integrand(name)
    return Problem(name, data=f, truth={"integral": f.integral})


def family_draws(band, n_draws, start=0):
    """Draws ``start .. start + n_draws - 1`` of band ``band`` of the family."""
    b = list(BANDS).index(band)
    return [
        Problem(
            f"family_{band}",
            data=make_integrand_family(1000 * b + i, dims=BANDS[band]),
            draw=1000 * b + i,
            truth={"integral": 1.0},
        )
        for i in range(start, start + n_draws)
    ]


def _components(p):
    """Number of components of a family draw (1 for a fixed task)."""
    return len(getattr(p.data, "weights", [1]))


#: the channel mappings of the ``skhep_ml-mc`` variant on the fixed tasks
CHANNELS = {
    "resonances_d3": lambda: [
        BreitWignerMapping(3, 0, 0.3, 0.01),
        BreitWignerMapping(3, 1, 0.6, 0.01),
    ],
    "camel_d8": lambda: 2,
}


def _skhep_mc(p, budget, seed):
    if p.name in CHANNELS:
        return run_skhep(p.data, budget, seed, CHANNELS[p.name]())
    f = p.data
    return run_skhep(f, budget, seed, _components(p), prior_weights=f.component_values)


def _warmup():
    """First torch calls in a process are slow."""
    NeuralImportanceIntegrator(
        integrand=make_integrand("camel_d2"),
        max_evaluations=5000,
        n_iter=3,
        random_state=0,
    ).fit()


def methods(names):
    """The methods of the run: vegas, madnis (-mc) and skhep_ml (-mc)."""

    def measured(fn):
        def run(p, budget, seed):
            try:
                res = fn(p, budget, seed)
            except Exception as exc:  # a peer that fails on a draw: recorded
                return _failed(exc)
            return _metrics(res, p.truth["integral"])

        return run

    def multi(p):
        return _components(p) > 1

    out = [
        Method("vegas", measured(lambda p, b, s: run_vegas(p.data, b, s))),
        Method("madnis", measured(lambda p, b, s: run_madnis(p.data, b, s))),
        Method(
            "madnis-mc",
            measured(lambda p, b, s: run_madnis(p.data, b, s, _components(p))),
            applies=multi,
        ),
        Method(
            "skhep_ml",
            measured(lambda p, b, s: run_skhep(p.data, b, s)),
            warmup=_warmup,
        ),
        Method(
            "skhep_ml-mc",
            measured(_skhep_mc),
            applies=lambda p: multi(p) or p.name in CHANNELS,
        ),
    ]
    chosen = [m for m in out if m.name.split("-")[0] in names]
    if not any(m.warmup for m in chosen):  # the warm-up runs in any case
        chosen[0] = Method(chosen[0].name, chosen[0].fn, _warmup, chosen[0].applies)
    return chosen


# --------------------------------------------------------------------- page
def _band(r):
    return (
        r["problem"].removeprefix("family_")
        if r["problem"].startswith("family_")
        else "fixed"
    )


def _pull_stats(rs):
    """Pull statistics of runs: a failed run (NaN) counts as wrong, silent."""
    p = np.array([r["pull"] for r in rs], dtype=float)
    bad = ~(np.abs(p) <= PULL_LIMIT)  # NaN (failed) and inf count as wrong
    # an exception is loud: a run that raised is not a silent failure
    raised = np.array([bool(r.get("failed")) for r in rs])
    warned = np.array([bool(r.get("warned", False)) for r in rs]) | raised
    finite = p[np.isfinite(p)]
    inside = p[np.abs(p) <= PULL_LIMIT]
    return dict(
        n=len(rs),
        failed=int(np.isnan(p).sum()),
        raised=int(raised.sum()),
        bad=bad,
        warned=warned,
        std=float(np.std(finite)) if len(finite) > 1 else math.nan,
        std_within=float(np.std(inside)) if len(inside) > 1 else math.nan,
        median_abs=float(np.median(np.abs(finite))) if len(finite) else math.nan,
    )


def pull_rows(records):
    """Per method and band: the pull distribution and the silent failures."""
    rows = []
    groups = ["all family", *BANDS, "fixed"]
    for method in ("skhep_ml", "skhep_ml-mc", "vegas", "madnis", "madnis-mc"):
        ours = method.startswith("skhep")
        for group in groups:
            rs = [
                r
                for r in records
                if r["method"] == method
                and (
                    _band(r) != "fixed" if group == "all family" else _band(r) == group
                )
            ]
            if not rs:
                continue
            st = _pull_stats(rs)
            bad, warned = st["bad"], st["warned"]
            rows.append(
                dict(
                    method=method,
                    problems=group,
                    runs=st["n"],
                    failed=st["failed"],
                    raised=st["raised"],
                    pull_std=st["std"],
                    pull_std_within_4=st["std_within"],
                    median_abs_pull=st["median_abs"],
                    over_4=f"{int(bad.sum())}/{st['n']}",
                    over_4_silent=f"{int((bad & ~warned).sum())}" if ours else "",
                    warned=f"{int(warned.sum())}" if ours else "",
                    false_alarms=f"{int((warned & ~bad).sum())}" if ours else "",
                )
            )
    return rows


def distribution_table(records, specs):
    """Ratio distributions over all draws, per band and per budget."""
    rows = []
    groups = [("all", lambda r: True)]
    groups += [
        (f"{band}", lambda r, band=band: _band(r) == band) for band in [*BANDS, "fixed"]
    ]
    groups += [
        (f"{b:.0e} calls", lambda r, b=b: r["budget"] == b)
        for b in sorted({r["budget"] for r in records})
    ]
    for label, keep in groups:
        rs = [r for r in records if keep(r)]
        for row in runner.distribution_rows(rs, specs):
            if row["draws"]:
                rows.append(dict(problems=label, **row))
    return rows


def _order(r):
    band = _band(r)
    order = [*BANDS, "fixed"]
    task_order = TASKS.index(r["problem"]) if r["problem"] in TASKS else 0
    return order.index(band), task_order, r["draw"], r["budget"]


def _describe(records):
    """``d`` and ``k`` columns of the family draws."""
    out = {}
    for r in records:
        if (r["problem"], r["draw"]) in out:
            continue
        if r["problem"].startswith("family_"):
            # the draws' names are family-s{seed}-d{d}-k{k}
            f = make_integrand_family(
                r["draw"], dims=BANDS[r["problem"].removeprefix("family_")]
            )
            out[r["problem"], r["draw"]] = (f.n_features, len(f.weights))
        else:
            out[r["problem"], r["draw"]] = (make_integrand(r["problem"]).n_features, "")
    return out


def _goal_summary(records):
    """The issue's goals on the default skhep_ml, over the family draws."""
    fam = [r for r in records if _band(r) != "fixed"]
    ours = [r for r in fam if r["method"] == "skhep_ml"]
    if not ours:
        return ""
    st = _pull_stats(ours)
    bad, warned = st["bad"], st["warned"]

    def share(spec):
        vals = [r["value"] for r in runner.ratios(fam, spec)]
        d = runner.distribution(vals, spec.higher_is_better, spec.goal)
        return d

    err, eff, over = (share(s) for s in RATIOS)
    n = len(ours)
    return (
        f"Goals of issue 19 on the family draws (default ``skhep_ml``, {n} runs): "
        f"no silent failure: {int((bad & ~warned).sum())} runs with ``|pull| > 4`` "
        "and neither a warning nor an exception (goal 0); ``|pull| > 4`` or an "
        f"exception: {int(bad.sum())}/{n} (of them {st['raised']} raised) "
        f"= {bad.mean():.0%} (goal <= 5 %); pull std {st['std']:.3g} over all "
        f"runs, {st['std_within']:.2f} over those with ``|pull| <= 4`` "
        "(goal in [0.8, 1.25]); relative error <= the better peer on "
        f"{err['met']}/{err['n']} (goal >= 90 %); unweighting efficiency >= "
        f"madnis's on {eff['met']}/{eff['n']} (goal >= 75 %), median ratio "
        f"{eff['median']:.2f} (goal >= 1.5); overhead per call <= 0.5x madnis's on "
        f"{over['met']}/{over['n']}, median {over['median']:.2f}; false alarms "
        f"(a warning on a result with ``|pull| <= 4``): {int((warned & ~bad).sum())}."
    )


def write(records, command, seed=0, out_dir=runner.DOCS_BENCH):
    """The page: per-draw rows, ratios per draw, their distribution, the pulls."""
    records = runner.select(records, seed=seed)
    dk = _describe(records)
    rows = [
        dict(
            r,
            d=dk[r["problem"], r["draw"]][0],
            k=dk[r["problem"], r["draw"]][1],
            budget=f"{r['budget']:.0e}",
            warned="yes" if r.get("warned") else "",
        )
        for r in sorted(records, key=lambda r: (*_order(r), r["method"]))
    ]
    table = rst_table(rows, COLUMNS, floatfmt=".3g")
    ratio_rows = [
        dict(r, budget=f"{r['budget']:.0e}")
        for r in sorted(runner.draw_rows(records, RATIOS + MC_RATIOS), key=_order)
    ]
    columns = ["problem", "draw", "budget", *(s.name for s in RATIOS + MC_RATIOS)]
    ratio_table = rst_table(ratio_rows, columns, floatfmt=".3g")
    dist_columns = [
        "problems",
        "ratio",
        "better",
        "draws",
        *runner.DISTRIBUTION_COLUMNS,
    ]
    spread = rst_table(distribution_table(records, RATIOS), dist_columns, ".3g")
    spread_mc = rst_table(distribution_table(records, MC_RATIOS), dist_columns, ".3g")
    pulls = rst_table(
        pull_rows(records),
        [
            "method",
            "problems",
            "runs",
            "failed",
            "raised",
            "pull_std",
            "pull_std_within_4",
            "median_abs_pull",
            "over_4",
            "over_4_silent",
            "warned",
            "false_alarms",
        ],
        ".3g",
    )
    misses = [
        f"{r['problem']} draw {r['draw']} at {r['budget']:.0e}: pull {r['pull']:.1f}"
        + (
            " (raised)"
            if r.get("failed")
            else f" (warned: {r['warning'][:60]})"
            if r.get("warned")
            else " (no warning)"
        )
        for r in sorted(records, key=_order)
        if r["method"] == "skhep_ml" and not abs(r["pull"]) <= PULL_LIMIT
    ]
    intro = (
        __doc__.split("\n\n", 1)[1].rsplit("\n\nRun ", 1)[0]
        + f"\n\nMachine: CPU, torch threads = {torch.get_num_threads()}, "
        "shared with other jobs: wall seconds and overhead ratios were measured "
        "under load and scatter (by up to ~1.5x between runs). Ratios below 1 in "
        "``error_ratio`` and ``overhead_ratio_vs_madnis`` and above 1 in "
        "``eff_ratio_vs_madnis`` favour skhep_ml; single runs per draw (one "
        "seed), so ratios near 1 are within the run-to-run scatter."
    )
    failures = [
        f"{r['method']} on {r['problem']} draw {r['draw']} at {r['budget']:.0e} "
        f"({r['failed'][:90]})"
        for r in sorted(records, key=_order)
        if r.get("failed")
    ]
    intro += (
        f"\n\nSize of this run: {run_size(records)}. The full size is 20 draws "
        "per band at 1e5 and at 1e6 calls and the fixed tasks at both "
        "(``python benchmarks/bench_integration.py``, hours on a CPU): the "
        "distributions below are from few draws and scatter accordingly."
    )
    intro += "\n\n" + _goal_summary(records)
    if failures:
        intro += (
            "\n\nRuns that raised (NaN metrics; counted as ``|pull| > 4``, not "
            "as silent): " + "; ".join(failures) + "."
        )
    if misses:
        intro += "\n\nskhep_ml runs with ``|pull| > 4``: " + "; ".join(misses) + "."
    write_page(
        "integration",
        "Integration: NeuralImportanceIntegrator vs vegas and madnis",
        intro,
        [
            ("Results", table),
            ("Ratios per draw", ratio_table),
            ("Distribution of the ratios (default skhep_ml)", spread),
            ("Distribution of the ratios (skhep_ml-mc)", spread_mc),
            ("Pulls and warnings", pulls),
        ],
        command,
        out_dir,
    )
    print(spread)
    print(pulls)


def problems_of(args):
    """Per budget: the family draws and fixed tasks (``--draws-1e6`` and
    ``--tasks-1e6`` above 1e5 calls)."""
    out = {}
    for budget in args.budgets:
        n = args.draws if budget <= 100_000 else args.draws_1e6
        probs = [p for band in args.bands for p in family_draws(band, n)]
        tasks = args.tasks if budget <= 100_000 else args.tasks_1e6
        probs += [task(t) for t in tasks]
        out[budget] = probs
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bands", nargs="*", default=list(BANDS))
    parser.add_argument("--draws", type=int, default=20, help="draws per band at 1e5")
    parser.add_argument(
        "--draws-1e6", type=int, default=None, help="draws per band above 1e5"
    )
    parser.add_argument("--tasks", nargs="*", default=None)
    parser.add_argument(
        "--tasks-1e6", nargs="*", default=None, help="fixed tasks above 1e5"
    )
    parser.add_argument("--budgets", nargs="*", type=float, default=None)
    parser.add_argument("--methods", nargs="*", default=["vegas", "madnis", "skhep_ml"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the records of the JSON file that this run does not redo",
    )
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    setup_threads(args.threads)
    out_dir = runner.output_dir(args.smoke)
    records_file = out_dir / "integration.json"
    if args.smoke:
        args.bands, args.draws, args.draws_1e6 = ["d2-4"], 1, 1
        args.tasks = args.tasks if args.tasks is not None else ["resonances_d3"]
        args.budgets = args.budgets or [5000]
    args.tasks = TASKS if args.tasks is None else args.tasks
    args.budgets = [int(b) for b in (args.budgets or [1e5, 1e6])]
    if args.tasks_1e6 is None:
        args.tasks_1e6 = args.tasks
    if args.draws_1e6 is None:
        args.draws_1e6 = args.draws
    argv = sys.argv[1:] if argv is None else argv
    command = " ".join(["python benchmarks/bench_integration.py", *argv])
    if args.table_only:
        env, records = runner.load(records_file)
        commands = env.get("commands", [])
    else:
        commands = []
        if args.merge and records_file.exists():
            commands = runner.load(records_file)[0].get("commands", [])
        elif records_file.exists():
            records_file.unlink()  # a fresh run: the page shows this run only
        chosen = methods(args.methods)
        for budget, probs in problems_of(args).items():
            # records saved after every run, merged into those of the file
            runner.run(
                probs, chosen, [budget], seeds=[args.seed], out=records_file, merge=True
            )
            chosen = [Method(m.name, m.fn, None, m.applies) for m in chosen]
        commands = [*commands, command]
        records = runner.load(records_file)[1]
        # the commands that made the records, for the page
        runner.save(
            records_file, records, {**runner.environment(), "commands": commands}
        )
    write(records, " && ".join(commands) or command, args.seed, out_dir)


def run_size(records):
    """This run's size: draws per band and budget, fixed tasks per budget."""
    parts = []
    for budget in sorted({r["budget"] for r in records}):
        rs = [r for r in records if r["budget"] == budget and r["method"] == "skhep_ml"]
        bands = [
            f"{sum(_band(r) == band for r in rs)} ({band})"
            for band in BANDS
            if any(_band(r) == band for r in rs)
        ]
        tasks = sum(_band(r) == "fixed" for r in rs)
        parts.append(
            f"at {budget:.0e} calls {', '.join(bands) or 'no'} family draws and "
            f"{tasks} fixed tasks"
        )
    return "; ".join(parts)


if __name__ == "__main__":
    main()
