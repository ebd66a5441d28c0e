"""What every skorch-backed estimator of skhep_ml shares.

The public estimators are plain scikit-learn estimators (``BaseEstimator`` plus a
mixin). In ``fit`` each one builds a private :class:`skorch.NeuralNet` and keeps it
as ``net_``; all torch state (module, optimizer, criterion) lives inside that net,
which is what makes a fitted estimator pickle, and a GPU-trained one load on a CPU.

This module holds the pieces they have in common:

* :class:`ArrayDataset` and :class:`BatchLoader`: a dataset indexed by whole
  batches of row indices. skorch's default per-row ``Dataset`` + collate is about
  ten times slower than a plain torch loop for small tabular models.
* :func:`resolve_device`, :func:`torch_seed`: device handling and one
  ``random_state`` for initialisation, shuffling, validation split and sampling.
* :class:`TorchEstimatorMixin`: scikit-learn vocabulary → skorch arguments,
  training through ``net_.fit``/``net_.partial_fit``, batched inference.
* validation helpers (:func:`check_sample_weight`, :func:`check_finite`).

Dtype policy
------------
Training runs in float32 (the ~1.7-2x cheaper dtype on CPUs and the natural one on
GPUs). After training on a CPU the module is cast to float64, so inference is
exact to float64 round-off: predictions of a row do not depend on which other
rows share its batch (``check_methods_subset_invariance`` compares at atol 1e-7,
which float32 inference misses). Continued training (boosting rounds, online
integrator and scanner rounds) casts back to float32 first. On CUDA everything
stays float32.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import threading

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    LRScheduler,
    PassthroughScoring,
    ProgressBar,
)
from skorch.dataset import ValidSplit
from skorch.history import History

from .nn.optim import FlatAdam

__all__ = [
    "ArrayDataset",
    "BatchLoader",
    "ConstantCosine",
    "Interval",
    "StrOptions",
    "TorchEstimatorMixin",
    "TorchNet",
    "check_finite",
    "check_is_fitted",
    "check_sample_weight",
    "check_random_state",
    "derive_seed",
    "resolve_device",
    "torch_seed",
    "validate_data",
]

MAX_SEED = np.iinfo(np.int32).max


def _silent(*args, **kwargs):
    """A picklable sink that prints nothing."""


# ---------------------------------------------------------------------------
# data pipeline
# ---------------------------------------------------------------------------
class ArrayDataset(torch.utils.data.Dataset):
    """Tensors indexed by whole batches of rows.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_samples, ...)
        Inputs. Converted once with :func:`torch.as_tensor` (no copy for a
        contiguous array of the right dtype).
    y : array-like or torch.Tensor of shape (n_samples, ...), default=None
        Targets and side data packed together (sample weights, joint ratios...).
        When ``None`` a zero placeholder is returned, as skorch expects.
    """

    def __init__(self, X, y=None):
        self.X = torch.as_tensor(X)
        self.y = None if y is None else torch.as_tensor(y)

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index):
        Xi = self.X[index]
        yi = torch.zeros(len(Xi)) if self.y is None else self.y[index]
        return Xi, yi


class BatchLoader:
    """Iterate over an :class:`ArrayDataset` one whole batch at a time.

    A drop-in for :class:`torch.utils.data.DataLoader` as skorch's
    ``iterator_train``/``iterator_valid``: no per-row ``__getitem__`` and no
    collate. Shuffling draws from torch's global generator, which the estimators
    seed from ``random_state``, so a CPU fit is bit-identical on refit.
    ``torch.utils.data.Subset`` (what skorch's ``ValidSplit`` returns) is
    unwrapped into the base dataset and an index tensor. A shuffled (or
    subset) epoch is gathered once, one copy of its rows, and served as
    contiguous slices.

    Parameters
    ----------
    dataset : ArrayDataset or torch.utils.data.Subset of one
        The data.
    batch_size : int, default=128
        Rows per batch; the last batch may be smaller.
    shuffle : bool, default=False
        Draw a new random order every epoch.
    """

    def __init__(self, dataset, batch_size: int = 128, shuffle: bool = False):
        indices = None
        while isinstance(dataset, torch.utils.data.Subset):
            sub = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
            indices = sub if indices is None else sub[indices]
            dataset = dataset.dataset
        self.dataset = dataset
        self.indices = indices
        self.batch_size = int(batch_size)
        self.shuffle = shuffle

    def __len__(self) -> int:
        n = len(self.dataset) if self.indices is None else len(self.indices)
        return math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.dataset) if self.indices is None else len(self.indices)
        bs = self.batch_size
        if not self.shuffle and self.indices is None:
            for start in range(0, n, bs):
                yield self.dataset[start : start + bs]
            return
        order = torch.randperm(n) if self.shuffle else torch.arange(n)
        if self.indices is not None:
            order = self.indices[order]
        # one gather per epoch, then contiguous slices: the same batches as
        # gathering each one, with fewer small tensor ops per step
        X, y = self.dataset[order]
        for start in range(0, n, bs):
            yield X[start : start + bs], y[start : start + bs]


class _History(History):
    """skorch's History, recording in O(1).

    skorch records two values per batch through ``self[-1]``, i.e. through
    History's general (tuple) indexing, which copies the epoch list on every
    call. These three methods index the list directly; reading (``history[:,
    'train_loss']`` etc.) is skorch's.
    """

    def new_batch(self):
        list.__getitem__(self, -1)["batches"].append({})

    def record(self, attr, value):
        if not self:
            raise ValueError("Call new_epoch before recording for the first time.")
        list.__getitem__(self, -1)[attr] = value

    def record_batch(self, attr, value):
        list.__getitem__(self, -1)["batches"][-1][attr] = value


class _EpochMean(PassthroughScoring):
    """skorch's PassthroughScoring, reading the epoch's batches directly.

    The epoch's batch-size weighted mean of a batch score (``train_loss``,
    ``valid_loss``), as skorch's, from the current epoch's batch list
    instead of History's general indexing (which copies the epoch list).
    """

    def on_epoch_end(self, net, **kwargs):
        bs_key = "train_batch_size" if self.on_train else "valid_batch_size"
        batches = list.__getitem__(net.history, -1)["batches"]
        rows = [b for b in batches if self.name in b]
        if not rows:  # e.g. no validation data
            return
        # np.average's arithmetic (products, then sums) without its overhead
        total = sum(b[self.name] * b[bs_key] for b in rows)
        score_avg = float(total / sum(b[bs_key] for b in rows))
        is_best = self._is_best_score(score_avg)
        if is_best:
            self.best_score_ = score_avg
        net.history.record(self.name, score_avg)
        if is_best is not None:
            net.history.record(self.name + "_best", bool(is_best))


class TorchNet(NeuralNet):
    """The skorch net of every estimator: :class:`skorch.NeuralNet`, less work per step.

    Per step, skorch puts every module and criterion in training mode (a
    walk over all submodules), calls every callback's batch hooks and records
    two values in its history through a general indexing that copies the
    epoch list. This net switches modes only when the top-level mode differs
    (a module's ``train``/``eval`` sets its children too), calls only the
    callbacks that define a hook, and records in O(1) (:class:`_History`).
    On the ratio estimator's network these cut a CPU step by ~10 %.
    """

    def get_default_callbacks(self):
        """skorch's default callbacks, the loss averages by :class:`_EpochMean`."""
        return [
            (
                name,
                _EpochMean(cb.name, cb.lower_is_better, cb.on_train)
                if type(cb) is PassthroughScoring
                else cb,
            )
            for name, cb in super().get_default_callbacks()
        ]

    def initialize_history(self):
        """Start an empty :class:`_History` (skorch's, with O(1) recording)."""
        if self.history_ is None:
            self.history_ = _History()
        else:
            self.history_.clear()
        return self

    def notify(self, method_name, **cb_kwargs):
        """Call ``method_name`` on the net and on the callbacks that define it.

        skorch calls every callback's hook three times per batch; most
        callbacks keep the base class's no-op for the batch hooks. Those
        are skipped (the list is cached per hook and callback list), the
        others run in skorch's order, with skorch's arguments.
        """
        getattr(self, method_name)(self, **cb_kwargs)
        callbacks = self.__dict__.get("callbacks_")
        if not callbacks:
            return
        cache = self.__dict__.get("_hook_cache")
        if cache is None or cache[0] is not callbacks or cache[1] != len(callbacks):
            cache = self.__dict__["_hook_cache"] = (callbacks, len(callbacks), {})
        active = cache[2].get(method_name)
        if active is None:
            base = getattr(Callback, method_name, None)
            active = cache[2][method_name] = [
                cb
                for _, cb in callbacks
                if base is None
                or getattr(type(cb), method_name, None) is not base
                or method_name in vars(cb)
            ]
        for cb in active:
            getattr(cb, method_name)(self, **cb_kwargs)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_hook_cache", None)
        return state

    def _set_training(self, training=True):
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)


# ---------------------------------------------------------------------------
# device, seeds
# ---------------------------------------------------------------------------
def resolve_device(device) -> str:
    """Return the torch device string to train on.

    Parameters
    ----------
    device : {"cpu", "cuda", "cuda:N", "auto"} or None
        ``"auto"`` (or ``None``) picks CUDA when available, else the CPU.

    Returns
    -------
    device : str

    Raises
    ------
    ValueError
        If a CUDA device is requested and CUDA is not available, or the string
        is not a torch device.
    """
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a valid torch device.") from exc
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='cpu' or device='auto'."
        )
    return str(device)


def derive_seed(rng: np.random.RandomState) -> int:
    """Draw an integer seed for torch, a split or a sampler from ``rng``."""
    return int(rng.randint(MAX_SEED))


#: torch's default generator is process-wide: seeded sections in several threads of
#: one process (joblib's threading backend, dask's threaded workers) take turns, so
#: each fit stays reproducible. Process-based backends run in parallel as usual.
_TORCH_RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def torch_seed(seed: int, device: str = "cpu"):
    """Seed torch inside a forked RNG state; the caller's RNG is untouched.

    Sections in different threads are serialised (torch's default generator is
    shared by all threads of a process), so a seeded fit is reproducible even
    when fits run in threads.

    Parameters
    ----------
    seed : int
        Seed for :func:`torch.manual_seed` (all devices).
    device : str, default="cpu"
        When a CUDA device, its RNG is forked as well.
    """
    dev = torch.device(device)
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with _TORCH_RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
def check_finite(values, name: str, *, context: str = "") -> None:
    """Raise a ValueError naming ``name`` if ``values`` has NaN or inf entries.

    Parameters
    ----------
    values : ndarray
        Values to check.
    name : str
        What the values are, for the message.
    context : str, default=""
        Appended to the message (e.g. which points).
    """
    values = np.asarray(values)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s) out of "
            f"{values.size}.{(' ' + context) if context else ''}"
        )


def check_sample_weight(sample_weight, X) -> np.ndarray:
    """Validate ``sample_weight`` for ``X``: finite, non-negative, not all zero.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        ``None`` means unit weights.
    X : ndarray of shape (n_samples, n_features)
        The data the weights belong to.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,), float64
    """
    if sample_weight is not None:
        check_finite(np.asarray(sample_weight, dtype=float), "sample_weight")
    return _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )


def check_hidden_layer_sizes(hidden_layer_sizes) -> tuple[int, ...]:
    """Return ``hidden_layer_sizes`` as a tuple of positive ints."""
    if isinstance(hidden_layer_sizes, numbers.Integral):
        hidden_layer_sizes = (hidden_layer_sizes,)
    sizes = tuple(hidden_layer_sizes)
    if not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
        raise ValueError(
            f"hidden_layer_sizes must be positive integers, got {hidden_layer_sizes!r}."
        )
    return tuple(int(s) for s in sizes)


# ---------------------------------------------------------------------------
# the shared estimator machinery
# ---------------------------------------------------------------------------
class ConstantCosine:
    """Learning-rate factor: 1, then a cosine decay to 0 over the last epochs.

    The rate stays at its initial value for the first ``1 - decay_fraction``
    of ``n_epochs`` (fast progress, as with a constant rate) and falls along
    half a cosine over the rest (the final weights settle, as with a cosine
    schedule). A picklable callable for :class:`torch.optim.lr_scheduler.LambdaLR`.

    Parameters
    ----------
    n_epochs : int
        Total number of epochs.
    decay_fraction : float, default=0.2
        Fraction of the epochs (at least one) with a decaying rate.
    """

    def __init__(self, n_epochs: int, decay_fraction: float = 0.2):
        self.n_epochs = int(n_epochs)
        self.n_decay = max(1, round(decay_fraction * self.n_epochs))

    def __call__(self, epoch: int) -> float:
        start = self.n_epochs - self.n_decay
        if epoch < start:
            return 1.0
        progress = min(1.0, (epoch - start + 1) / (self.n_decay + 1))
        return 0.5 * (1.0 + math.cos(math.pi * progress))


#: parameter constraints shared by every skorch-backed estimator
NET_PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": [
        "array-like",
        Interval(numbers.Integral, 1, None, closed="left"),
    ],
    "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "lr_schedule": [StrOptions({"constant", "cosine", "constant_cosine"})],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "device": [str, None],
    "callbacks": [list, None],
    "verbose": ["verbose"],
    "random_state": ["random_state"],
}


class TorchEstimatorMixin:
    """Build, train and query the skorch net of a scikit-learn estimator.

    Subclasses spell out their own keyword-only ``__init__`` with the
    scikit-learn vocabulary (``hidden_layer_sizes``, ``max_epochs``,
    ``batch_size``, ``lr``, ``lr_schedule``, ``early_stopping``,
    ``validation_fraction``, ``n_iter_no_change``, ``tol``, ``device``,
    ``callbacks``, ``verbose``, ``random_state``) and call, in ``fit``:

    1. :meth:`_init_fit` → a ``RandomState`` and the device;
    2. :meth:`_build_net` with their torch module and criterion classes;
    3. :meth:`_train_net` (first fit or continued training);

    and in the other methods :meth:`_forward_batches` for streamed inference.
    """

    #: rows per batch for inference (memory stays one batch, whatever n)
    inference_batch_size = 65536

    # -- fit helpers ---------------------------------------------------------
    def _init_fit(self):
        """Validate parameters; return ``(rng, device)`` for this fit."""
        self._validate_params()
        sizes = getattr(self, "hidden_layer_sizes", None)
        if sizes is not None:  # None: a default chosen by the estimator
            check_hidden_layer_sizes(sizes)
        rng = check_random_state(self.random_state)
        return rng, resolve_device(self.device)

    def _net_callbacks(self, seed):
        callbacks = []
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        threshold=self.tol,
                        threshold_mode="abs",
                        load_best=True,
                        sink=_silent,
                    ),
                )
            )
        if self.lr_schedule == "cosine":
            scheduler = LRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                T_max=self.max_epochs,
                step_every="epoch",
            )
            callbacks.append(("lr_scheduler", scheduler))
        elif self.lr_schedule == "constant_cosine":
            scheduler = LRScheduler(
                policy=torch.optim.lr_scheduler.LambdaLR,
                lr_lambda=ConstantCosine(self.max_epochs),
                step_every="epoch",
            )
            callbacks.append(("lr_scheduler", scheduler))
        if self.verbose and self.verbose > 1:
            callbacks.append(("progress_bar", ProgressBar()))
        for i, cb in enumerate(copy.deepcopy(self.callbacks) or []):
            name, cb = cb if isinstance(cb, tuple) else (f"user_{i}", cb)
            callbacks.append((name, cb))
        return callbacks

    def _build_net(
        self,
        module,
        criterion,
        *,
        seed: int,
        device: str,
        n_samples: int,
        net_class=TorchNet,
        max_epochs: int | None = None,
        batch_size: int | None = None,
        **kwargs,
    ):
        """Return an uninitialised skorch net in the estimator's vocabulary.

        Parameters
        ----------
        module, criterion : type
            torch module and loss classes; their arguments go in ``kwargs`` as
            ``module__name=value`` / ``criterion__name=value``.
        seed : int
            Seed of the validation split (the torch seed is set by
            :meth:`_train_net`).
        device : str
            Resolved device.
        n_samples : int
            Training rows (caps the batch size).
        net_class : type, default=TorchNet
            A private subclass of :class:`TorchNet` when the loss needs more
            than the criterion.
        max_epochs : int, default=None
            Overrides ``self.max_epochs`` (e.g. for rounds of online training).
        batch_size : int, default=None
            Overrides ``self.batch_size`` (capped at ``n_samples`` likewise).
        **kwargs
            Further skorch arguments.
        """
        train_split = None
        if self.early_stopping:
            train_split = ValidSplit(self.validation_fraction, random_state=seed)
        params = dict(
            module=module,
            criterion=criterion,
            # Adam on one flat buffer: torch's Adam to the bit, a step costs
            # seven tensor operations whatever the number of weight tensors
            optimizer=FlatAdam,
            lr=self.lr,
            max_epochs=self.max_epochs if max_epochs is None else max_epochs,
            batch_size=max(
                1, min(self.batch_size if batch_size is None else batch_size, n_samples)
            ),
            train_split=train_split,
            callbacks=self._net_callbacks(seed),
            device=device,
            verbose=int(bool(self.verbose)),
            dataset=ArrayDataset,
            iterator_train=BatchLoader,
            iterator_train__shuffle=True,
            iterator_valid=BatchLoader,
            iterator_valid__batch_size=self.inference_batch_size,
        )
        if not self.verbose:
            params["callbacks__print_log"] = None
        params.update(kwargs)
        return net_class(**params)

    def _train_net(self, X, y=None, *, seed: int, partial: bool = False):
        """Train ``self.net_`` (float32 or ``train_dtype``); set the inference dtype.

        Parameters
        ----------
        X : ndarray or tensor of shape (n_samples, ...)
        y : ndarray or tensor of shape (n_samples, ...), default=None
            Targets with side data packed as extra columns.
        seed : int
            Seeds torch for initialisation and shuffling.
        partial : bool, default=False
            Continue training (``net_.partial_fit``): keeps weights, optimizer
            state and history.
        """
        net = self.net_
        dtype = self._training_dtype()
        X = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X)
        X = X.to(dtype)
        if y is not None:
            y = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y)
            y = y.to(dtype)
        with torch_seed(seed, net.device):
            if partial and net.initialized_:
                net.module_.to(dtype)
                net.partial_fit(X, y)
            elif dtype != torch.float32:
                # what net.fit does, with the module cast before the first step
                net.initialize()
                net.module_.to(dtype)
                net.partial_fit(X, y)
            else:
                net.fit(X, y)
        self._set_inference_dtype()
        history = net.history
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        self.n_iter_ = len(history)
        return net

    def _training_dtype(self):
        """torch dtype of training: float32 unless a subclass says otherwise.

        An estimator with a ``train_dtype`` parameter (``"float32"`` or
        ``"float64"``) gets that dtype; float64 training makes weighted and
        repeated rows agree to round-off (``check_sample_weight_equivalence``).
        """
        name = getattr(self, "train_dtype", "float32")
        return torch.float64 if name == "float64" else torch.float32

    def _set_inference_dtype(self):
        """float64 inference on the CPU, float32 on CUDA (see module docstring)."""
        dtype = torch.float64 if self.net_.device == "cpu" else torch.float32
        self.net_.module_.to(dtype)

    # -- inference helpers ---------------------------------------------------
    def _module_dtype(self):
        return next(self.net_.module_.parameters()).dtype

    def _forward_batches(self, fn, X, batch_size: int | None = None):
        """Apply ``fn`` to ``X`` in batches without gradients; return numpy.

        Parameters
        ----------
        fn : callable
            ``fn(module, xb) -> tensor or tuple of tensors`` for one batch.
        X : ndarray of shape (n_samples, ...)
            Inputs, streamed in batches of ``batch_size`` rows.
        batch_size : int, default=None
            Defaults to :attr:`inference_batch_size`.

        Returns
        -------
        out : ndarray or tuple of ndarray
            float64 results, concatenated along the first axis.
        """
        module = self.net_.module_
        device = self.net_.device
        dtype = self._module_dtype()
        bs = batch_size or self.inference_batch_size
        was_training = module.training
        module.eval()
        chunks = []
        try:
            with torch.no_grad():
                for start in range(0, max(len(X), 1), bs):
                    xb = torch.as_tensor(
                        np.asarray(X[start : start + bs]), dtype=dtype, device=device
                    )
                    out = fn(module, xb)
                    out = out if isinstance(out, tuple) else (out,)
                    chunks.append(
                        tuple(o.detach().cpu().to(torch.float64).numpy() for o in out)
                    )
        finally:
            module.train(was_training)
        results = tuple(np.concatenate(parts) for parts in zip(*chunks))
        return results if len(results) > 1 else results[0]
