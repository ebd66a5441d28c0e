"""Weighted histograms with statistical errors and two-sample comparisons.

The histograms are :class:`hist.Hist` objects with ``Weight`` storage: per bin the
sum of weights (the value) and the sum of squared weights (its variance), so a
bin's error is ``sqrt(sum w^2)`` for weighted and unweighted events alike.
mplhep draws them.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from ..io._optional import require
from ._corner import _pyplot


def _hist():
    return require("hist", purpose="weighted histograms")


def _mplhep():
    return require("mplhep", purpose="HEP-style histogram plots")


def weighted_histogram(x, weights=None, *, bins=50, range=None, label=None):
    """Histogram of ``x`` with sums of weights and of squared weights per bin.

    Parameters
    ----------
    x : array-like of shape (n_events,)
        Values.
    weights : array-like of shape (n_events,), default=None
        Event weights; unit weights by default.
    bins : int or array-like, default=50
        Number of regular bins in ``range``, or the bin edges.
    range : (float, float), default=None
        Range of the regular bins; the data range by default.
    label : str, default=None
        Axis label.

    Returns
    -------
    h : hist.Hist
        ``h.values()`` is ``np.histogram(x, bins, weights=w)``,
        ``h.variances()`` the same with ``w**2``; under- and overflow are kept
        in the flow bins.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.plotting import weighted_histogram
    >>> h = weighted_histogram([0.1, 0.2, 0.7], [1.0, 2.0, 3.0], bins=2, range=(0, 1))
    >>> h.values(), h.variances()
    (array([3., 3.]), array([5., 9.]))
    """
    hist = _hist()
    x = np.asarray(x, dtype=np.float64).ravel()
    w = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w is not None and w.shape != x.shape:
        raise ValueError(f"weights has shape {w.shape}, x has {x.shape}.")
    if np.ndim(bins) == 0:
        if range is None:
            finite = x[np.isfinite(x)]
            if not finite.size:
                raise ValueError("x has no finite values: give range=(low, high).")
            range = (finite.min(), finite.max())
        low, high = map(float, range)
        if high <= low:
            high = low + 1.0
        axis = hist.axis.Regular(int(bins), low, high, label=label)
    else:
        axis = hist.axis.Variable(np.asarray(bins, dtype=np.float64), label=label)
    h = hist.Hist(axis, storage=hist.storage.Weight())
    return h.fill(x, weight=w)


def _shape(h, normalize):
    """Values and variances, divided by the total weight if ``normalize``."""
    values, variances = h.values(), h.variances()
    if normalize:
        total = values.sum()
        if total <= 0:
            raise ValueError("a histogram to normalise has no positive weight.")
        return values / total, variances / total**2
    return values, variances


def chi2_ndf(h1, h2, *, normalize=True):
    """χ² between two weighted histograms and its number of degrees of freedom.

    ``χ² = Σ (v1 - v2)^2 / (σ1^2 + σ2^2)`` over the bins where either has
    entries, with ``σ^2`` the sums of squared weights. ``normalize=True``
    compares shapes (each histogram divided by its total weight), which costs
    one degree of freedom.

    Parameters
    ----------
    h1, h2 : hist.Hist
        Histograms of :func:`weighted_histogram` with the same binning.
    normalize : bool, default=True
        Compare shapes; ``False`` compares absolute yields (e.g. NIS events
        weighted to a cross section against a reference prediction).

    Returns
    -------
    chi2 : float
    ndf : int

    Raises
    ------
    ValueError
        If the binnings differ.
    """
    if not np.array_equal(h1.axes[0].edges, h2.axes[0].edges):
        raise ValueError("the two histograms have different bin edges.")
    v1, s1 = _shape(h1, normalize)
    v2, s2 = _shape(h2, normalize)
    var = s1 + s2
    used = var > 0
    chi2 = float(np.sum((v1[used] - v2[used]) ** 2 / var[used]))
    return chi2, int(used.sum()) - int(normalize)


def plot_histogram(h, *, density=False, ax=None, label=None, **kwargs):
    """Draw a weighted histogram with its statistical error bars (mplhep).

    Parameters
    ----------
    h : hist.Hist
        From :func:`weighted_histogram`.
    density : bool, default=False
        Divide by the total weight and the bin widths.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw in; a new figure by default.
    label : str, default=None
        Legend entry.
    **kwargs
        Passed to :func:`mplhep.histplot` (``histtype``, ``color``, ...).

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    plt, mplhep = _pyplot(), _mplhep()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    values, variances = h.values(), h.variances()
    if density:
        scale = values.sum() * np.diff(h.axes[0].edges)
        values, variances = values / scale, variances / scale**2
    mplhep.histplot(
        values, h.axes[0].edges, yerr=np.sqrt(variances), ax=ax, label=label, **kwargs
    )
    if h.axes[0].label:
        ax.set_xlabel(h.axes[0].label)
    ax.set_ylabel("density" if density else "events (sum of weights)")
    return ax


def compare_samples(
    x,
    reference,
    *,
    weights=None,
    reference_weights=None,
    bins=40,
    range=None,
    normalize=True,
    labels=("sample", "reference"),
    xlabel=None,
    fig=None,
):
    """Two samples in one histogram with a ratio panel and their χ²/ndf.

    Parameters
    ----------
    x, reference : array-like of shape (n,) and (n_ref,)
        The sample (e.g. generated or NIS events) and the reference (e.g. the
        training data, or exact draws).
    weights, reference_weights : array-like, default=None
        Their event weights.
    bins : int or array-like, default=40
        As in :func:`weighted_histogram`; one binning for both.
    range : (float, float), default=None
        Range of regular bins; both samples' range by default.
    normalize : bool, default=True
        Compare shapes (densities); ``False`` compares yields.
    labels : (str, str), default=("sample", "reference")
        Legend entries.
    xlabel : str, default=None
        Label of the x axis.
    fig : matplotlib.figure.Figure, default=None
        Figure to draw in; a new one by default.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``fig``, ``ax`` (the histograms), ``ax_ratio`` (sample / reference with
        the sample's errors as points and the reference's as a band),
        ``hist``, ``reference_hist`` (:class:`hist.Hist`), ``chi2`` and ``ndf``
        (:func:`chi2_ndf`).
    """
    plt, mplhep = _pyplot(), _mplhep()
    x = np.asarray(x, dtype=np.float64).ravel()
    reference = np.asarray(reference, dtype=np.float64).ravel()
    if range is None and np.ndim(bins) == 0:
        both = np.concatenate([x, reference])
        both = both[np.isfinite(both)]
        range = (both.min(), both.max())
    h = weighted_histogram(x, weights, bins=bins, range=range, label=xlabel)
    h_ref = weighted_histogram(
        reference, reference_weights, bins=bins, range=range, label=xlabel
    )
    chi2, ndf = chi2_ndf(h, h_ref, normalize=normalize)
    if fig is None:
        fig = plt.figure(figsize=(6, 5.5))
    ax, ax_ratio = fig.subplots(
        2, 1, sharex=True, gridspec_kw=dict(height_ratios=(3, 1), hspace=0.05)
    )
    plot_histogram(
        h_ref, density=normalize, ax=ax, label=labels[1], histtype="fill", color="0.8"
    )
    plot_histogram(
        h, density=normalize, ax=ax, label=labels[0], histtype="errorbar", color="k"
    )
    ax.set_xlabel("")
    ax.legend(title=f"$\\chi^2$/ndf = {chi2:.1f}/{ndf}")

    edges = h.axes[0].edges
    v, s = _shape(h, normalize)
    v_ref, s_ref = _shape(h_ref, normalize)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(v_ref > 0, v / v_ref, np.nan)
        err = np.where(v_ref > 0, np.sqrt(s) / v_ref, np.nan)
        band = np.where(v_ref > 0, np.sqrt(s_ref) / v_ref, np.nan)
    ax_ratio.stairs(1 + band, edges, baseline=1 - band, fill=True, color="0.8")
    mplhep.histplot(ratio, edges, yerr=err, histtype="errorbar", color="k", ax=ax_ratio)
    ax_ratio.axhline(1, color="0.4", lw=0.8)
    ax_ratio.set_ylabel(
        f"{labels[0]} / {labels[1]}" if len(labels[0] + labels[1]) < 16 else "ratio"
    )
    ax_ratio.set_xlabel(xlabel or "")
    ax_ratio.set_ylim(0.5, 1.5)
    return Bunch(
        fig=fig,
        ax=ax,
        ax_ratio=ax_ratio,
        hist=h,
        reference_hist=h_ref,
        chi2=chi2,
        ndf=ndf,
    )
