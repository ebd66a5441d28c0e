"""Warnings of the integrator on signs of a lost mode."""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["check_modes"]


def check_modes(result, max_weight_share, vegas_value, vegas_error):
    """Warn on dominant weights, or disagreement with the VEGAS-stage estimate.

    Parameters
    ----------
    result : IntegrationResult
        The final integration's estimate.
    max_weight_share : float
        The largest event weight's share of the sum of weights.
    vegas_value, vegas_error : float
        The independent VEGAS-stage estimate (``nan``: none).
    """
    if max_weight_share > max(0.02, 10.0 / max(result.n_evaluations, 1)):
        warnings.warn(
            f"one weight carries {max_weight_share:.1%} of the integral: the "
            "proposal misses a region where the integrand is large (a lost "
            "mode?); the error estimate is unreliable. Raise defensive_fraction, "
            "the VEGAS stage or use channels.",
            RuntimeWarning,
            stacklevel=3,
        )
    if not np.isfinite(vegas_value):
        return
    value, error = result
    diff = abs(value - vegas_value)
    sigma = math.hypot(error, vegas_error)
    if sigma > 0 and diff > 5 * sigma:
        warnings.warn(
            f"the trained proposal's integral {value:.6g} ± {error:.2g} disagrees "
            f"with the VEGAS-stage estimate {vegas_value:.6g} ± {vegas_error:.2g} "
            f"by {diff / sigma:.1f} σ: the proposal may have lost a mode; raise "
            "defensive_fraction or use channels.",
            RuntimeWarning,
            stacklevel=3,
        )
