"""FlowDensity's defaults on development draws of the density family.

The evidence for the defaults of :class:`skhep_ml.FlowDensity`: configurations
(FlowDensity parameters over the defaults) against zuko's NSF at equal
optimizer steps, on draws of :func:`skhep_ml.datasets.make_density_family`
that the benchmark page does not report (seeds from 100 by default; the page
uses 0, 1, ...). Problems, peers and step budgets are those of
``bench_density.py``. Per draw and budget: the paired gap difference to zuko
NSF (negative: FlowDensity closer to the truth) with its standard error; per
configuration: draws ahead, median difference. Writes
``docs/benchmarks/density_defaults.rst`` (included by the user guide's
defaults section) and ``.json``.

    OMP_NUM_THREADS=1 python benchmarks/density_defaults.py --draws 6 \\
        --n-train 3000 --budgets 200 1000 --configs before after

(``--smoke``: two tiny draws, end to end in seconds.)
"""

from __future__ import annotations

import argparse
import math

import bench_density as bd
import numpy as np
import runner
from _common import rst_table, setup_threads, write_page

#: configurations, as FlowDensity parameters over the current defaults
CONFIGS = {
    "after": {},
    # the defaults of d50f606 (session 11)
    "before": dict(bins=16, tail_bound=4.0, lr=2e-3, n_iter_no_change=10),
    "width 64": dict(hidden_layer_sizes=(64, 64)),
}


def make(params):
    return lambda steps, seed: bd.Ours(steps, seed, params=params)


def rows(records, configs, budgets):
    per_draw, summary = [], []
    for b in budgets:
        for name in configs:
            diffs = []
            for (_, _, draw, budget), recs in runner.draws(records).items():
                by = {r["method"]: r for r in recs}
                if budget != b or name not in by or bd.NSF not in by:
                    continue
                diff = by[name]["_gaps"] - by[bd.NSF]["_gaps"]
                se = diff.std() / math.sqrt(len(diff))
                diffs.append(float(diff.mean()))
                per_draw.append(
                    dict(
                        draw=draw,
                        budget=b,
                        config=name,
                        d=by[name]["d"],
                        gap=by[name]["gap"],
                        NSF=by[bd.NSF]["gap"],
                        diff=f"{diff.mean():+.3f} ± {se:.3f}",
                        kinds=by[name]["kinds"],
                    )
                )
            if diffs:
                d = np.array(diffs)
                summary.append(
                    dict(
                        budget=b,
                        config=name,
                        ahead_of_NSF=f"{int(np.sum(d < 0))}/{len(d)}",
                        median_diff=float(np.median(d)),
                        mean_diff=float(np.mean(d)),
                    )
                )
    return per_draw, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=6)
    parser.add_argument("--first-draw", type=int, default=100)
    parser.add_argument("--n-train", type=int, default=3000)
    parser.add_argument("--n-test", type=int, default=3000)
    parser.add_argument("--budgets", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--max-dim", type=int, default=8)
    parser.add_argument("--configs", nargs="+", default=["before", "after"])
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    setup_threads(1)
    if args.smoke:
        args.draws, args.n_train, args.n_test = 2, 300, 300
        args.budgets, args.max_dim = [2, 4], 3
    unknown = sorted(set(args.configs) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown configs {unknown}; known: {sorted(CONFIGS)}")
    bd.SPEED["on"] = False
    out = runner.output_dir(args.smoke)
    seeds = range(args.first_draw, args.first_draw + args.draws)
    family = bd.family(args.n_train, args.n_test, (2, args.max_dim))
    methods = [bd.method(bd.NSF, lambda b, s: bd.Peer("NSF", b, s))]
    methods += [bd.method(c, make(CONFIGS[c])) for c in args.configs]
    records = []
    for problem in runner.draw(family, seeds):
        records += runner.run(
            [problem],
            methods,
            budgets=args.budgets,
            out=out / "density_defaults.json",
            merge=bool(records),
            log=lambda r: print(
                r["draw"], r["budget"], r["method"], f"gap {r['gap']:.3f}", flush=True
            ),
        )
        per_draw, summary = rows(records, args.configs, args.budgets)
        command = (
            "OMP_NUM_THREADS=1 python benchmarks/density_defaults.py "
            f"--draws {args.draws} --first-draw {args.first_draw} "
            f"--n-train {args.n_train} --n-test {args.n_test} "
            f"--budgets {' '.join(map(str, args.budgets))} "
            f"--max-dim {args.max_dim} --configs {' '.join(args.configs)}"
        )
        intro = (
            "FlowDensity configurations against zuko NSF at equal optimizer "
            "steps on development draws (not those of the benchmark page); "
            "``diff``: the configuration's gap minus zuko NSF's, paired over "
            "the test events, ± its standard error (nats). See the docstring "
            "of ``benchmarks/density_defaults.py`` for the configurations. "
            f"This run: {len({r['draw'] for r in records})} draws."
        )
        tables = [
            (
                "Summary",
                rst_table(
                    summary,
                    ["budget", "config", "ahead_of_NSF", "median_diff", "mean_diff"],
                    ".3f",
                ),
            ),
            (
                "Per draw",
                rst_table(
                    per_draw,
                    ["draw", "budget", "config", "d", "gap", "NSF", "diff", "kinds"],
                    ".3f",
                ),
            ),
        ]
        write_page(
            "density_defaults", "FlowDensity defaults", intro, tables, command, out
        )
        print(tables[0][1], flush=True)


if __name__ == "__main__":
    main()
