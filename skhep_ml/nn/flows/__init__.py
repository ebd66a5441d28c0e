"""Coupling normalizing flows: affine and rational-quadratic spline blocks.

A :class:`Flow` is a stack of coupling blocks. Each block leaves one group of
features unchanged and transforms the other group elementwise, with parameters
predicted by an MLP from the unchanged group (and an optional context vector).
Both directions therefore cost one pass, so sampling is as cheap as density
evaluation (an autoregressive flow needs one pass per dimension to sample).

Two domains:

* ``domain="real"``: data on R^d, standard-normal latent; splines act on
  ``[-tail_bound, tail_bound]`` and are the identity outside (standardise the
  data first), affine blocks act everywhere.
* ``domain="unit"``: maps ``[0, 1]^d`` onto ``[0, 1]^d`` exactly, uniform
  latent (``log_prob`` of the latent is 0), the proposal of neural importance
  sampling.

References
----------
.. [1] L. Dinh, J. Sohl-Dickstein, S. Bengio, "Density estimation using Real
   NVP", arXiv:1605.08803.
.. [2] C. Durkan, A. Bekasov, I. Murray, G. Papamakarios, "Neural Spline
   Flows", arXiv:1906.04032.
.. [3] T. Müller et al., "Neural Importance Sampling", arXiv:1808.03856.
"""

from .base_distribution import GaussianMixtureBase, StudentTBase
from .coupling import (
    DOMAINS,
    PERMUTATIONS,
    TRANSFORMS,
    AffineCoupling,
    Rotation,
    RQSCoupling,
    coupling_masks,
)
from .flow import Flow
from .variational import VariationalConditioner

__all__ = [
    "DOMAINS",
    "PERMUTATIONS",
    "TRANSFORMS",
    "AffineCoupling",
    "Flow",
    "GaussianMixtureBase",
    "RQSCoupling",
    "Rotation",
    "StudentTBase",
    "VariationalConditioner",
    "coupling_masks",
]
