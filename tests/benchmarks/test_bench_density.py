"""The density benchmark runs end to end (--smoke) and writes its page."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_density_benchmark_smoke_run():
    pytest.importorskip("zuko")
    proc = subprocess.run(
        [sys.executable, "bench_density.py", "--smoke"],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = Path(proc.stdout.split("output in ")[1].split()[0])
    sys.path.insert(0, str(BENCH))
    import runner

    records = runner.load(out / "density.json")[1]
    methods = {r["method"] for r in records}
    assert {"FlowDensity", "zuko NSF", "zuko MAF", "KernelDensity"} <= methods
    assert all(r["gap"] == r["gap"] for r in records)  # no NaN
    page = (out / "density.rst").read_text()
    assert "ahead_of_NSF" in page and "Per draw" in page
