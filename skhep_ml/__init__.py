"""skhep_ml: scikit-learn estimators for the machine-learning methods of HEP."""

from importlib.metadata import PackageNotFoundError, version

from .regression import BayesianRegressor

try:
    __version__ = version("skhep_ml")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["BayesianRegressor", "__version__"]
