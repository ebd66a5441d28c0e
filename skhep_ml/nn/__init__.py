"""torch modules of skhep_ml: no scikit-learn in here."""

from .bayesian import BayesianMLP, VariationalLinear
from .flows import Flow
from .mlp import MLP, make_mlp
from .vegas import VegasMap

__all__ = ["MLP", "BayesianMLP", "Flow", "VariationalLinear", "VegasMap", "make_mlp"]
