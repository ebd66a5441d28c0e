"""The initial Gaussian mixture of FlowDensity (base="gmm") against scikit-learn."""

import numpy as np
import pytest
from density_settings import FAST, fit_seed
from scipy.stats import multivariate_normal

from skhep_ml import FlowDensity
from skhep_ml.datasets import DENSITY_TOYS, make_two_moons
from skhep_ml.density._mixture import fit_gmm, weighted_m_step


def _eight_gaussians(n, seed):
    return DENSITY_TOYS["eight_gaussians"][0](n, random_state=seed)


def test_gmm_base_starts_at_the_gaussian_mixture():
    """With the flow at the identity the model is sklearn's GaussianMixture."""
    from sklearn.mixture import GaussianMixture

    X = 5.0 * _eight_gaussians(1000, 0) + [10.0, -3.0]
    # a vanishing learning rate: the fit stays at its initialisation
    est = FlowDensity(
        **{**FAST, "max_epochs": 1, "lr": 1e-12, "inference_dtype": "float64"},
        base="gmm",
        n_components=8,
    ).fit(X)
    seed = fit_seed(FAST["random_state"])
    S = (X - est.mean_) / est.scale_
    gm = GaussianMixture(8, covariance_type="full", random_state=seed).fit(S)
    Xt = 5.0 * _eight_gaussians(500, 1) + [10.0, -3.0]
    expected = (
        gm.score_samples((Xt - est.mean_) / est.scale_) - np.log(est.scale_).sum()
    )
    np.testing.assert_allclose(est.score_samples(Xt), expected, atol=2e-4, rtol=0)
    # the latent of a mixture base is the mixture's space, and invertible
    Z = est.transform(Xt)
    np.testing.assert_allclose(Z, (Xt - est.mean_) / est.scale_, atol=1e-5)
    np.testing.assert_allclose(est.inverse_transform(Z), Xt, atol=1e-8)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_zero_epochs_is_the_initial_mixture(covariance_type):
    """max_epochs=0 with base="gmm" is sklearn's GaussianMixture of that type."""
    from sklearn.mixture import GaussianMixture

    X = 5.0 * _eight_gaussians(1000, 0) + [10.0, -3.0]
    est = FlowDensity(
        **{**FAST, "max_epochs": 0, "inference_dtype": "float64"},
        base="gmm",
        n_components=8,
        covariance_type=covariance_type,
    ).fit(X)
    assert est.n_iter_ == 0 and est.loss_curve_ == []
    seed = fit_seed(FAST["random_state"])
    S = (X - est.mean_) / est.scale_
    gm = GaussianMixture(8, covariance_type=covariance_type, random_state=seed)
    gm.fit(S)
    Xt = 5.0 * _eight_gaussians(500, 1) + [10.0, -3.0]
    expected = (
        gm.score_samples((Xt - est.mean_) / est.scale_) - np.log(est.scale_).sum()
    )
    np.testing.assert_allclose(est.score_samples(Xt), expected, atol=1e-8, rtol=0)
    assert est.sample(10, random_state=0).shape == (10, 2)
    # reproducible
    again = FlowDensity(**est.get_params()).fit(X)
    np.testing.assert_array_equal(again.score_samples(Xt), est.score_samples(Xt))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_mixture_fits_average_the_densities_of_several_em_fits(covariance_type):
    """mixture_fits=3: the latent is the mean of three GaussianMixture densities."""
    from scipy.special import logsumexp
    from sklearn.mixture import GaussianMixture

    X, Xt = make_two_moons(1500, random_state=0), make_two_moons(500, random_state=1)
    params = dict(base="gmm", n_components=6, covariance_type=covariance_type)
    est = FlowDensity(
        **{**FAST, "max_epochs": 0, "inference_dtype": "float64"},
        **params,
        mixture_fits=3,
    ).fit(X)
    seed = fit_seed(FAST["random_state"])
    S, St = (X - est.mean_) / est.scale_, (Xt - est.mean_) / est.scale_
    fits = [
        GaussianMixture(6, covariance_type=covariance_type, random_state=seed + i)
        .fit(S)
        .score_samples(St)
        for i in range(3)
    ]
    expected = logsumexp(fits, axis=0) - np.log(3) - np.log(est.scale_).sum()
    np.testing.assert_allclose(est.score_samples(Xt), expected, atol=1e-8, rtol=0)
    # EM's local optima differ here, so the average is not the first fit
    assert np.abs(fits[1] - fits[0]).max() > 1e-3
    assert est.net_.module_.flow.base.n_components == 18
    # and training starts from the averaged mixture
    trained = FlowDensity(
        **{**FAST, "max_epochs": 1, "lr": 1e-12, "train_dtype": "float64"},
        inference_dtype="float64",
        **params,
        mixture_fits=3,
        base_lr=1e-12,
    ).fit(X)
    np.testing.assert_allclose(trained.score_samples(Xt), expected, atol=1e-6)


def test_mixture_fits_with_one_optimum_is_that_mixture():
    X, Xt = _eight_gaussians(2000, 0), _eight_gaussians(500, 1)
    # the truth's structure (eight components, one shared covariance): every
    # EM start converges to the same mixture
    params = dict(
        **{**FAST, "max_epochs": 0, "inference_dtype": "float64"},
        base="gmm",
        n_components=8,
        covariance_type="tied",
    )
    one = FlowDensity(**params).fit(X)
    five = FlowDensity(**params, mixture_fits=5).fit(X)
    # (to EM's convergence tolerance)
    np.testing.assert_allclose(five.score_samples(Xt), one.score_samples(Xt), atol=2e-4)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_weighted_em_of_every_covariance_type(covariance_type):
    """The weighted M step agrees with sklearn's (unit weights) and with repeats."""
    from sklearn.mixture._gaussian_mixture import (
        _compute_precision_cholesky,
        _estimate_gaussian_parameters,
    )

    rng = np.random.default_rng(0)
    S = rng.normal(size=(300, 3))
    resp = rng.random((300, 4))
    resp /= resp.sum(axis=1, keepdims=True)
    nk, means, covs = _estimate_gaussian_parameters(S, resp, 1e-6, covariance_type)
    weights, means2, covs2, prec_chol = weighted_m_step(S, resp, covariance_type, 1e-6)
    np.testing.assert_allclose(weights, nk / nk.sum())
    np.testing.assert_allclose(means2, means)
    np.testing.assert_allclose(covs2, covs, atol=1e-12)
    np.testing.assert_allclose(
        prec_chol, _compute_precision_cholesky(covs, covariance_type), atol=1e-10
    )
    # integer weights act as repeated rows
    k = rng.integers(0, 3, size=300)
    a = weighted_m_step(S, resp * k[:, None], covariance_type, 1e-6)
    b = weighted_m_step(
        np.repeat(S, k, axis=0), np.repeat(resp, k, axis=0), covariance_type, 1e-6
    )
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, atol=1e-10)


def test_gmm_base_with_weighted_events():
    """Proposal events weighted by p / g: the mixture starts from weighted EM."""
    rng = np.random.default_rng(0)
    g = multivariate_normal([0.0, 0.0], np.diag([16.0, 16.0]))
    Xg = g.rvs(4000, random_state=rng)
    log_p = DENSITY_TOYS["eight_gaussians"][1]
    w = np.exp(log_p(Xg) - g.logpdf(Xg))
    est = FlowDensity(**{**FAST, "max_epochs": 10}, base="gmm", n_components=8)
    est.fit(Xg, sample_weight=w)
    Xt = _eight_gaussians(2000, 1)
    assert log_p(Xt).mean() - est.score(Xt) < 0.1


def test_weighted_fit_reaches_the_likelihood_of_the_truth():
    """Weighted EM on ``S`` (integer weights) fits the mixture that made it."""
    S = _eight_gaussians(1500, 0)
    k = np.random.default_rng(1).integers(1, 4, size=len(S))
    weighted = fit_gmm(S, k.astype(float), 8, 0, n_em=50)
    St = _eight_gaussians(2000, 1)
    truth = DENSITY_TOYS["eight_gaussians"][1](St).mean()
    assert abs(weighted.score(St) - truth) < 0.05
    assert weighted.weights_.sum() == pytest.approx(1.0)
