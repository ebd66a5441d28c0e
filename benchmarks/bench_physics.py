"""The ISR cross section of e+e- → μ+μ-(γ): NIS vs vegas and madnis at equal calls.

Problems: :class:`skhep_ml.physics.RadiativeReturn`, the cross section with
collinear initial-state radiation (Kuraev-Fadin structure functions) on the
unit hypercube ``(t, w, cos θ*, φ)``: the fixed task at √s = 200 GeV with
``√s' > 50 GeV`` (``radiative_return_200``) and draws of a family
(``lep2``, draw ``i`` seeded ``i``) with √s uniform in the LEP2 range
[130, 207] GeV and the μμ mass cut ``√s'_min`` uniform in [20, 80] GeV, so
that the Z return is always inside. Exact answers: one-dimensional quadrature
of the structure-function convolution (:func:`skhep_ml.physics.isr_cross_section`).

Methods, each given the same number of integrand calls, set up as in
``bench_integration.py`` (whose functions this script calls):

* ``skhep_ml``: :class:`~skhep_ml.NeuralImportanceIntegrator` with its
  defaults and the two channels of :meth:`RadiativeReturn.channels` (the
  structure-function singularities, flattened by the variables, and a
  Breit-Wigner mapping of the Z ridge).
* ``vegas``: ``vegas.Integrator``, 5 adaptation iterations (discarded) and 10
  iterations whose weighted average is the result.
* ``madnis``: ``madnis.integrator.Integrator`` at its documented
  recommendation (``VegasPreTraining`` on 10 % of the calls, the flow trained
  with the variance loss, buffered training; one channel: madnis's
  multi-channel setup needs the channels' prior weights of the integrand,
  which :class:`RadiativeReturn` does not split).

Metrics: relative error ``σ/I`` (the method's own estimate), relative
deviation ``|I/I_quad - 1|`` from the quadrature, pull ``(I - I_quad)/σ``,
unweighting efficiencies ``mean/max`` and ``mean/q_0.999`` of the final
proposal's weights on 1e5 extra calls of plain sampling, wall seconds.
Ratios per draw: ``error_ratio``, skhep_ml's relative error over the better
of vegas and madnis (the issue's goal at 1e6 calls: ``<= 0.5``), and
``eff_ratio_vs_madnis``, its ``mean/max`` efficiency over madnis's (goal
``>= 1``).

Run ``python benchmarks/bench_physics.py`` (the full size: the fixed task and
10 family draws at 1e5 and 1e6 calls, about an hour on one CPU core) or
choose the size with ``--draws`` / ``--draws-1e6`` / ``--budgets``. The
records go to ``docs/benchmarks/physics.json`` and the page to
``physics.rst``; ``--smoke`` checks the script end to end in seconds.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import runner
import torch
from _common import rst_table, setup_threads, write_page
from bench_integration import _failed, _metrics, run_madnis, run_skhep, run_vegas
from runner import Method, Problem, Ratio

from skhep_ml import NeuralImportanceIntegrator
from skhep_ml.physics import RadiativeReturn

#: the LEP2 energies and the mass cuts of the family draws [GeV]
SQRT_S_RANGE, CUT_RANGE = (130.0, 207.0), (20.0, 80.0)
PEERS = ("vegas", "madnis")
RATIOS = [
    Ratio("error_ratio", "rel_error", "skhep_ml", PEERS, goal=0.5),
    Ratio(
        "eff_ratio_vs_madnis",
        "eff_max",
        "skhep_ml",
        "madnis",
        higher_is_better=True,
        goal=1.0,
    ),
]
COLUMNS = [
    "problem",
    "draw",
    "sqrt_s",
    "cut",
    "budget",
    "method",
    "rel_error",
    "rel_deviation",
    "pull",
    "eff_max",
    "eff_q999",
    "wall_s",
]


# ------------------------------------------------------------------ problems
def fixed_task():
    """√s = 200 GeV, √s' > 50 GeV: the gallery example's cross section."""
    f = RadiativeReturn(200.0, sqrt_s_min=50.0)
    return Problem("radiative_return_200", data=f, truth={"integral": f.integral})


def lep2_draw(seed):
    """Draw ``seed`` of the family: √s in the LEP2 range, a random mass cut."""
    rng = np.random.default_rng(seed)
    sqrt_s, cut = rng.uniform(*SQRT_S_RANGE), rng.uniform(*CUT_RANGE)
    f = RadiativeReturn(sqrt_s, sqrt_s_min=cut)
    return Problem("lep2", data=f, draw=seed, truth={"integral": f.integral})


# ------------------------------------------------------------------- methods
def _warmup():
    """First torch calls in a process are slow."""
    f = RadiativeReturn()
    NeuralImportanceIntegrator(
        integrand=f, n_dims=4, max_evaluations=5000, n_iter=3, random_state=0
    ).fit()


def measured(fn):
    """``fn(f, budget, seed)`` as a method: the metrics, or NaNs if it raised."""

    def run(p, budget, seed):
        try:
            res = fn(p.data, budget, seed)
        except Exception as exc:  # a peer that fails on a draw: recorded
            return _failed(exc)
        return _metrics(res, p.truth["integral"])

    return run


METHODS = {
    "vegas": Method("vegas", measured(run_vegas)),
    "madnis": Method("madnis", measured(run_madnis)),
    "skhep_ml": Method(
        "skhep_ml",
        measured(lambda f, b, s: run_skhep(f, b, s, channels=f.channels())),
        warmup=_warmup,
    ),
}


# --------------------------------------------------------------------- page
def _problem(r):
    return fixed_task() if r["problem"] != "lep2" else lep2_draw(r["draw"])


def _run_size(records):
    """Problems per budget (the fixed task and the family draws)."""
    parts = []
    for budget in sorted({r["budget"] for r in records}):
        rs = {(r["problem"], r["draw"]) for r in records if r["budget"] == budget}
        draws = sum(name == "lep2" for name, _ in rs)
        parts.append(f"at {budget:.0e} calls the fixed task and {draws} family draws")
    return "; ".join(parts)


def _goal_line(records, budget):
    """The issue's goals at one budget, over the draws."""
    rs = [r for r in records if r["budget"] == budget]
    parts = []
    for spec in RATIOS:
        d = runner.distribution(
            [r["value"] for r in runner.ratios(rs, spec)],
            spec.higher_is_better,
            spec.goal,
        )
        if d["n"]:
            sign = ">=" if spec.higher_is_better else "<="
            parts.append(
                f"``{spec.name}`` median {d['median']:.2f}, worst "
                f"{d['worst']:.2f}, {sign} {spec.goal:g} on {d['met']}/{d['n']} "
                f"draws ({'met' if d['met'] == d['n'] else 'not met'})"
            )
    return f"At {budget:.0e} calls: " + "; ".join(parts) + "." if parts else ""


def write(records, command, out_dir):
    """The page: per-draw rows, ratios per draw and their distribution."""
    records = sorted(
        records, key=lambda r: (r["budget"], r["problem"] != "lep2", r["draw"])
    )
    rows = []
    for r in records:
        p = _problem(r)
        rows.append(
            dict(
                r,
                sqrt_s=f"{p.data.sqrt_s:.1f}",
                cut=f"{p.data.sqrt_s_min:.1f}",
                budget=f"{r['budget']:.0e}",
                rel_deviation=abs(r["value"] / p.truth["integral"] - 1),
            )
        )
    table = rst_table(rows, COLUMNS, floatfmt=".3g")
    ratio_rows = [
        dict(r, budget=f"{r['budget']:.0e}") for r in runner.draw_rows(records, RATIOS)
    ]
    ratio_table = rst_table(
        ratio_rows, ["problem", "draw", "budget", *(s.name for s in RATIOS)], ".3g"
    )
    dist_rows = []
    for budget in sorted({r["budget"] for r in records}):
        rs = [r for r in records if r["budget"] == budget]
        dist_rows += [
            dict(budget=f"{budget:.0e}", **row)
            for row in runner.distribution_rows(rs, RATIOS)
        ]
    dist_table = rst_table(
        dist_rows,
        ["budget", "ratio", "better", "draws", "median", "worst_decile", "worst"]
        + ["goal", "met"],
        ".3g",
    )
    pull_rows = []
    for method in METHODS:
        p = np.array([r["pull"] for r in records if r["method"] == method], float)
        if p.size:
            pull_rows.append(
                dict(
                    method=method,
                    runs=p.size,
                    mean_pull=float(np.nanmean(p)),
                    pull_std=float(np.nanstd(p)),
                    max_abs_pull=float(np.nanmax(np.abs(p))),
                    over_3=int(np.sum(~(np.abs(p) <= 3))),
                )
            )
    pulls = rst_table(
        pull_rows,
        ["method", "runs", "mean_pull", "pull_std", "max_abs_pull", "over_3"],
        ".3g",
    )
    intro = (
        __doc__.split("\n\n", 1)[1].rsplit("\n\nRun ", 1)[0]
        + f"\n\nMachine: CPU, torch threads = {torch.get_num_threads()}, shared "
        "with other jobs: the wall seconds were measured under load and scatter. "
        "Single runs per draw (one seed)."
        + f"\n\nSize of this run: {_run_size(records)}. The full size is the "
        "fixed task and 10 family draws at 1e5 and at 1e6 calls (the default "
        "command, about an hour on one core, most of it madnis at 1e6)."
        + "\n\n"
        + " ".join(
            _goal_line(records, b) for b in sorted({r["budget"] for r in records})
        )
    )
    write_page(
        "physics",
        "Physics: the ISR cross section, NIS vs vegas and madnis",
        intro,
        [
            ("Results", table),
            ("Ratios per draw", ratio_table),
            ("Distribution of the ratios", dist_table),
            ("Pulls against the quadrature", pulls),
        ],
        command,
        out_dir,
    )
    print(dist_table)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=10, help="family draws at 1e5")
    parser.add_argument(
        "--draws-1e6", type=int, default=None, help="family draws above 1e5"
    )
    parser.add_argument("--budgets", nargs="*", type=float, default=[1e5, 1e6])
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument(
        "--merge", action="store_true", help="add to the records of the JSON file"
    )
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    setup_threads(args.threads)
    out_dir = runner.output_dir(args.smoke)
    records_file = out_dir / "physics.json"
    if args.smoke:
        args.draws, args.draws_1e6, args.budgets = 1, 1, [5000]
    if args.draws_1e6 is None:
        args.draws_1e6 = args.draws
    argv = sys.argv[1:] if argv is None else argv
    command = " ".join(["python benchmarks/bench_physics.py", *argv])
    if args.table_only:
        env, records = runner.load(records_file)
        commands = env.get("commands", [command])
    else:
        commands = []
        if args.merge and records_file.exists():
            commands = runner.load(records_file)[0].get("commands", [])
        elif records_file.exists():
            records_file.unlink()  # a fresh run: the page shows this run only
        chosen = [METHODS[name] for name in args.methods]
        for budget in (int(b) for b in args.budgets):
            n = args.draws if budget <= 100_000 else args.draws_1e6
            problems = [fixed_task()] + [lep2_draw(i) for i in range(n)]
            runner.run(
                problems,
                chosen,
                [budget],
                seeds=[args.seed],
                out=records_file,
                merge=True,
            )
            chosen = [Method(m.name, m.fn, None, m.applies) for m in chosen]
        commands = [*commands, command]
        records = runner.load(records_file)[1]
        runner.save(
            records_file, records, {**runner.environment(), "commands": commands}
        )
    write(records, " && ".join(commands), out_dir)


if __name__ == "__main__":
    main()
