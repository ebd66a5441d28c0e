"""The family benchmark runs end to end (``--smoke``) and records every method."""

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("flags", [[], ["--fisher"]])
def test_family_benchmark_smoke_run(bench_smoke, flags):
    pytest.importorskip("madminer")
    run = bench_smoke("bench_ratio_family.py", *flags, timeout=600)
    records = run("ratio_fisher.json" if flags else "ratio_family.json")
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
