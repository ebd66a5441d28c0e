"""The regression benchmark runs end to end (``--smoke``) with every peer."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_regression_benchmark_smoke_run():
    # find_spec, not import: laplace-torch pulls in torchvision, which may not
    # load with this torch (the benchmark stubs it)
    for peer in ("bayesian_torch", "laplace"):
        if importlib.util.find_spec(peer) is None:
            pytest.skip(f"{peer} is not installed")
    proc = subprocess.run(
        [sys.executable, "bench_regression.py", "--smoke"],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=900,
        # the checkout under test, not whichever skhep_ml is installed
        env={**os.environ, "PYTHONPATH": str(BENCH.parent)},
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
