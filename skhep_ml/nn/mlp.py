"""Plain multilayer perceptrons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}


def get_activation(name: str) -> type[nn.Module]:
    """Return the activation class called ``name`` (see ``ACTIVATIONS``)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"activation={name!r} is not one of {sorted(ACTIVATIONS)}."
        ) from None


def activation_gain(act: nn.Module) -> float:
    """Recommended init gain of an activation (:func:`nn.init.calculate_gain`)."""
    if isinstance(act, nn.Tanh):
        return nn.init.calculate_gain("tanh")
    if isinstance(act, nn.LeakyReLU):
        return nn.init.calculate_gain("leaky_relu", act.negative_slope)
    return nn.init.calculate_gain("relu")  # ReLU, SiLU, GELU, ELU


def make_mlp(
    n_in: int,
    n_out: int,
    hidden_layer_sizes: Sequence[int] = (64, 64),
    activation: str = "silu",
    zero_last: bool = False,
    glorot: bool = False,
) -> nn.Sequential:
    """Build ``Linear → act → … → Linear`` as an :class:`torch.nn.Sequential`.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    hidden_layer_sizes : sequence of int, default=(64, 64)
        Width of each hidden layer.
    activation : str, default="silu"
        Name of the hidden activation (``relu``, ``silu``, ``tanh``, ``gelu``,
        ``elu``, ``leaky_relu``).
    zero_last : bool, default=False
        Zero the last layer's weights and bias, so the network starts as the
        constant 0 (identity start of flows' coupling blocks).
    glorot : bool, default=False
        Draw the hidden layers' weights from Glorot's uniform initialisation
        scaled by the activation's gain (5/3 for tanh, √2 for the ReLU
        family), which keeps the pre-activations at unit scale through the
        layers; torch's default ``U(±1/√fan_in)`` shrinks them by ~√3 per
        layer (a tanh network then starts nearly linear). Biases keep torch's
        default.

    Returns
    -------
    mlp : torch.nn.Sequential
    """
    act = get_activation(activation)
    widths = [n_in, *hidden_layer_sizes]
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), act()]
    last = nn.Linear(widths[-1], n_out)
    if zero_last:
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
    if glorot:
        for lin, act_ in zip(layers[0::2], layers[1::2]):
            weight = cast(nn.Linear, lin).weight
            nn.init.xavier_uniform_(weight, gain=activation_gain(act_))
    layers.append(last)
    return nn.Sequential(*layers)


class MLP(nn.Module):
    """A multilayer perceptron that skorch can build from keyword arguments.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    hidden_layer_sizes : sequence of int, default=(64, 64)
        Width of each hidden layer.
    activation : str, default="silu"
        Hidden activation name.
    squeeze_output : bool, default=False
        Return shape ``(n,)`` instead of ``(n, 1)`` when ``n_out == 1``.
    zero_last : bool, default=False
        Initialise the output layer to zero (the network starts at output 0).
    glorot : bool, default=False
        Gain-scaled Glorot initialisation of the hidden layers (see
        :func:`make_mlp`).
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        hidden_layer_sizes: Sequence[int] = (64, 64),
        activation: str = "silu",
        squeeze_output: bool = False,
        zero_last: bool = False,
        glorot: bool = False,
    ):
        super().__init__()
        self.net = make_mlp(
            n_in,
            n_out,
            hidden_layer_sizes,
            activation,
            zero_last=zero_last,
            glorot=glorot,
        )
        self.squeeze_output = squeeze_output and n_out == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out.squeeze(-1) if self.squeeze_output else out
