"""BayesianRegressor: surrogates of slow calculations with error bars."""

from .._compat import moved_attribute
from .regressor import BayesianRegressor

__all__ = ["BayesianRegressor"]

#: the private names of release 0.1.0's flat module, for its pickles
__getattr__ = moved_attribute(__name__)
