"""Coupling normalizing flows: affine and rational-quadratic spline blocks.

A :class:`Flow` is a stack of coupling blocks. Each block leaves one group of
features unchanged and transforms the other group elementwise, with parameters
predicted by an MLP from the unchanged group (and an optional context vector).
Both directions therefore cost one pass, so sampling is as cheap as density
evaluation (an autoregressive flow needs one pass per dimension to sample).

Two domains:

* ``domain="real"``: data on R^d, standard-normal latent; splines act on
  ``[-tail_bound, tail_bound]`` and are the identity outside (standardise the
  data first), affine blocks act everywhere.
* ``domain="unit"``: maps ``[0, 1]^d`` onto ``[0, 1]^d`` exactly, uniform
  latent (``log_prob`` of the latent is 0), the proposal of neural importance
  sampling.

References
----------
.. [1] L. Dinh, J. Sohl-Dickstein, S. Bengio, "Density estimation using Real
   NVP", arXiv:1605.08803.
.. [2] C. Durkan, A. Bekasov, I. Murray, G. Papamakarios, "Neural Spline
   Flows", arXiv:1906.04032.
.. [3] T. Müller et al., "Neural Importance Sampling", arXiv:1808.03856.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .mlp import make_mlp
from .splines import rqs_from_knots, rqs_knots, rqs_tails_from_knots

__all__ = [
    "AffineCoupling",
    "Flow",
    "GaussianMixtureBase",
    "RQSCoupling",
    "Rotation",
    "coupling_masks",
]

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
        if n_in > 0:
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

    def _elementwise_joint(self, x, theta_marginal, theta_cond):
        """Forward map of ``[conditioning | transformed]`` features in one call.

        ``theta_marginal`` (1, n_cond, n_params) is shared by every row,
        ``theta_cond`` (n, n_trans, n_params) is per row.
        """
        n = x.shape[0]
        theta = torch.cat([theta_marginal.expand(n, -1, -1), theta_cond], dim=1)
        return self._elementwise(x, theta, False)

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
        if inverse:
            # the conditioner sees the conditioning features in data space; the
            # marginal map is the same for every row: its parameters broadcast
            marginal = self.marginal.reshape(1, self.n_cond, -1)
            x_cond, lad_cond = self._elementwise(x_cond, marginal, True)
            y, lad = self._elementwise(x_trans, self._theta(x_cond, ctx, n), True)
            y = torch.cat([x_cond, y], dim=1)
            lad = lad.sum(dim=1) + lad_cond.sum(dim=1)
        else:
            # one elementwise call for both groups
            y, lad = self._elementwise_joint(
                torch.cat([x_cond, x_trans], dim=1),
                self.marginal.reshape(1, self.n_cond, -1),
                self._theta(x_cond, ctx, n),
            )
            lad = lad.sum(dim=1)
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

    def _elementwise_joint(self, x, theta_marginal, theta_cond):
        # the marginal maps' knots once (not once per row), then one evaluation
        n = x.shape[0]
        (knots_m, d_m), (knots_c, d_c) = map(self._knots, (theta_marginal, theta_cond))
        knots = tuple(
            torch.cat([m.expand(n, -1, -1), c], dim=1) for m, c in zip(knots_m, knots_c)
        )
        derivs = torch.cat([d_m.expand(n, -1, -1), d_c], dim=1)
        return self._evaluate(x, knots, derivs, False)


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
    ):
        super().__init__(
            n_features,
            idx_cond,
            idx_trans,
            2,
            hidden_layer_sizes,
            activation,
            n_context,
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


class GaussianMixtureBase(nn.Module):
    """A learnable full-covariance Gaussian mixture, usable as a flow's latent.

    ``log p(z) = logsumexp_k [log pi_k + log N(z; mu_k, (U_k U_k^T)^-1)]`` with
    ``U_k`` the upper-triangular Cholesky factor of component ``k``'s precision
    (positive diagonal, stored as its log), the parametrisation of
    scikit-learn's ``GaussianMixture.precisions_cholesky_``: ``(z - mu_k) U_k``
    is whitened. Sampling draws a component, then ``z = mu_k + U_k^-T eps``
    with ``eps`` standard normal.

    Parameters
    ----------
    n_features : int
        Dimension.
    n_components : int, default=1
        Mixture components; a fresh mixture has equal weights and standard-normal
        components at the origin.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn.mixture import GaussianMixture
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> gm = GaussianMixture(2, random_state=0).fit(X)
    >>> base = GaussianMixtureBase.from_sklearn(gm)
    >>> lp = base.log_prob(torch.as_tensor(X)).detach().numpy()
    >>> bool(np.allclose(lp, gm.score_samples(X)))
    True
    """

    def __init__(self, n_features: int, n_components: int = 1):
        super().__init__()
        if n_features < 1 or n_components < 1:
            raise ValueError(
                "n_features and n_components must be >= 1, got "
                f"{n_features} and {n_components}."
            )
        self.n_features = n_features
        self.n_components = n_components
        d, k = n_features, n_components
        self.logits = nn.Parameter(torch.zeros(k))
        self.means = nn.Parameter(torch.zeros(k, d))
        self.log_diag = nn.Parameter(torch.zeros(k, d))
        self.off_diag = nn.Parameter(torch.zeros(k, d * (d - 1) // 2))
        rows, cols = torch.triu_indices(d, d, offset=1)
        self.register_buffer("rows", rows)
        self.register_buffer("cols", cols)

    @classmethod
    def from_sklearn(cls, gmm) -> GaussianMixtureBase:
        """A mixture equal to a fitted ``sklearn.mixture.GaussianMixture``.

        Parameters
        ----------
        gmm : sklearn.mixture.GaussianMixture or sequence of them
            Fitted with ``covariance_type`` ``"full"``, ``"diag"``,
            ``"spherical"`` or ``"tied"``. A sequence gives their equal-weight
            average: one mixture of all their components, each mixture's
            weights divided by their number.

        Returns
        -------
        base : GaussianMixtureBase
            In float64 (cast it with ``.float()`` to train in float32); same
            ``log_prob`` as ``gmm.score_samples`` (for a sequence, the log of the
            mean of their densities) up to round-off.
        """
        gmms = list(gmm) if isinstance(gmm, (list, tuple)) else [gmm]
        log_w, means, chols = [], [], []
        for g in gmms:
            mean = torch.as_tensor(g.means_, dtype=torch.float64)
            k, d = mean.shape
            pc = torch.as_tensor(g.precisions_cholesky_, dtype=torch.float64)
            ctype = g.covariance_type
            if ctype == "full":
                chol = pc
            elif ctype == "tied":
                chol = pc.expand(k, d, d)
            elif ctype == "diag":
                chol = torch.diag_embed(pc)
            else:  # spherical
                chol = torch.diag_embed(pc[:, None].expand(k, d))
            log_w.append(torch.log(torch.as_tensor(g.weights_)) - math.log(len(gmms)))
            means.append(mean)
            chols.append(chol)
        means, chol = torch.cat(means), torch.cat(chols)
        k, d = means.shape
        base = cls(d, k).double()
        with torch.no_grad():
            base.logits.copy_(torch.cat(log_w))
            base.means.copy_(means)
            base.log_diag.copy_(torch.log(torch.diagonal(chol, dim1=1, dim2=2)))
            base.off_diag.copy_(chol[:, base.rows, base.cols])
        return base

    def precision_cholesky(self) -> torch.Tensor:
        """``U`` of shape ``(n_components, d, d)``, upper triangular."""
        k, d = self.n_components, self.n_features
        upper = torch.diag_embed(torch.exp(self.log_diag))
        if d > 1:
            upper = upper.index_put(
                (torch.arange(k, device=upper.device)[:, None], self.rows, self.cols),
                self.off_diag,
            )
        return upper

    def component_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """``log pi_k + log N(z; mu_k, Sigma_k)``, shape ``(n, n_components)``."""
        upper = self.precision_cholesky()
        diff = z[:, None, :] - self.means  # (n, k, d)
        white = torch.einsum("nki,kij->nkj", diff, upper)  # (z - mu_k) U_k
        log_w = torch.log_softmax(self.logits, dim=0)
        return (
            log_w
            + self.log_diag.sum(dim=1)
            - 0.5 * (white.square().sum(dim=2) + self.n_features * LOG_2PI)
        )

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Log-density of the mixture, shape ``(n,)``."""
        return torch.logsumexp(self.component_log_prob(z), dim=1)

    def sample(self, n: int, generator=None, dtype=None) -> torch.Tensor:
        """Draw ``n`` points, shape ``(n, n_features)``."""
        p = self.means
        dtype = dtype or p.dtype
        probs = torch.softmax(self.logits.to(torch.float64), dim=0)
        comp = torch.multinomial(probs, n, replacement=True, generator=generator)
        eps = torch.randn(
            (n, self.n_features), generator=generator, dtype=dtype, device=p.device
        )
        # Sigma = (U U^T)^-1 = A A^T with A = U^-T (lower triangular)
        eye = torch.eye(self.n_features, dtype=torch.float64, device=p.device)
        upper = self.precision_cholesky().to(torch.float64)
        factor = torch.linalg.solve_triangular(
            upper.transpose(1, 2), eye.expand_as(upper), upper=False
        ).to(dtype)
        return self.means.to(dtype)[comp] + torch.einsum(
            "nij,nj->ni", factor[comp], eps
        )


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
        e.g. a :class:`GaussianMixtureBase`. Its parameters are trained with
        the flow's.

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
        base: nn.Module | None = None,
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
                )
            else:
                block = AffineCoupling(
                    n_features,
                    cond,
                    trans,
                    hidden_layer_sizes=hidden_layer_sizes,
                    activation=activation,
                    n_context=n_context,
                )
            blocks.append(block)
        self.blocks = nn.ModuleList(blocks)

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
        for block in reversed(self.blocks):
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
