"""Run every side-by-side benchmark and write one summary table for the docs.

Each ``bench_*.py`` writes its own page under ``docs/benchmarks/``; this script runs
them one after the other (``--quick`` passes the flag on), records wall time and exit
status, and writes ``docs/benchmarks/summary.rst``. ``bench_gpu.py`` runs only where
CUDA is available.

Run ``python benchmarks/run_all.py [--quick] [--only density ratio ...]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch
from _common import DOCS_BENCH, rst_table, write_page

HERE = Path(__file__).resolve().parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced runs")
    parser.add_argument("--only", nargs="*", help="topics, e.g. regression density")
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if not torch.cuda.is_available():  # bench_gpu compares CPU with CUDA
        scripts = [s for s in scripts if s.stem != "bench_gpu"]
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    rows = []
    for script in scripts:
        cmd = [sys.executable, script.name] + (["--quick"] if args.quick else [])
        print(f"== {' '.join(cmd)}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=HERE)
        topic = script.stem.removeprefix("bench_")
        page = DOCS_BENCH / f"{topic}.rst"
        rows.append(
            {
                "benchmark": script.name,
                "status": "ok" if proc.returncode == 0 else f"exit {proc.returncode}",
                "wall_s": time.perf_counter() - start,
                "page": f":doc:`{topic}`" if page.exists() else "-",
            }
        )
    table = rst_table(rows, ["benchmark", "status", "wall_s", "page"], ".0f")
    print(table)
    write_page(
        "summary",
        "All benchmarks",
        "Every side-by-side benchmark, run in sequence by ``benchmarks/run_all.py``.",
        [("Runs", table)],
        "python benchmarks/run_all.py" + (" --quick" if args.quick else ""),
    )
    return int(any(r["status"] != "ok" for r in rows))


if __name__ == "__main__":
    sys.exit(main())
