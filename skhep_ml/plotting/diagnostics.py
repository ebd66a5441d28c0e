"""Calibration and inference diagnostics: pulls, likelihood-ratio curves."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.utils import Bunch

from ._corner import _pyplot
from .histograms import plot_histogram, weighted_histogram


def plot_pulls(
    y_true, y_pred, y_std, *, bins=40, range=(-5.0, 5.0), ax=None, label=None
):
    """Pulls ``(y_pred - y_true) / y_std`` with the N(0, 1) of calibrated errors.

    For a regressor whose predicted standard deviations are right (e.g.
    ``BayesianRegressor.predict(X, return_std=True)`` against noiseless truth,
    or with the noise added in quadrature), the pulls follow a standard normal.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Truth.
    y_pred, y_std : array-like of shape (n_samples,)
        Predicted mean and standard deviation (positive).
    bins : int, default=40
        Bins in ``range``.
    range : (float, float), default=(-5, 5)
        Histogram range (pulls outside go to the flow bins).
    ax : matplotlib.axes.Axes, default=None
        Axes to draw in; a new figure by default.
    label : str, default=None
        Legend entry of the histogram.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``ax``, ``pulls`` (n_samples,), ``hist`` (:class:`hist.Hist`), ``mean``
        and ``std`` of the pulls (0 and 1 when calibrated).

    Raises
    ------
    ValueError
        On shapes that differ or a non-positive standard deviation.
    """
    plt = _pyplot()
    y_true, y_pred, y_std = (
        np.asarray(a, dtype=np.float64).ravel() for a in (y_true, y_pred, y_std)
    )
    if not y_true.shape == y_pred.shape == y_std.shape:
        raise ValueError(
            f"y_true, y_pred, y_std have shapes {y_true.shape}, {y_pred.shape}, "
            f"{y_std.shape}; they must agree."
        )
    if not np.all(y_std > 0):
        raise ValueError("y_std must be positive.")
    pulls = (y_pred - y_true) / y_std
    h = weighted_histogram(
        pulls, bins=bins, range=range, label=r"pull $(\hat y - y)/\sigma$"
    )
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    mean, std = float(pulls.mean()), float(pulls.std(ddof=1))
    plot_histogram(
        h,
        density=True,
        ax=ax,
        histtype="errorbar",
        color="k",
        label=label or f"pulls: mean {mean:.2f}, std {std:.2f}",
    )
    grid = np.linspace(*range, 400)
    ax.plot(grid, stats.norm.pdf(grid), color="C3", label="N(0, 1)")
    ax.legend()
    return Bunch(ax=ax, pulls=pulls, hist=h, mean=mean, std=std)


def plot_likelihood_profile(profile, *, truth=None, ax=None, label=None, color="C0"):
    """The −2Δlog L curve of a 1-d parameter with its 68 %/95 % thresholds.

    Parameters
    ----------
    profile : sklearn.utils.Bunch
        From :func:`skhep_ml.ratio.likelihood_profile` (``theta``, ``q``,
        ``thresholds`` ``{CL: χ²₁ quantile}``, ``intervals``, ``mle``) for one
        parameter.
    truth : float, default=None
        True value, drawn as a vertical line.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw in; a new figure by default.
    label : str, default=None
        Legend entry of the curve.
    color : str, default="C0"
        Colour of the curve and its intervals.

    Returns
    -------
    ax : matplotlib.axes.Axes
        With the curve, one dashed line per threshold (labelled with its
        confidence level) and the intervals' ends.

    Raises
    ------
    ValueError
        If θ has more than one dimension.
    """
    plt = _pyplot()
    theta = np.asarray(profile.theta, dtype=np.float64)
    if theta.ndim == 2 and theta.shape[1] != 1:
        raise ValueError(
            f"plot_likelihood_profile draws one parameter, θ has {theta.shape[1]}."
        )
    theta = theta.ravel()
    order = np.argsort(theta)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(
        theta[order],
        np.asarray(profile.q)[order],
        color=color,
        label=label or r"$-2\Delta\log L$",
    )
    intervals = profile.get("intervals", {})
    for k, (cl, threshold) in enumerate(sorted(profile.thresholds.items())):
        ax.axhline(
            threshold,
            color="0.5",
            ls=("--", ":", "-.")[k % 3],
            lw=1,
            label=f"{100 * cl:.0f} % CL ($\\chi^2_1$ = {threshold:.2f})",
        )
        if cl in intervals:
            ax.vlines(intervals[cl], 0, threshold, color=color, lw=0.8, alpha=0.7)
    if truth is not None:
        ax.axvline(truth, color="C3", lw=1, label="truth")
    ax.set_xlabel(r"$\theta$")
    ax.set_ylabel(r"$-2\Delta\log L$")
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax
