"""The procedural density family: exact normalisation, sampling, weighted events."""

import pickle

import numpy as np
import pytest
from scipy import integrate
from scipy.special import gammaln, logsumexp
from scipy.stats import multivariate_normal, multivariate_t

from skhep_ml.datasets import (
    DENSITY_FAMILY_KINDS,
    DefensiveProposal,
    FamilyDensity,
    make_density_family,
    make_weighted,
)
from skhep_ml.datasets.density_family import _KINDS

BLOCK_CASES = [
    (kind, k) for kind, (low, high, _) in _KINDS.items() for k in range(low, high + 1)
]


def _block(kind, k, seed):
    return _KINDS[kind][2](k, np.random.RandomState(seed))


def _cauchy_proposal(sample):
    """A product of Cauchy densities around ``sample`` (covers every tail)."""
    q1, loc, q3 = np.percentile(sample, [25, 50, 75], axis=0)
    scale = np.maximum(q3 - q1, 0.1)

    def draw(n, rng):
        return loc + scale * rng.standard_cauchy((n, len(loc)))

    def log_q(X):
        z = (X - loc) / scale
        return (-np.log(np.pi * scale * (1.0 + z**2))).sum(axis=1)

    return draw, log_q


def _component_proposal(block):
    """Student-t (df 2) at each mixture component, widths x 1.5 (scipy's)."""
    comps = [
        multivariate_t(mu, 2.25 * chol @ chol.T, df=2.0)
        for mu, chol in zip(block.means, block.scale_chol)
    ]

    def draw(n, rng):
        which = rng.choice(len(comps), size=n, p=block.weights)
        out = np.empty((n, block.n_features))
        for j, comp in enumerate(comps):
            rows = which == j
            out[rows] = np.reshape(
                comp.rvs(rows.sum(), random_state=rng), (-1, block.n_features)
            )
        return out

    def log_q(X):
        logs = [
            np.log(w) + np.reshape(c.logpdf(X), -1)
            for w, c in zip(block.weights, comps)
        ]
        return logsumexp(np.stack(logs, 1), axis=1)

    return draw, log_q


def _proposal(block, sample):
    if block.kind in ("gaussian_mixture", "student_t"):
        return _component_proposal(block)
    return _cauchy_proposal(sample)


def _test_functions(X, centre, spread):
    z = (X - centre) / spread
    return np.stack([np.tanh(z.sum(axis=1)), np.exp(-0.5 * (z**2).sum(axis=1))], 1)


@pytest.mark.parametrize(("kind", "k"), BLOCK_CASES)
def test_block_normalised_and_sampled_from_its_density(kind, k):
    """E_q[p/q] = 1 and E_p[f] (samples) = E_q[f p/q] (density) within 5 sigma."""
    rng = np.random.RandomState(0)
    for seed in range(2):
        block = _block(kind, k, seed)
        X = block.sample(20_000, rng)
        assert X.shape == (20_000, k)
        assert np.isfinite(block.log_density(X)).all()  # samples lie in the support
        draw, log_q = _proposal(block, X)
        Z = draw(100_000, rng)
        w = np.exp(block.log_density(Z) - log_q(Z))
        assert abs(w.mean() - 1.0) < 5.0 * w.std() / np.sqrt(len(w))
        centre, spread = np.median(X, 0), X.std(0) + 1e-3
        f_p, f_q = (
            _test_functions(X, centre, spread),
            _test_functions(Z, centre, spread),
        )
        wf = w[:, None] * f_q
        err = np.sqrt(f_p.var(0) / len(X) + wf.var(0) / len(Z))
        assert (np.abs(f_p.mean(0) - wf.mean(0)) < 5.0 * err).all()


@pytest.mark.parametrize("kind", ["gaussian_mixture", "student_t"])
@pytest.mark.parametrize("k", [1, 2, 4])
def test_elliptical_blocks_match_scipy(kind, k):
    block = _block(kind, k, 4)
    X = block.sample(1000, np.random.RandomState(0)) * 3.0  # tails too
    logs = []
    for w, mu, chol, df in zip(block.weights, block.means, block.scale_chol, block.dfs):
        cov = chol @ chol.T
        ref = (
            multivariate_normal(mu, cov)
            if np.isinf(df)
            else multivariate_t(mu, cov, df=df)
        )
        logs.append(np.log(w) + np.reshape(ref.logpdf(X), -1))
    expected = logsumexp(np.stack(logs, 1), 1)
    np.testing.assert_allclose(block.log_density(X), expected, rtol=1e-10)


@pytest.mark.parametrize(
    "kind", ["gaussian_mixture", "student_t", "boxes", "peak", "power_law"]
)
def test_one_dimensional_blocks_integrate_to_one_and_match_cdf(kind):
    block = _block(kind, 1, 3)
    X = np.sort(block.sample(20_000, np.random.RandomState(1))[:, 0])

    def pdf(x):
        return np.exp(block.log_density(np.array([[x]])))[0]

    edges = np.quantile(X, np.linspace(0.05, 0.95, 10))
    cuts = [-np.inf, *edges, np.inf]
    pieces = [
        integrate.quad(pdf, a, b, limit=400)[0] for a, b in zip(cuts[:-1], cuts[1:])
    ]
    assert sum(pieces) == pytest.approx(1.0, abs=1e-6)
    cdf = np.cumsum(pieces)[:-1]
    empirical = np.searchsorted(X, edges) / len(X)
    assert np.all(np.abs(empirical - cdf) < 5.0 * np.sqrt(cdf * (1 - cdf) / len(X)))


@pytest.mark.parametrize("k", [2, 3, 4])
def test_shell_radial_normalisation_is_exact(k):
    shell = _block("shell", k, 5)
    log_area = np.log(2.0) + 0.5 * k * np.log(np.pi) - gammaln(0.5 * k)
    direction = np.eye(k)[0]

    def radial(r):
        x = shell.centre + r * direction
        return np.exp(log_area + (k - 1) * np.log(r) + shell.log_density(x[None])[0])

    total = integrate.quad(radial, 0.0, shell.radius, limit=200)[0]
    total += integrate.quad(radial, shell.radius, np.inf, limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("kind", ["shell", "spiral", "dalitz", "ball"])
def test_two_dimensional_blocks_integrate_to_one_on_a_grid(kind):
    block = _block(kind, 2, 2)
    X = block.sample(20_000, np.random.RandomState(0))
    low, high = X.min(0) - 1.0, X.max(0) + 1.0
    n = 700 if block.smooth else 1500  # sharp edges need the finer grid
    gx, gy = (np.linspace(a, b, n) for a, b in zip(low, high))
    xx, yy = np.meshgrid(gx, gy)
    p = np.exp(block.log_density(np.column_stack([xx.ravel(), yy.ravel()])))
    total = p.sum() * (gx[1] - gx[0]) * (gy[1] - gy[0])
    assert total == pytest.approx(1.0, abs=5e-3)  # Riemann sum over sharp edges


def test_family_sample_agrees_with_log_density_in_32_dims():
    """E_p[log p] of the rotated, sheared family = the sum of block entropies."""
    rng = np.random.RandomState(0)
    for seed in range(3):
        family = make_density_family(seed, n_dims=32)
        lp = family.log_density(family.sample(20_000, rng))
        assert np.isfinite(lp).all()
        block_lp = [b.log_density(b.sample(20_000, rng)) for b in family.blocks]
        expected = sum(v.mean() for v in block_lp)
        err = np.sqrt(lp.var() / len(lp) + sum(v.var() / len(v) for v in block_lp))
        assert abs(lp.mean() - expected) < 5.0 * err
        # a wrong Jacobian or inverse would move points off the density: e.g.
        # the transposed rotation gives a clearly lower mean log-density
        if family.coupling.size or len(family.rotation) > 1:
            wrong = FamilyDensity(
                "wrong",
                family.blocks,
                family.rotation.T,
                family.coupling,
                family.centre,
                family.spread,
                family.permutation,
            )
            assert wrong.log_density(family.sample(2000, rng)).mean() < lp.mean() - 1.0


@pytest.mark.parametrize("seed", range(6))
def test_low_dimensional_family_integrates_to_one(seed):
    family = make_density_family(seed, dims=(2, 3))
    rng = np.random.RandomState(seed)
    draw, log_q = _cauchy_proposal(family.sample(20_000, rng))
    Z = draw(300_000, rng)
    w = np.exp(family.log_density(Z) - log_q(Z))
    assert abs(w.mean() - 1.0) < 5.0 * w.std() / np.sqrt(len(w))


def test_every_dimension_and_kind_works():
    kinds_seen = set()
    for d in range(2, 33):
        family = make_density_family(100 + d, n_dims=d)
        X = family.sample(300, 0)
        assert X.shape == (300, d) and family.n_features == d
        assert np.isfinite(family.log_density(X)).all()
        kinds_seen |= {b["kind"] for b in family.components["blocks"]}
        assert sum(b["n_features"] for b in family.components["blocks"]) == d
    assert kinds_seen == set(DENSITY_FAMILY_KINDS)
    drawn = np.array([make_density_family(s).n_features for s in range(300)])
    assert drawn.min() == 2 and drawn.max() >= 28 and drawn.max() <= 32
    # log-uniform: about as many draws in [2, 5] as in [8, 32]
    assert 0.5 < np.mean(drawn <= 5) / np.mean(drawn >= 8) < 2.0
    only = make_density_family(0, n_dims=7, kinds=["peak", "power_law"])
    assert {b.kind for b in only.blocks} <= {"peak", "power_law"}


def test_log_density_is_minus_inf_outside_the_support():
    family = make_density_family(1, n_dims=3, kinds=["power_law"])
    X = family.sample(10, 0)
    X[:, 0] = 0.1  # below every x_min (>= 0.5)
    assert np.all(family.log_density(X) == -np.inf)


def test_reproducible_by_seed_and_picklable():
    a, b = make_density_family(7), make_density_family(7)
    assert repr(a) == repr(b) and a.name == "family-7"
    np.testing.assert_array_equal(a.sample(100, 3), b.sample(100, 3))
    assert repr(make_density_family(8)) != repr(a)
    X = a.sample(500, 1)
    clone = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(clone.log_density(X), a.log_density(X))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="kinds"):
        make_density_family(0, kinds=["torus"])
    with pytest.raises(ValueError, match="dims"):
        make_density_family(0, dims=(5, 2))
    with pytest.raises(ValueError, match="shape"):
        make_density_family(0, n_dims=4).log_density(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="ess_fraction"):
        make_weighted(make_density_family(0), 100, 0.95)


def test_a_32_dim_draw_with_spirals_samples_inside_its_support():
    """Samples of the slowest kind of draw (d = 32, spirals) have finite log p."""
    family = make_density_family(0, n_dims=32)
    assert sum(b.kind == "spiral" for b in family.blocks) >= 1
    X = family.sample(20_000, 0)
    assert X.shape == (20_000, 32)
    assert np.isfinite(family.log_density(X)).all()


@pytest.mark.parametrize(("seed", "n_dims"), [(0, 2), (1, 8), (2, 32)])
@pytest.mark.parametrize("ess", [0.1, 0.5, 0.9])
def test_weighted_events_hit_the_ess_and_are_unbiased(seed, n_dims, ess):
    family = make_density_family(seed, n_dims=n_dims)
    X, w, achieved = make_weighted(family, 20_000, ess, random_state=seed)
    assert X.shape == (20_000, n_dims) and w.shape == (20_000,)
    assert abs(achieved - ess) <= 0.05
    assert achieved == pytest.approx(w.sum() ** 2 / (len(w) * (w**2).sum()))
    # the weighted mean of a test function equals its mean under p
    ref = family.sample(50_000, seed + 100)
    centre, spread = np.median(ref, 0), ref.std(0) + 1e-3
    f_w, f_p = _test_functions(X, centre, spread), _test_functions(ref, centre, spread)
    wn = w / w.sum()
    weighted = (wn[:, None] * f_w).sum(0)
    err_w = np.sqrt((wn[:, None] ** 2 * (f_w - weighted) ** 2).sum(0))
    err = np.sqrt(err_w**2 + f_p.var(0) / len(ref))
    assert (np.abs(weighted - f_p.mean(0)) < 5.0 * err).all()
    assert abs(w.mean() - 1.0) < 5.0 * w.std() / np.sqrt(len(w))


def test_defensive_proposal_density_is_normalised_and_weights_exact():
    family = make_density_family(4, n_dims=2)
    X = family.sample(2000, 0)
    q = DefensiveProposal(family, np.median(X, 0), X.std(0), mix=0.6, broadening=2.0)
    Z = q.sample(20_000, 1)
    log_q, log_p = q.log_q_and_p(Z)
    np.testing.assert_allclose(log_p, family.log_density(Z))
    np.testing.assert_allclose(log_q, q.log_density(Z))
    assert np.exp(log_p - log_q).max() <= 1.0 / 0.4 + 1e-12
    # the Student-t part: its mass inside radius R (in widths) is
    # 1 - (1 + R^2 / df)^(-df / 2) in 2-d
    narrow = DefensiveProposal(family, [0.0, 0.0], [1.0, 1.0], 0.5, 1.0)
    g, dx = np.linspace(-20, 20, 1601), 40.0 / 1600
    xx, yy = np.meshgrid(g, g)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    inside = (grid**2).sum(1) <= 20.0**2
    mass = np.exp(narrow._log_g(grid[inside])).sum() * dx**2
    assert mass == pytest.approx(1.0 - (1.0 + 400.0 / 3.0) ** -1.5, abs=2e-3)


def _student_proposal(sample, df=2.0, inflate=1.5):
    """A multivariate Student-t fitted to ``sample`` (mean, covariance)."""
    loc = sample.mean(0)
    chol = inflate * np.linalg.cholesky(np.cov(sample.T) + 1e-6 * np.eye(len(loc)))
    k = len(loc)
    log_det = np.log(np.diag(chol)).sum()

    def draw(n, rng):
        z = rng.standard_normal((n, k)) / np.sqrt(rng.chisquare(df, n) / df)[:, None]
        return loc + z @ chol.T

    def log_q(X):
        delta = (np.linalg.solve(chol, (X - loc).T) ** 2).sum(0)
        return (
            gammaln(0.5 * (df + k))
            - gammaln(0.5 * df)
            - 0.5 * k * np.log(df * np.pi)
            - log_det
            - 0.5 * (df + k) * np.log1p(delta / df)
        )

    return draw, log_q


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_family_integrates_to_one_in_eight_dims(seed):
    family = make_density_family(
        seed,
        n_dims=8,
        kinds=["gaussian_mixture", "student_t", "shell", "peak", "boxes"],
    )
    rng = np.random.RandomState(seed)
    draw, log_q = _student_proposal(family.sample(50_000, rng))
    Z = draw(1_000_000, rng)
    w = np.exp(family.log_density(Z) - log_q(Z))
    assert abs(w.mean() - 1.0) < 5.0 * w.std() / np.sqrt(len(w))
    assert w.std() / np.sqrt(len(w)) < 0.05  # the check has power


@pytest.mark.slow
def test_ess_is_hit_over_many_draws():
    for seed in range(300, 320):
        family = make_density_family(seed)
        for ess in (0.1, 0.3, 0.6, 0.9):
            achieved = make_weighted(family, 20_000, ess, random_state=seed)[2]
            assert abs(achieved - ess) <= 0.05


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "k"), BLOCK_CASES)
def test_blocks_over_many_draws(kind, k):
    rng = np.random.RandomState(1)
    for seed in range(10, 20):
        block = _block(kind, k, seed)
        draw, log_q = _proposal(block, block.sample(20_000, rng))
        Z = draw(300_000, rng)
        w = np.exp(block.log_density(Z) - log_q(Z))
        assert abs(w.mean() - 1.0) < 5.0 * w.std() / np.sqrt(len(w))
