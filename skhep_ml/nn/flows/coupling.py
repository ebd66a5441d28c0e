"""Coupling blocks (affine, rational-quadratic spline) and their masks."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..mlp import make_mlp
from .splines import rqs_from_knots, rqs_knots, rqs_tails_from_knots
from .variational import VariationalConditioner

LOG_2PI = math.log(2.0 * math.pi)
TRANSFORMS = ("rqs", "affine")
DOMAINS = ("real", "unit")
PERMUTATIONS = ("alternate", "random", "rotation")


def coupling_masks(n_features: int, n_transforms: int, permutation: str = "alternate"):
    """Split the features into (conditioning, transformed) index groups per block.

    Parameters
    ----------
    n_features : int
        Dimension.
    n_transforms : int
        Number of coupling blocks.
    permutation : {"alternate", "random", "rotation"}, default="alternate"
        ``"alternate"`` cycles through odd|even, even|odd, first half|second
        half and second|first half, so every pair of features conditions each
        other within four blocks. ``"random"`` draws a random split (from
        torch's global generator) for every pair of blocks and swaps its halves
        in the second block of the pair. ``"rotation"`` uses halves
        (:class:`Flow` puts random rotations between the blocks).

    Returns
    -------
    masks : list of (list of int, list of int)
        ``(conditioning, transformed)`` per block; with one feature the
        conditioning group is empty.
    """
    d = n_features
    if d == 1:
        return [([], [0]) for _ in range(n_transforms)]
    half = d // 2
    evens, odds = list(range(0, d, 2)), list(range(1, d, 2))
    first, second = list(range(half)), list(range(half, d))
    masks = []
    for i in range(n_transforms):
        if permutation == "alternate":
            patterns = [(evens, odds), (odds, evens), (first, second), (second, first)]
            masks.append(patterns[i % 4])
        elif permutation == "random":
            if i % 2 == 0:
                perm = torch.randperm(d).tolist()
                a, b = sorted(perm[:half]), sorted(perm[half:])
                masks.append((a, b))
            else:
                masks.append((b, a))
        elif permutation == "rotation":
            masks.append((first, second) if i % 2 == 0 else (second, first))
        else:
            raise ValueError(
                f"permutation={permutation!r} is not one of {list(PERMUTATIONS)}."
            )
    return masks


class _Coupling(nn.Module):
    """Elementwise map of ``idx_trans`` conditioned on ``idx_cond`` (+ context)."""

    def __init__(
        self,
        n_features: int,
        idx_cond: Sequence[int],
        idx_trans: Sequence[int],
        n_params: int,
        hidden_layer_sizes: Sequence[int],
        activation: str,
        n_context: int,
        bayesian: bool = False,
        prior_std: float = 1.0,
    ):
        super().__init__()
        self.n_features = n_features
        self.n_params = n_params
        self.n_cond = len(idx_cond)
        self.n_trans = len(idx_trans)
        self.n_context = n_context
        self.register_buffer(
            "idx_cond", torch.as_tensor(list(idx_cond), dtype=torch.long)
        )
        self.register_buffer(
            "idx_trans", torch.as_tensor(list(idx_trans), dtype=torch.long)
        )
        order = torch.as_tensor(list(idx_cond) + list(idx_trans), dtype=torch.long)
        self.register_buffer("inv_order", torch.argsort(order))
        n_in = self.n_cond + n_context
        n_out = self.n_trans * n_params
        self.conditioner: nn.Module | None
        if n_in > 0 and bayesian:
            self.conditioner = VariationalConditioner(
                n_in, n_out, hidden_layer_sizes, activation, prior_std=prior_std
            )
            self.params = None
        elif n_in > 0:
            self.conditioner = make_mlp(
                n_in, n_out, tuple(hidden_layer_sizes), activation, zero_last=True
            )
            self.params = None
        else:
            self.conditioner = None
            self.params = nn.Parameter(torch.zeros(n_out))
        # an unconditional elementwise map of the conditioning features too, so
        # every feature is transformed in every block (cheap: no network)
        self.marginal = (
            nn.Parameter(torch.zeros(self.n_cond * n_params)) if self.n_cond else None
        )

    def _theta(self, x_cond, context, n):
        if self.conditioner is None:
            theta = self.params.expand(n, -1)
        else:
            h = x_cond if context is None else torch.cat([x_cond, context], dim=-1)
            theta = self.conditioner(h)
        return theta.reshape(n, self.n_trans, self.n_params)

    def _elementwise(self, x, theta, inverse):  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform(self, x, context, inverse):
        n = x.shape[0]
        if self.n_cond:
            x_cond = x.index_select(1, self.idx_cond)
            x_trans = x.index_select(1, self.idx_trans)
        else:
            x_cond, x_trans = x[:, :0], x
        if self.n_context and context is None:
            raise ValueError(f"this flow needs a context of {self.n_context} features.")
        ctx = context if self.n_context else None
        if not self.n_cond:
            y, lad = self._elementwise(x_trans, self._theta(x_cond, ctx, n), inverse)
            return y, lad.sum(dim=1)
        # the marginal map is the same for every row: its parameters broadcast
        # (the inverse conditions on the conditioning features in data space)
        marginal = self.marginal.reshape(1, self.n_cond, -1)
        y_cond, lad_cond = self._elementwise(x_cond, marginal, inverse)
        theta = self._theta(y_cond if inverse else x_cond, ctx, n)
        y, lad = self._elementwise(x_trans, theta, inverse)
        y = torch.cat([y_cond, y], dim=1)
        lad = lad.sum(dim=1) + lad_cond.sum(dim=1)
        return y.index_select(1, self.inv_order), lad

    def forward(self, x, context=None):
        """Data direction → latent direction; returns ``(y, log|det dy/dx|)``."""
        return self._transform(x, context, inverse=False)

    def inverse(self, y, context=None):
        """Latent direction → data direction; returns ``(x, log|det dx/dy|)``."""
        return self._transform(y, context, inverse=True)


class RQSCoupling(_Coupling):
    """Rational-quadratic spline coupling block (Durkan et al., arXiv:1906.04032).

    Parameters
    ----------
    n_features : int
        Dimension.
    idx_cond, idx_trans : sequence of int
        Conditioning and transformed features.
    bins : int, default=8
        Spline bins.
    hidden_layer_sizes : sequence of int, default=(64, 64)
        Conditioner MLP widths.
    activation : str, default="silu"
        Conditioner activation.
    domain : {"real", "unit"}, default="real"
        ``"real"``: spline on ``[-tail_bound, tail_bound]``, identity outside;
        ``"unit"``: ``[0, 1]`` onto ``[0, 1]``.
    tail_bound : float, default=5.0
        Half width of the spline interval for ``domain="real"``.
    n_context : int, default=0
        Context features fed to the conditioner.
    bayesian : bool, default=False
        Variational conditioner (:class:`VariationalConditioner`): a Gaussian
        posterior on every weight.
    prior_std : float, default=1.0
        Prior width of the weights with ``bayesian=True``.
    """

    def __init__(
        self,
        n_features,
        idx_cond,
        idx_trans,
        *,
        bins=8,
        hidden_layer_sizes=(64, 64),
        activation="silu",
        domain="real",
        tail_bound=5.0,
        n_context=0,
        bayesian=False,
        prior_std=1.0,
    ):
        n_params = 3 * bins + (1 if domain == "unit" else -1)
        super().__init__(
            n_features,
            idx_cond,
            idx_trans,
            n_params,
            hidden_layer_sizes,
            activation,
            n_context,
            bayesian,
            prior_std,
        )
        self.bins = bins
        self.domain = domain
        self.tail_bound = float(tail_bound)

    def _split(self, theta):
        k = self.bins
        return theta[..., :k], theta[..., k : 2 * k], theta[..., 2 * k :]

    def _knots(self, theta):
        """``(knots, derivative logits)`` of the splines with parameters ``theta``."""
        w, h, d = self._split(theta)
        if self.domain == "unit":
            return rqs_knots(w, h, low=0.0, high=1.0), d
        return rqs_knots(w, h, low=-self.tail_bound, high=self.tail_bound), d

    def _evaluate(self, x, knots, derivs, inverse):
        if self.domain == "unit":
            return rqs_from_knots(x, knots, derivs, inverse=inverse)
        return rqs_tails_from_knots(
            x, knots, derivs, inverse=inverse, tail_bound=self.tail_bound
        )

    def _elementwise(self, x, theta, inverse):
        return self._evaluate(x, *self._knots(theta), inverse)


class AffineCoupling(_Coupling):
    """Affine (RealNVP) coupling block, ``y = x * exp(s) + t`` (arXiv:1605.08803).

    The log-scale is soft-clamped, ``s = clamp * tanh(raw / clamp)``.

    Parameters
    ----------
    n_features : int
        Dimension.
    idx_cond, idx_trans : sequence of int
        Conditioning and transformed features.
    hidden_layer_sizes : sequence of int, default=(64, 64)
        Conditioner MLP widths.
    activation : str, default="silu"
        Conditioner activation.
    n_context : int, default=0
        Context features fed to the conditioner.
    clamp : float, default=3.0
        Bound of the log-scale.
    bayesian : bool, default=False
        Variational conditioner (:class:`VariationalConditioner`): a Gaussian
        posterior on every weight.
    prior_std : float, default=1.0
        Prior width of the weights with ``bayesian=True``.
    """

    def __init__(
        self,
        n_features,
        idx_cond,
        idx_trans,
        *,
        hidden_layer_sizes=(64, 64),
        activation="silu",
        n_context=0,
        clamp=3.0,
        bayesian=False,
        prior_std=1.0,
    ):
        super().__init__(
            n_features,
            idx_cond,
            idx_trans,
            2,
            hidden_layer_sizes,
            activation,
            n_context,
            bayesian,
            prior_std,
        )
        self.clamp = float(clamp)

    def _elementwise(self, x, theta, inverse):
        shift = theta[..., 0]
        log_scale = self.clamp * torch.tanh(theta[..., 1] / self.clamp)
        log_scale = log_scale.expand_as(x)
        if inverse:
            return (x - shift) * torch.exp(-log_scale), -log_scale
        return x * torch.exp(log_scale) + shift, log_scale


class Rotation(nn.Module):
    """A fixed random rotation ``y = x @ Q`` (``|det| = 1``), drawn at init.

    ``Q`` is kept in float64 whatever the module's dtype (a float32 copy would
    not be orthogonal to float64 precision) and cast at use.

    Parameters
    ----------
    n_features : int
        Dimension.
    """

    def __init__(self, n_features: int):
        super().__init__()
        a = torch.randn(n_features, n_features).to(torch.float64)
        q, r = torch.linalg.qr(a)
        self.register_buffer("matrix", q * torch.sign(torch.diagonal(r)))

    def _apply(self, fn, recurse=True):
        matrix = self.matrix
        out = super()._apply(fn, recurse)
        self.matrix = matrix.to(device=self.matrix.device)  # stays float64
        return out

    def forward(self, x, context=None):
        """Rotate; returns ``(x @ Q, 0)``."""
        return x @ self.matrix.to(x.dtype), x.new_zeros(x.shape[0])

    def inverse(self, y, context=None):
        """Rotate back; returns ``(y @ Q^T, 0)``."""
        return y @ self.matrix.to(y.dtype).T, y.new_zeros(y.shape[0])
