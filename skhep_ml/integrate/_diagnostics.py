"""Signs of a lost mode: weight-tail and coverage diagnostics of the integrator.

A mode the trained proposal misses shows in one of three ways, each checked by
:func:`check_modes` after the final integration:

1. **the weight tail** of the final integration: a region the proposal samples
   far too rarely gives a few huge weights. The largest weight's share of the
   sum and the Pareto tail index ``k`` of the largest weights (Zhang and
   Stephens' estimate, as in Pareto-smoothed importance sampling: above
   ``k = 0.7`` the variance estimate of importance sampling is unreliable)
   measure it;
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

__all__ = ["check_modes", "max_share_allowed", "pareto_k", "weight_tail"]

#: Pareto tail index above which importance-sampling errors are unreliable
#: (Vehtari et al., "Pareto smoothed importance sampling", arXiv:1507.02646)
PARETO_K_MAX = 0.7

#: significance (in standard errors) of the VEGAS stage above the final
#: estimate before the fit warns (one-sided)
SIGNIFICANCE = 3.0


def max_share_allowed(n):
    """The largest share of the sum of ``n`` weights one weight may carry.

    ``max(0.02, 10 / n)``: a weight above it would dominate the estimate.
    """
    return max(0.02, 10.0 / max(int(n), 1))


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
    x = x / x[-1]  # scale-free (k does not depend on the scale)
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
    # the weak prior of PSIS (10 pseudo-observations at k = 0.5)
    return (n_x * k_hat + 10 * 0.5) / (n_x + 10)


def weight_tail(top, total, n_positive):
    """``{"max_share", "pareto_k"}`` of the final integration's weights.

    ``top`` holds (at least) the :func:`tail_size` largest of the
    ``n_positive`` positive weights, whose sum is ``total``.
    """
    top = np.asarray(top, dtype=np.float64)
    return {
        "max_share": float(top.max() / total) if total > 0 else 0.0,
        "pareto_k": pareto_k(top, n_positive=n_positive),
    }


def missed_mass(seen, log_g, result):
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

    Returns
    -------
    mass, error : float
        The earlier stages' estimate of the integral over the kept points at
        which one final weight ``f / g`` would exceed
        :func:`max_share_allowed` of the final sum; 0 when none.
    """
    value, _ = result
    n_final = max(result.n_evaluations, 1)
    if seen is None or not len(seen["c"]) or value <= 0:
        return 0.0, 0.0
    with np.errstate(over="ignore", divide="ignore"):
        w_final = seen["f"] * np.exp(-log_g)
    thin = w_final > max_share_allowed(n_final) * n_final * value
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
        The error to report: the final error, widened in quadrature by the
        missed mass or by the VEGAS stage's excess when those fire.
    """
    value, error = result
    if not value > 0:
        _warn(
            "the integrand was 0 at every point of the final integration: a "
            "region where it is not 0 may have been missed entirely."
        )
        return float(error)
    if tail["max_share"] > max_share_allowed(result.n_evaluations):
        _warn(
            f"one weight carries {tail['max_share']:.1%} of the integral: the "
            "proposal misses a region where the integrand is large (a lost "
            "mode?); the error estimate is unreliable."
        )
    elif tail["pareto_k"] > PARETO_K_MAX:
        _warn(
            f"the largest weights have a heavy tail (Pareto k = "
            f"{tail['pareto_k']:.2f} > {PARETO_K_MAX}): the proposal samples a "
            "region where the integrand is large far too rarely (a lost mode?); "
            "the error estimate is unreliable."
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


def _warn(message):
    warnings.warn(
        message + " Raise defensive_fraction, the budget, or use channels.",
        RuntimeWarning,
        stacklevel=4,
    )
