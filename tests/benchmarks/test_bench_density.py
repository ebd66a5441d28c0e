"""The density benchmark runs end to end (--smoke) and writes its page."""

import pytest


@pytest.mark.slow
def test_density_benchmark_smoke_run(bench_smoke):
    pytest.importorskip("zuko")
    pytest.importorskip("nflows")
    run = bench_smoke("bench_density.py")
    records, out = run("density.json"), run.out
    methods = {r["method"] for r in records}
    assert {
        "FlowDensity",
        "FlowDensity CV",
        "zuko NSF",
        "zuko MAF",
        "nflows RQ-MAF",
        "KernelDensity",
    } <= methods
    assert all(r["gap"] == r["gap"] for r in records)  # no NaN
    searches = [r for r in records if r["method"] == "FlowDensity CV"]
    assert all(isinstance(r["flow_chosen"], bool) for r in searches)
    page = (out / "density.rst").read_text()
    assert "ahead_of_NSF" in page and "CV_flow_where_better" in page
    assert "Per draw" in page


def test_step_budget_gives_the_peers_steps():
    """FlowDensity's epochs at a step budget take about that many steps."""
    import math
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_density import epochs_for

    for n, steps in [(3000, 790), (20000, 790), (20000, 3950), (500, 40)]:
        n_fit = n - math.ceil(0.1 * n)
        per_epoch = math.ceil(n_fit / 512)
        assert abs(epochs_for(steps, n) * per_epoch - steps) <= per_epoch / 2


@pytest.mark.slow
def test_density_defaults_study_smoke_run(bench_smoke):
    pytest.importorskip("zuko")
    run = bench_smoke("density_defaults.py")
    records, out = run("density_defaults.json"), run.out
    assert {r["method"] for r in records} == {"zuko NSF", "before", "after"}
    assert "ahead_of_NSF" in (out / "density_defaults.rst").read_text()
