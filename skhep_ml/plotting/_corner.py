"""Corner plots and the scan history (matplotlib only)."""

from __future__ import annotations

import numpy as np

from ..io._optional import require

__all__ = ["plot_corner", "plot_scan_history"]


def _pyplot():
    return require("matplotlib.pyplot", extra="plot", purpose="plotting")


def plot_corner(
    points,
    *,
    reference=None,
    labels=None,
    bounds=None,
    bins=30,
    max_points=5000,
    color="C0",
    reference_color="0.75",
    random_state=0,
    fig=None,
):
    """Corner plot of scan points: 1-d histograms and 2-d projections.

    Parameters
    ----------
    points : array-like of shape (n_samples, d)
        Found points (e.g. ``scan.points_[scan.in_target_]``).
    reference : array-like of shape (n_ref, d), default=None
        Points drawn below in grey, e.g. uniform points of the true region.
    labels : list of str, default=None
        Axis labels; ``x1 ... xd`` by default.
    bounds : array-like of shape (d, 2), default=None
        Axis ranges; the data range by default.
    bins : int, default=30
        Histogram bins per dimension.
    max_points : int, default=5000
        At most this many points per scatter panel (a random subset).
    color, reference_color : str, default="C0", "0.75"
        Colours of ``points`` and ``reference``.
    random_state : int, default=0
        Seed of the subset.
    fig : matplotlib.figure.Figure, default=None
        Figure to draw in; a new one by default.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure with a d x d grid of axes (upper triangle hidden).

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.plotting import plot_corner
    >>> fig = plot_corner(np.random.default_rng(0).normal(size=(100, 3)))
    >>> len(fig.axes)
    9
    """
    plt = _pyplot()
    points = np.asarray(points, dtype=float)
    if points.ndim != 2:
        raise ValueError(f"points must have shape (n, d), got {points.shape}.")
    d = points.shape[1]
    rng = np.random.default_rng(random_state)
    ref = None if reference is None else np.asarray(reference, dtype=float)
    if bounds is None:
        data = points if ref is None else np.vstack([points, ref])
        bounds = np.column_stack([data.min(axis=0), data.max(axis=0)])
    bounds = np.asarray(bounds, dtype=float)
    labels = labels or [f"$x_{{{i + 1}}}$" for i in range(d)]

    def subset(a):
        if a is None or len(a) <= max_points:
            return a
        return a[rng.choice(len(a), max_points, replace=False)]

    pts, refs = subset(points), subset(ref)
    if fig is None:
        fig = plt.figure(figsize=(2.2 * d + 0.5, 2.2 * d + 0.5))
    axes = fig.subplots(d, d, squeeze=False)
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                edges = np.linspace(bounds[i, 0], bounds[i, 1], bins + 1)
                if ref is not None:
                    ax.hist(
                        ref[:, i],
                        bins=edges,
                        density=True,
                        color=reference_color,
                        histtype="stepfilled",
                    )
                ax.hist(
                    points[:, i],
                    bins=edges,
                    density=True,
                    color=color,
                    histtype="step",
                    lw=1.5,
                )
                ax.set_yticks([])
            else:
                if refs is not None:
                    ax.scatter(
                        refs[:, j], refs[:, i], s=1, c=reference_color, rasterized=True
                    )
                ax.scatter(
                    pts[:, j], pts[:, i], s=1, c=color, alpha=0.5, rasterized=True
                )
                ax.set_ylim(bounds[i])
            ax.set_xlim(bounds[j])
            if i == d - 1:
                ax.set_xlabel(labels[j])
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(labels[i])
            elif i != j:
                ax.set_yticklabels([])
    return fig


def plot_scan_history(history, *, ax=None):
    """Bar chart of an ActiveScanner's in-target efficiency per iteration.

    Parameters
    ----------
    history : list of dict
        ``ActiveScanner.history_``.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw in; a new figure by default.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    it = [h["iteration"] for h in history]
    eff = [h["efficiency"] for h in history]
    acc = [h["surrogate_accuracy"] for h in history]
    ax.bar(it, eff, color="C0", label="in-target efficiency")
    ax.plot(it, acc, "o-", color="C1", label="surrogate accuracy (new points)")
    ax.set_xlabel("iteration (0 = initial design)")
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower right")
    return ax
