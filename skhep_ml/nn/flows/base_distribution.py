"""Base (latent) distributions of the flows."""

from __future__ import annotations

import math

import torch
from torch import nn

LOG_2PI = math.log(2.0 * math.pi)


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

    rows: torch.Tensor  # buffers: the strict upper triangle's indices
    cols: torch.Tensor

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
        mean, chol = torch.cat(means), torch.cat(chols)
        k, d = mean.shape
        base = cls(d, k).double()
        with torch.no_grad():
            base.logits.copy_(torch.cat(log_w))
            base.means.copy_(mean)
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


class StudentTBase(nn.Module):
    """A product of Student-t marginals with learnable degrees of freedom.

    ``log p(z) = sum_j log t_{nu_j}(z_j / sigma_j) - log sigma_j``: a heavy-tailed
    latent. With identity spline tails, a flow over a Gaussian latent gives
    every point beyond the spline interval a Gaussian tail, so a heavy-tailed
    (e.g. Student-t or power-law) density is scored orders of magnitude too
    low far out; a Student-t latent gives polynomial tails, whose powers
    ``nu_j`` are fitted with the flow. ``nu_j = 1 + softplus(.)`` stays above 1.

    Parameters
    ----------
    n_features : int
        Dimension.
    df : float, default=10.0
        Initial degrees of freedom of every marginal (> 1).

    Examples
    --------
    >>> import torch
    >>> base = StudentTBase(2, df=4.0)
    >>> base.log_prob(torch.zeros(1, 2)).shape
    torch.Size([1])
    """

    def __init__(self, n_features: int, df: float = 10.0):
        super().__init__()
        if n_features < 1:
            raise ValueError(f"n_features must be >= 1, got {n_features}.")
        if not df > 1.0:
            raise ValueError(f"df must be > 1, got {df}.")
        self.n_features = n_features
        raw = math.log(math.expm1(df - 1.0))
        self.raw_df = nn.Parameter(torch.full((n_features,), raw))
        self.log_scale = nn.Parameter(torch.zeros(n_features))

    @property
    def df(self) -> torch.Tensor:
        """Degrees of freedom per feature, shape ``(n_features,)``."""
        return 1.0 + nn.functional.softplus(self.raw_df)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Log-density, shape ``(n,)``."""
        nu = self.df
        u = z * torch.exp(-self.log_scale)
        const = (
            torch.lgamma(0.5 * (nu + 1.0))
            - torch.lgamma(0.5 * nu)
            - 0.5 * torch.log(nu * math.pi)
            - self.log_scale
        )
        return (const - 0.5 * (nu + 1.0) * torch.log1p(u.square() / nu)).sum(dim=1)

    def sample(self, n: int, generator=None, dtype=None) -> torch.Tensor:
        """Draw ``n`` points, shape ``(n, n_features)`` (numpy's Student-t,
        seeded from ``generator``)."""
        import numpy as np

        p = self.raw_df
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        nu = self.df.detach().cpu().to(torch.float64).numpy()
        t = np.random.default_rng(seed).standard_t(nu, size=(n, self.n_features))
        scale = torch.exp(self.log_scale.detach())
        out = torch.as_tensor(t, dtype=dtype or p.dtype, device=p.device)
        return out * scale.to(out.dtype)
