"""torch modules of skhep_ml: no scikit-learn in here."""

from .bayesian import BayesianMLP, VariationalLinear
from .flows import Flow, GaussianMixtureBase
from .mlp import MLP, make_mlp
from .vegas import VegasMap

__all__ = [
    "MLP",
    "BayesianMLP",
    "Flow",
    "GaussianMixtureBase",
    "VariationalLinear",
    "VegasMap",
    "make_mlp",
]
