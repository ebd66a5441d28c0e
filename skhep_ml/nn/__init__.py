"""torch modules of skhep_ml: no scikit-learn in here."""

from .bayesian import BayesianMLP, VariationalLinear
from .mlp import MLP, make_mlp

__all__ = ["MLP", "BayesianMLP", "VariationalLinear", "make_mlp"]
