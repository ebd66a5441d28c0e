"""Amplitude-like targets and heteroscedastic toys against their known truth."""

import pickle

import numpy as np
import pytest
from scipy import stats

from skhep_ml.datasets import (
    AntennaAmplitude,
    EEToQQbarG,
    HeteroscedasticToy,
    make_amplitude_family,
    make_heteroscedastic_family,
    pair_invariants,
    phase_space_points,
)


def _uniform(n, d, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, d))


def _at(u1, u2, n=1, seed=0):
    """3-body box points with given Dalitz inputs and random Euler angles."""
    X = _uniform(n, 5, seed)
    X[:, 0], X[:, 1] = u1, u2
    return X


# --------------------------------------------------------------- e+e- -> q qbar g
def test_qqbarg_matches_an_evaluation_from_energies_and_angles():
    target = EEToQQbarG(y_cut=0.01)
    X = _uniform(5000, 5)
    momenta = target.momenta(X)
    x = 2 * momenta[..., 0]
    cos_theta = momenta[..., 3] / np.linalg.norm(momenta[..., 1:], axis=-1)
    independent = (
        0.75
        * (
            x[:, 0] ** 2 * (1 + cos_theta[:, 0] ** 2)
            + x[:, 1] ** 2 * (1 + cos_theta[:, 1] ** 2)
        )
        / ((1 - x[:, 0]) * (1 - x[:, 1]))
    )
    np.testing.assert_allclose(target(X), independent, rtol=1e-10)


def test_qqbarg_orientation_average_is_the_textbook_dalitz_density():
    target = EEToQQbarG(y_cut=0.01)
    for u1, u2 in [(0.6, 0.3), (0.95, 0.9), (0.2, 0.5)]:
        X = _at(u1, u2, n=100_000, seed=1)
        values = target(X)
        x = 2 * target.momenta(X[:1])[0, :, 0]
        error = values.std() / np.sqrt(len(values))
        assert abs(values.mean() - target.dalitz(x[0], x[1])) < 5 * error


def test_qqbarg_collinear_limit_is_splitting_function_times_born():
    # q̄ ∥ g (x1 -> 1): A y23 -> (1 + z^2)/(1 - z) (3/4)(1 + cos^2 θ_q), z = x2
    # (the angle of the pair is O(sqrt(y23)): corrections O(1e-5) here)
    target = EEToQQbarG(y_cut=1e-14)
    X = _at(1 - 1e-10, 0.4, n=50, seed=2)
    momenta = target.momenta(X)
    y23 = pair_invariants(momenta)[:, 1, 2]
    z = 2 * momenta[:, 1, 0]
    cos_q = momenta[:, 0, 3] / np.linalg.norm(momenta[:, 0, 1:], axis=-1)
    limit = (1 + z**2) / (1 - z) * 0.75 * (1 + cos_q**2)
    np.testing.assert_allclose(target(X) * y23, limit, rtol=1e-4)


def test_qqbarg_soft_limit_is_eikonal_times_born():
    # soft gluon: A y13 y23 -> (3/2)(1 + cos^2 θ_q) (eikonal 2 y12/(y13 y23), y12 -> 1)
    target = EEToQQbarG(y_cut=1e-12)
    X = _at(1 - 1e-6, 1 - 1e-6, n=50, seed=3)
    momenta = target.momenta(X)
    y = pair_invariants(momenta)
    cos_q = momenta[:, 0, 3] / np.linalg.norm(momenta[:, 0, 1:], axis=-1)
    np.testing.assert_allclose(
        target(X) * y[:, 0, 2] * y[:, 1, 2], 1.5 * (1 + cos_q**2), rtol=1e-5
    )


def test_qqbarg_is_finite_with_range_set_by_the_cut():
    for y_cut in (1e-3, 1e-2):
        X, y = EEToQQbarG(y_cut).make(20_000, random_state=0)
        assert X.shape == (20_000, 5) and np.all(np.isfinite(y)) and np.all(y > 0)
        # at most the soft corner 3 / y_cut^2, at least ~ 1
        assert y.max() <= 3 / y_cut**2 and y.min() > 0.5


def test_qqbarg_rejects_a_bad_cut():
    with pytest.raises(ValueError, match="y_cut"):
        EEToQQbarG(0.0)


# ------------------------------------------------------- antenna-like family
def _soft_limit(target, momenta, j, lam):
    scaled = momenta.copy()
    scaled[:, j] *= lam
    return target.antenna(pair_invariants(scaled))


@pytest.mark.parametrize("n_final", [3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_antenna_has_double_soft_poles(seed, n_final):
    # bare poles (regulator 0): the antenna grows like 1/λ^2 when p_j -> λ p_j
    target = make_amplitude_family(seed, n_final=n_final, regulator=0.0)
    momenta = target.momenta(_uniform(20, target.n_features, seed))
    for j in range(n_final):
        a6, a7 = (_soft_limit(target, momenta, j, lam) * lam**2 for lam in (1e-6, 1e-7))
        np.testing.assert_allclose(a6, a7, rtol=1e-3)  # λ^2 A converges ...
        assert np.all(a7 > 0)  # ... to a non-zero limit: a genuine double pole


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_antenna_has_single_collinear_poles(seed):
    # n = 3: p2 ∥ p3 as u1 -> 1 (y23 ~ λ); n = 4: p1 ∥ p2 as u2 -> 1 (y12 ~ λ^2);
    # the pair's angle is O(sqrt(y)), so are the corrections
    for n_final, column, pair, lams in [
        (3, 0, (1, 2), (1e-8, 1e-10)),
        (4, 1, (0, 1), (1e-5, 1e-6)),
    ]:
        target = make_amplitude_family(seed, n_final=n_final, regulator=0.0)
        X = _uniform(20, target.n_features, seed)
        limits = []
        for lam in lams:
            X[:, column] = 1 - lam
            momenta = target.momenta(X)
            y = pair_invariants(momenta)
            limits.append(target.antenna(y) * y[:, pair[0], pair[1]])
        np.testing.assert_allclose(limits[0], limits[1], rtol=1e-2)
        assert np.all(limits[1] > 0)


def test_regulated_amplitude_stays_finite_at_the_poles():
    # with δ > 0, δ^2 A stays bounded at the soft corner and δ A on the
    # collinear edge although the bare antenna diverges there
    target = make_amplitude_family(0, n_final=3)
    corner = target(_at(1.0, 1.0, n=20))
    edge = target(_at(1.0, 0.5, n=20))
    assert np.all(np.isfinite(corner)) and np.all(np.isfinite(edge))
    assert corner.max() * target.regulator**2 < 100
    assert edge.max() * target.regulator < 100


def test_amplitude_is_the_product_of_its_factors():
    target = make_amplitude_family(5)
    X = _uniform(1000, target.n_features)
    momenta, _ = phase_space_points(X, target.n_final)
    y = pair_invariants(momenta)
    factors = target.antenna(y) * target.angular_factor(momenta) * target.log_factor(y)
    np.testing.assert_allclose(target(X), factors, rtol=1e-12)
    angular = target.angular_factor(momenta)
    assert angular.min() >= 0.3 and angular.max() <= 2.7
    assert target.log_factor(y).min() >= 1.0


def test_every_input_changes_the_amplitude():
    for n_final in (3, 4):
        target = make_amplitude_family(7, n_final=n_final)
        X = _uniform(200, target.n_features)
        base = target(X)
        for column in range(target.n_features):
            moved = X.copy()
            moved[:, column] = (moved[:, column] + 0.3) % 1.0
            assert np.median(np.abs(target(moved) / base - 1)) > 1e-3, column


def _spans(n_seeds, n_samples):
    spans, n_finals = [], []
    for seed in range(n_seeds):
        target = make_amplitude_family(seed)
        _, y = target.make(n_samples, random_state=seed)
        assert np.all(np.isfinite(y)) and np.all(y > 0), target.name
        spans.append(y.max() / y.min())
        n_finals.append(target.n_final)
    return np.array(spans), np.array(n_finals)


def test_family_is_finite_positive_and_spans_the_issue_range():
    spans, n_finals = _spans(30, 10_000)
    assert set(n_finals) == {3, 4}
    # max/min over the draw: like the issue's held-out amplitude (1.7e4)
    assert spans.min() > 5e2 and spans.max() < 1e6
    assert 3e3 < np.median(spans) < 5e4


@pytest.mark.slow
def test_family_is_finite_and_positive_on_1e5_draws_for_30_seeds():
    spans, _ = _spans(30, 100_000)
    assert spans.min() > 5e2 and spans.max() < 3e6


def test_family_draws_cover_their_ranges():
    targets = [make_amplitude_family(seed) for seed in range(200)]
    n_finals = np.array([t.n_final for t in targets])
    assert 0.4 < np.mean(n_finals == 3) < 0.6
    for n_final, low in [(3, 1e-3), (4, 6e-4)]:
        regs = np.array([t.regulator for t in targets if t.n_final == n_final])
        assert regs.min() >= low and regs.max() <= 10 * low
        # log-uniform: a quarter of the draws in each quarter-decade, roughly
        quarters = np.histogram(np.log10(regs / low), bins=4, range=(0, 1))[0]
        assert quarters.min() > 0.1 * len(regs)
    assert targets[0].triples.shape == (12 if targets[0].n_final == 4 else 3, 3)


def test_family_is_reproducible_and_fixing_a_choice_keeps_the_others():
    a, b = make_amplitude_family(11), make_amplitude_family(11)
    X = _uniform(500, a.n_features)
    np.testing.assert_array_equal(a(X), b(X))
    np.testing.assert_array_equal(a.make(100, 3)[1], b.make(100, 3)[1])
    assert not np.allclose(make_amplitude_family(12, n_final=a.n_final)(X), a(X))
    fixed = make_amplitude_family(11, regulator=0.004)
    assert fixed.regulator == 0.004 and fixed.n_final == a.n_final
    np.testing.assert_array_equal(fixed.antenna_coef, a.antenna_coef)


@pytest.mark.parametrize("target", [make_amplitude_family(4), EEToQQbarG(0.02)])
def test_targets_pickle(target):
    clone = pickle.loads(pickle.dumps(target))
    assert isinstance(clone, AntennaAmplitude | EEToQQbarG)
    X = _uniform(300, target.n_features)
    np.testing.assert_array_equal(clone(X), target(X))
    assert clone.name == target.name == repr(target)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: make_amplitude_family(-1), "seed"),
        (lambda: make_amplitude_family(0, n_final=5), "n_final"),
        (lambda: make_amplitude_family(0, regulator=-1.0), "regulator"),
        (lambda: make_amplitude_family(0, n_final=3)(np.full((2, 8), 0.5)), "shape"),
        (lambda: make_amplitude_family(0).make(0), "n_samples"),
    ],
)
def test_family_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------- heteroscedastic family
@pytest.mark.parametrize("seed", range(8))
def test_heteroscedastic_noise_has_the_stated_sigma_in_bins(seed):
    toy = make_heteroscedastic_family(seed)
    X, y = toy.make(20_000, random_state=seed)
    sigma, pulls = toy.sigma(X), (y - toy.mean(X)) / toy.sigma(X)
    # bins of the true σ: the empirical variance of y - m(X) over the mean σ^2
    edges = np.quantile(sigma, np.linspace(0, 1, 11))
    index = np.clip(np.searchsorted(edges, sigma, side="right") - 1, 0, 9)
    chi2 = 0.0
    for b in range(10):
        residual = (y - toy.mean(X))[index == b]
        ratio = np.mean(residual**2) / np.mean(sigma[index == b] ** 2)
        chi2 += (ratio - 1) ** 2 / (2 / len(residual))
    assert stats.chi2.sf(chi2, df=10) > 1e-3
    assert stats.kstest(pulls, "norm").pvalue > 1e-3


def test_heteroscedastic_sigma_stays_in_its_stated_bounds():
    for seed in range(20):
        toy = make_heteroscedastic_family(seed)
        sigma = toy.sigma(_uniform(20_000, toy.n_features))
        low = toy.sigma_scale * np.exp(-toy.log_sigma_range)
        high = toy.sigma_scale * np.exp(toy.log_sigma_range)
        assert sigma.min() >= low and sigma.max() <= high
        assert sigma.max() / sigma.min() > 1.2  # really heteroscedastic


def test_heteroscedastic_family_covers_dimensions_reproducibly():
    dims = {make_heteroscedastic_family(seed).n_features for seed in range(60)}
    assert dims == set(range(1, 7))
    a, b = make_heteroscedastic_family(9), make_heteroscedastic_family(9)
    Xa, ya = a.make(100, random_state=1)
    Xb, yb = b.make(100, random_state=1)
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(a(Xa), a.mean(Xa))
    fixed = make_heteroscedastic_family(9, n_features=2)
    assert fixed.n_features == 2 and fixed.name != a.name


def test_heteroscedastic_toy_pickles():
    toy = make_heteroscedastic_family(3)
    clone = pickle.loads(pickle.dumps(toy))
    assert isinstance(clone, HeteroscedasticToy)
    X = _uniform(50, toy.n_features)
    np.testing.assert_array_equal(clone.sigma(X), toy.sigma(X))
    np.testing.assert_array_equal(clone.mean(X), toy.mean(X))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: make_heteroscedastic_family(-2), "seed"),
        (lambda: make_heteroscedastic_family(0, n_features=7), "n_features"),
        (
            lambda: make_heteroscedastic_family(0, n_features=2).sigma(np.ones((3, 3))),
            "shape",
        ),
        (lambda: make_heteroscedastic_family(0).make(-5), "n_samples"),
    ],
)
def test_heteroscedastic_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
