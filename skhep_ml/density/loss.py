"""Loss of FlowDensity: weighted maximum likelihood."""

from __future__ import annotations

import torch
from torch import nn

from ..nn.functional import weighted_mean

__all__ = ["WeightedNLL", "weighted_nll"]


def weighted_nll(
    log_prob: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Weighted mean negative log-likelihood ``-sum_i w_i log q(x_i) / sum_i w_i``.

    Maximum likelihood on weighted events: with samples from a proposal ``g``
    and ``w = p / g`` its minimum is at ``q = p``.

    Parameters
    ----------
    log_prob : Tensor of shape (n,)
        ``log q(x_i)`` of the model.
    weight : Tensor of shape (n,) or (n, 1), default=None
        Event weights (unit weights when None).

    Returns
    -------
    loss : Tensor of shape ()
    """
    if weight is not None:
        weight = weight.reshape(-1)
    return weighted_mean(-log_prob, weight)


class WeightedNLL(nn.Module):
    """skorch criterion: ``-mean_i w_i log q(x_i)`` over a batch.

    The module output is ``log q(x)`` of shape ``(n,)``; the target tensor holds
    the sample weights, shape ``(n,)`` or ``(n, 1)``, **normalised over the
    whole data set** (mean 1 there, as :class:`~skhep_ml.FlowDensity` passes
    them). A batch's loss is then ``-sum_b w_b log q_b / (n_b * mean_all w)``,
    an unbiased estimate of the data set's weighted mean NLL
    ``-sum_i w_i log q_i / sum_i w_i``; dividing by the batch's own weight sum
    instead is biased when a few large weights dominate (small effective
    sample sizes).

    Parameters
    ----------
    kl_weight : float, default=0.0
        Weight of the KL term of Bayesian flows (read by the net, see
        :class:`~skhep_ml.density._bayes.BayesianFlowNet`).
    """

    def __init__(self, kl_weight: float = 0.0):
        super().__init__()
        self.kl_weight = float(kl_weight)

    def forward(self, log_prob: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return -(log_prob * weight.reshape(-1)).mean()
