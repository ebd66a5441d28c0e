"""The final integration streams in chunks: same estimate, bounded memory."""

import numpy as np
import pytest

from skhep_ml import NeuralImportanceIntegrator
from skhep_ml.datasets import Camel
from skhep_ml.integrate import _final_integration
from skhep_ml.integrate._diagnostics import pareto_k
from skhep_ml.integrate._final_integration import WeightStats


def test_weight_stats_in_batches_equal_numpy():
    rng = np.random.default_rng(0)
    w = rng.lognormal(sigma=2.0, size=30_011)
    stats = WeightStats(len(w))
    for part in np.array_split(w, 7):
        stats.add(part)
    result, share = stats.result(1.0, 0.1, len(w))
    mean = w.mean()
    assert result.rel_std == pytest.approx(w.std() / mean, rel=1e-10)
    assert result.unweighting_efficiency == pytest.approx(mean / w.max(), rel=1e-12)
    assert result.unweighting_efficiency_q == pytest.approx(
        mean / np.quantile(w, 0.999), rel=1e-12
    )
    assert share["max_share"] == pytest.approx(w.max() / w.sum(), rel=1e-12)
    assert share["pareto_k"] == pytest.approx(pareto_k(w), rel=1e-12)
    assert len(stats.top) < len(w) / 50  # the tail, not the weights


def test_combined_weight_stats_are_those_of_the_scaled_union():
    rng = np.random.default_rng(1)
    parts = [rng.exponential(size=m) for m in (5_000, 20_000, 20_000)]
    # the first part holds all the largest weights once scaled
    scales = [50.0, 1.0, 1.0]
    n = sum(len(p) for p in parts)
    stats = WeightStats.combine(
        [WeightStats(len(p), tail_of=n).add(p) for p in parts], scales
    )
    w = np.concatenate([c * p for c, p in zip(scales, parts)])
    assert stats.quantile(0.999) == pytest.approx(np.quantile(w, 0.999), rel=1e-12)
    tail = stats.result(0, 0, n)[1]
    assert tail["max_share"] == pytest.approx(w.max() / w.sum(), rel=1e-12)
    assert tail["pareto_k"] == pytest.approx(pareto_k(w), rel=1e-12)


@pytest.mark.parametrize(
    "d, kw",
    [
        (2, {}),  # fine strata
        (5, {}),  # adaptive stratification in passes
        (2, {"stratified": False}),  # plain sampling
        (3, {"channels": 2}),  # identical channels
    ],
)
def test_chunks_give_the_estimate_of_one_pass(monkeypatch, d, kw):
    f = Camel(d)
    est = NeuralImportanceIntegrator(
        integrand=f, max_evaluations=20_000, n_iter=3, random_state=0, **kw
    ).fit()
    whole = est.integrate(12_000, random_state=3)
    calls = est.n_evaluations_
    # chunks of 997 points cut the cells: their sums carry over
    monkeypatch.setattr(_final_integration, "CHUNK", 997)
    chunked = est.integrate(12_000, random_state=3)
    assert est.n_evaluations_ - calls == 12_000
    for a, b in zip(
        (whole.value, whole.error, whole.rel_std, whole.unweighting_efficiency_q),
        (
            chunked.value,
            chunked.error,
            chunked.rel_std,
            chunked.unweighting_efficiency_q,
        ),
    ):
        assert b == pytest.approx(a, rel=1e-5)
    assert abs(chunked.value - f.integral) < 5 * chunked.error
