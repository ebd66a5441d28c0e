"""Data-scaled training length and errors in the original units."""

import numpy as np
import pytest

from skhep_ml import BayesianRegressor
from skhep_ml.datasets import make_heteroscedastic

TINY = dict(hidden_layer_sizes=(8,), random_state=0)


def _steps(reg, n_rows, batch_size):
    return reg.n_iter_ * -(-n_rows // batch_size)


@pytest.mark.slow
def test_default_training_length_is_a_step_budget_growing_as_sqrt_n():
    X, y, _ = make_heteroscedastic(256, random_state=0)
    small_batches = BayesianRegressor(early_stopping=False, batch_size=8, **TINY).fit(
        X[:64], y[:64]
    )
    large_batches = BayesianRegressor(early_stopping=False, batch_size=32, **TINY).fit(
        X[:64], y[:64]
    )
    more_data = BayesianRegressor(early_stopping=False, batch_size=32, **TINY).fit(X, y)
    s_small, s_large = _steps(small_batches, 64, 8), _steps(large_batches, 64, 32)
    # the same number of optimizer steps whatever the batch size ...
    assert s_small == pytest.approx(s_large, rel=0.02)
    # ... and sqrt(4) = 2 times more for four times the rows
    assert _steps(more_data, 256, 32) == pytest.approx(2 * s_large, rel=0.02)


def test_log_target_returns_value_and_propagated_errors():
    X, y, _ = make_heteroscedastic(400, random_state=0)
    params = dict(hidden_layer_sizes=(16,), max_epochs=30, random_state=0)
    plain = BayesianRegressor(**params).fit(X, y)
    logged = BayesianRegressor(target_transform="log", **params).fit(X, np.exp(y))
    mean, s_stat, s_syst = plain.predict_uncertainty(X[:50])
    value, v_stat, v_syst = logged.predict_uncertainty(X[:50])
    # the same network on log y; A = exp(mu), sigma_A = A sigma_log (first order)
    np.testing.assert_allclose(value, np.exp(mean), rtol=1e-6)
    np.testing.assert_allclose(v_stat, value * s_stat, rtol=1e-6)
    np.testing.assert_allclose(v_syst, value * s_syst, rtol=1e-6)
    value2, std = logged.predict(X[:50], return_std=True)
    np.testing.assert_allclose(std, np.hypot(v_stat, v_syst))
    draws = logged.sample_predictions(X[:3], n_samples=4000, random_state=0)
    assert np.all(draws > 0)
    # exp of log-normal draws: median exp(mu), relative spread sigma_log
    np.testing.assert_allclose(np.median(draws, axis=0), value[:3], rtol=0.05)


def test_log_target_rejects_non_positive_targets():
    with pytest.raises(ValueError, match='target_transform="log" needs positive'):
        BayesianRegressor(target_transform="log", max_epochs=1).fit(
            [[0.0], [1.0], [2.0]], [1.0, 0.0, 2.0]
        )
