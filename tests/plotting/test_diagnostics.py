"""Pulls and likelihood-ratio curves against known truth."""

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("matplotlib")
pytest.importorskip("hist")
pytest.importorskip("mplhep")

import matplotlib.pyplot as plt  # noqa: E402

from skhep_ml.plotting import plot_likelihood_profile, plot_pulls  # noqa: E402
from skhep_ml.ratio import likelihood_profile  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_pulls_of_a_perfectly_calibrated_toy_are_standard_normal():
    rng = np.random.default_rng(0)
    n = 20_000
    y_pred = rng.uniform(-1, 1, n)
    y_std = rng.uniform(0.1, 2.0, n)
    y_true = y_pred + y_std * rng.normal(size=n)
    out = plot_pulls(y_true, y_pred, y_std, bins=20, range=(-4, 4))
    np.testing.assert_allclose(out.pulls, (y_pred - y_true) / y_std)
    assert abs(out.mean) < 0.03 and abs(out.std - 1) < 0.03
    # the histogram follows the N(0, 1) drawn over it
    edges = out.hist.axes[0].edges
    expected = n * np.diff(stats.norm.cdf(edges))
    chi2 = np.sum((out.hist.values() - expected) ** 2 / expected)
    assert chi2 / 20 < 2
    curve = out.ax.lines[-1]
    np.testing.assert_allclose(curve.get_ydata(), stats.norm.pdf(curve.get_xdata()))


def test_pulls_of_overconfident_errors_are_wide_and_bad_input_is_rejected():
    rng = np.random.default_rng(1)
    y = rng.normal(size=5000)
    out = plot_pulls(y, np.zeros(5000), np.full(5000, 0.5))
    assert out.std == pytest.approx(2.0, rel=0.05)
    with pytest.raises(ValueError, match="positive"):
        plot_pulls(y, y, np.zeros(5000))
    with pytest.raises(ValueError, match="shapes"):
        plot_pulls(y, y[:3], y[:3])


def test_likelihood_profile_curve_thresholds_and_intervals():
    sigma, grid = 0.3, np.linspace(0.0, 2.0, 401)
    # one "event" whose log ratio is a parabola: q = ((θ - 1) / σ)^2
    log_ratio = (-0.5 * ((grid - 1) / sigma) ** 2)[:, None]
    profile = likelihood_profile(log_ratio, grid)
    ax = plot_likelihood_profile(profile, truth=1.0)
    curve = ax.lines[0]
    np.testing.assert_allclose(curve.get_xdata(), grid)
    np.testing.assert_allclose(curve.get_ydata(), ((grid - 1) / sigma) ** 2, atol=1e-9)
    levels = [line.get_ydata()[0] for line in ax.lines[1:3]]
    np.testing.assert_allclose(levels, stats.chi2.ppf([0.68, 0.95], df=1))
    low, high = profile.intervals[0.95]
    z = np.sqrt(stats.chi2.ppf(0.95, df=1))
    assert low == pytest.approx(1 - z * sigma, abs=1e-3)
    assert high == pytest.approx(1 + z * sigma, abs=1e-3)
    with pytest.raises(ValueError, match="one parameter"):
        plot_likelihood_profile(
            likelihood_profile(log_ratio, np.column_stack([grid, grid]))
        )
