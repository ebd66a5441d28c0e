"""The physics benchmark runs end to end (--smoke) and writes its page."""

import math

import pytest


@pytest.mark.slow
def test_physics_benchmark_smoke_run(bench_smoke):
    pytest.importorskip("vegas")
    pytest.importorskip("madnis")
    run = bench_smoke("bench_physics.py")
    records, out = run("physics.json"), run.out
    assert {r["method"] for r in records} == {"skhep_ml", "vegas", "madnis"}
    assert {r["problem"] for r in records} == {"radiative_return_200", "lep2"}
    for r in records:  # every method integrates the cross section it was given
        assert math.isfinite(r["value"]) and abs(r["pull"]) < 5
    page = (out / "physics.rst").read_text()
    assert "error_ratio" in page and "eff_ratio_vs_madnis" in page
