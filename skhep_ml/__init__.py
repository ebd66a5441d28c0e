"""skhep_ml: scikit-learn estimators for the machine-learning methods of HEP."""

from importlib.metadata import PackageNotFoundError, version

from . import _compat
from .density import FlowDensity
from .integrate import NeuralImportanceIntegrator
from .ratio import ALICERatioEstimator, SALLYTransformer
from .regression import BayesianRegressor
from .scan import ActiveScanner

_compat.install()  # pickles of release 0.1.0 name its old modules

try:
    __version__ = version("skhep_ml")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ALICERatioEstimator",
    "ActiveScanner",
    "BayesianRegressor",
    "FlowDensity",
    "NeuralImportanceIntegrator",
    "SALLYTransformer",
    "__version__",
]
