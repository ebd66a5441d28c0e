"""Loss of the BayesianRegressor: heteroscedastic Gaussian likelihood."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..nn.functional import weighted_mean

__all__ = ["HeteroscedasticGaussianNLL", "gaussian_nll"]

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_nll(
    mean: torch.Tensor, log_sigma: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Per-sample negative log-likelihood of ``target`` under ``N(mean, sigma^2)``.

    Summed over the last (target) axis; shape ``(n,)``.
    """
    z = (target - mean) * torch.exp(-log_sigma)
    return (0.5 * z**2 + log_sigma + 0.5 * LOG_2PI).sum(-1)


class HeteroscedasticGaussianNLL(nn.Module):
    """Weighted Gaussian NLL of a network that predicts ``[mean, log sigma]``.

    The module output has ``2 * n_targets`` columns: means then log widths. The
    target tensor packs ``[y (n_targets columns), sample_weight]``.

    Parameters
    ----------
    n_targets : int
        Number of regression targets.
    kl_weight : float, default=0.0
        Factor of the model's KL term, ``1 / N_train`` for the ELBO; read by the
        net's ``get_loss`` (the criterion cannot see the module).
    """

    def __init__(self, n_targets: int, kl_weight: float = 0.0):
        super().__init__()
        self.n_targets = n_targets
        self.kl_weight = kl_weight

    def forward(self, output: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
        t = self.n_targets
        mean, log_sigma = output[:, :t], output[:, t : 2 * t]
        nll = gaussian_nll(mean, log_sigma, packed[:, :t])
        return weighted_mean(nll, packed[:, t])
