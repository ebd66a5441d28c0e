"""FlowDensity against known densities."""

import pickle

import numpy as np
import pytest
from density_settings import FAST
from scipy.stats import multivariate_normal
from sklearn import config_context
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline

from skhep_ml import FlowDensity
from skhep_ml.datasets import (
    DENSITY_TOYS,
    make_two_moons,
    physics_events_log_density,
    two_moons_log_density,
)

MEAN = np.array([3.0, -20.0])
COV = np.array([[4.0, 1.5], [1.5, 1.0]])  # different scales, correlated


def _gaussian(n, seed):
    return np.random.default_rng(seed).multivariate_normal(MEAN, COV, size=n)


@pytest.fixture(scope="module")
def gaussian_fit():
    X = _gaussian(4000, 0)
    return FlowDensity(**FAST, inference_dtype="float64").fit(X)


def test_gaussian_log_density_is_recovered(gaussian_fit):
    Xt = _gaussian(2000, 1)
    truth = multivariate_normal(MEAN, COV).logpdf(Xt)
    got = gaussian_fit.score_samples(Xt)
    # test log-likelihood gap (an estimate of the KL divergence) and pointwise
    assert abs(truth.mean() - got.mean()) < 0.03
    assert np.median(np.abs(truth - got)) < 0.1
    assert isinstance(gaussian_fit.score(Xt), float)
    assert gaussian_fit.score(Xt) == pytest.approx(got.mean())


def test_samples_follow_the_target(gaussian_fit):
    S = gaussian_fit.sample(20_000, random_state=0)
    assert S.shape == (20_000, 2)
    np.testing.assert_allclose(S.mean(0), MEAN, atol=0.1)
    np.testing.assert_allclose(np.cov(S.T), COV, atol=0.2)
    np.testing.assert_array_equal(
        S[:5], gaussian_fit.sample(20_000, random_state=0)[:5]
    )
    assert not np.array_equal(S[:5], gaussian_fit.sample(5, random_state=1))


def test_transform_round_trip_and_latent(gaussian_fit):
    X = _gaussian(3000, 2)
    Z = gaussian_fit.transform(X)
    np.testing.assert_allclose(gaussian_fit.inverse_transform(Z), X, atol=1e-8)
    np.testing.assert_allclose(Z.mean(0), 0.0, atol=0.1)
    np.testing.assert_allclose(np.cov(Z.T), np.eye(2), atol=0.1)


def test_density_integrates_to_one_on_a_grid():
    # data in "physical" units: the standardisation Jacobian must be included
    X = 10.0 * make_two_moons(3000, random_state=0) + 50.0
    est = FlowDensity(**FAST).fit(X)
    lo, hi, n = np.array([20.0, 30.0]), np.array([80.0, 70.0]), 300
    gx = np.linspace(lo[0], hi[0], n + 1)
    gy = np.linspace(lo[1], hi[1], n + 1)
    mx, my = 0.5 * (gx[1:] + gx[:-1]), 0.5 * (gy[1:] + gy[:-1])
    xx, yy = np.meshgrid(mx, my)
    p = np.exp(est.score_samples(np.c_[xx.ravel(), yy.ravel()]))
    mass = p.sum() * (gx[1] - gx[0]) * (gy[1] - gy[0])
    S = est.sample(20_000, random_state=0)
    inside = np.mean(((S >= lo) & (S <= hi)).all(1))
    assert abs(mass - inside) < 0.01
    assert inside > 0.99
    # and it is close to the truth in the data's units
    Xt = 10.0 * make_two_moons(2000, random_state=1) + 50.0
    truth = two_moons_log_density((Xt - 50.0) / 10.0) - 2 * np.log(10.0)
    assert 0 < truth.mean() - est.score(Xt) < 0.15


def test_weighted_events_recover_the_target():
    """Events from a proposal g, weighted by p / g, train a model of p."""
    rng = np.random.default_rng(0)
    g = multivariate_normal(MEAN * 0.3 + [1.0, 0.5], np.diag([9.0, 2.25]))
    Xg = g.rvs(5000, random_state=rng)  # KL(p || g) = 0.78
    p = multivariate_normal(MEAN * 0.3, COV)
    w = np.exp(p.logpdf(Xg) - g.logpdf(Xg))
    weighted = FlowDensity(**FAST).fit(Xg, sample_weight=w)
    plain = FlowDensity(**{**FAST, "max_epochs": 10}).fit(Xg)
    Xt = p.rvs(2000, random_state=rng)
    gap_weighted = p.logpdf(Xt).mean() - weighted.score(Xt)
    gap_plain = p.logpdf(Xt).mean() - plain.score(Xt)
    assert gap_weighted < 0.1
    assert gap_plain > 0.5
    # a weighted score is the weighted mean of score_samples
    ws = weighted.score(Xg, sample_weight=w)
    assert ws == pytest.approx(np.average(weighted.score_samples(Xg), weights=w))


def test_integer_weights_act_as_repeated_rows():
    X = _gaussian(200, 3)
    w = np.random.default_rng(0).integers(0, 3, size=200)
    params = {**FAST, "batch_size": 1000, "max_epochs": 5, "train_dtype": "float64"}
    a = FlowDensity(**params).fit(X, sample_weight=w)
    b = FlowDensity(**params).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), atol=1e-7)


def test_one_feature_and_affine():
    rng = np.random.default_rng(0)
    X = rng.normal(2.0, 3.0, size=(3000, 1))
    for coupling in ["rqs", "affine"]:
        est = FlowDensity(**{**FAST, "coupling": coupling}).fit(X)
        Xt = rng.normal(2.0, 3.0, size=(2000, 1))
        truth = multivariate_normal(2.0, 9.0).logpdf(Xt)
        assert abs(truth.mean() - est.score(Xt)) < 0.02


def test_streaming_in_batches(gaussian_fit):
    X = _gaussian(1000, 4)
    full = gaussian_fit.score_samples(X)
    gaussian_fit.inference_batch_size = 64
    try:
        np.testing.assert_allclose(
            gaussian_fit.score_samples(X), full, rtol=0, atol=1e-12
        )
        assert gaussian_fit.sample(300, random_state=0).shape == (300, 2)
    finally:
        del gaussian_fit.inference_batch_size


def test_refit_is_reproducible_and_pickles(gaussian_fit):
    X = _gaussian(500, 5)
    again = FlowDensity(**gaussian_fit.get_params()).fit(_gaussian(4000, 0))
    np.testing.assert_array_equal(again.score_samples(X), gaussian_fit.score_samples(X))
    loaded = pickle.loads(pickle.dumps(gaussian_fit))
    np.testing.assert_array_equal(
        loaded.score_samples(X), gaussian_fit.score_samples(X)
    )
    np.testing.assert_array_equal(
        loaded.sample(10, random_state=3), gaussian_fit.sample(10, random_state=3)
    )


_SEEN = []


class _Spy(TransformerMixin, BaseEstimator):
    """Identity step recording the sizes of X and sample_weight it is fitted on."""

    def fit(self, X, y=None, sample_weight=None):
        _SEEN.append((len(X), None if sample_weight is None else len(sample_weight)))
        return self

    def transform(self, X):
        return X


def _small_grid():
    return {"coupling": ["rqs", "affine"], "n_transforms": [1, 3]}


def test_grid_search_unweighted():
    X = make_two_moons(1500, random_state=0)
    params = {**FAST, "max_epochs": 15}
    grid = GridSearchCV(FlowDensity(**params), _small_grid(), cv=KFold(2))
    grid.fit(X)
    assert grid.best_params_ == {"coupling": "rqs", "n_transforms": 3}
    Xt = make_two_moons(2000, random_state=1)
    assert two_moons_log_density(Xt).mean() - grid.score(Xt) < 0.3


def test_grid_search_weighted_routes_sample_weight():
    rng = np.random.default_rng(0)
    g = multivariate_normal(np.zeros(2), 4.0 * np.eye(2))
    X = g.rvs(1500, random_state=rng)
    p = multivariate_normal([1.0, -1.0], [[1.0, 0.8], [0.8, 1.0]])
    w = np.exp(p.logpdf(X) - g.logpdf(X))
    _SEEN.clear()
    with config_context(enable_metadata_routing=True):
        est = FlowDensity(**{**FAST, "max_epochs": 15})
        est.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        pipe = make_pipeline(_Spy().set_fit_request(sample_weight=True), est)
        grid = GridSearchCV(
            pipe,
            {"flowdensity__" + k: v for k, v in _small_grid().items()},
            cv=KFold(2),
        )
        grid.fit(X, sample_weight=w)
    assert (750, 750) in _SEEN
    # the weighted fold scores are weighted means of the test folds' log-likelihood
    best = grid.best_estimator_
    test_fold = np.arange(750, 1500)
    ours = best.score(X[test_fold], sample_weight=w[test_fold])
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert ours == pytest.approx(
        np.average(best.score_samples(X[test_fold]), weights=w[test_fold])
    )
    Xt = p.rvs(2000, random_state=rng)
    assert p.logpdf(Xt).mean() - grid.best_estimator_.score(Xt) < 0.3


@pytest.mark.parametrize(
    "X, w, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), None, "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), None, "infinity|inf"),
        (np.ones((3, 2)) * [[1], [2], [3]], np.array([1.0, -1.0, -2.0]), "negative"),
        (
            np.ones((3, 2)) * [[1], [2], [3]],
            np.array([1.0, np.nan, 1.0]),
            "sample_weight",
        ),
    ],
)
def test_bad_input(X, w, match):
    with pytest.raises(ValueError, match=match):
        FlowDensity(**FAST).fit(X, sample_weight=w)


def test_bad_bounds():
    X = np.random.default_rng(0).uniform(0.0, 0.8, size=(20, 2))
    with pytest.raises(ValueError, match="2 point"):
        FlowDensity(**FAST, bounds=[0.0, 0.9]).fit(np.r_[X, [[0.95, 0.5], [1.2, 0.1]]])
    with pytest.raises(ValueError, match="shape"):
        FlowDensity(**FAST, bounds=[[0, 1, 2]]).fit(X)
    with pytest.raises(ValueError, match="low < high"):
        FlowDensity(**FAST, bounds=[[0, 1], [1, 0]]).fit(X)
    est = FlowDensity(**{**FAST, "max_epochs": 1, "bounds": [0.0, 1.0]}).fit(X)
    with pytest.raises(ValueError, match="1 point"):
        est.transform([[0.5, 1.5]])
    with pytest.raises(ValueError, match="n_samples"):
        est.sample(0)


def test_density_toys_are_normalised():
    """The benchmark's truth: 2-d toys on a grid, 8-d by importance sampling."""
    boxes = {
        "two_moons": ([-1.7, 2.7], [-1.2, 1.7]),
        "eight_gaussians": ([-3.4, 3.4], [-3.4, 3.4]),
        "checkerboard": ([-2.0, 2.0], [-2.0, 2.0]),
    }
    for name, (bx, by) in boxes.items():
        gx, gy = np.linspace(*bx, 241), np.linspace(*by, 241)
        xx, yy = np.meshgrid(0.5 * (gx[1:] + gx[:-1]), 0.5 * (gy[1:] + gy[:-1]))
        _, log_density, _ = DENSITY_TOYS[name]
        dens = np.exp(log_density(np.c_[xx.ravel(), yy.ravel()]))
        mass = dens.sum() * (gx[1] - gx[0]) * (gy[1] - gy[0])
        assert abs(mass - 1.0) < 2e-3, name
    # 8-d: E_q[p / q] = 1 with q the same process at another signal fraction
    sampler, _, _ = DENSITY_TOYS["physics_8d"]
    Xq = sampler(20_000, peak_fraction=0.6, random_state=0)
    ratio = np.exp(
        physics_events_log_density(Xq)
        - physics_events_log_density(Xq, peak_fraction=0.6)
    )
    assert abs(ratio.mean() - 1.0) < 4 * ratio.std() / np.sqrt(len(ratio))
    # and the mean log-density of its own samples is finite and stable
    lp = physics_events_log_density(sampler(5000, random_state=1))
    assert np.isfinite(lp).all()


@pytest.mark.gpu
def test_gpu_fit_loads_and_scores_on_cpu(monkeypatch):
    import torch

    X = make_two_moons(500, random_state=0)
    est = FlowDensity(max_epochs=3, device="cuda", random_state=0).fit(X)
    on_gpu = est.score_samples(X[:50])
    blob = pickle.dumps(est)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(Warning):
        cpu = pickle.loads(blob)
    np.testing.assert_allclose(cpu.score_samples(X[:50]), on_gpu, rtol=1e-4, atol=1e-4)


# -- Gaussian-mixture latent and weight averaging --------------------------------
def _eight_gaussians(n, seed):
    return DENSITY_TOYS["eight_gaussians"][0](n, random_state=seed)


def test_base_lr_trains_the_mixture_at_its_own_rate():
    X = _eight_gaussians(1000, 0)
    est = FlowDensity(
        **{**FAST, "max_epochs": 2, "lr": 1e-3}, base="gmm", base_lr=5e-2
    ).fit(X)
    groups = est.net_.optimizer_.param_groups
    assert [g["initial_lr"] for g in groups] == [5e-2, 1e-3]
    base_params = set(est.net_.module_.flow.base.parameters())
    assert set(groups[0]["params"]) == base_params
    assert not base_params & set(groups[1]["params"])
    # ignored with a standard-normal latent
    est = FlowDensity(**{**FAST, "max_epochs": 1}, base_lr=5e-2).fit(X)
    assert len(est.net_.optimizer_.param_groups) == 1


def test_gmm_base_beats_normal_base_on_a_mixture():
    X, Xt = _eight_gaussians(3000, 0), _eight_gaussians(2000, 1)
    truth = DENSITY_TOYS["eight_gaussians"][1](Xt).mean()
    params = {**FAST, "max_epochs": 8}
    normal = FlowDensity(**params).fit(X)
    mixture = FlowDensity(**params, base="gmm", n_components=8).fit(X)
    gap_normal, gap_mixture = truth - normal.score(Xt), truth - mixture.score(Xt)
    assert gap_mixture < 0.02 < gap_normal
    S = mixture.sample(5000, random_state=0)
    assert DENSITY_TOYS["eight_gaussians"][1](S).mean() > truth - 0.1


@pytest.mark.parametrize(
    "params, match",
    [
        ({"base": "mixture"}, "base"),
        ({"n_components": 0}, "n_components"),
        ({"mixture_fits": 0}, "mixture_fits"),
        ({"ema_decay": 1.0}, "ema_decay"),
        ({"ema_decay": -0.1}, "ema_decay"),
        ({"covariance_type": "banded"}, "covariance_type"),
        ({"base_lr": 0.0}, "base_lr"),
        ({"max_epochs": -1}, "max_epochs"),
    ],
)
def test_bad_new_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        FlowDensity(**{**FAST, **params}).fit(
            np.random.default_rng(0).normal(size=(50, 2))
        )
