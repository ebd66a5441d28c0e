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
from .sally import SALLYTransformer

__all__ = [
    "ALICERatioEstimator",
    "CalibratedRatio",
    "SALLYTransformer",
    "calibrated_thresholds",
    "coverage",
    "likelihood_profile",
    "optimized_profile",
]

#: the private names of release 0.1.0's flat module, for its pickles
__getattr__ = moved_attribute(__name__)
