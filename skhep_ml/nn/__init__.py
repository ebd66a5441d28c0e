"""torch modules of skhep_ml: no scikit-learn in here."""

from .bayesian import BayesianMLP, VariationalLinear
from .flows import Flow, GaussianMixtureBase
from .input_grad import tanh_mlp_input_grad
from .mlp import MLP, make_mlp
from .optim import FlatAdam
from .vegas import VegasMap

__all__ = [
    "MLP",
    "BayesianMLP",
    "FlatAdam",
    "Flow",
    "GaussianMixtureBase",
    "VariationalLinear",
    "VegasMap",
    "make_mlp",
    "tanh_mlp_input_grad",
]
