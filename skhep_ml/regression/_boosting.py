"""Pull boosting inside the training schedule (controlled overtraining).

After part of the optimizer steps, the training rows whose pulls
``|μ(x) - y| / σ(x)`` are largest get a larger weight for the rest of the
training (arXiv:2206.14831, sec. 4: the amplitudes with large pulls are fed to
the network again). The rounds sit inside the one learning-rate schedule, so a
boosted fit takes exactly the optimizer steps of the unboosted one.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch.callbacks import Callback

__all__ = ["PullBoosting", "boost_epochs"]


def boost_epochs(n_epochs, n_rounds, start):
    """Epochs (1-based) that begin with a boosting round.

    ``n_rounds`` rounds evenly spaced from the fraction ``start`` of the
    ``n_epochs`` towards the last fifth of them: round ``k`` of ``R`` begins
    after ``start + (0.8 - start) k / R`` of the epochs (``k = 0..R-1``), so
    at least the last fifth of the schedule, its low-learning-rate end, fits
    the boosted rows. Rounds that fall on the same epoch are merged.
    """
    fractions = start + (0.8 - start) * np.arange(n_rounds) / max(n_rounds, 1)
    return sorted({min(n_epochs, round(f * n_epochs) + 1) for f in fractions})


class PullBoosting(Callback):
    """Up-weight the training rows of the largest pulls at given epochs.

    The packed targets are ``[y (n_targets columns), sample_weight]``. At the
    start of each of ``epochs`` the weight of the training rows (rows held out
    for early stopping are left alone) whose pull is among the largest
    ``fraction`` is multiplied by ``1 + strength`` (1: the row counts twice, as
    if duplicated). Pulls use the posterior-mean network, the largest over
    the targets; rows of zero weight are never boosted.

    Parameters
    ----------
    n_targets : int
        Number of target columns.
    epochs : sequence of int
        1-based epochs that begin with a round.
    fraction : float
        Share of the training rows boosted per round.
    strength : float
        A boosted row's weight is multiplied by ``1 + strength``.

    Attributes
    ----------
    weights_ : ndarray
        The weight column of every row given to the fit, after training.
    """

    def __init__(self, n_targets, epochs, fraction, strength):
        self.n_targets = n_targets
        self.epochs = epochs
        self.fraction = fraction
        self.strength = strength

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.weights_ = y[:, self.n_targets].detach().cpu().numpy().copy()

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if len(net.history) not in self.epochs:
            return
        data, rows = _base_and_rows(dataset_train)
        pull = _pulls(net.module_, data.X[rows], data.y[rows], self.n_targets)
        n_boost = max(1, round(self.fraction * len(pull)))
        top = rows[torch.topk(pull, n_boost).indices]
        data.y[top, self.n_targets] *= 1.0 + self.strength


def _pulls(module, X, packed, t):
    """``max_t |μ - y| / σ`` of the posterior-mean network; 0 where weight is 0."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(X.to(next(module.parameters()).dtype))
    finally:
        module.train(was_training)
    z = (out[:, :t] - packed[:, :t].to(out.dtype)) * torch.exp(-out[:, t : 2 * t])
    pull = z.abs().amax(dim=1)
    return torch.where(packed[:, t] > 0, pull, torch.zeros_like(pull))


def _base_and_rows(dataset):
    """The underlying dataset and the index tensor of ``dataset``'s rows."""
    rows = None
    while isinstance(dataset, torch.utils.data.Subset):
        sub = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        rows = sub if rows is None else sub[rows]
        dataset = dataset.dataset
    if rows is None:
        rows = torch.arange(len(dataset))
    return dataset, rows
