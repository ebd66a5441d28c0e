"""The family benchmark runs end to end (``--smoke``) and records every method."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
@pytest.mark.parametrize("flags", [[], ["--fisher"]])
def test_family_benchmark_smoke_run(flags):
    pytest.importorskip("madminer")
    sys.path.insert(0, str(BENCH))
    import runner

    proc = subprocess.run(
        [sys.executable, "bench_ratio_family.py", "--smoke", *flags],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=600,
        # the package of this checkout, not an installed one
        env={**os.environ, "PYTHONPATH": str(BENCH.parent)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = Path(proc.stdout.split("output in ")[1].split()[0])
    name = "ratio_fisher.json" if flags else "ratio_family.json"
    records = runner.load(out / name)[1]
    methods = {r["method"] for r in records}
    if flags:
        assert methods == {"skhep_ml sally", "madminer sally"}
        assert all(r["fisher_err"] >= 0 for r in records)
    else:
        assert methods == {
            "skhep_ml auto",
            "skhep_ml carl",
            "madminer alices",
            "madminer carl",
            "exact likelihood",
        }
        for r in records:
            assert all(0 <= r[k] <= 1 for k in ("cov68", "cal95") if k in r)
