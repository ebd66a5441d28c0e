"""The regression benchmark runs end to end (``--smoke``) with every peer."""

import importlib.util

import pytest


@pytest.mark.slow
def test_regression_benchmark_smoke_run(bench_smoke):
    # find_spec, not import: laplace-torch pulls in torchvision, which may not
    # load with this torch (the benchmark stubs it)
    for peer in ("bayesian_torch", "laplace"):
        if importlib.util.find_spec(peer) is None:
            pytest.skip(f"{peer} is not installed")
    run = bench_smoke("bench_regression.py")
    records, out = run("regression.json"), run.out
    methods = {r["method"] for r in records}
    assert methods == {"skhep_ml", "ensemble", "bayesian-torch", "laplace", "gp"}
    assert {r["problem"] for r in records} == {"amplitude", "ee_qqbarg", "hetero"}
    for r in records:
        assert 0 <= r.get("permille", 0) <= 1 and r["w68"] > 0
    assert "Every draw" in (out / "regression.rst").read_text()
