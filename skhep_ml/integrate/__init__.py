"""NeuralImportanceIntegrator: neural importance sampling with a VEGAS start."""

from .._compat import moved_attribute
from ._channels import (
    BreitWignerMapping,
    CombinationBreitWignerMapping,
    IdentityMapping,
)
from ._unweighting import IntegrationResult, unweight
from .integrator import NeuralImportanceIntegrator

__all__ = [
    "BreitWignerMapping",
    "CombinationBreitWignerMapping",
    "IdentityMapping",
    "IntegrationResult",
    "NeuralImportanceIntegrator",
    "unweight",
]

#: the private names of release 0.1.0's flat module, for its pickles
__getattr__ = moved_attribute(__name__)
