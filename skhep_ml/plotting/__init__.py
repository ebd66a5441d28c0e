"""Figures of skhep_ml results: histograms with errors, comparisons, diagnostics.

matplotlib (``pip install 'skhep_ml[plot]'``) draws everything; the histograms are
:mod:`hist` objects with ``Weight`` storage (sum of weights and of squared weights)
drawn by :func:`mplhep.histplot` (``pip install 'skhep_ml[hep]'``). The libraries
are imported inside the functions, so ``import skhep_ml`` never needs them.

* :func:`weighted_histogram`, :func:`plot_histogram`: one weighted sample with its
  statistical errors.
* :func:`compare_samples`, :func:`chi2_ndf`: two samples (e.g. generated events
  against the training data) with a ratio panel and χ²/ndf.
* :func:`plot_pulls`: ``(y_pred - y) / std`` of a regressor with the N(0, 1)
  expected of calibrated uncertainties.
* :func:`plot_likelihood_profile`: −2Δlog L with its 68 %/95 % thresholds.
* :func:`plot_corner`, :func:`plot_scan_history`.
"""

from ._corner import plot_corner, plot_scan_history
from .diagnostics import plot_likelihood_profile, plot_pulls
from .histograms import chi2_ndf, compare_samples, plot_histogram, weighted_histogram

__all__ = [
    "chi2_ndf",
    "compare_samples",
    "plot_corner",
    "plot_histogram",
    "plot_likelihood_profile",
    "plot_pulls",
    "plot_scan_history",
    "weighted_histogram",
]
