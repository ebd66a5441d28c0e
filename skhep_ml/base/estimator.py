"""The estimator mixin: scikit-learn vocabulary to a trained skorch net."""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.dataset import ValidSplit

from .data import ArrayDataset, BatchLoader
from .progress import epoch_callbacks
from .seeding import resolve_device, torch_seed
from .validation import Interval, StrOptions, check_hidden_layer_sizes


def _silent(*args, **kwargs):
    """A picklable sink that prints nothing."""


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

    # set by the host estimator's __init__ (parameters) and fit (net_)
    early_stopping: bool
    validation_fraction: float
    lr: float
    max_epochs: int
    batch_size: int
    verbose: int
    net_: NeuralNet

    # -- fit helpers ---------------------------------------------------------
    def _init_fit(self):
        """Validate parameters; return ``(rng, device)`` for this fit."""
        self._validate_params()
        sizes = getattr(self, "hidden_layer_sizes", None)
        if sizes is not None:  # None: a default chosen by the estimator
            check_hidden_layer_sizes(sizes)
        rng = check_random_state(self.random_state)
        return rng, resolve_device(self.device)

    def _net_callbacks(
        self, seed, epoch_verbosity=1, schedule_epochs=None, patience=None
    ):
        """Early stopping, the learning-rate schedule, the progress bar (from
        ``verbose > epoch_verbosity``, in a terminal) and the user's callbacks.

        ``schedule_epochs`` (default ``self.max_epochs``) is the length of the
        learning-rate schedule, ``patience`` (default ``self.n_iter_no_change``)
        that of early stopping."""
        n_epochs = self.max_epochs if schedule_epochs is None else schedule_epochs
        callbacks = []
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=patience or self.n_iter_no_change,
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
                T_max=n_epochs,
                step_every="epoch",
            )
            callbacks.append(("lr_scheduler", scheduler))
        elif self.lr_schedule == "constant_cosine":
            scheduler = LRScheduler(
                policy=torch.optim.lr_scheduler.LambdaLR,
                lr_lambda=ConstantCosine(n_epochs),
                step_every="epoch",
            )
            callbacks.append(("lr_scheduler", scheduler))
        _, bar = epoch_callbacks(self.verbose, epoch_verbosity)
        if bar is not None:
            callbacks.append(("progress_bar", bar))
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
        net_class=NeuralNet,
        max_epochs: int | None = None,
        batch_size: int | None = None,
        epoch_verbosity: int | None = 1,
        schedule_epochs: int | None = None,
        patience: int | None = None,
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
        net_class : type, default=skorch.NeuralNet
            A private subclass of :class:`skorch.NeuralNet` when the loss needs
            more than the criterion.
        max_epochs : int, default=None
            Overrides ``self.max_epochs`` (e.g. for rounds of online training).
        batch_size : int, default=None
            Overrides ``self.batch_size`` (capped at ``n_samples`` likewise).
        epoch_verbosity : int or None, default=1
            ``verbose`` from which every epoch prints one plain line (coloured
            in a terminal; the next level adds a progress bar in a terminal);
            ``None``: no epoch output (the estimator reports its training
            itself). See :func:`~skhep_ml.base.progress.epoch_callbacks`.
        schedule_epochs : int, default=None
            Length of the learning-rate schedule (``self.max_epochs`` if None).
        patience : int, default=None
            Early-stopping patience in epochs (``self.n_iter_no_change`` if None).
        **kwargs
            Further skorch arguments.
        """
        print_log, _ = epoch_callbacks(self.verbose, epoch_verbosity)
        train_split = None
        if self.early_stopping:
            train_split = ValidSplit(self.validation_fraction, random_state=seed)
        params = dict(
            module=module,
            criterion=criterion,
            # torch's fused Adam (CPU and CUDA): a hand-written flat-buffer
            # Adam gained 0.99-1.16x on whole fits (benchmarks/bench_base.py)
            optimizer=torch.optim.Adam,
            optimizer__fused=True,
            lr=self.lr,
            max_epochs=self.max_epochs if max_epochs is None else max_epochs,
            batch_size=max(
                1, min(self.batch_size if batch_size is None else batch_size, n_samples)
            ),
            train_split=train_split,
            callbacks=self._net_callbacks(
                seed, epoch_verbosity, schedule_epochs, patience
            ),
            callbacks__print_log=print_log,
            device=device,
            verbose=int(print_log is not None),
            dataset=ArrayDataset,
            iterator_train=BatchLoader,
            iterator_train__shuffle=True,
            iterator_valid=BatchLoader,
            iterator_valid__batch_size=self.inference_batch_size,
        )
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
        self._drop_inference_copy()
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

    def _module_in(self, dtype=None):
        """The fitted module in ``dtype`` (default: its own) for inference.

        The module itself when it already has ``dtype``; otherwise a copy cast
        once and kept until the next training step (:meth:`_train_net` drops
        it), so repeated inference calls in another dtype copy nothing.
        """
        module = self.net_.module_
        if dtype is None or next(module.parameters()).dtype == dtype:
            return module
        cached = self.__dict__.get("_inference_copy")
        if cached is None or cached[0] is not module or cached[1] != dtype:
            cached = (module, dtype, copy.deepcopy(module).to(dtype))
            self.__dict__["_inference_copy"] = cached
        return cached[2]

    def _drop_inference_copy(self):
        """Forget the cast copy of :meth:`_module_in` (the weights changed)."""
        self.__dict__.pop("_inference_copy", None)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_inference_copy", None)  # rebuilt on demand
        return state

    def _forward_batches(self, fn, X, batch_size: int | None = None, dtype=None):
        """Apply ``fn`` to ``X`` in batches without gradients; return numpy.

        Parameters
        ----------
        fn : callable
            ``fn(module, xb) -> tensor or tuple of tensors`` for one batch.
        X : ndarray of shape (n_samples, ...)
            Inputs, streamed in batches of ``batch_size`` rows.
        batch_size : int, default=None
            Defaults to :attr:`inference_batch_size`.
        dtype : torch.dtype, default=None
            Compute dtype (the module's own when None); another dtype runs on
            the cached copy of :meth:`_module_in`.

        Returns
        -------
        out : ndarray or tuple of ndarray
            float64 results, concatenated along the first axis.
        """
        module = self._module_in(dtype)
        device = self.net_.device
        dtype = next(module.parameters()).dtype
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
