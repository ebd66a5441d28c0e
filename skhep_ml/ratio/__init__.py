"""ALICERatioEstimator: likelihood-free inference of theory parameters."""

from .._compat import moved_attribute
from .calibration import CalibratedRatio
from .estimator import ALICERatioEstimator
from .profile import (
    calibrated_thresholds,
    coverage,
    likelihood_profile,
    optimized_profile,
)

__all__ = [
    "ALICERatioEstimator",
    "CalibratedRatio",
    "calibrated_thresholds",
    "coverage",
    "likelihood_profile",
    "optimized_profile",
]

#: the private names of release 0.1.0's flat module, for its pickles
__getattr__ = moved_attribute(__name__)
