"""Streaming writes of events to ROOT: throughput and bounded peak memory.

``skhep_ml.io.write_samples`` draws ``estimator.sample`` chunk by chunk and writes
every chunk as one basket (uproot ``mktree`` + ``extend``), so the memory of a
write is that of one chunk whatever the number of events. Each case runs in a
fresh subprocess and reports:

* events/s of the whole write (draws included for ``write_samples``), uproot
  imported and warmed up before the clock starts;
* the growth of the peak resident memory during the timed write (``ru_maxrss``)
  and, in a second untimed pass, the peak traced memory (``tracemalloc``: numpy's
  and Python's allocations) -- both must stay a few chunks, not grow with the
  number of events;
* file size.

The sampler is a numpy stub (3 uniform features and a weight), so the numbers are
the I/O path's; a FlowDensity's own sampling cost comes on top. Goal: a 1e7-event
write at >= 1e6 events/s with memory bounded by the chunk. Reading back
(``read_root``, ``iterate_root``) is timed on the same file.

Run ``OMP_NUM_THREADS=1 python benchmarks/bench_io.py`` (``--events`` to change
1e7).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from _common import rst_table, write_page
from sklearn.base import BaseEstimator

from skhep_ml.io import iterate_root, read_root, write_root, write_samples

N_FEATURES = 3


class UniformSampler(BaseEstimator):
    """Stand-in for a fitted sampler: ``sample`` returns points and weights."""

    def __init__(self, n_features=N_FEATURES):
        self.n_features = n_features

    def sample(self, n_samples, random_state=None):
        rng = np.random.default_rng(random_state.randint(2**31))
        return rng.random((n_samples, self.n_features)), rng.random(n_samples)


def _maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write(case, path):
    """The write of ``case``; seconds, and the peak RSS growth during it (MB)."""
    n, chunk, compression = case["events"], case["chunk"], case["compression"]
    if case["mode"] == "write_samples":
        base = _maxrss_mb()
        start = time.perf_counter()
        write_samples(
            path,
            UniformSampler(),
            n,
            random_state=0,
            chunk_size=chunk,
            compression=compression,
        )
    else:  # the events already in memory, written in chunks
        rng = np.random.default_rng(0)
        X, w = rng.random((n, N_FEATURES)), rng.random(n)
        base = _maxrss_mb()
        start = time.perf_counter()
        write_root(path, X, sample_weight=w, chunk_size=chunk, compression=compression)
    return time.perf_counter() - start, _maxrss_mb() - base


def run_case(case: dict) -> dict:
    """One write (and read) in this fresh process: timings and memory."""
    import uproot  # noqa: F401  (imported before the clock starts)

    path = Path(case["dir"]) / f"{case['name']}.root"
    n, chunk = case["events"], case["chunk"]
    write_root(path, np.zeros((10, 1)))  # warm-up: uproot's lazy imports
    seconds, rss_growth = _write(case, path)
    # the traced peak in a second, untimed pass (tracemalloc slows Python code)
    tracemalloc.start()
    _write(case, path)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    out = {
        "case": case["name"],
        "events": n,
        "chunk": chunk,
        "compression": str(case["compression"]),
        "events_per_s": n / seconds,
        "peak_traced_MB": peak,
        "rss_growth_MB": rss_growth,
        "file_MB": path.stat().st_size / 2**20,
        "chunk_MB": chunk * (N_FEATURES + 1) * 8 / 2**20,
    }
    if case.get("read"):
        branches = [f"x{j}" for j in range(N_FEATURES)]
        start = time.perf_counter()
        X, w = read_root(path, branches, weight="weight")
        out["read_events_per_s"] = len(X) / (time.perf_counter() - start)
        del X, w
        start = time.perf_counter()
        m = sum(
            len(x)
            for x, _ in iterate_root(path, branches, weight="weight", step_size=chunk)
        )
        out["iterate_events_per_s"] = m / (time.perf_counter() - start)
    path.unlink()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=float, default=1e7)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    n = int(args.events)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            dict(
                name="stream zstd",
                mode="write_samples",
                events=n,
                chunk=1_000_000,
                compression="zstd",
                read=True,
            ),
            dict(
                name="stream zstd, chunk 1e5",
                mode="write_samples",
                events=n,
                chunk=100_000,
                compression="zstd",
            ),
            dict(
                name="stream zstd, 1/10 events",
                mode="write_samples",
                events=n // 10,
                chunk=1_000_000,
                compression="zstd",
            ),
            dict(
                name="stream uncompressed",
                mode="write_samples",
                events=n,
                chunk=1_000_000,
                compression=None,
            ),
            dict(
                name="stream zlib",
                mode="write_samples",
                events=n,
                chunk=1_000_000,
                compression="zlib",
            ),
            dict(
                name="in-memory arrays, zstd",
                mode="write_root",
                events=n,
                chunk=1_000_000,
                compression="zstd",
            ),
        ]
        for case in cases:
            case["dir"] = tmp
            done = subprocess.run(
                [sys.executable, __file__, "--case", json.dumps(case)],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append(json.loads(done.stdout.splitlines()[-1]))
            print(rows[-1], flush=True)
    columns = [
        "case",
        "events",
        "chunk",
        "events_per_s",
        "peak_traced_MB",
        "rss_growth_MB",
        "chunk_MB",
        "file_MB",
    ]
    table = rst_table(rows, columns, ".3g")
    read = rst_table(
        rows[:1], ["case", "read_events_per_s", "iterate_events_per_s"], ".3g"
    )
    print(table)
    print(read)
    load = os.getloadavg()[0]
    write_page(
        "io",
        "Event files: streaming writes to ROOT",
        f"{n:,} events of {N_FEATURES} float64 features and a weight, written by "
        "``skhep_ml.io.write_samples`` from a numpy sampler stub, one basket per "
        f"chunk; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        f"load average {load:.1f} at the end. Peak memory stays that of a few "
        "chunks and does not grow with the number of events (compare the 1/10 "
        "row). Goal: >= 1e6 events/s.",
        [("Writes", table), ("Reading the same file back", read)],
        "OMP_NUM_THREADS=1 python benchmarks/bench_io.py",
    )


if __name__ == "__main__":
    main()
