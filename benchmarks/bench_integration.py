"""NeuralImportanceIntegrator beside vegas and madnis at equal integrand-call budgets.

Tasks (exact integrals from :mod:`skhep_ml.datasets`): camel in d = 2, 4, 8, a thin
ring in 2-d, a Breit-Wigner ridge along a diagonal in 4-d and two crossing
resonances in 3-d. Methods, each given the same number of integrand calls:

* ``skhep_ml``: :class:`~skhep_ml.NeuralImportanceIntegrator` with its defaults
  (VEGAS start, variance loss up to 3-d, KL then variance above, training
  rounds growing as ``sqrt(N)``, stratified final integration, adaptive in
  high dimensions); on the crossing resonances also ``skhep_ml-2ch`` with two
  Breit-Wigner channel mappings, on camel d8 with two identical channels
  (``channels=2``).
* ``vegas``: ``vegas.Integrator``, 5 adaptation iterations (discarded) and 10
  iterations whose weighted average is the result (30 % / 70 % of the calls).
* ``madnis``: ``madnis.integrator.Integrator`` (single channel, its default KL loss
  and flow), trained on 40 % of the calls with batches of 1024, integrating with
  the rest.

Metrics: relative error ``σ/I``, pull ``(I - I_true)/σ``, ``std(w)/mean(w)`` and
unweighting efficiencies ``mean/max`` and ``mean/q_0.999`` of the final proposal's
weights, all three methods on 1e5 extra calls of plain (unstratified) sampling
from their final proposal (``mean/max`` falls as the sample grows: equal samples
compare the proposals, not the budgets), wall seconds, overhead per integrand
call (wall minus time spent in the integrand, divided by the calls; the extra
calls not included) and weights per second.

Run ``python benchmarks/bench_integration.py`` (budgets 1e5 and 1e6; long on a
CPU, run task by task with ``--tasks``) or ``--quick`` (1e5 only). The records
(one per seed, task, budget and method, see ``runner.py``) are kept in
``docs/benchmarks/integration.json``, new ones merged into those already there;
``--table-only`` rewrites the page from it. ``--more-seeds 1 2`` reruns every
method with other seeds and reports on which pairs the goals hold there too;
``--smoke`` checks the script end to end in seconds.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import runner
import torch
from _common import rst_table, setup_threads, write_page
from runner import Method, Problem, Ratio

from skhep_ml import NeuralImportanceIntegrator
from skhep_ml.datasets import make_integrand
from skhep_ml.integrate import BreitWignerMapping

TASKS = ["camel_d2", "camel_d4", "camel_d8", "ring_d2", "ridge_d4", "resonances_d3"]
#: the skhep_ml variants (the best of them is compared) and the peers
OURS = ("skhep_ml", "skhep_ml-2ch")
PEERS = ("vegas", "madnis")
#: the three ratio goals of the integrator
RATIOS = [
    Ratio("error_ratio", "rel_error", OURS, PEERS, goal=1.0),
    Ratio(
        "eff_ratio_vs_madnis",
        "eff_max",
        OURS,
        "madnis",
        higher_is_better=True,
        goal=1.0,
        pick_by="rel_error",
    ),
    Ratio(
        "overhead_ratio_vs_madnis",
        "overhead_us",
        OURS,
        "madnis",
        goal=0.5,
        pick_by="rel_error",
    ),
]
COLUMNS = [
    "task",
    "budget",
    "method",
    "rel_error",
    "pull",
    "rel_std",
    "eff_max",
    "eff_q999",
    "wall_s",
    "overhead_us",
    "weights_per_s",
]


class Counted:
    """Wraps an integrand: counts calls and the seconds spent inside it."""

    def __init__(self, f, torch_io=False):
        self.f, self.torch_io, self.calls, self.seconds = f, torch_io, 0, 0.0

    def __call__(self, X):
        start = time.perf_counter()
        out = self.f(X)
        self.seconds += time.perf_counter() - start
        self.calls += len(X)
        return out


def _weight_metrics(w):
    w = np.asarray(w, float)
    m = w.mean()
    return dict(
        rel_std=float(w.std() / m),
        eff_max=float(m / w.max()),
        eff_q999=float(m / np.quantile(w, 0.999)),
    )


def run_skhep(f, budget, seed, channels=None, params=None):
    g = Counted(f)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        est = NeuralImportanceIntegrator(
            integrand=g,
            n_dims=f.n_features,
            max_evaluations=budget,
            channels=channels,
            random_state=seed,
            **(params or {}),
        ).fit()
    wall = time.perf_counter() - start
    r = est.result_
    calls, f_seconds = g.calls, g.seconds
    # weights of the final proposal (plain sampling), 1e5 extra calls
    _, w = est.sample(100_000, random_state=seed)
    return dict(
        value=r.value,
        error=r.error,
        calls=calls,
        wall=wall,
        f_seconds=f_seconds,
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
    # weights of the adapted map (no stratification), 1e5 extra calls
    y = np.random.uniform(size=(100_000, d))
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


def run_madnis(f, budget, seed):
    from madnis.integrator import Integrator

    d = f.n_features
    g = Counted(f)

    def ft(x):
        return g(x)

    torch.manual_seed(seed)
    start = time.perf_counter()
    integ = Integrator(ft, dims=d, batch_size=1024)
    steps = max(1, int(0.4 * budget) // 1024)
    integ.train(steps)
    rest = budget - g.calls
    value, error = integ.integrate(rest)
    wall = time.perf_counter() - start
    calls, f_seconds = g.calls, g.seconds
    batch = integ.sample(100_000)
    wm = _weight_metrics(batch.weights.detach().numpy())
    return dict(
        value=value, error=error, calls=calls, wall=wall, f_seconds=f_seconds, **wm
    )


def _metrics(res, truth):
    """The page's metrics of one run (``res``: value, error, calls, seconds)."""
    return dict(
        rel_error=res["error"] / abs(res["value"]),
        pull=(res["value"] - truth) / res["error"],
        rel_std=res["rel_std"],
        eff_max=res["eff_max"],
        eff_q999=res["eff_q999"],
        wall_s=res["wall"],
        overhead_us=1e6 * (res["wall"] - res["f_seconds"]) / res["calls"],
        weights_per_s=res["calls"] / res["wall"],
        calls=res["calls"],
    )


def task(name):
    """A fixed task of :func:`skhep_ml.datasets.make_integrand`."""
    f = make_integrand(name)
    return Problem(name, data=f, truth={"integral": f.integral})


#: the channel mappings of the ``skhep_ml-2ch`` variant, per task
CHANNELS = {
    "resonances_d3": lambda: [
        BreitWignerMapping(3, 0, 0.3, 0.01),
        BreitWignerMapping(3, 1, 0.6, 0.01),
    ],
    "camel_d8": lambda: 2,
}


def _warmup():
    """First torch calls in a process are slow."""
    NeuralImportanceIntegrator(
        integrand=make_integrand("camel_d2"),
        max_evaluations=5000,
        n_iter=3,
        random_state=0,
    ).fit()


def methods(names, params=None):
    """The methods of the run: vegas, madnis and the skhep_ml variants."""

    def measured(fn):
        return lambda p, budget, seed: _metrics(
            fn(p, budget, seed), p.truth["integral"]
        )

    out = [
        Method("vegas", measured(lambda p, b, s: run_vegas(p.data, b, s))),
        Method("madnis", measured(lambda p, b, s: run_madnis(p.data, b, s))),
        Method(
            "skhep_ml",
            measured(lambda p, b, s: run_skhep(p.data, b, s, params=params)),
            warmup=_warmup,
        ),
        Method(
            "skhep_ml-2ch",
            measured(
                lambda p, b, s: run_skhep(p.data, b, s, CHANNELS[p.name](), params)
            ),
            applies=lambda p: p.name in CHANNELS,
        ),
    ]
    chosen = [m for m in out if m.name.split("-")[0] in names]
    if not any(m.warmup for m in chosen):  # the warm-up runs in any case
        chosen[0] = Method(chosen[0].name, chosen[0].fn, _warmup, chosen[0].applies)
    return chosen


def _all_goals_met(records):
    """Task/budget pairs where one skhep_ml run meets all three ratio goals."""
    met = 0
    for rs in runner.draws(records).values():
        by = {r["method"]: r for r in rs}
        if "madnis" not in by or "vegas" not in by:
            continue
        best_error = min(by[m]["rel_error"] for m in PEERS)
        met += any(
            r["rel_error"] <= best_error
            and r["eff_max"] >= by["madnis"]["eff_max"]
            and r["overhead_us"] <= 0.5 * by["madnis"]["overhead_us"]
            for m, r in by.items()
            if m in OURS
        )
    return met


def _n_pairs(records):
    return len(runner.ratios(records, RATIOS[0]))


def _goal_summary(records):
    """One line per goal: on how many task/budget pairs this run meets it."""
    n = _n_pairs(records)
    met = {
        row["ratio"]: row["met"].split("/")[0]
        for row in runner.distribution_rows(records, RATIOS)
    }
    ours = [r for r in records if r["method"] in OURS]
    worst_pull = max((abs(r["pull"]) for r in ours), default=float("nan"))
    return (
        "Goals met in this run (task/budget pairs, best skhep_ml variant): "
        f"``error_ratio <= 1`` on {met['error_ratio']}/{n}, "
        f"``eff_ratio_vs_madnis >= 1`` on {met['eff_ratio_vs_madnis']}/{n}, "
        f"``overhead_ratio_vs_madnis <= 0.5`` on "
        f"{met['overhead_ratio_vs_madnis']}/{n}; "
        "all three by one skhep_ml variant (any, not only the most accurate) on "
        f"{_all_goals_met(records)}/{n}; "
        f"largest ``|pull|`` of any skhep_ml run: {worst_pull:.2f}."
    )


def _misses(records):
    """``task budget (missed goal ratio, ...)`` where no variant meets all goals."""
    out = []
    for rs in runner.draws(records).values():
        if _all_goals_met(rs):
            continue
        values = {spec.name: runner.ratios(rs, spec) for spec in RATIOS if spec.goal}
        if not values["error_ratio"]:
            continue
        bad = [
            f"{spec.name} {values[spec.name][0]['value']:.2f}"
            for spec in RATIOS
            if values[spec.name] and not spec.met(values[spec.name][0]["value"])
        ]
        out.append(
            f"{rs[0]['problem']} {float(rs[0]['budget']):.0e} ({', '.join(bad)})"
        )
    return out


def _seeds_summary(records, seeds):
    """One sentence per repeated seed: the pairs meeting all goals, the misses."""
    lines = []
    for seed in seeds:
        rs = runner.select(records, seed=seed)
        misses = _misses(rs)
        line = (
            f"seed {seed}: all three goals on {_all_goals_met(rs)}/{_n_pairs(rs)} pairs"
        )
        lines.append(line + (f", missed on {'; '.join(misses)}" if misses else ""))
    return (
        "The same protocol with other seeds (every method rerun; ratios of the "
        "best variant): " + "; ".join(lines) + "."
    )


def _order(r):
    return TASKS.index(r["problem"]) if r["problem"] in TASKS else 99, r["budget"]


def write(records, command, seed=0, more_seeds=(), out_dir=runner.DOCS_BENCH):
    """The page: the rows of ``seed``, its ratios and their distribution.

    ``more_seeds``: the other seeds of ``records`` summarised in the intro.
    """
    others = [r for r in records if r["seed"] in more_seeds]
    records = runner.select(records, seed=seed)
    rows = [
        dict(r, task=r["problem"], budget=f"{r['budget']:.0e}")
        for r in sorted(records, key=lambda r: (*_order(r), r["method"]))
    ]
    table = rst_table(rows, COLUMNS, floatfmt=".3g")
    names = {
        key: (r["method"], r["reference"])
        for r in runner.ratios(records, RATIOS[0])
        for key in [(r["problem"], r["budget"])]
    }
    ratio_rows = [
        dict(
            r,
            task=r["problem"],
            budget=f"{r['budget']:.0e}",
            ours=names[r["problem"], r["budget"]][0],
            best_peer=names[r["problem"], r["budget"]][1],
        )
        for r in sorted(
            runner.draw_rows(records, RATIOS), key=lambda r: (r["problem"], r["budget"])
        )
        if (r["problem"], r["budget"]) in names
    ]
    columns = ["task", "budget", "ours", "best_peer", *(s.name for s in RATIOS)]
    ratio_table = rst_table(ratio_rows, columns, floatfmt=".3g")
    spread = rst_table(
        runner.distribution_rows(records, RATIOS),
        ["ratio", "better", "draws", "median", "worst_decile", "worst", "goal", "met"],
        floatfmt=".3g",
    )
    intro = (
        __doc__.split("\n\n", 1)[1].rsplit("\n\nRun ", 1)[0]
        + f"\n\nMachine: CPU, torch threads = {torch.get_num_threads()}. "
        "Ratios below 1 in ``error_ratio`` and ``overhead_ratio_vs_madnis`` and "
        "above 1 in ``eff_ratio_vs_madnis`` favour skhep_ml. The goals of the "
        "integrator are ``error_ratio <= 1`` and ``eff_ratio_vs_madnis >= 1`` on "
        "every task and budget, no silently dropped mode (every pull within a few "
        "units) and ``overhead_ratio_vs_madnis <= 0.5``; single runs (one seed), so "
        "ratios near 1 are within the run-to-run scatter. Wall seconds are "
        "taken on a machine shared with other jobs, so the overhead ratios "
        "scatter too (by up to ~1.5x between runs)."
    )
    intro += "\n\n" + _goal_summary(records)
    if more_seeds:
        intro += " " + _seeds_summary(others, more_seeds)
    write_page(
        "integration",
        "Integration: NeuralImportanceIntegrator vs vegas and madnis",
        intro,
        [
            ("Results", table),
            ("Ratios", ratio_table),
            ("Distribution of the ratios over the task/budget pairs", spread),
        ],
        command,
        out_dir,
    )
    print(table)
    print(ratio_table)
    print(spread)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="budget 1e5 only")
    parser.add_argument("--tasks", nargs="*", default=None)
    parser.add_argument("--budgets", nargs="*", type=float, default=None)
    parser.add_argument("--methods", nargs="*", default=["vegas", "madnis", "skhep_ml"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--more-seeds",
        nargs="*",
        type=int,
        default=[],
        help="rerun every method with these seeds too and report the goals met",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument(
        "--skhep-params",
        type=json.loads,
        default=None,
        help="JSON of NeuralImportanceIntegrator parameters, e.g. '{\"n_iter\": 25}': "
        "print the rows of this variant, write nothing",
    )
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    setup_threads(args.threads)
    out_dir = runner.output_dir(args.smoke)
    records_file = out_dir / "integration.json"
    tasks = args.tasks or (["resonances_d3"] if args.smoke else TASKS)
    budgets = args.budgets or (
        [5000] if args.smoke else [1e5] if args.quick else [1e5, 1e6]
    )
    budgets = [int(b) for b in budgets]
    if args.table_only:
        records = runner.load(records_file)[1]
        more_seeds = sorted({r["seed"] for r in records} - {args.seed})
    else:
        more_seeds = list(args.more_seeds)
        variant = args.skhep_params is not None
        records = runner.run(
            [task(t) for t in tasks],
            methods(args.methods, args.skhep_params),
            budgets,
            seeds=[args.seed, *more_seeds],
            out=None if variant else records_file,
            merge=True,
        )
        if variant:  # a variant of skhep_ml: its rows and goals, no page
            for seed in [args.seed, *more_seeds]:
                print(_seeds_summary(records, [seed]))
            return
        # the page shows this run's records, over those of the file
        done = {runner.key(r) for r in records}
        records += [
            r for r in runner.load(records_file)[1] if runner.key(r) not in done
        ]
        records = [r for r in records if r["seed"] in (args.seed, *more_seeds)]
    command = "python benchmarks/bench_integration.py" + (
        " --quick" if args.quick else ""
    )
    if more_seeds:
        command += " --more-seeds " + " ".join(map(str, more_seeds))
    write(records, command, args.seed, more_seeds, out_dir)


if __name__ == "__main__":
    main()
