"""Bayesian flows: the spread of densities and of generated events over weight
draws, and the histogram helper."""

import numpy as np
import pytest
import torch
from density_settings import FAST
from scipy.stats import norm

from skhep_ml import FlowDensity
from skhep_ml.density import weight_draw_histogram


def _events(n, seed):
    """x0 from a two-Gaussian mixture, x1 = sin(x0) + noise."""
    rng = np.random.default_rng(seed)
    first = rng.uniform(size=n) < 0.6
    x0 = np.where(first, rng.normal(-1.0, 0.5, n), rng.normal(1.5, 0.8, n))
    return np.c_[x0, np.sin(x0) + 0.3 * rng.normal(size=n)]


BAYES = {**FAST, "bayesian": True, "max_epochs": 15}


@pytest.fixture(scope="module")
def bayes_fit():
    return FlowDensity(**BAYES).fit(_events(800, 0))


def test_return_std_is_the_spread_over_weight_draws(bayes_fit):
    Xt = _events(300, 1)
    mean_net = bayes_fit.score_samples(Xt)
    log_p, std = bayes_fit.score_samples(Xt, return_std=True, n_weight_draws=8)
    np.testing.assert_array_equal(log_p, mean_net)
    assert std.shape == (300,) and (std > 0).all()
    # fixed draws by default: the same networks at every call
    _, again = bayes_fit.score_samples(Xt, return_std=True, n_weight_draws=8)
    np.testing.assert_array_equal(std, again)
    # the draws are undone: the module is the posterior-mean network again
    module = bayes_fit.net_.module_
    assert all(m._drawn is None for m in module.flow._variational())
    np.testing.assert_array_equal(bayes_fit.score_samples(Xt), mean_net)
    # and a drawn network's log-density is what the spread is taken over
    module.flow.draw_weights(None)
    try:
        with torch.no_grad():
            drawn = bayes_fit._log_density(Xt, module.eval())
        assert not np.allclose(drawn, mean_net)
    finally:
        module.flow.clear_weight_draw()


def test_samples_per_weight_draw(bayes_fit):
    S = bayes_fit.sample(400, n_weight_draws=5, random_state=0)
    assert S.shape == (5, 400, 2)
    assert not np.allclose(S[0], S[1])
    np.testing.assert_array_equal(
        S, bayes_fit.sample(400, n_weight_draws=5, random_state=0)
    )
    # the posterior-mean network's samples are a single (n, d) draw
    assert bayes_fit.sample(7, random_state=0).shape == (7, 2)


def test_weight_draws_need_a_bayesian_flow():
    X = _events(200, 0)
    plain = FlowDensity(**{**FAST, "max_epochs": 1}).fit(X)
    with pytest.raises(ValueError, match="bayesian=True"):
        plain.score_samples(X, return_std=True)
    with pytest.raises(ValueError, match="bayesian=True"):
        plain.sample(10, n_weight_draws=3)
    with pytest.raises(ValueError, match="2 features"):
        FlowDensity(**BAYES).fit(X[:, :1])
    bayes = FlowDensity(**{**BAYES, "max_epochs": 1}).fit(X)
    with pytest.raises(ValueError, match="n_weight_draws"):
        bayes.sample(10, n_weight_draws=1)


def test_histogram_helper_separates_weight_spread_from_sampling_noise():
    rng = np.random.default_rng(0)
    edges = np.linspace(-3, 3, 13)
    width = np.diff(edges)
    p = np.diff(norm.cdf(edges))
    # no spread between draws: only sampling noise, removed by default
    same = rng.normal(size=(200, 5000))
    dens, std, got_edges = weight_draw_histogram(same, bins=edges)
    np.testing.assert_array_equal(got_edges, edges)
    np.testing.assert_allclose(dens, p / width, rtol=0.02, atol=1e-3)
    noise = np.sqrt(p * (1 - p) / 5000) / width
    _, raw, _ = weight_draw_histogram(same, bins=edges, subtract_sampling_noise=False)
    np.testing.assert_allclose(raw, noise, rtol=0.15)
    assert np.all(std < 0.5 * noise)
    # a known spread: draw k shifted by mu_k ~ N(0, 0.2^2); per bin the
    # density spreads by |d/dmu (bin mass)| * 0.2 / width (to first order)
    mu = rng.normal(scale=0.2, size=400)
    shifted = mu[:, None] + rng.normal(size=(400, 20000))
    _, std, _ = weight_draw_histogram(shifted[:, :, None], bins=edges)
    slope = np.abs(norm.pdf(edges[1:]) - norm.pdf(edges[:-1])) / width
    inner = slope > 0.05
    np.testing.assert_allclose(std[inner], 0.2 * slope[inner], rtol=0.2)
    with pytest.raises(ValueError, match="feature="):
        weight_draw_histogram(rng.normal(size=(3, 10, 2)))
    with pytest.raises(ValueError, match="n_weight_draws >= 2"):
        weight_draw_histogram(rng.normal(size=(1, 10)))
