"""The surrogate of :class:`~skhep_ml.ActiveScanner`: a user's estimator, or the
default MLP's arguments and its continued training between iterations."""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.base import clone
from skorch.callbacks import Callback

from ..base import check_hidden_layer_sizes

__all__ = ["continue_training", "estimator_output", "fit_estimator", "mlp_arguments"]


def fit_estimator(estimator, F, y, seed):
    """A clone of ``estimator`` (seeded by ``seed`` when it has a random_state)
    fitted on ``(F, y)``."""
    est = clone(estimator)
    if "random_state" in est.get_params():
        est.set_params(random_state=seed)
    return est.fit(F, y)


def estimator_output(est, F, classification):
    """The value (regression) or the probability of class 1 predicted by ``est``.

    A classifier without ``predict_proba`` gives 1.0 where it predicts 1; one
    that never saw class 1 gives zeros.
    """
    if not classification:
        return np.asarray(est.predict(F), dtype=np.float64).reshape(-1)
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(F)
        cols = np.flatnonzero(np.asarray(est.classes_) == 1)
        return proba[:, cols[0]] if len(cols) else np.zeros(len(F))
    return (np.asarray(est.predict(F)) == 1).astype(np.float64)


def mlp_arguments(n_in, hidden_layer_sizes, activation, classification):
    """Criterion and ``module__`` arguments of the default MLP surrogate.

    One output: a logit trained by binary cross-entropy (classification) or the
    standardised value trained by the squared error.
    """
    criterion = torch.nn.BCEWithLogitsLoss if classification else torch.nn.MSELoss
    return criterion, {
        "module__n_in": n_in,
        "module__n_out": 1,
        "module__hidden_layer_sizes": check_hidden_layer_sizes(hidden_layer_sizes),
        "module__activation": activation,
        "module__squeeze_output": True,
    }


class IterationCosine(Callback):
    """Cosine decay of the learning rate over each training call's epochs.

    Restarts at ``lr`` at the start of every ``fit``/``partial_fit`` and
    decays towards ``lr * floor`` over its epochs (the ``eta_min`` of
    cosine warm restarts, arXiv:1608.03983), so the warm-started surrogate of
    each scan iteration settles instead of ending wherever a constant rate's
    last steps left it, yet keeps learning the new points of its last epochs.
    """

    def __init__(self, lr, epochs, floor=0.1):
        self.lr = lr
        self.epochs = epochs
        self.floor = floor

    def on_train_begin(self, net, **kwargs):
        self.epoch_ = 0

    def on_epoch_begin(self, net, **kwargs):
        frac = min(self.epoch_ / max(1, self.epochs), 1.0)
        for group in net.optimizer_.param_groups:
            low = self.lr * self.floor
            group["lr"] = low + (self.lr - low) * 0.5 * (1.0 + math.cos(math.pi * frac))
        self.epoch_ += 1


def continue_training(net, epochs, batch_size, n_samples):
    """Set ``net`` up for the warm-started training of a scan iteration.

    ``epochs`` epochs at the batch size capped by ``n_samples``, without the
    first fit's learning-rate schedule (the scheduler is dropped; skorch's
    ``callbacks__lr_scheduler=None`` is not honoured by ``partial_fit``).
    """
    net.set_params(max_epochs=epochs, batch_size=max(1, min(batch_size, n_samples)))
    drop = ("lr_scheduler", "iteration_cosine")
    keep = [(n, cb) for n, cb in net.callbacks_ if n not in drop]
    keep.append(("iteration_cosine", IterationCosine(net.lr, epochs).initialize()))
    net.callbacks_ = keep
