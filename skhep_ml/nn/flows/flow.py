"""The coupling flow: a stack of blocks over a base distribution."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from .base_distribution import GaussianMixtureBase, StudentTBase
from .coupling import (
    DOMAINS,
    PERMUTATIONS,
    TRANSFORMS,
    AffineCoupling,
    Rotation,
    RQSCoupling,
    _Coupling,
    coupling_masks,
)
from .variational import VariationalConditioner

LOG_2PI = math.log(2.0 * math.pi)


class Flow(nn.Module):
    """A coupling normalizing flow with a standard-normal or uniform latent.

    ``forward`` maps data to latent, ``inverse`` latent to data; both return the
    log-absolute Jacobian determinant of the map they evaluate. The last layer
    of every conditioner starts at zero, so a fresh flow is the identity.

    Parameters
    ----------
    n_features : int
        Dimension of the data (1 works: an unconditional elementwise spline or
        affine map per block, or a context-conditioned one).
    n_transforms : int, default=4
        Number of coupling blocks.
    transform : {"rqs", "affine"}, default="rqs"
        Rational-quadratic spline or affine coupling.
    bins : int, default=8
        Spline bins.
    hidden_layer_sizes : sequence of int, default=(64, 64)
        Conditioner MLP widths.
    activation : str, default="silu"
        Conditioner activation (``relu``, ``silu``, ``tanh``, ``gelu``, ``elu``,
        ``leaky_relu``).
    domain : {"real", "unit"}, default="real"
        ``"real"``: R^d with a standard-normal latent; splines on
        ``[-tail_bound, tail_bound]`` with identity tails. ``"unit"``:
        ``[0, 1]^d`` onto itself with a uniform latent (splines only).
    tail_bound : float, default=5.0
        Half width of the spline interval for ``domain="real"``.
    n_context : int, default=0
        Width of the conditioning input (0: unconditional).
    permutation : {"alternate", "random", "rotation"}, default="alternate"
        How the features are split between blocks (see :func:`coupling_masks`);
        ``"rotation"`` adds fixed random rotations between blocks
        (``domain="real"`` only). Random choices use torch's global generator.
    base : nn.Module, default=None
        Latent distribution replacing the standard normal (``domain="real"``
        only): a module with ``log_prob(z)`` and ``sample(n, generator=None)``,
        e.g. a :class:`GaussianMixtureBase` or :class:`StudentTBase`. Its
        parameters are trained with the flow's.
    bayesian : bool, default=False
        Variational coupling networks (a Bayesian invertible network): a
        Gaussian posterior on every conditioner weight, trained with
        :meth:`kl`; :meth:`draw_weights` freezes one draw from it.
    prior_std : float, default=1.0
        Prior width of the weights with ``bayesian=True``.

    Examples
    --------
    >>> import torch
    >>> from skhep_ml.nn import Flow
    >>> flow = Flow(2, n_transforms=2, bins=4, hidden_layer_sizes=(8,))
    >>> x = torch.randn(5, 2)
    >>> z, ladj = flow(x)
    >>> bool(torch.allclose(flow.inverse(z)[0], x, atol=1e-5))
    True
    >>> flow.sample(3).shape
    torch.Size([3, 2])
    """

    def __init__(
        self,
        n_features: int,
        *,
        n_transforms: int = 4,
        transform: str = "rqs",
        bins: int = 8,
        hidden_layer_sizes: Sequence[int] = (64, 64),
        activation: str = "silu",
        domain: str = "real",
        tail_bound: float = 5.0,
        n_context: int = 0,
        permutation: str = "alternate",
        base: GaussianMixtureBase | StudentTBase | None = None,
        bayesian: bool = False,
        prior_std: float = 1.0,
    ):
        super().__init__()
        if n_features < 1:
            raise ValueError(f"n_features must be >= 1, got {n_features}.")
        if n_transforms < 1:
            raise ValueError(f"n_transforms must be >= 1, got {n_transforms}.")
        if transform not in TRANSFORMS:
            raise ValueError(
                f"transform={transform!r} is not one of {list(TRANSFORMS)}."
            )
        if domain not in DOMAINS:
            raise ValueError(f"domain={domain!r} is not one of {list(DOMAINS)}.")
        if permutation not in PERMUTATIONS:
            raise ValueError(
                f"permutation={permutation!r} is not one of {list(PERMUTATIONS)}."
            )
        if domain == "unit" and transform != "rqs":
            raise ValueError(
                "domain='unit' needs transform='rqs' (affine maps leave [0, 1])."
            )
        if domain == "unit" and permutation == "rotation":
            raise ValueError("domain='unit' cannot use permutation='rotation'.")
        if transform == "rqs" and bins < 2:
            raise ValueError(f"bins must be >= 2, got {bins}.")
        if base is not None and domain != "real":
            raise ValueError("a custom base distribution needs domain='real'.")
        self.base = base
        self.n_features = n_features
        self.n_context = n_context
        self.domain = domain
        blocks: list[nn.Module] = []
        block: nn.Module
        masks = coupling_masks(n_features, n_transforms, permutation)
        for i, (cond, trans) in enumerate(masks):
            if permutation == "rotation" and i > 0 and n_features > 1:
                blocks.append(Rotation(n_features))
            if transform == "rqs":
                block = RQSCoupling(
                    n_features,
                    cond,
                    trans,
                    bins=bins,
                    hidden_layer_sizes=hidden_layer_sizes,
                    activation=activation,
                    domain=domain,
                    tail_bound=tail_bound,
                    n_context=n_context,
                    bayesian=bayesian,
                    prior_std=prior_std,
                )
            else:
                block = AffineCoupling(
                    n_features,
                    cond,
                    trans,
                    hidden_layer_sizes=hidden_layer_sizes,
                    activation=activation,
                    n_context=n_context,
                    bayesian=bayesian,
                    prior_std=prior_std,
                )
            blocks.append(block)
        self.blocks = nn.ModuleList(blocks)

    # -- Bayesian conditioners ---------------------------------------------
    def _variational(self) -> list[VariationalConditioner]:
        return [m for m in self.modules() if isinstance(m, VariationalConditioner)]

    @property
    def bayesian(self) -> bool:
        """Whether the conditioners are variational."""
        return bool(self._variational())

    def kl(self) -> torch.Tensor:
        """KL divergence of the weights' posterior from their prior (0 if none)."""
        terms = [m.kl() for m in self._variational()]
        return torch.stack(terms).sum() if terms else self._param().new_zeros(())

    def draw_weights(self, generator: torch.Generator | None = None) -> None:
        """Freeze every variational conditioner at one posterior draw."""
        for m in self._variational():
            m.draw(generator)

    def clear_weight_draw(self) -> None:
        """Back to the posterior means (evaluation) after :meth:`draw_weights`."""
        for m in self._variational():
            m.clear_draw()

    # -- helpers -------------------------------------------------------------
    def _param(self):
        return next(self.parameters())

    def _context(self, context, n):
        if self.n_context == 0:
            return None
        if context is None:
            raise ValueError(f"this flow needs a context of {self.n_context} features.")
        context = torch.as_tensor(
            context, dtype=self._param().dtype, device=self._param().device
        )
        if context.ndim == 1:
            context = context.expand(n, -1)
        if context.shape != (n, self.n_context):
            raise ValueError(
                f"context must have shape ({n}, {self.n_context}) or "
                f"({self.n_context},), got {tuple(context.shape)}."
            )
        return context

    def base_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Log-density of the latent: standard normal (or ``base``), 0 on the cube."""
        if self.base is not None:
            return self.base.log_prob(z)
        if self.domain == "unit":
            return z.new_zeros(z.shape[0])
        return -0.5 * (z.square().sum(dim=1) + self.n_features * LOG_2PI)

    def base_sample(self, n: int, generator=None) -> torch.Tensor:
        """Draw ``n`` latent points."""
        if self.base is not None:
            return self.base.sample(n, generator=generator)
        p = self._param()
        shape = (n, self.n_features)
        if self.domain == "unit":
            return torch.rand(
                shape, generator=generator, dtype=p.dtype, device=p.device
            )
        return torch.randn(shape, generator=generator, dtype=p.dtype, device=p.device)

    # -- the bijection ---------------------------------------------------------
    def forward(
        self, x: torch.Tensor, context=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Map data to latent.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
            Data.
        context : Tensor of shape (n, n_context) or (n_context,), default=None
            Conditioning input (required when ``n_context > 0``).

        Returns
        -------
        z : Tensor of shape (n, n_features)
            Latent points.
        logabsdet : Tensor of shape (n,)
            ``log |det dz/dx|``.
        """
        context = self._context(context, x.shape[0])
        total = x.new_zeros(x.shape[0])
        for block in self.blocks:
            x, lad = block(x, context)
            total = total + lad
        return x, total

    def inverse(
        self, z: torch.Tensor, context=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Map latent to data.

        Parameters
        ----------
        z : Tensor of shape (n, n_features)
            Latent points.
        context : Tensor of shape (n, n_context) or (n_context,), default=None
            Conditioning input.

        Returns
        -------
        x : Tensor of shape (n, n_features)
            Data points.
        logabsdet : Tensor of shape (n,)
            ``log |det dx/dz|``.
        """
        context = self._context(context, z.shape[0])
        total = z.new_zeros(z.shape[0])
        for block in reversed(cast("list[_Coupling | Rotation]", list(self.blocks))):
            z, lad = block.inverse(z, context)
            total = total + lad
        return z, total

    def log_prob(self, x: torch.Tensor, context=None) -> torch.Tensor:
        """Log-density of ``x``, shape ``(n,)``.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
            Data.
        context : Tensor, default=None
            Conditioning input.

        Returns
        -------
        log_prob : Tensor of shape (n,)
        """
        z, lad = self.forward(x, context)
        return self.base_log_prob(z) + lad

    def sample(self, n: int, context=None, generator=None) -> torch.Tensor:
        """Draw ``n`` points, shape ``(n, n_features)``.

        Parameters
        ----------
        n : int
            Number of points.
        context : Tensor of shape (n, n_context) or (n_context,), default=None
            Conditioning input.
        generator : torch.Generator, default=None
            Source of randomness (torch's global generator when None).

        Returns
        -------
        x : Tensor of shape (n, n_features)
        """
        return self.inverse(self.base_sample(n, generator), context)[0]

    def sample_with_log_prob(
        self, n: int, context=None, generator=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` points and their log-density in one pass.

        Parameters
        ----------
        n : int
            Number of points.
        context : Tensor of shape (n, n_context) or (n_context,), default=None
            Conditioning input.
        generator : torch.Generator, default=None
            Source of randomness.

        Returns
        -------
        x : Tensor of shape (n, n_features)
            Samples.
        log_prob : Tensor of shape (n,)
            ``log q(x)``.
        """
        z = self.base_sample(n, generator)
        x, lad = self.inverse(z, context)
        return x, self.base_log_prob(z) - lad
