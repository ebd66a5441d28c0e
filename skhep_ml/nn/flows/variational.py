"""Variational conditioners: the coupling networks of Bayesian flows.

A Bayesian coupling flow (a Bayesian invertible network, Bellagente et al.,
arXiv:2104.04543) has a Gaussian posterior on every conditioner weight
(:class:`~skhep_ml.nn.bayesian.BayesianMLP`). Training samples the weights
per example (local reparameterisation); evaluation uses the posterior means,
or one *weight draw* shared by every row (:meth:`VariationalConditioner.draw`),
so that a drawn flow is one invertible network: its density, samples and
histograms spread over draws as the posterior does.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..bayesian import BayesianMLP

__all__ = ["VariationalConditioner"]


def _randn_like(t: torch.Tensor, generator) -> torch.Tensor:
    return torch.randn(t.shape, generator=generator, dtype=t.dtype, device=t.device)


class VariationalConditioner(nn.Module):
    """A :class:`~skhep_ml.nn.bayesian.BayesianMLP` whose weights can be frozen
    at one draw from their posterior.

    The last layer's means start at zero (a fresh flow is the identity).

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    hidden_layer_sizes : sequence of int
        Hidden widths.
    activation : str, default="silu"
        Hidden activation.
    prior_std : float, default=1.0
        Prior width of every weight.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        hidden_layer_sizes: Sequence[int],
        activation: str = "silu",
        prior_std: float = 1.0,
    ):
        super().__init__()
        self.mlp = BayesianMLP(
            n_in, n_out, tuple(hidden_layer_sizes), activation, prior_std=prior_std
        )
        last = self.mlp._variational_layers()[-1]
        with torch.no_grad():
            last.weight_mu.zero_()
            last.bias_mu.zero_()
        self._drawn: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def draw(self, generator: torch.Generator | None = None) -> None:
        """Freeze the weights at one draw from the posterior (every row shares it)."""
        drawn = []
        with torch.no_grad():
            for layer in self.mlp._variational_layers():
                mu_w, mu_b = layer.weight_mu, layer.bias_mu
                eps_w = _randn_like(mu_w, generator)
                eps_b = _randn_like(mu_b, generator)
                drawn.append(
                    (mu_w + layer.weight_sigma * eps_w, mu_b + layer.bias_sigma * eps_b)
                )
        self._drawn = drawn

    def clear_draw(self) -> None:
        """Back to the posterior (means in evaluation, sampled in training)."""
        self._drawn = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._drawn is None:
            return self.mlp(x)
        *hidden, (w_last, b_last) = self._drawn
        for w, b in hidden:
            x = self.mlp.activation(F.linear(x, w, b))
        return F.linear(x, w_last, b_last)

    def kl(self) -> torch.Tensor:
        """KL divergence of the posterior from the prior (summed)."""
        return self.mlp.kl()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_drawn"] = None  # a draw is not part of the model
        return state
