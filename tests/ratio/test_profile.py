"""Profile likelihood, calibrated thresholds and coverage, against exact truths.

The family simulators' exact ``log_ratio_grid`` makes coverage cheap: the
machinery is tested on the true likelihood, where the answer is known
(Wilks holds away from boundaries for many events; at a boundary ``q``
follows ``½χ²_0 + ½χ²_1``; pseudo-experiment thresholds cover by
construction).
"""

import numpy as np
import pytest
from scipy.stats import chi2

from skhep_ml.datasets import make_simulator_family
from skhep_ml.ratio import (
    calibrated_thresholds,
    coverage,
    likelihood_profile,
    optimized_profile,
)


def _gaussian_2d(rho=0.6, n=200, seed=0):
    """log r of n events x ~ N((μ, ν), Σ) at a product grid, and the sample mean."""
    cov = np.array([[1.0, rho], [rho, 1.0]])
    x = np.random.default_rng(seed).multivariate_normal([0.2, -0.1], cov, size=n)
    g1, g2 = np.linspace(-0.5, 0.9, 141), np.linspace(-0.8, 0.6, 281)
    grid = np.stack(np.meshgrid(g1, g2, indexing="ij"), -1).reshape(-1, 2)
    prec = np.linalg.inv(cov)
    # log p(x|θ) - log p(x|0) = x^T P θ - θ^T P θ / 2
    log_r = (
        grid @ prec @ x.T - 0.5 * np.einsum("gi,ij,gj->g", grid, prec, grid)[:, None]
    )
    return log_r, grid, x.mean(0), cov


def test_profiling_a_nuisance_gives_the_marginal_gaussian_curve():
    log_r, grid, mean, cov = _gaussian_2d()
    prof = likelihood_profile(log_r, grid, parameters_of_interest=[0])
    mu = prof.theta[:, 0]
    assert prof.theta.shape == (141, 1)
    # profiled over ν: q(μ) = n (μ - x̄_1)^2 / Σ_11, one degree of freedom
    exact = 200 * (mu - mean[0]) ** 2 / cov[0, 0]
    np.testing.assert_allclose(prof.q, exact - exact.min(), atol=0.02)
    assert prof.thresholds[0.68] == pytest.approx(chi2.ppf(0.68, 1))
    lo, hi = prof.intervals[0.68]
    half = np.sqrt(chi2.ppf(0.68, 1) / 200)
    assert lo == pytest.approx(mean[0] - half, abs=3e-3)
    assert hi == pytest.approx(mean[0] + half, abs=3e-3)
    # the conditional MLE of ν at each μ: x̄_2 + ρ (μ - x̄_1) (grid step 0.005)
    nu_hat = grid[prof.profile_index, 1]
    inside = np.abs(mean[1] + 0.6 * (mu - mean[0])) < 0.55
    np.testing.assert_allclose(
        nu_hat[inside], (mean[1] + 0.6 * (mu - mean[0]))[inside], atol=0.003
    )
    # the full 2-d region: q ≤ χ²_2, an ellipse of the right area
    full = likelihood_profile(log_r, grid)
    area = full.regions[0.68].mean() * 1.4 * 1.4
    exact_area = np.pi * chi2.ppf(0.68, 2) / 200 * np.sqrt(np.linalg.det(cov))
    assert area == pytest.approx(exact_area, rel=0.03)


def test_thresholds_per_point_and_errors():
    log_r, grid, _, _ = _gaussian_2d()
    prof = likelihood_profile(log_r, grid, parameters_of_interest=[1])
    t = np.full(len(prof.theta), 1.0)
    wide = likelihood_profile(
        log_r, grid, parameters_of_interest=[1], thresholds={0.68: t, 0.95: 9.0}
    )
    np.testing.assert_array_equal(wide.regions[0.68], prof.q <= 1.0)
    assert wide.regions[0.95].sum() > prof.regions[0.95].sum()
    with pytest.raises(ValueError, match="no entry for confidence level 0.95"):
        likelihood_profile(log_r, grid, thresholds={0.68: 1.0})
    with pytest.raises(ValueError, match="one per profiled grid point"):
        likelihood_profile(log_r, grid, thresholds={0.68: [1.0, 2.0], 0.95: 4.0})
    with pytest.raises(ValueError, match="parameters_of_interest must be"):
        likelihood_profile(log_r, grid, parameters_of_interest=[2])


def _simulate(sim):
    return lambda theta, n, rng: sim.sample(n, theta, random_state=rng)[0]


@pytest.mark.parametrize(
    "kinds, truth, wilks_68",
    [
        # away from boundaries, 50 events: the exact likelihood is not yet
        # asymptotic (measured 0.56 / 0.90 with Wilks on this draw)
        (("interference",), 0.3, None),
        # at the boundary θ_r = 0 (and for the squared parameter at 0, its
        # folded likelihood): q ~ ½χ²_0 + ½χ²_1, Wilks' 68 % region covers
        # P(χ²_1 ≤ 2 χ²_1^{-1}(0.68)) ≈ 0.84
        (("rate",), 0.0, 0.5 + 0.5 * chi2.cdf(chi2.ppf(0.68, 1), 1)),
        (("squared",), 0.0, 0.5 + 0.5 * chi2.cdf(chi2.ppf(0.68, 1), 1)),
    ],
)
def test_calibrated_regions_cover_where_wilks_fails(kinds, truth, wilks_68):
    sim = make_simulator_family(3, kinds=kinds)
    grid = np.linspace(*sim.theta_bounds[0], 101)
    kw = dict(n_events=50, random_state=0)
    cal = calibrated_thresholds(
        sim.log_ratio_grid,
        _simulate(sim),
        grid,
        theta_test=[[truth]],
        n_toys=400,
        n_events=50,
        random_state=1,
    )
    at_truth = {cl: t[0] for cl, t in cal.thresholds.items()}
    calibrated = coverage(
        sim.log_ratio_grid,
        _simulate(sim),
        grid,
        [truth],
        n_pseudo=400,
        thresholds=at_truth,
        **kw,
    )
    wilks = coverage(
        sim.log_ratio_grid, _simulate(sim), grid, [truth], n_pseudo=400, **kw
    )
    # independent pseudo-experiments: nominal within 3 binomial errors
    for cl in (0.68, 0.95):
        assert abs(calibrated.coverage[cl] - cl) < 3 * np.sqrt(cl * (1 - cl) / 400)
    if wilks_68 is not None:
        assert wilks.coverage[0.68] == pytest.approx(wilks_68, abs=0.06)
        # the boundary halves q's mass above 0: the calibrated 68 % threshold
        # is far below Wilks' 0.99
        assert at_truth[0.68] < 0.5 * cal.wilks[0.68]
    np.testing.assert_array_equal(wilks.q_true, calibrated.q_true)


def test_wilks_covers_with_more_events_away_from_boundaries():
    # 300 events at θ = 0.3 (the grid spans the likelihood's support there)
    sim = make_simulator_family(3, kinds=("interference",))
    grid = np.linspace(0.0, 0.6, 61)
    res = coverage(
        sim.log_ratio_grid,
        _simulate(sim),
        grid,
        [0.3],
        n_events=300,
        n_pseudo=300,
        random_state=0,
    )
    # the goal, ±5 points (measured 0.653 / 0.943)
    for cl in (0.68, 0.95):
        assert abs(res.coverage[cl] - cl) < 0.05


def test_calibration_checks_its_inputs():
    sim = make_simulator_family(3, kinds=("interference",))
    grid = np.linspace(-1, 1, 11)
    with pytest.raises(ValueError, match="n_events must be a positive integer"):
        calibrated_thresholds(sim.log_ratio_grid, _simulate(sim), grid, n_events=0)
    with pytest.raises(ValueError, match="is not on the grid"):
        calibrated_thresholds(
            sim.log_ratio_grid, _simulate(sim), grid, n_events=5, theta_test=[[0.05]]
        )


def test_optimized_profile_on_a_coarse_grid_is_exact():
    # the Gaussian on a 15 x 15 grid: L-BFGS-B profiles ν continuously, so
    # q(μ) and the MLE are those of the continuum, not of the grid
    cov = np.array([[1.0, 0.6], [0.6, 1.0]])
    x = np.random.default_rng(0).multivariate_normal([0.2, -0.1], cov, size=200)
    prec, mean = np.linalg.inv(cov), x.mean(0)

    def log_likelihood(theta):
        d = theta - mean
        return -0.5 * 200 * np.einsum("gi,ij,gj->g", d, prec, d)

    g = np.linspace(-0.7, 0.7, 15)
    grid = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    prof = optimized_profile(log_likelihood, grid, parameters_of_interest=[0])
    np.testing.assert_allclose(prof.mle, mean[:1], atol=1e-5)
    np.testing.assert_allclose(prof.mle_full, mean, atol=1e-5)
    exact = 200 * (prof.theta[:, 0] - mean[0]) ** 2 / cov[0, 0]
    np.testing.assert_allclose(prof.q, exact, atol=1e-6)
    np.testing.assert_allclose(
        prof.nuisance[:, 1], mean[1] + 0.6 * (g - mean[0]), atol=1e-4
    )
    # the interval edges of the continuum (roots of the profiled q - t)
    half = np.sqrt(chi2.ppf(0.68, 1) / 200)
    np.testing.assert_allclose(
        prof.intervals[0.68], [mean[0] - half, mean[0] + half], atol=1e-5
    )
    # without profiling: the full 2-d MLE, the grid kept
    full = optimized_profile(log_likelihood, grid)
    assert full.theta.shape == (225, 2)
    np.testing.assert_allclose(full.mle, mean, atol=1e-5)
    assert full.thresholds[0.95] == pytest.approx(chi2.ppf(0.95, 2))
