"""ActiveScanner: the iterative ML scan of expensive parameter spaces."""

from .._compat import moved_attribute
from ._loop import ScanStoppedWarning
from .scanner import ActiveScanner

__all__ = ["ActiveScanner", "ScanStoppedWarning"]

#: the private names of release 0.1.0's flat module, for its pickles
__getattr__ = moved_attribute(__name__)
