"""Run every side-by-side benchmark and write one summary table for the docs.

Each ``bench_*.py`` writes its own page under ``docs/benchmarks/``; this script runs
them one after the other (``--quick`` passes the flag on), records wall time and exit
status, and writes ``docs/benchmarks/summary.rst``. ``bench_gpu.py`` runs only where
CUDA is available. ``--smoke`` runs every script that has the flag with ``--smoke``
(tiny budgets, pages in temp folders) and the summary goes to a temp folder too.

Run ``python benchmarks/run_all.py [--quick | --smoke] [--only density ratio ...]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import runner
import torch
from _common import DOCS_BENCH, rst_table, write_page
from runner import Method, Problem

HERE = Path(__file__).resolve().parent


def script_method(flags):
    """Run a script (the problem) as a subprocess with ``flags``: its exit status."""

    def fn(problem, budget, seed):
        script = problem.data
        if "--smoke" in flags and "add_smoke_flag" not in script.read_text():
            return {"status": "skipped (no --smoke)"}
        cmd = [sys.executable, script.name, *flags]
        print(f"== {' '.join(cmd)}", flush=True)
        code = subprocess.run(cmd, cwd=HERE).returncode
        return {"status": "ok" if code == 0 else f"exit {code}"}

    return Method("run", fn)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced runs")
    parser.add_argument("--only", nargs="*", help="topics, e.g. regression density")
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if not torch.cuda.is_available() and not args.smoke:  # CPU against CUDA
        scripts = [s for s in scripts if s.stem != "bench_gpu"]
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    flags = ["--smoke"] if args.smoke else ["--quick"] if args.quick else []
    out_dir = runner.output_dir(args.smoke)
    records = runner.run(
        [Problem(s.stem.removeprefix("bench_"), data=s) for s in scripts],
        [script_method(flags)],
        log=None,
    )
    rows = [
        {
            "benchmark": f"bench_{r['problem']}.py",
            "status": r["status"],
            "wall_s": r["run_s"],
            "page": (
                f":doc:`{r['problem']}`"
                if (DOCS_BENCH / f"{r['problem']}.rst").exists()
                else "-"
            ),
        }
        for r in records
    ]
    table = rst_table(rows, ["benchmark", "status", "wall_s", "page"], ".0f")
    print(table)
    write_page(
        "summary",
        "All benchmarks",
        "Every side-by-side benchmark, run in sequence by ``benchmarks/run_all.py``.",
        [("Runs", table)],
        "python benchmarks/run_all.py" + "".join(f" {f}" for f in flags),
        out_dir,
    )
    return int(any(r["status"] not in ("ok", "skipped (no --smoke)") for r in rows))


if __name__ == "__main__":
    sys.exit(main())
