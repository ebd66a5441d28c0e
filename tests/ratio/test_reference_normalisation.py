"""log_ratio_grid normalises the learned ratio by the training rows from θ_1."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import chi2

from skhep_ml import ALICERatioEstimator
from skhep_ml.datasets import make_simulator_family
from skhep_ml.ratio import estimator as estimator_module
from skhep_ml.ratio import likelihood_profile


def _grid(sim, points):
    axes = [np.linspace(lo, hi, points) for lo, hi in sim.theta_bounds]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, sim.n_theta)


@pytest.fixture(scope="module")
def family_fit():
    sim = make_simulator_family(1)  # two parameters (rate, interference)
    X, y, r, t = sim.make_training(600, random_state=0)
    est = ALICERatioEstimator(max_epochs=2, random_state=0)
    est.fit(X, y, joint_ratio=r, joint_score=t)
    return sim, X, y, est


def test_exact_family_ratio_has_unit_mean_at_the_reference():
    # the identity the normalisation restores: E_{θ_1}[r(x|θ, θ_1)] = 1
    sim = make_simulator_family(1)
    x_ref, _ = sim.sample(20_000, sim.theta_ref, random_state=3)
    ratio = np.exp(sim.log_ratio_grid(x_ref, _grid(sim, 4)))
    error = ratio.std(1) / np.sqrt(ratio.shape[1])
    assert np.all(np.abs(ratio.mean(1) - 1) < 4 * error + 1e-12)


def test_default_grid_is_normalised_by_the_training_reference_rows(family_fit):
    sim, X, y, est = family_fit
    np.testing.assert_array_equal(est.x_reference_, X[y == 1, : sim.n_x])
    grid = _grid(sim, 5)
    x, _ = sim.sample(9, sim.theta_true, random_state=1)
    raw = est.log_ratio_grid(x, grid, x_reference=None)
    ref_raw = est.log_ratio_grid(est.x_reference_, grid, x_reference=None)
    shift = logsumexp(ref_raw, axis=1) - np.log(ref_raw.shape[1])
    assert np.ptp(shift) > 1e-3  # a θ-dependent offset to remove
    default = est.log_ratio_grid(x, grid)
    np.testing.assert_allclose(default, raw - shift[:, None], rtol=1e-10, atol=1e-12)
    # the normalised ratio has mean 1 over the reference rows at every θ
    np.testing.assert_allclose(
        np.exp(est.log_ratio_grid(est.x_reference_, grid)).mean(1), 1.0, rtol=1e-10
    )
    # cached normaliser of the last grid: same answer; another grid, its own
    np.testing.assert_array_equal(est.log_ratio_grid(x, grid), default)
    np.testing.assert_allclose(
        est.log_ratio_grid(x, grid[::2]), default[::2], rtol=1e-12, atol=1e-12
    )
    # profile_likelihood uses the same normalised grid by default
    prof = est.profile_likelihood(x, grid)
    expected = likelihood_profile(default, grid)
    np.testing.assert_allclose(prof.q, expected.q, atol=1e-9)
    raw_prof = est.profile_likelihood(x, grid, x_reference=None)
    np.testing.assert_allclose(raw_prof.q, likelihood_profile(raw, grid).q, atol=1e-9)


def test_weighted_fit_normalises_with_the_reference_weights():
    sim = make_simulator_family(1)
    X, y, r, t = sim.make_training(400, random_state=0)
    w = np.random.default_rng(0).uniform(0.0, 2.0, len(X))
    w[np.flatnonzero(y == 1)[:50]] = 0.0
    est = ALICERatioEstimator(max_epochs=1, random_state=0)
    est.fit(X, y, joint_ratio=r, joint_score=t, sample_weight=w)
    grid = _grid(sim, 3)
    ratio = np.exp(est.log_ratio_grid(est.x_reference_, grid))
    np.testing.assert_allclose(ratio @ w[y == 1] / w[y == 1].sum(), 1.0, rtol=1e-10)


def test_reference_rows_are_capped(monkeypatch):
    monkeypatch.setattr(estimator_module, "MAX_REFERENCE_ROWS", 50)
    sim = make_simulator_family(1)
    X, y, r, t = sim.make_training(400, random_state=0)
    est = ALICERatioEstimator(max_epochs=1, random_state=0)
    est.fit(X, y, joint_ratio=r, joint_score=t)
    assert est.x_reference_.shape == (50, sim.n_x)
    ref = {tuple(row) for row in X[y == 1, : sim.n_x]}
    assert all(tuple(row) in ref for row in est.x_reference_)


def test_bad_x_reference_is_refused(family_fit):
    sim, _, _, est = family_fit
    x, grid = np.zeros((3, sim.n_x)), _grid(sim, 2)
    with pytest.raises(ValueError, match="'training', None or an array"):
        est.log_ratio_grid(x, grid, x_reference="fit")
    with pytest.raises(ValueError, match="x_reference has 1 feature"):
        est.log_ratio_grid(x, grid, x_reference=np.zeros((5, 1)))


def test_an_old_fit_without_reference_rows_stays_unnormalised(family_fit):
    sim, _, _, est = family_fit
    x, grid = np.zeros((3, sim.n_x)), _grid(sim, 2)
    raw = est.log_ratio_grid(x, grid, x_reference=None)
    state = est.__getstate__()
    del state["x_reference_"], state["_reference_weight"]
    old = ALICERatioEstimator.__new__(ALICERatioEstimator)
    old.__setstate__(state)
    np.testing.assert_array_equal(old.log_ratio_grid(x, grid), raw)


@pytest.mark.slow
def test_default_region_of_three_parameters_matches_the_exact_one():
    # family draw 3 (interference, rate, squared): without the normalisation
    # the expected 68 % region of 100 events has 0.04 of the true area (IoU
    # 0.04 at this budget); normalised, IoU 0.56 and area 1.7
    sim = make_simulator_family(3)
    X, y, r, t = sim.make_training(4000, random_state=1)
    est = ALICERatioEstimator(max_epochs=20, random_state=0)
    est.fit(X, y, joint_ratio=r, joint_score=t)
    grid = _grid(sim, 11)
    x, _ = sim.sample(2000, sim.theta_true, random_state=2)
    prof = est.profile_likelihood(x, grid, n_events=100)
    learned = prof.q <= chi2.ppf(0.68, 3)
    exact = sim.expected_q(grid, n_events=100) <= chi2.ppf(0.68, 3)
    iou = (learned & exact).sum() / (learned | exact).sum()
    assert iou > 0.4
    assert 0.5 < learned.sum() / exact.sum() < 2.5
