"""The regression benchmark runs end to end (``--smoke``) with every peer."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_regression_benchmark_smoke_run():
    pytest.importorskip("bayesian_torch")
    pytest.importorskip("laplace")
    proc = subprocess.run(
        [sys.executable, "bench_regression.py", "--smoke"],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    sys.path.insert(0, str(BENCH))
    import runner

    out = Path(proc.stdout.split("output in ")[1].split()[0])
    records = runner.load(out / "regression.json")[1]
    methods = {r["method"] for r in records}
    assert methods == {"skhep_ml", "ensemble", "bayesian-torch", "laplace", "gp"}
    assert {r["problem"] for r in records} == {"amplitude", "ee_qqbarg", "hetero"}
    for r in records:
        assert 0 <= r.get("permille", 0) <= 1 and r["w68"] > 0
    assert "Every draw" in (out / "regression.rst").read_text()
