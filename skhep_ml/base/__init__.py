"""What every skorch-backed estimator of skhep_ml shares.

The public estimators are plain scikit-learn estimators (``BaseEstimator`` plus a
mixin). In ``fit`` each one builds a :class:`skorch.NeuralNet` (or a private subclass
where the loss needs more than the criterion) and keeps it
as ``net_``; all torch state (module, optimizer, criterion) lives inside that net,
which is what makes a fitted estimator pickle, and a GPU-trained one load on a CPU.

This package holds the pieces they have in common:

* :class:`ArrayDataset` and :class:`BatchLoader`: a dataset indexed by whole
  batches of row indices. skorch's default per-row ``Dataset`` + collate is about
  ten times slower than a plain torch loop for small tabular models (a whole
  ALICE fit 2.9x, ``benchmarks/bench_base.py``).
* :func:`resolve_device`, :func:`torch_seed`: device handling and one
  ``random_state`` for initialisation, shuffling, validation split and sampling.
* :class:`TorchEstimatorMixin`: scikit-learn vocabulary → skorch arguments,
  training through ``net_.fit``/``net_.partial_fit``, batched inference.
* validation helpers (:func:`check_sample_weight`, :func:`check_finite`).
* progress output (:mod:`.progress`): :func:`report` prints one plain line per
  stage; the epoch table and tqdm bar colour and draw only in a terminal.

Dtype policy
------------
Training runs in float32 (the ~1.7-2x cheaper dtype on CPUs and the natural one on
GPUs). After training on a CPU the module is cast to float64, so inference is
exact to float64 round-off: predictions of a row do not depend on which other
rows share its batch (``check_methods_subset_invariance`` compares at atol 1e-7,
which float32 inference misses). Continued training (online
integrator and scanner rounds) casts back to float32 first. On CUDA everything
stays float32.
"""

from .._compat import moved_attribute
from .data import ArrayDataset, BatchLoader
from .estimator import (
    NET_PARAMETER_CONSTRAINTS,
    ConstantCosine,
    TorchEstimatorMixin,
    _silent,
)
from .preprocessing import weighted_standardization
from .progress import report, value_error
from .seeding import MAX_SEED, derive_seed, resolve_device, torch_seed
from .validation import (
    HasMethods,
    Interval,
    StrOptions,
    check_finite,
    check_hidden_layer_sizes,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
    validate_data,
)

__all__ = [
    "MAX_SEED",
    "NET_PARAMETER_CONSTRAINTS",
    "ArrayDataset",
    "BatchLoader",
    "ConstantCosine",
    "HasMethods",
    "Interval",
    "StrOptions",
    "TorchEstimatorMixin",
    "check_finite",
    "check_hidden_layer_sizes",
    "check_is_fitted",
    "check_random_state",
    "check_sample_weight",
    "derive_seed",
    "report",
    "resolve_device",
    "torch_seed",
    "validate_data",
    "value_error",
    "weighted_standardization",
]

#: the names of release 0.1.0's flat module that are gone, for its pickles
__getattr__ = moved_attribute(__name__)
