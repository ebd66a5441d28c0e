"""Signs of a lost mode: weight-tail and coverage diagnostics of the integrator.

A mode the trained proposal misses shows in one of three ways, each checked by
:func:`check_modes` after the final integration:

1. **the weight tail** of the final integration: a region the proposal samples
   far too rarely gives a few huge weights. The Pareto tail index ``k`` of the
   largest weights (Zhang and Stephens' estimate, as in Pareto-smoothed
   importance sampling) measures it: above ``k = 1/2`` the fitted tail has
   no variance, so the reported error (a variance estimate) has no meaning
   and the weights look like those of a partly missed region. A single
   weight far beyond that tail (a region hit once) shows in the largest
   weight's share of the sum, compared with the largest share the tail
   fitted to the other weights makes likely (:func:`max_share_allowed`); it
   warns when, in addition, that weight alone moves the estimate by more
   than ``SIGNIFICANCE`` errors of the other weights (else the error
   already covers losing or doubling it);
2. **coverage of the points seen before**: the VEGAS stage and the training
   rounds evaluated the integrand at points of known sampling density. Where
   the final proposal is thin at one of them (a weight ``f/g`` that alone
   would carry more than the largest-weight share allows), the earlier
   stages' importance-sampling estimate of the integral over such points is
   the mass the final integration may have missed;
3. **the independent VEGAS-stage estimate** lying significantly *above* the
   final one (the final stage lost what VEGAS had seen; a VEGAS estimate
   below a correct final one is VEGAS's own loss, not a warning).

2. fires when the missed mass exceeds the final error (widening then matters).
When 2. or 3. fires, the reported error is widened to cover the missing mass
(added in quadrature), so that the error covers the truth in that case.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = [
    "check_modes",
    "gpd_fit",
    "max_share_allowed",
    "pareto_k",
    "tail_excess",
    "weight_tail",
]

#: Pareto tail index above which importance-sampling errors are unreliable
#: (Vehtari et al., "Pareto smoothed importance sampling", arXiv:1507.02646)
PARETO_K_MAX = 0.7

#: Pareto tail index above which the fitted tail of the weights has no
#: variance (a generalized Pareto tail of index k has moments of order < 1/k):
#: the error estimate then has no meaning, and the fit warns
PARETO_K_INFINITE_VARIANCE = 0.5

#: significance (in standard errors) of the VEGAS stage above the final
#: estimate before the fit warns (one-sided)
SIGNIFICANCE = 3.0

#: probability of the one-sided SIGNIFICANCE-sigma tail of a normal
#: distribution: the false-alarm rate of the largest-weight test
OUTLIER_P = 0.5 * math.erfc(SIGNIFICANCE / math.sqrt(2.0))


def max_share_allowed(top, total, n_positive):
    """The largest share of the sum of the weights one weight may carry.

    The generalized Pareto distribution is fitted (:func:`gpd_fit`) to the
    excesses of the ``M`` largest weights but the first over the next one
    (``M + 1 =`` :func:`tail_size`); the allowed share is the level that the
    largest of ``M`` weights of that tail exceeds with probability
    ``OUTLIER_P`` (the one-sided 3σ probability), over the sum: with excess
    quantile ``x = σ ((α / M)^(-k) - 1) / k``, ``(u + x) / total``. It grows
    with the weights' tail index and with the calls, as the largest of
    correct weights does; a weight above it is one the other weights do not
    explain: a region hit once (a lost mode?). With fewer than 25 positive
    weights, or when they tie (no tail to fit), ``max(0.02, 10 / n_positive)``.

    Parameters
    ----------
    top : array-like
        (At least) the :func:`tail_size` largest of the ``n_positive``
        positive weights.
    total : float
        The sum of all the weights.
    n_positive : int
        The number of positive weights.

    Returns
    -------
    share : float
    """
    n = int(n_positive)
    if n < 25 or not total > 0:
        return max(0.02, 10.0 / max(n, 1))
    top = np.sort(np.asarray(top, dtype=np.float64))[-tail_size(n) :]
    u, x = top[0], top[1:-1] - top[0]
    m = len(top) - 1
    if len(x) < 2 or x[-1] <= 0:  # ties: no tail to fit
        return max(0.02, 10.0 / n)
    k, sigma = gpd_fit(x)
    q = OUTLIER_P / m
    excess = (
        sigma * math.expm1(-k * math.log(q)) / k
        if abs(k) > 1e-12
        else -sigma * math.log(q)
    )
    return float((u + excess) / total)


def tail_size(n):
    """How many of the largest of ``n`` weights :func:`pareto_k` reads (``M + 1``)."""
    return int(min(n / 5.0, 3.0 * math.sqrt(n))) + 1


def pareto_k(w, n_positive=None):
    """Pareto tail index ``k`` of the largest of the weights ``w``.

    The generalized Pareto distribution is fitted to the excesses of the
    ``M = min(n / 5, 3 sqrt(n))`` largest weights over the next one by the
    estimate of Zhang and Stephens (2009) with the weak prior of PSIS.
    ``nan`` with fewer than 25 positive weights.

    Parameters
    ----------
    w : array-like of shape (n,)
        Non-negative weights, or only the largest :func:`tail_size` of them
        when ``n_positive`` gives how many positive weights there were.
    n_positive : int, optional
        The number of positive weights ``w`` was taken from (default: those
        of ``w``).

    Returns
    -------
    k : float
        ``k < 0.5``: finite variance; ``k > 0.7``: the variance estimate is
        unreliable; ``k >= 1``: not even the mean converges.
    """
    w = np.asarray(w, dtype=np.float64)
    w = w[w > 0]
    n = len(w) if n_positive is None else int(n_positive)
    if n < 25:
        return float("nan")
    m = tail_size(n) - 1
    top = np.sort(w)[-(m + 1) :]
    x = top[1:] - top[0]
    if x[-1] <= 0:
        return 0.0
    return gpd_fit(x)[0]


def gpd_fit(x):
    """Generalized Pareto fit ``(k, σ)`` of the sorted excesses ``x``.

    The estimate of Zhang and Stephens (2009) with the weak prior of PSIS
    (10 pseudo-observations at ``k = 1/2``) on the shape ``k``; ``σ`` is
    the scale (the survival function is ``(1 + k x / σ)^(-1/k)``).

    Parameters
    ----------
    x : ndarray of shape (m,)
        Non-negative excesses over a threshold, ascending, ``x[-1] > 0``.

    Returns
    -------
    k, sigma : float
    """
    x = np.asarray(x, dtype=np.float64)
    scale = x[-1]
    x = x / scale  # scale-free (k does not depend on the scale)
    n_x = len(x)
    n_theta = 30 + int(math.sqrt(n_x))
    quartile = x[max(int(n_x / 4.0 + 0.5) - 1, 0)]
    quartile = quartile if quartile > 0 else x[x > 0].min()
    theta = 1.0 / x[-1] + (
        1.0 - np.sqrt(n_theta / (np.arange(1, n_theta + 1) - 0.5))
    ) / (3.0 * quartile)
    theta = theta[theta != 0]
    k = np.log1p(-theta[:, None] * x).mean(axis=1)
    log_lik = n_x * (np.log(-theta / k) - k - 1.0)
    with np.errstate(over="ignore"):
        weight = 1.0 / np.exp(log_lik[None, :] - log_lik[:, None]).sum(axis=1)
    theta_hat = float(np.sum(theta * weight))
    k_hat = float(np.log1p(-theta_hat * x).mean())
    sigma = -k_hat / theta_hat * scale
    # the weak prior of PSIS (10 pseudo-observations at k = 0.5)
    return (n_x * k_hat + 10 * 0.5) / (n_x + 10), float(sigma)


def weight_tail(top, total, n_positive):
    """Tail diagnostics of the final integration's weights.

    ``top`` holds (at least) the :func:`tail_size` largest of the
    ``n_positive`` positive weights, whose sum is ``total``.

    Returns
    -------
    tail : dict
        ``max_share`` (the largest weight over the sum),
        ``max_share_allowed`` (:func:`max_share_allowed`), ``pareto_k``
        (:func:`pareto_k`) and ``excess_share`` (:func:`tail_excess` over
        the sum).
    """
    top = np.asarray(top, dtype=np.float64)
    return {
        "max_share": float(top.max() / total) if total > 0 else 0.0,
        "max_share_allowed": max_share_allowed(top, total, n_positive),
        "pareto_k": pareto_k(top, n_positive=n_positive),
        "excess_share": tail_excess(top, n_positive) / total if total > 0 else 0.0,
    }


def tail_excess(top, n_positive):
    """Mean excess of the weights' fitted tail above the largest weight.

    With the generalized Pareto tail ``(k, σ)`` fitted to the excesses ``y``
    of the :func:`tail_size` largest weights over the next one, the mean
    excess of a weight above the largest, ``y_max``, is
    ``(σ + k y_max) / (1 - k)`` (``inf`` for ``k >= 1``). The largest of
    ``n`` weights sits near their ``1 - 1/n`` quantile, so about one weight
    of a sample lies above it, and this is the mass by which such a weight
    would exceed the largest seen: the part of the tail a sample of this
    size does not show, which its variance cannot hold. Negligible for a
    light tail (``k <= 0``: at most ``σ``); it grows without bound as
    ``k -> 1``, where the weights' mean stops converging.

    Parameters
    ----------
    top : array-like
        (At least) the :func:`tail_size` largest of the ``n_positive``
        positive weights.
    n_positive : int
        The number of positive weights.

    Returns
    -------
    excess : float
        In the weights' units; 0 with fewer than 25 positive weights.
    """
    n = int(n_positive)
    if n < 25:
        return 0.0
    top = np.sort(np.asarray(top, dtype=np.float64))[-tail_size(n) :]
    x = top[1:] - top[0]
    if x[-1] <= 0:
        return 0.0
    k, sigma = gpd_fit(x)
    if k >= 1.0:
        return math.inf
    return max(float((sigma + k * x[-1]) / (1.0 - k)), 0.0)


def _share_allowed(tail, n):
    """``tail["max_share_allowed"]``, or the rule of few weights without it."""
    return tail.get("max_share_allowed", max(0.02, 10.0 / max(int(n), 1)))


def missed_mass(seen, log_g, result, share_allowed=None):
    """Mass of the seen points where the final proposal is thin, and its error.

    Parameters
    ----------
    seen : dict
        ``c`` (``f / q`` of every kept seen point, ``q`` the density it was
        drawn from), ``f``, and ``n`` (the number of seen points the kept
        ones were selected from: their estimate's denominator).
    log_g : ndarray
        The final proposal's log density at the kept points.
    result : IntegrationResult
        The final estimate.
    share_allowed : float, optional
        :func:`max_share_allowed` of the final weights (default: the rule
        of few weights, ``max(0.02, 10 / n)``).

    Returns
    -------
    mass, error : float
        The earlier stages' estimate of the integral over the kept points at
        which one final weight ``f / g`` would exceed ``share_allowed`` of
        the final sum (a weight the final weights' tail does not explain);
        0 when none.
    """
    value, _ = result
    n_final = max(result.n_evaluations, 1)
    if seen is None or not len(seen["c"]) or value <= 0:
        return 0.0, 0.0
    if share_allowed is None:
        share_allowed = _share_allowed({}, n_final)
    with np.errstate(over="ignore", divide="ignore"):
        w_final = seen["f"] * np.exp(-log_g)
    thin = w_final > share_allowed * n_final * value
    if not thin.any():
        return 0.0, 0.0
    c = seen["c"][thin]
    n = max(seen["n"], 1)
    return float(c.sum() / n), float(math.sqrt(np.sum(c**2)) / n)


def check_modes(result, tail, vegas_value, vegas_error, missed=(0.0, 0.0)):
    """Warn on signs of a lost mode; the result with an error that covers it.

    Parameters
    ----------
    result : IntegrationResult
        The final integration's estimate.
    tail : dict
        :func:`weight_tail` of its weights.
    vegas_value, vegas_error : float
        The independent VEGAS-stage estimate (``nan``: none).
    missed : tuple of float, default=(0, 0)
        :func:`missed_mass` of the seen points.

    Returns
    -------
    error : float
        The error to report: the final error (which holds the weights'
        unseen tail, :func:`tail_excess`), widened in quadrature by the
        missed mass or by the VEGAS stage's excess when those fire.
    """
    value, error = result
    if not value > 0:
        _warn(
            "the integrand was 0 at every point of the final integration: a "
            "region where it is not 0 may have been missed entirely."
        )
        return float(error)
    allowed = _share_allowed(tail, result.n_evaluations)
    if tail["max_share"] > allowed and _dominates(tail["max_share"] * value, error):
        _warn(
            f"one weight carries {tail['max_share']:.1%} of the integral, more "
            f"than the tail of the other weights explains ({allowed:.2%}): the "
            "proposal misses a region where the integrand is large (a lost "
            "mode?); the error estimate is unreliable."
        )
    elif tail["pareto_k"] > PARETO_K_INFINITE_VARIANCE:
        what = (
            "the error estimate is unreliable"
            if tail["pareto_k"] > PARETO_K_MAX
            else "the error estimate may be too small"
        )
        _warn(
            f"the largest weights have a heavy tail (Pareto k = "
            f"{tail['pareto_k']:.2f} > {PARETO_K_INFINITE_VARIANCE}: no finite "
            "variance): the proposal samples a region where the integrand is "
            f"large far too rarely (a lost mode?); {what}."
        )
    widen = 0.0
    mass, _ = missed
    if mass > error:
        _warn(
            f"the earlier stages found about {mass:.3g} of the integral where "
            "the final proposal is thin (a lost mode?): the error is widened "
            "to cover it."
        )
        widen = mass
    if np.isfinite(vegas_value):
        excess = vegas_value - value
        sigma = math.hypot(error, vegas_error)
        if sigma > 0 and excess > SIGNIFICANCE * sigma:
            _warn(
                f"the trained proposal's integral {value:.6g} ± {error:.2g} lies "
                f"{excess / sigma:.1f} σ below the VEGAS-stage estimate "
                f"{vegas_value:.6g} ± {vegas_error:.2g}: the proposal may have "
                "lost a mode; the error is widened to cover the difference."
            )
            widen = max(widen, excess)
    return float(math.hypot(error, widen))


def _dominates(contribution, error):
    """Whether one weight's ``contribution`` exceeds SIGNIFICANCE errors of the rest.

    The error of the other weights is ``sqrt(error² - contribution²)`` (the
    weight's own term removed from the variance): a weight the estimate
    could lose or double without moving by more than that is no alarm.
    """
    rest = math.sqrt(max(error * error - contribution * contribution, 0.0))
    return contribution > SIGNIFICANCE * rest


def _warn(message):
    warnings.warn(
        message + " Raise defensive_fraction, the budget, or use channels.",
        RuntimeWarning,
        stacklevel=4,
    )
