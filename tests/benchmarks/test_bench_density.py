"""The density benchmark runs end to end (--smoke) and writes its page."""

import pytest


@pytest.mark.slow
def test_density_benchmark_smoke_run(bench_smoke):
    pytest.importorskip("zuko")
    run = bench_smoke("bench_density.py")
    records, out = run("density.json"), run.out
    methods = {r["method"] for r in records}
    assert {"FlowDensity", "zuko NSF", "zuko MAF", "KernelDensity"} <= methods
    assert all(r["gap"] == r["gap"] for r in records)  # no NaN
    page = (out / "density.rst").read_text()
    assert "ahead_of_NSF" in page and "Per draw" in page
