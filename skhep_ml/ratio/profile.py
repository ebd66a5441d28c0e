"""Profile likelihood from per-event log ratios: −2Δlog L, MLE, regions with
Wilks or pseudo-experiment thresholds, and their coverage."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.stats import chi2
from sklearn.utils import Bunch, check_array, check_random_state

from ..base import check_finite

__all__ = [
    "calibrated_thresholds",
    "coverage",
    "likelihood_profile",
    "optimized_profile",
]


def likelihood_profile(
    log_ratio,
    theta_grid,
    *,
    n_events=None,
    confidence_levels=(0.68, 0.95),
    parameters_of_interest=None,
    thresholds=None,
):
    """−2Δlog L, maximum-likelihood estimate and confidence regions on a θ grid.

    For independent events the log likelihood ratio of the sample is the sum of
    the per-event ``log r(x_i|θ, θ_1)``; the θ-independent reference term
    cancels in ``q(θ) = -2 [log L(θ) - max_θ' log L(θ')]``. With
    ``parameters_of_interest`` the other components are nuisance parameters,
    profiled out: ``q(μ) = -2 [max_ν log L(μ, ν) - max log L]`` over the grid
    points sharing the value ``μ`` of the parameters of interest (the grid must
    repeat every ``μ`` with the same nuisance values, e.g. a product grid).
    Regions are the sets ``q ≤ threshold``: by default Wilks' ``χ²_k``
    quantile with ``k`` the number of parameters of interest, which fails at
    boundaries (a rate ``θ ≥ 0``) and sign degeneracies (a parameter entering
    only squared); pass ``thresholds`` from :func:`calibrated_thresholds`
    (pseudo-experiments) there.

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
        Levels of the regions.
    parameters_of_interest : sequence of int, default=None
        Indices of the θ components kept; the others are profiled. ``None``:
        all components.
    thresholds : dict, default=None
        ``{cl: threshold}`` with a float or an array with one value per point
        of the (profiled) grid, e.g. :func:`calibrated_thresholds`'s
        ``thresholds``. ``None``: Wilks' ``χ²_k(cl)``.

    Returns
    -------
    profile : sklearn.utils.Bunch
        ``theta`` (n_points, k): the grid of the parameters of interest
        (the input grid without profiling), ``log_likelihood`` (n_points,),
        ``q`` (−2Δlog L, n_points), ``mle`` (k,; for 1-d θ refined by a
        parabola through the grid minimum and its neighbours), ``thresholds``
        ``{cl: float or array}``, ``regions`` ``{cl: boolean mask over the
        points}`` and, for one parameter of interest, ``intervals``
        ``{cl: (low, high)}`` from linear interpolation of the crossings (a
        bound at the grid edge means the interval is open there; a region in
        several pieces gives the hull of the piece holding the MLE).
        ``profile_index`` (n_points,) is the input grid row at which the
        profiled likelihood is reached (the conditional MLE of the nuisance).

    Raises
    ------
    ValueError
        If shapes disagree, the log ratios are not finite, the parameter
        indices are out of range, or thresholds miss a level or a point.
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
    return profile_from_log_likelihood(
        log_l,
        theta,
        confidence_levels=confidence_levels,
        parameters_of_interest=parameters_of_interest,
        thresholds=thresholds,
    )


def profile_from_log_likelihood(
    log_l,
    theta,
    *,
    confidence_levels=(0.68, 0.95),
    parameters_of_interest=None,
    thresholds=None,
):
    """:func:`likelihood_profile` from the summed log likelihood on the grid."""
    poi = _check_poi(parameters_of_interest, theta.shape[1])
    points, index = profile_max(log_l, theta, poi)
    log_l = log_l[index]
    q = -2.0 * (log_l - log_l.max())
    k = len(poi)
    best = int(np.argmin(q))
    thresholds = _check_thresholds(thresholds, confidence_levels, len(points), k)
    out = Bunch(
        theta=points,
        log_likelihood=log_l,
        q=q,
        mle=points[best].copy(),
        thresholds=thresholds,
        regions={cl: q <= t for cl, t in thresholds.items()},
        profile_index=index,
    )
    if k == 1:
        out.mle, out.intervals = _intervals_1d(points[:, 0], q, thresholds)
    return out


def optimized_profile(
    log_likelihood,
    theta_grid,
    *,
    confidence_levels=(0.68, 0.95),
    parameters_of_interest=None,
    thresholds=None,
    bounds=None,
):
    """:func:`likelihood_profile` with the maxima refined by optimisation.

    The summed log likelihood is evaluated on ``theta_grid``; then the global
    maximum and, at every point of the parameters of interest, the maximum
    over the nuisance parameters are refined by L-BFGS-B (numerical
    gradients) from the best grid point, inside ``bounds``. A coarse grid
    then suffices for several parameters: the profile is continuous in the
    nuisance directions and the MLE is not tied to grid points.

    Parameters
    ----------
    log_likelihood : callable
        ``log_likelihood(theta) -> (m,)`` summed (or expected) log likelihood,
        up to a θ-independent constant, at the rows of ``theta`` (m, n_theta).
    theta_grid : array-like of shape (n_grid,) or (n_grid, n_theta)
        Starting grid (a product grid when profiling).
    confidence_levels, parameters_of_interest, thresholds
        As in :func:`likelihood_profile`.
    bounds : array-like of shape (n_theta, 2), default=None
        Box of the optimisation (``None``: the grid's bounding box).

    Returns
    -------
    profile : sklearn.utils.Bunch
        As :func:`likelihood_profile`, plus ``mle_full`` (n_theta,): the
        refined maximum in all components, and ``nuisance`` (n_points,
        n_theta): the maximising θ at every point.
    """
    theta = np.asarray(theta_grid, dtype=np.float64)
    theta = theta[:, None] if theta.ndim == 1 else theta
    box = np.column_stack([theta.min(0), theta.max(0)]) if bounds is None else bounds
    box = np.asarray(box, dtype=np.float64).reshape(theta.shape[1], 2)
    poi = _check_poi(parameters_of_interest, theta.shape[1])
    free = [i for i in range(theta.shape[1]) if i not in poi]
    log_l = np.asarray(log_likelihood(theta), dtype=np.float64)
    points, index = profile_max(log_l, theta, poi)

    def refine(start, components):
        def loss(v):
            row = start.copy()
            row[components] = v
            return -float(log_likelihood(row[None])[0])

        res = minimize(
            loss, start[components], method="L-BFGS-B", bounds=box[components]
        )
        row = start.copy()
        row[components] = res.x
        return row, -float(res.fun)

    best_row, best = refine(theta[int(np.argmax(log_l))].copy(), list(range(len(box))))
    best = max(best, float(log_l.max()))
    rows = theta[index].copy()
    profiled = log_l[index].copy()
    if free:
        for j, start in enumerate(theta[index]):
            row, value = refine(start.copy(), free)
            if value > profiled[j]:
                rows[j], profiled[j] = row, value
    out = profile_from_log_likelihood(
        np.append(profiled, best),
        np.vstack([points, best_row[poi][None]]),
        confidence_levels=confidence_levels,
        thresholds=_append_threshold(thresholds, confidence_levels),
    )
    # drop the appended optimum (it set the maximum of log L)
    keep = slice(0, len(points))
    for name in ("theta", "log_likelihood", "q"):
        out[name] = out[name][keep]
    out.regions = {cl: r[keep] for cl, r in out.regions.items()}
    out.thresholds = {
        cl: t if np.ndim(t) == 0 else t[keep] for cl, t in out.thresholds.items()
    }
    out.profile_index = index
    out.mle = best_row[poi]
    out.mle_full = best_row
    out.nuisance = rows
    if len(poi) == 1:

        def q_at(mu):
            j = int(np.argmin(np.abs(out.theta[:, 0] - mu)))
            row = rows[j].copy()
            row[poi[0]] = mu
            if free:
                return 2.0 * (best - refine(row, free)[1])
            return 2.0 * (best - float(log_likelihood(row[None])[0]))

        out.intervals = _refined_intervals(out.intervals, out.thresholds, q_at, points)
    return out


def _refined_intervals(intervals, thresholds, q_at, points):
    """Interval edges as roots of the continuous profile ``q(μ) - t`` (brentq).

    Each interpolated edge lies between two grid points where ``q - t``
    changes sign; edges at the grid's ends (open intervals) and per-point
    thresholds are kept as they are.
    """
    grid = np.sort(points[:, 0])
    out = {}
    for cl, edges in intervals.items():
        t = thresholds[cl]
        if np.ndim(t) != 0:
            out[cl] = edges
            continue
        refined = []
        for edge in edges:
            k = int(np.searchsorted(grid, edge))
            if edge <= grid[0] or edge >= grid[-1] or k == 0:
                refined.append(edge)
                continue
            a, b = float(grid[k - 1]), float(grid[k])
            fa, fb = q_at(a) - t, q_at(b) - t
            refined.append(
                float(brentq(lambda m, t=t: q_at(m) - t, a, b, xtol=1e-7))
                if fa * fb < 0
                else edge
            )
        out[cl] = tuple(refined)
    return out


def _append_threshold(thresholds, confidence_levels):
    """Per-point thresholds extended by one entry (for the appended optimum)."""
    if thresholds is None:
        return None
    return {
        cl: t if np.ndim(t) == 0 else np.append(t, np.max(t))
        for cl, t in thresholds.items()
    }


def profile_max(log_l, theta, poi):
    """Unique values of the parameters of interest and the best grid row of each.

    Returns ``(points, index)``: ``points`` (n_points, k) the distinct rows of
    ``theta[:, poi]`` (sorted), ``index`` (n_points,) the row of ``theta``
    maximising ``log_l`` among those sharing the point.
    """
    if len(poi) == theta.shape[1]:
        return theta, np.arange(len(theta))
    points, inverse = np.unique(theta[:, poi], axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    # the best row per group: sort by (group, -log L) and take each first
    order = np.lexsort((-log_l, inverse))
    first = np.r_[0, np.flatnonzero(np.diff(inverse[order])) + 1]
    return points, order[first]


def _check_poi(parameters_of_interest, n_theta):
    if parameters_of_interest is None:
        return list(range(n_theta))
    poi = [int(i) for i in np.atleast_1d(parameters_of_interest)]
    if not poi or len(set(poi)) != len(poi) or not all(0 <= i < n_theta for i in poi):
        raise ValueError(
            f"parameters_of_interest must be distinct indices in [0, {n_theta}), "
            f"got {parameters_of_interest!r}."
        )
    return poi


def _check_thresholds(thresholds, confidence_levels, n_points, k):
    if thresholds is None:
        return {cl: float(chi2.ppf(cl, k)) for cl in confidence_levels}
    out = {}
    for cl in confidence_levels:
        if cl not in thresholds:
            raise ValueError(
                f"thresholds has no entry for confidence level {cl} "
                f"(levels given: {sorted(thresholds)})."
            )
        t = np.asarray(thresholds[cl], dtype=np.float64)
        if t.ndim == 0:
            out[cl] = float(t)
        elif t.shape == (n_points,):
            out[cl] = t
        else:
            raise ValueError(
                f"thresholds[{cl}] must be a float or have shape ({n_points},) "
                f"(one per profiled grid point), got {t.shape}."
            )
    return out


def _intervals_1d(grid_in, q_in, thresholds):
    """Parabola-refined MLE and interpolated interval of a 1-d curve."""
    order = np.argsort(grid_in)
    grid, qs = grid_in[order], q_in[order]
    i = int(np.argmin(qs))
    mle = np.array([grid[i]])
    if 0 < i < len(grid) - 1:
        x0, x1, x2 = grid[i - 1 : i + 2]
        y0, y1, y2 = qs[i - 1 : i + 2]
        denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
        a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
        b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / denom
        if a > 0:
            mle = np.array([np.clip(-b / (2 * a), x0, x2)])
    intervals = {}
    for cl, t_in in thresholds.items():
        t = np.broadcast_to(t_in, q_in.shape)[order]
        lo_i = i
        while lo_i > 0 and qs[lo_i - 1] <= t[lo_i - 1]:
            lo_i -= 1
        hi_i = i
        while hi_i < len(grid) - 1 and qs[hi_i + 1] <= t[hi_i + 1]:
            hi_i += 1
        lo, hi = grid[lo_i], grid[hi_i]
        # crossing of q - t (t may vary along the grid)
        if lo_i > 0:
            d = [qs[lo_i] - t[lo_i], qs[lo_i - 1] - t[lo_i - 1]]
            lo = np.interp(0.0, d, [grid[lo_i], grid[lo_i - 1]])
        if hi_i < len(grid) - 1:
            d = [qs[hi_i] - t[hi_i], qs[hi_i + 1] - t[hi_i + 1]]
            hi = np.interp(0.0, d, [grid[hi_i], grid[hi_i + 1]])
        intervals[cl] = (float(lo), float(hi))
    return mle, intervals


def calibrated_thresholds(
    log_ratio_grid,
    simulate,
    theta_grid,
    *,
    n_events,
    theta_test=None,
    n_toys=200,
    confidence_levels=(0.68, 0.95),
    parameters_of_interest=None,
    random_state=None,
):
    """Thresholds of ``q`` from pseudo-experiments (Neyman construction).

    For every test point θ_j, ``n_toys`` pseudo-experiments of ``n_events``
    events are simulated at θ_j and profiled on ``theta_grid`` exactly as the
    observed data are (:func:`likelihood_profile`); the ``cl`` quantile of
    their ``q`` at θ_j's parameters of interest is the threshold there. A
    region ``q ≤ threshold`` then covers θ_j with probability ``cl`` by
    construction, where Wilks' ``χ²_k`` fails: near boundaries (a rate at 0:
    ``q`` follows ``½χ²_0 + ½χ²_1``), sign degeneracies (a parameter entering
    squared has a folded likelihood) or for few events. With nuisance
    parameters the test points carry their nuisance values (e.g. the
    conditional MLE of the observed data: the profile construction).

    Parameters
    ----------
    log_ratio_grid : callable
        ``log_ratio_grid(x, theta_grid) -> (n_grid, n)`` array of
        ``log r(x_i|θ_j, θ_1)``, e.g.
        :meth:`ALICERatioEstimator.log_ratio_grid` or the exact
        :meth:`~skhep_ml.datasets.MorphingSimulator.log_ratio_grid`.
    simulate : callable
        ``simulate(theta, n, rng) -> x`` of shape ``(n, n_observables)``:
        events at the parameter point ``theta`` (shape ``(n_theta,)``).
    theta_grid : array-like of shape (n_grid,) or (n_grid, n_theta)
        The grid the profile is computed on.
    n_events : int
        Events per pseudo-experiment (as observed).
    theta_test : array-like of shape (n_test, n_theta), default=None
        Points at which to calibrate (``None``: every grid point; the cost is
        ``n_test × n_toys × n_events × n_grid`` log-ratio evaluations).
    n_toys : int, default=200
        Pseudo-experiments per test point.
    confidence_levels : tuple of float, default=(0.68, 0.95)
        Levels.
    parameters_of_interest : sequence of int, default=None
        As in :func:`likelihood_profile`.
    random_state : int, RandomState instance or None, default=None
        Seeds the pseudo-experiments.

    Returns
    -------
    calibration : sklearn.utils.Bunch
        ``theta_test`` (n_test, n_theta), ``q_toys`` (n_test, n_toys): the
        ``q`` of every pseudo-experiment at its test point, ``thresholds``
        ``{cl: ndarray (n_test,)}`` and ``wilks`` ``{cl: float}`` for
        comparison.

    Raises
    ------
    ValueError
        If ``n_events`` or ``n_toys`` is not a positive integer, or a test
        point's parameters of interest are not on the grid.
    """
    theta = np.asarray(theta_grid, dtype=np.float64)
    theta = theta[:, None] if theta.ndim == 1 else theta
    test = theta if theta_test is None else np.asarray(theta_test, dtype=np.float64)
    test = test.reshape(len(test), theta.shape[1])
    for name, v in (("n_events", n_events), ("n_toys", n_toys)):
        if not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}.")
    poi = _check_poi(parameters_of_interest, theta.shape[1])
    points, _ = profile_max(np.zeros(len(theta)), theta, poi)
    rng = check_random_state(random_state)
    q_toys = np.empty((len(test), n_toys))
    for j, point in enumerate(test):
        at = _grid_point(points, point[poi])
        x = simulate(point, n_toys * n_events, rng)
        log_r = np.asarray(log_ratio_grid(x, theta), dtype=np.float64)
        log_l = log_r.reshape(len(theta), n_toys, n_events).sum(-1)
        for i in range(n_toys):
            _, index = profile_max(log_l[:, i], theta, poi)
            profiled = log_l[index, i]
            q_toys[j, i] = 2.0 * (profiled.max() - profiled[at])
    return Bunch(
        theta_test=test,
        q_toys=q_toys,
        thresholds={
            cl: np.quantile(q_toys, cl, axis=1, method="higher")
            for cl in confidence_levels
        },
        wilks={cl: float(chi2.ppf(cl, len(poi))) for cl in confidence_levels},
    )


def _grid_point(points, value):
    d = np.abs(points - value).max(axis=1)
    at = int(np.argmin(d))
    if d[at] > 1e-9 * max(1.0, float(np.abs(value).max())):
        raise ValueError(
            f"test point {value.tolist()} (parameters of interest) is not on the "
            "grid; calibrate at grid points."
        )
    return at


def coverage(
    log_ratio_grid,
    simulate,
    theta_grid,
    theta_true,
    *,
    n_events,
    thresholds=None,
    n_pseudo=200,
    confidence_levels=(0.68, 0.95),
    parameters_of_interest=None,
    random_state=None,
):
    """Fraction of pseudo-experiments at ``theta_true`` whose regions contain it.

    Each of ``n_pseudo`` pseudo-experiments of ``n_events`` events at
    ``theta_true`` is profiled on ``theta_grid`` (``theta_true``'s parameters
    of interest must be a grid point) and its region at level ``cl``
    (``q ≤ threshold``) checked for the truth.

    Parameters
    ----------
    log_ratio_grid, simulate : callable
        As in :func:`calibrated_thresholds`.
    theta_grid : array-like of shape (n_grid,) or (n_grid, n_theta)
        The grid.
    theta_true : array-like of shape (n_theta,)
        The truth.
    n_events : int
        Events per pseudo-experiment.
    thresholds : dict, default=None
        ``{cl: float}``, the thresholds at the truth (e.g. from
        :func:`calibrated_thresholds` with ``theta_test=[theta_true]``, from
        other pseudo-experiments); ``None``: Wilks.
    n_pseudo : int, default=200
        Pseudo-experiments.
    confidence_levels : tuple of float, default=(0.68, 0.95)
        Levels.
    parameters_of_interest : sequence of int, default=None
        As in :func:`likelihood_profile`.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``coverage`` ``{cl: fraction}``, ``error`` ``{cl: binomial standard
        error}``, ``q_true`` (n_pseudo,): ``q`` at the truth of every
        pseudo-experiment.
    """
    truth = np.atleast_1d(np.asarray(theta_true, dtype=np.float64))
    cal = calibrated_thresholds(
        log_ratio_grid,
        simulate,
        theta_grid,
        n_events=n_events,
        theta_test=truth[None],
        n_toys=n_pseudo,
        confidence_levels=confidence_levels,
        parameters_of_interest=parameters_of_interest,
        random_state=random_state,
    )
    q = cal.q_toys[0]
    limits = cal.wilks if thresholds is None else thresholds
    frac = {cl: float(np.mean(q <= float(limits[cl]))) for cl in confidence_levels}
    return Bunch(
        coverage=frac,
        error={cl: float(np.sqrt(c * (1 - c) / len(q))) for cl, c in frac.items()},
        q_true=q,
    )


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
