"""Weighted histograms and two-sample comparisons against known truth."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("hist")
pytest.importorskip("mplhep")

import matplotlib.pyplot as plt  # noqa: E402

from skhep_ml.plotting import (  # noqa: E402
    chi2_ndf,
    compare_samples,
    plot_histogram,
    weighted_histogram,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_values_and_errors_are_numpys_sums_of_w_and_w2():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=5000), rng.exponential(size=5000)
    edges = np.linspace(-3, 3, 25)
    h = weighted_histogram(x, w, bins=24, range=(-3, 3))
    np.testing.assert_allclose(
        h.values(), np.histogram(x, edges, weights=w)[0], rtol=1e-12
    )
    np.testing.assert_allclose(
        np.sqrt(h.variances()),
        np.sqrt(np.histogram(x, edges, weights=w**2)[0]),
        rtol=1e-12,
    )
    # variable edges and unit weights: variance = counts
    h = weighted_histogram(x, bins=edges)
    np.testing.assert_array_equal(h.values(), h.variances())
    np.testing.assert_array_equal(h.values(), np.histogram(x, edges)[0])
    with pytest.raises(ValueError, match="weights has shape"):
        weighted_histogram(x, w[:10])


def test_plot_histogram_draws_values_and_errors():
    h = weighted_histogram([0.1, 0.2, 0.7], [1.0, 2.0, 3.0], bins=2, range=(0, 1))
    ax = plot_histogram(h, label="toy")
    values, edges, _ = ax.patches[0].get_data()
    np.testing.assert_array_equal(values, [3.0, 3.0])
    np.testing.assert_array_equal(edges, [0.0, 0.5, 1.0])
    ax = plot_histogram(h, density=True)
    np.testing.assert_allclose(ax.patches[0].get_data()[0], [1.0, 1.0])


def test_chi2_per_ndf_of_the_same_distribution_is_one_over_seeds():
    ratios = []
    for seed in range(30):
        rng = np.random.default_rng(seed)
        a = rng.normal(size=4000)
        b = rng.normal(size=6000)
        wa, wb = rng.uniform(0.5, 1.5, 4000), np.full(6000, 2.0)
        chi2, ndf = chi2_ndf(
            weighted_histogram(a, wa, bins=20, range=(-2.5, 2.5)),
            weighted_histogram(b, wb, bins=20, range=(-2.5, 2.5)),
        )
        assert ndf == 19
        ratios.append(chi2 / ndf)
    # mean of 30 chi2_19/19 values: sd sqrt(2/19/30) = 0.06
    assert abs(np.mean(ratios) - 1) < 0.2


def test_chi2_sees_a_shifted_distribution_and_checks_binning():
    rng = np.random.default_rng(0)
    h1 = weighted_histogram(rng.normal(size=5000), bins=20, range=(-3, 3))
    h2 = weighted_histogram(rng.normal(0.2, size=5000), bins=20, range=(-3, 3))
    chi2, ndf = chi2_ndf(h1, h2)
    assert chi2 / ndf > 5
    # absolute yields: one more degree of freedom
    assert chi2_ndf(h1, h2, normalize=False)[1] == ndf + 1
    with pytest.raises(ValueError, match="bin edges"):
        chi2_ndf(h1, weighted_histogram([0.0], bins=3, range=(-3, 3)))


def test_compare_samples_ratio_panel_and_chi2():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=3000), rng.normal(size=9000)
    out = compare_samples(a, b, bins=15, range=(-3, 3), xlabel="x")
    assert (out.chi2, out.ndf) == chi2_ndf(out.hist, out.reference_hist)
    assert len(out.fig.axes) == 2 and out.ax_ratio.get_xlabel() == "x"
    assert "ndf" in out.ax.get_legend().get_title().get_text()
    # the ratio points are the ratio of the normalised histograms
    pa = out.hist.values() / out.hist.values().sum()
    pb = out.reference_hist.values() / out.reference_hist.values().sum()
    points = out.ax_ratio.containers[-1].lines[0].get_ydata()
    np.testing.assert_allclose(points, pa / pb)
