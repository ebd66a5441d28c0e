"""The integrand family: exact integrals, exact samples, reproducible draws."""

import math
import pickle
import re

import numpy as np
import pytest
from scipy import stats

from skhep_ml.datasets import INTEGRAND_KINDS, FamilyIntegrand, make_integrand_family

SEEDS = range(20)


def _in_box(X):
    return np.all((X >= 0) & (X <= 1), axis=1)


class _Proposal:
    """Defensive mixture: ``alpha`` uniform on the box + Gaussians fitted to peaks.

    Ridges (Cauchy tails across the box) are left to the uniform share. Per
    cluster of the other kinds (the truth samples of a component nearest each of
    its modes), two
    Gaussians: one moment-matched, one with robust (MAD) scales along the
    principal axes, which catches a Cauchy core; both inflated 2x. The estimate
    ``mean f/q`` is unbiased for any such ``q``, so it checks ``integral`` and
    ``f`` independently of how ``sample_truth`` works.
    """

    def __init__(self, f, rng, n_fit=40_000, alpha=0.3):
        X, labels = f.sample_truth(n_fit, rng, return_components=True)
        self.alpha, self.d = alpha, f.n_features
        self.shares, self.gaussians = [], []
        for k, component in enumerate(f.components):
            if component["kind"] == "ridge":
                continue
            Xk = X[labels == k]
            modes = component["modes"]
            nearest = np.argmin(((Xk[:, None, :] - modes) ** 2).sum(-1), axis=1)
            for j in range(len(modes)):
                points = Xk[nearest == j]
                if len(points) < 2 * self.d:
                    continue
                cov = np.cov(points.T) + 1e-12 * np.eye(self.d)
                _, axes = np.linalg.eigh(cov)
                centred = (points - np.median(points, 0)) @ axes
                mad = 1.4826 * np.median(np.abs(centred - np.median(centred, 0)), 0)
                robust = (axes * (mad**2 + 1e-12)) @ axes.T
                median = np.median(points, 0)
                for mean, c in ((points.mean(0), cov), (median, robust)):
                    self.gaussians.append(stats.multivariate_normal(mean, 2.0 * c))
                    self.shares.append(len(points))
        if not self.gaussians:  # ridges only: plain Monte Carlo
            self.alpha, self.shares = 1.0, [1.0]
        self.shares = np.asarray(self.shares, float) / sum(self.shares)

    def sample(self, n, rng):
        n_uniform = rng.binomial(n, self.alpha)
        counts = rng.multinomial(n - n_uniform, self.shares)
        parts = [rng.uniform(size=(n_uniform, self.d))]
        for g, c in zip(self.gaussians, counts):
            parts.append(g.rvs(size=c, random_state=rng).reshape(c, self.d))
        return np.concatenate(parts)

    def pdf(self, X):
        mixture = sum(s * g.pdf(X) for s, g in zip(self.shares, self.gaussians))
        return self.alpha * _in_box(X) + (1 - self.alpha) * mixture


def _importance_estimate(f, n, seed, column=None):
    """``(estimate, standard error)`` of ``∫_box f`` (or of one component's term)."""
    rng = np.random.default_rng(seed)
    q = _Proposal(f, rng)
    Y = q.sample(n, rng)
    inside = _in_box(Y)
    values = np.zeros(n)
    if column is None:
        values[inside] = f(Y[inside])
    else:
        values[inside] = f.component_values(Y[inside])[:, column]
    w = values / q.pdf(Y)
    return w.mean(), w.std() / math.sqrt(n)


def test_draws_cover_the_documented_ranges():
    draws = [make_integrand_family(seed) for seed in range(200)]
    dims = {f.n_features for f in draws}
    assert dims == set(range(2, 17))
    assert {len(f.components) for f in draws} == {1, 2, 3, 4}
    assert {c["kind"] for f in draws for c in f.components} == set(INTEGRAND_KINDS)
    shares = np.concatenate([f.weights for f in draws if len(f.weights) > 1])
    assert shares.min() < 0.02  # peaks of very different weights
    for seed, f in enumerate(draws[:20]):
        assert isinstance(f, FamilyIntegrand)
        k = len(f.components)
        assert f.name == f"family-s{seed}-d{f.n_features}-k{k}"
        assert f.ndim == f.n_features
        assert f.integral == 1.0
        assert math.isclose(sum(c["weight"] for c in f.components), 1.0)
        assert f.modes().shape[1] == f.n_features
        for c in f.components:
            assert {"kind", "weight", "centre", "scale", "direction", "modes"} <= set(c)
            assert math.isclose(np.linalg.norm(c["direction"]), 1.0)


def test_options_fix_dimension_components_and_kinds():
    f = make_integrand_family(3, n_dims=7, n_components=4, kinds=["shell", "ridge"])
    assert f.n_features == 7 and len(f.components) == 4
    assert {c["kind"] for c in f.components} <= {"shell", "ridge"}
    assert {make_integrand_family(s, dims=(5, 6)).n_features for s in range(30)} == {
        5,
        6,
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_integral_by_importance_sampling(seed):
    f = make_integrand_family(seed)
    estimate, error = _importance_estimate(f, 100_000, seed + 1000)
    assert error < 0.1
    assert abs(estimate - f.integral) < 5 * error, (f, estimate, error)


@pytest.mark.parametrize("kind", ["gaussian", "camel", "shell", "indicator"])
def test_integral_of_each_narrow_kind_to_a_few_percent(kind):
    for seed, d in enumerate((2, 6, 11, 16)):
        f = make_integrand_family(seed, n_dims=d, n_components=1, kinds=[kind])
        estimate, error = _importance_estimate(f, 100_000, seed)
        assert error < 0.03  # the check has power: a wrong normaliser fails
        assert abs(estimate - f.integral) < 5 * error, (f, estimate, error)


@pytest.mark.parametrize("seed", range(8))
def test_integral_by_plain_monte_carlo_for_wide_kinds(seed):
    # ridges across the box and the defensive uniform case: plain MC has finite variance
    f = make_integrand_family(seed, kinds=["ridge"])
    X = np.random.default_rng(seed).uniform(size=(400_000, f.n_features))
    values = f(X)
    error = values.std() / math.sqrt(len(X))
    assert abs(values.mean() - f.integral) < 5 * error


def test_ridge_box_integral_matches_the_diagonal_formula():
    # u = (1, -1)/sqrt(2), t0 = 0: the exact integral of the existing BreitWignerRidge
    from skhep_ml.datasets.integrand_family import _Ridge
    from skhep_ml.datasets.integrands import _cauchy_difference_mass

    for width in (1e-3, 1e-2, 3e-2):
        ridge = _Ridge(
            np.array([1.0, -1.0, 0.0]) / math.sqrt(2), 0.0, width, np.full(3, 0.5)
        )
        exact = math.sqrt(2) * _cauchy_difference_mass(math.sqrt(2) * width)
        assert ridge.box_mass == pytest.approx(exact, rel=1e-12)


def _sum_of_uniforms_density(t, scales):
    """Density of ``Σ a_i U_i`` at ``t`` (the box cross-section along ``u``)."""
    m, total = len(scales), 0.0
    for subset in range(1 << m):
        members = [a for i, a in enumerate(scales) if subset >> i & 1]
        total += (-1) ** len(members) * max(t - sum(members), 0.0) ** (m - 1)
    return total / (math.factorial(m - 1) * np.prod(scales))


def test_ridge_box_integral_matches_quadrature_of_the_cross_section():
    from scipy import integrate

    for seed in range(12):
        f = make_integrand_family(seed, n_components=1, kinds=["ridge"])
        (c,) = f.components
        u = c["direction"][c["direction"] != 0]
        low, half = u[u < 0].sum(), 0.5 * c["scale"]
        scales = np.abs(u)
        kinks = {
            sum(a for i, a in enumerate(scales) if s >> i & 1)
            for s in range(1 << len(u))
        }
        points = sorted(kinks | {c["offset"] - low})

        def integrand(t, scales=scales, low=low, half=half, offset=c["offset"]):
            cauchy = half / math.pi / ((t + low - offset) ** 2 + half**2)
            return _sum_of_uniforms_density(t, scales) * cauchy

        quad = sum(
            integrate.quad(integrand, a, b, epsabs=0, epsrel=1e-13, limit=500)[0]
            for a, b in zip(points[:-1], points[1:])
        )
        peak = f(c["centre"][None, :])[0]  # L(0) / box mass
        assert half / math.pi / half**2 / peak == pytest.approx(quad, rel=1e-12)


def test_shell_radial_normaliser_matches_quadrature():
    from scipy import integrate

    from skhep_ml.datasets.integrand_family import _radial_mass

    radius, width = 0.2, 0.004
    for d in (2, 9, 16):

        def radial(r, d=d):
            return r ** (d - 1) * math.exp(-(((r - radius) / width) ** 2) / 2)

        quad = integrate.quad(
            radial,
            0,
            1,
            points=[radius],
            epsabs=0,
            epsrel=1e-13,
            limit=500,
        )[0]
        assert _radial_mass(radius, width, d, 0.0) == pytest.approx(quad, rel=1e-12)


def _projection_histogram_pulls(f, k, seed, n=50_000, bins=10):
    """Truth samples of component k along its direction vs importance-weighted mass."""
    rng = np.random.default_rng(seed)
    component = f.components[k]
    direction = component["direction"]
    X, labels = f.sample_truth(n, rng, return_components=True)
    t = X[labels == k] @ direction
    edges = np.quantile(t, np.linspace(0, 1, bins + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    observed = np.histogram(t, edges)[0] / len(t)
    q = _Proposal(f, rng)
    Y = q.sample(2 * n, rng)
    inside = _in_box(Y)
    g = np.zeros(len(Y))
    g[inside] = f.component_values(Y[inside])[:, k] / component["weight"]
    w = g / q.pdf(Y)
    idx = np.digitize(Y @ direction, edges[1:-1])
    expected = np.bincount(idx, w, bins) / len(Y)
    expected_var = (np.bincount(idx, w**2, bins) / len(Y) - expected**2) / len(Y)
    observed_var = observed * (1 - observed) / len(t)
    return (observed - expected) / np.sqrt(observed_var + expected_var)


@pytest.mark.parametrize("seed", range(0, 20, 3))
def test_sample_truth_matches_the_density_along_each_direction(seed):
    f = make_integrand_family(seed)
    for k, c in enumerate(f.components):
        if c["weight"] < 0.1:
            continue  # too few truth samples for a binned check
        pulls = _projection_histogram_pulls(f, k, seed)
        assert np.abs(pulls).max() < 5, (f, c["kind"], pulls)


def test_sample_truth_gaussian_and_ball_have_their_exact_laws():
    f = make_integrand_family(2, n_dims=9, n_components=1, kinds=["gaussian"])
    (c,) = f.components
    narrow = np.argmin(c["scale"])
    t = f.sample_truth(20_000, 0) @ c["direction"]
    sd = c["scale"][narrow]
    assert (
        stats.kstest(t, stats.norm(c["centre"] @ c["direction"], sd).cdf).pvalue > 1e-3
    )
    for seed in range(20):
        f = make_integrand_family(seed, n_dims=5, n_components=1, kinds=["indicator"])
        (c,) = f.components
        if c["shape"] == "ball":
            break
    r = np.linalg.norm(f.sample_truth(20_000, 1) - c["centre"], axis=1) / c["scale"]
    assert stats.kstest(r, lambda s: np.clip(s, 0, 1) ** 5).pvalue > 1e-3


def test_sample_truth_labels_follow_weights_and_stay_in_box():
    f = make_integrand_family(9)
    X, labels = f.sample_truth(50_000, 3, return_components=True)
    assert X.shape == (50_000, f.n_features) and _in_box(X).all()
    counts = np.bincount(labels, minlength=len(f.weights))
    expected = 50_000 * f.weights
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 1)
    values = f(X)
    assert np.isfinite(values).all() and (values > 0).all()
    assert f.sample_truth(0, 0).shape == (0, f.n_features)
    with pytest.raises(ValueError, match="non-negative"):
        f.sample_truth(-1)


def test_modes_sit_on_the_peaks():
    for seed in SEEDS:
        f = make_integrand_family(seed)
        X, labels = f.sample_truth(2000, seed, return_components=True)
        for k, c in enumerate(f.components):
            at_modes = f.component_values(c["modes"])[:, k]
            typical = np.median(f.component_values(X[labels == k])[:, k])
            assert np.all(at_modes >= typical * (1 - 1e-12)), (f, c["kind"])


def test_outside_mass_bound_and_geometry():
    for seed in range(50):
        f = make_integrand_family(seed)
        assert 0 <= f.outside_mass_bound < 1e-12
        for c in f.components:
            if c["kind"] == "gaussian":
                sd = np.sqrt(((c["rotation"] * c["scale"]) ** 2).sum(1))
                margin = np.minimum(c["centre"], 1 - c["centre"]) / sd
                assert margin.min() >= 8 - 1e-9  # outside mass <= 2 d Phi(-8) < 2e-14
            elif c["kind"] == "camel":
                margin = np.minimum(c["peaks"], 1 - c["peaks"]) / c["scale"]
                assert margin.min() >= 8 - 1e-9
            elif c["kind"] == "shell":
                reach = (c["radius"] + 10 * c["scale"]) * np.linalg.norm(
                    c["rotation"] * c["axes"], axis=1
                )
                assert np.all(reach <= np.minimum(c["centre"], 1 - c["centre"]) + 1e-12)
            elif c["kind"] == "indicator" and c["shape"] == "ball":
                assert np.all(c["scale"] <= np.minimum(c["centre"], 1 - c["centre"]))
            elif c["kind"] == "indicator":
                reach = 0.5 * np.abs(c["rotation"]) @ c["scale"]
                assert np.all(reach <= np.minimum(c["centre"], 1 - c["centre"]) + 1e-12)


def test_reproducible_by_seed_and_picklable():
    f, g = make_integrand_family(11), make_integrand_family(11)
    X = np.random.default_rng(0).uniform(size=(1000, f.n_features))
    np.testing.assert_array_equal(f(X), g(X))
    np.testing.assert_array_equal(f.sample_truth(100, 5), g.sample_truth(100, 5))
    assert f.name == g.name
    h = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(h(X), f(X))
    assert h.name == f.name and h.integral == f.integral
    other = make_integrand_family(12)
    assert other.name != f.name or not np.array_equal(other.modes(), f.modes())


def test_torch_input_and_component_values_agree():
    torch = pytest.importorskip("torch")
    f = make_integrand_family(4, n_dims=6, n_components=4)
    X = f.sample_truth(5000, 0)
    expected = f(X)
    np.testing.assert_allclose(f(torch.as_tensor(X)).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(f.component_values(X).sum(1), expected, rtol=1e-12)
    columns = f.component_values(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(columns, f.component_values(X), rtol=1e-12)


def test_bad_input_raises():
    f = make_integrand_family(0, n_dims=3)
    with pytest.raises(ValueError, match=re.escape("(n, 3), got (10, 4)")):
        f(np.zeros((10, 4)))
    with pytest.raises(ValueError, match=re.escape("got (3,)")):
        f(np.zeros(3))
    with pytest.raises(ValueError, match="n_dims"):
        make_integrand_family(0, n_dims=17)
    with pytest.raises(ValueError, match="n_components"):
        make_integrand_family(0, n_components=5)
    with pytest.raises(ValueError, match="unknown kinds"):
        make_integrand_family(0, kinds=["donut"])
    with pytest.raises(ValueError, match="dims"):
        make_integrand_family(0, dims=(1, 4))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_ridge_integral_by_monte_carlo_1e7(seed):
    f = make_integrand_family(seed, n_components=1, kinds=["ridge"])
    rng = np.random.default_rng(seed)
    total, total2, n = 0.0, 0.0, 10_000_000
    for _ in range(10):
        v = f(rng.uniform(size=(n // 10, f.n_features)))
        total, total2 = total + v.sum(), total2 + (v * v).sum()
    mean = total / n
    error = math.sqrt((total2 / n - mean**2) / n)
    assert abs(mean - 1.0) < 5 * error


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20, 120))
def test_integral_by_importance_sampling_many_draws(seed):
    f = make_integrand_family(seed)
    estimate, error = _importance_estimate(f, 200_000, seed)
    assert abs(estimate - f.integral) < 5 * error


@pytest.mark.parametrize("d", [2, 7, 16])
def test_shell_integral_by_radial_importance_sampling(d):
    # x = c + Q diag(a) r n with r ~ N(R, (2σ)²) truncated to r > 0 and n uniform
    # on the sphere: q(x) = N(r) / (Z_r |S^{d-1}| r^{d-1} ∏ a), so f/q is smooth
    f = make_integrand_family(d, n_dims=d, n_components=1, kinds=["shell"])
    (c,) = f.components
    rng = np.random.default_rng(d)
    n = 400_000
    radial = stats.truncnorm(
        -c["radius"] / (2 * c["scale"]), np.inf, c["radius"], 2 * c["scale"]
    )
    r = radial.rvs(size=n, random_state=rng)
    normal = rng.standard_normal((n, d))
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    X = c["centre"] + (normal * r[:, None] * c["axes"]) @ c["rotation"].T
    sphere = 2 * math.pi ** (d / 2) / math.gamma(d / 2)
    q = radial.pdf(r) / (sphere * r ** (d - 1) * np.prod(c["axes"]))
    w = np.where(_in_box(X), f(X), 0.0) / q
    error = w.std() / math.sqrt(n)
    assert error < 0.002  # a 1 % error in the normaliser fails
    assert abs(w.mean() - f.integral) < 5 * error
