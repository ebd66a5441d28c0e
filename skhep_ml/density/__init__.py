"""FlowDensity: normalizing-flow densities and generators of events."""

from .._compat import moved_attribute
from .flow_density import FlowDensity

__all__ = ["FlowDensity"]

#: the private names of release 0.1.0's flat module, for its pickles
__getattr__ = moved_attribute(__name__)
