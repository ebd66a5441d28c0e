"""Event files: ROOT trees (uproot) and Les Houches event files (pylhe).

Everything here needs the optional ``hep`` extra (``pip install 'skhep_ml[hep]'``);
the libraries are imported inside the functions, so ``import skhep_ml`` never needs
them.

Reading: :func:`read_root` (branches of one or many files into ``X``,
``sample_weight``) and :func:`iterate_root` (the same lazily, chunk by chunk).
Writing: :func:`write_root` (arrays), :func:`write_samples` (draws of
``FlowDensity`` or ``NeuralImportanceIntegrator``, streamed), :func:`write_scan`
(an ``ActiveScanner``'s points and values), :func:`write_lhe` (unweighted events
with their particles); :func:`read_metadata` and :func:`estimator_metadata` for
the settings stored beside the events.
"""

from .lhe import write_lhe
from .root import (
    estimator_metadata,
    iterate_root,
    read_metadata,
    read_root,
    write_root,
    write_samples,
    write_scan,
)

__all__ = [
    "estimator_metadata",
    "iterate_root",
    "read_metadata",
    "read_root",
    "write_lhe",
    "write_root",
    "write_samples",
    "write_scan",
]
