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
    """skorch criterion: :func:`weighted_nll` of the module's ``log q(x)``.

    The module output is ``log q(x)`` of shape ``(n,)``; the target tensor holds
    the sample weights, shape ``(n,)`` or ``(n, 1)``.
    """

    def forward(self, log_prob: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return weighted_nll(log_prob, weight)
