"""FlowDensity: normalizing-flow densities and generators of events."""

from .._compat import moved_attribute
from ._histogram import weight_draw_histogram
from .flow_density import FlowDensity

__all__ = ["FlowDensity", "weight_draw_histogram"]

#: the private names of release 0.1.0's flat module, for its pickles
__getattr__ = moved_attribute(__name__)
