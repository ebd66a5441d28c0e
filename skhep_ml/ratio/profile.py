"""Profile likelihood from per-event log ratios: −2Δlog L, MLE, Wilks intervals."""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2
from sklearn.utils import Bunch, check_array

from ..base import check_finite

__all__ = ["likelihood_profile"]


def likelihood_profile(
    log_ratio, theta_grid, *, n_events=None, confidence_levels=(0.68, 0.95)
):
    """−2Δlog L curve, maximum-likelihood estimate and Wilks intervals on a θ grid.

    For independent events the log likelihood ratio of the sample is the sum of
    the per-event ``log r(x_i|θ, θ_1)``; the θ-independent reference term
    cancels in ``q(θ) = -2 [log L(θ) - max_θ' log L(θ')]``. Intervals are the
    sets ``q(θ) <= F^{-1}_{χ²_k}(CL)`` with ``k = n_theta`` (Wilks' theorem).

    Parameters
    ----------
    log_ratio : array-like of shape (n_grid, n_events_in)
        ``log r(x_i|θ_j, θ_1)`` for every grid point ``j`` and event ``i``.
    theta_grid : array-like of shape (n_grid,) or (n_grid, n_theta)
        The θ points.
    n_events : int, default=None
        ``None``: the observed curve, a sum over the events. An integer: the
        expected curve for ``n_events`` events, ``n_events`` times the mean over
        the given events (pass a large sample simulated at the true θ).
    confidence_levels : tuple of float, default=(0.68, 0.95)
        Levels of the intervals.

    Returns
    -------
    profile : sklearn.utils.Bunch
        ``theta`` (n_grid, n_theta), ``log_likelihood`` (n_grid,), ``q``
        (−2Δlog L, n_grid), ``mle`` (n_theta,; for 1-d θ refined by a
        parabola through the grid minimum and its neighbours), ``thresholds``
        ``{cl: χ² quantile}``, ``regions`` ``{cl: boolean mask over the
        grid}`` and, for 1-d θ, ``intervals`` ``{cl: (low, high)}`` from
        linear interpolation of the crossings (a bound at the grid edge means
        the interval is open there).

    Raises
    ------
    ValueError
        If shapes disagree or the log ratios are not finite.
    """
    theta = np.asarray(theta_grid, dtype=np.float64)
    theta = theta[:, None] if theta.ndim == 1 else theta
    log_ratio = np.asarray(log_ratio, dtype=np.float64)
    if log_ratio.ndim != 2 or log_ratio.shape[0] != theta.shape[0]:
        raise ValueError(
            f"log_ratio must have shape (n_grid={theta.shape[0]}, n_events), got "
            f"{log_ratio.shape}."
        )
    check_finite(log_ratio, "log_ratio")
    if n_events is None:
        log_l = log_ratio.sum(axis=1)
    else:
        log_l = float(n_events) * log_ratio.mean(axis=1)
    q = -2.0 * (log_l - log_l.max())
    n_theta = theta.shape[1]
    best = int(np.argmin(q))
    mle = theta[best].copy()
    thresholds = {cl: float(chi2.ppf(cl, n_theta)) for cl in confidence_levels}
    regions = {cl: q <= t for cl, t in thresholds.items()}
    out = Bunch(
        theta=theta,
        log_likelihood=log_l,
        q=q,
        mle=mle,
        thresholds=thresholds,
        regions=regions,
    )
    if n_theta == 1:
        order = np.argsort(theta[:, 0])
        grid, qs = theta[order, 0], q[order]
        i = int(np.argmin(qs))
        if 0 < i < len(grid) - 1:
            x0, x1, x2 = grid[i - 1 : i + 2]
            y0, y1, y2 = qs[i - 1 : i + 2]
            denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
            a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
            b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / denom
            if a > 0:
                out.mle = np.array([np.clip(-b / (2 * a), x0, x2)])
        intervals = {}
        for cl, t in thresholds.items():
            lo_i = i
            while lo_i > 0 and qs[lo_i - 1] <= t:
                lo_i -= 1
            hi_i = i
            while hi_i < len(grid) - 1 and qs[hi_i + 1] <= t:
                hi_i += 1
            lo, hi = grid[lo_i], grid[hi_i]
            if lo_i > 0:
                lo = np.interp(
                    t, [qs[lo_i], qs[lo_i - 1]], [grid[lo_i], grid[lo_i - 1]]
                )
            if hi_i < len(grid) - 1:
                hi = np.interp(
                    t, [qs[hi_i], qs[hi_i + 1]], [grid[hi_i], grid[hi_i + 1]]
                )
            intervals[cl] = (float(lo), float(hi))
        out.intervals = intervals
    return out


def grid_rows(x_scaled, theta_scaled, chunk):
    """``[x_i, θ_j]`` rows for every event and grid point, ``chunk`` θ at a time.

    Yields ``(start, rows)`` with ``rows`` of shape
    ``(n_theta_chunk * n_events, n_observables + n_theta)``, grid-point major.
    """
    for start in range(0, len(theta_scaled), chunk):
        tb = theta_scaled[start : start + chunk]
        rows = np.concatenate(
            [
                np.repeat(x_scaled[None], len(tb), 0),
                np.repeat(tb[:, None], len(x_scaled), 1),
            ],
            axis=2,
        )
        yield start, rows.reshape(-1, x_scaled.shape[1] + theta_scaled.shape[1])


def check_profile_inputs(x, theta_grid, n_observables, n_theta):
    """``x`` and ``theta_grid`` as 2-d float arrays of the fitted widths."""
    if n_theta == 0:
        raise ValueError("profile_likelihood needs a parameterised fit (n_theta > 0).")
    x = check_array(x, dtype=np.float64)
    if x.shape[1] != n_observables:
        raise ValueError(
            f"x has {x.shape[1]} feature(s) but the estimator expects "
            f"{n_observables} observables (n_features_in_ - n_theta)."
        )
    theta = check_array(
        np.asarray(theta_grid, dtype=np.float64).reshape(len(theta_grid), -1)
    )
    if theta.shape[1] != n_theta:
        raise ValueError(
            f"theta_grid must have {n_theta} column(s) (n_theta), got {theta.shape[1]}."
        )
    return x, theta
