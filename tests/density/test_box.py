"""The bounds option of FlowDensity: the box → real-line map and its density."""

import numpy as np
import pytest
from density_settings import FAST
from scipy.stats import beta

from skhep_ml import FlowDensity
from skhep_ml.density._box import check_bounds, from_real, outside, to_real

BOXES = [
    np.array([[0.0, 2.0], [1.0, 2.0]]),  # both edges
    np.array([[0.0, np.inf], [-np.inf, 2.0]]),  # half lines
    np.array([[-np.inf, np.inf], [1.0, 2.0]]),  # one feature unbounded
]


@pytest.mark.parametrize("bounds", BOXES)
def test_map_inverts_and_its_log_jacobian_is_the_derivative(bounds):
    rng = np.random.default_rng(0)
    lo = np.where(np.isfinite(bounds[:, 0]), bounds[:, 0], -3.0)
    hi = np.where(np.isfinite(bounds[:, 1]), bounds[:, 1], 3.0)
    X = lo + (hi - lo) * rng.uniform(0.01, 0.99, size=(200, 2))
    Y, logdet = to_real(X, bounds)
    np.testing.assert_allclose(from_real(Y, bounds), X, rtol=1e-12, atol=1e-12)
    # the map acts per feature: log|det| is the sum of log|dY_j/dX_j|
    h = 1e-6
    slope = (to_real(X + h, bounds)[0] - to_real(X - h, bounds)[0]) / (2 * h)
    np.testing.assert_allclose(logdet, np.log(np.abs(slope)).sum(axis=1), atol=1e-5)
    assert not outside(X, bounds).any()


def test_edges_count_as_outside_and_no_bounds_is_the_identity():
    bounds = check_bounds([0.0, 1.0], 2)
    np.testing.assert_array_equal(bounds, [[0.0, 1.0], [0.0, 1.0]])
    X = np.array([[0.5, 0.5], [0.0, 0.5], [0.5, 1.0], [1.5, 0.5]])
    np.testing.assert_array_equal(outside(X, bounds), [False, True, True, True])
    Y, logdet = to_real(X, None)
    np.testing.assert_array_equal(Y, X)
    np.testing.assert_array_equal(logdet, 0.0)
    assert check_bounds(None, 2) is None
    with pytest.raises(ValueError, match="NaN"):
        check_bounds([[0.0, np.nan], [0.0, 1.0]], 2)


def test_bounds_box_density():
    rng = np.random.default_rng(0)
    a, b = beta(2.0, 5.0), beta(3.0, 3.0)
    X = np.c_[2.0 * a.rvs(4000, random_state=rng), 1.0 + b.rvs(4000, random_state=rng)]
    est = FlowDensity(
        **FAST, bounds=[[0.0, 2.0], [1.0, 2.0]], inference_dtype="float64"
    ).fit(X)
    Xt = np.c_[2.0 * a.rvs(2000, random_state=rng), 1.0 + b.rvs(2000, random_state=rng)]
    truth = a.logpdf(Xt[:, 0] / 2.0) - np.log(2.0) + b.logpdf(Xt[:, 1] - 1.0)
    assert abs(truth.mean() - est.score(Xt)) < 0.05
    S = est.sample(5000, random_state=0)
    assert (S[:, 0] > 0).all() and (S[:, 0] < 2).all()
    assert (S[:, 1] > 1).all() and (S[:, 1] < 2).all()
    outside = np.array([[2.5, 1.5], [1.0, 0.5], [-0.1, 1.2]])
    assert np.isneginf(est.score_samples(outside)).all()
    # grid integral over the box
    n = 200
    gx, gy = (np.arange(n) + 0.5) / n * 2.0, 1.0 + (np.arange(n) + 0.5) / n
    xx, yy = np.meshgrid(gx, gy)
    mass = np.exp(est.score_samples(np.c_[xx.ravel(), yy.ravel()])).sum() * 2.0 / n**2
    assert abs(mass - 1.0) < 0.02
    Z = est.transform(X[:100])
    np.testing.assert_allclose(est.inverse_transform(Z), X[:100], atol=1e-7)
    half = FlowDensity(
        **{**FAST, "max_epochs": 2, "bounds": [[0.0, np.inf], [-np.inf, 2.0]]},
        inference_dtype="float64",
    )
    np.testing.assert_allclose(
        half.fit(X).inverse_transform(half.transform(X[:50])), X[:50], atol=1e-7
    )
