"""The family benchmark runs end to end (``--smoke``) and records every method."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from skhep_ml.datasets import make_simulator_family

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
SBI_METHODS = {"sbi nre_a", "sbi nre_c"}


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
        # sbi is an optional peer: its rows where the run could import it
        assert methods - SBI_METHODS == {
            "skhep_ml auto",
            "skhep_ml carl",
            "madminer alices",
            "madminer carl",
            "exact likelihood",
        }
        assert methods & SBI_METHODS in (set(), SBI_METHODS)
        for r in records:
            assert all(0 <= r[k] <= 1 for k in ("cov68", "cal95") if k in r)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["nre_a", "nre_c"])
def test_sbi_peer_gives_the_ratio_to_the_reference(method, monkeypatch):
    pytest.importorskip("sbi")
    monkeypatch.syspath_prepend(str(BENCH))
    bench = importlib.import_module("bench_ratio_family")
    sim = make_simulator_family(1)
    X, y, r, t = sim.make_training(400, random_state=0)
    kw = dict(epochs=1, batch_size=128, lr=1e-3, seed=0)
    seconds, predict, log_ratio_grid = bench.fit_sbi(method, sim, X, y, r, t, **kw)
    assert seconds > 0
    x, _ = sim.sample(6, sim.theta_true, random_state=1)
    grid = np.array([sim.theta_ref, sim.theta_true, sim.theta_bounds[:, 0]])
    log_r = log_ratio_grid(x, grid)
    assert log_r.shape == (3, 6) and np.all(np.isfinite(log_r))
    # log r(x|θ_1, θ_1) = 0: the marginal-ratio logits cancel at the reference
    np.testing.assert_allclose(log_r[0], 0.0, atol=1e-6)
    rows = np.column_stack([x, np.tile(sim.theta_true, (6, 1))])
    np.testing.assert_allclose(predict(rows), log_r[1], rtol=1e-6, atol=1e-6)
    sys.modules.pop("bench_ratio_family", None)
