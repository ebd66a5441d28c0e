"""Channel mappings and the multi-channel proposal module of the integrator.

A proposal channel is ``x = M(V(F^{-1}(z)))``: a uniform latent ``z``, a
unit-hypercube normalizing flow ``F`` (identity at start), a VEGAS grid map
``V`` and a fixed channel mapping ``M`` (identity, or resonance-adapted). A
small "defensive" fraction of every channel skips the flow (VEGAS map only) or
the flow and the grid (mapping only), which bounds the weights: a flow that
lost a mode cannot lose it silently. Channel weights ``α_i(x)`` come from a
softmax network times optional prior weights.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..nn.flows import Flow
from ..nn.mlp import make_mlp
from ..nn.vegas import VegasMap

__all__ = ["BreitWignerMapping", "CombinationBreitWignerMapping", "IdentityMapping"]


class IdentityMapping(nn.Module):
    """The identity channel mapping of the unit hypercube."""

    def forward(self, u):
        """Return ``(u, 0)``."""
        return u, u.new_zeros(u.shape[0])

    def inverse(self, x):
        """Return ``(x, 0)``."""
        return x, x.new_zeros(x.shape[0])


class BreitWignerMapping(nn.Module):
    """Resonance-adapted channel mapping of one coordinate of the unit hypercube.

    Coordinate ``axis`` is mapped by the inverse CDF of a Breit-Wigner of
    ``mass`` and ``width`` truncated to ``[0, 1]``, so a resonance
    ``1 / ((x - m)^2 + Γ^2/4)`` becomes flat; the other coordinates are
    unchanged. The channel-mapping protocol: ``forward(u) -> (x, log|dx/du|)``
    and ``inverse(x) -> (u, log|du/dx|)`` on torch tensors.

    Parameters
    ----------
    n_features : int
        Dimension of the hypercube.
    axis : int
        Coordinate carrying the resonance.
    mass : float
        Resonance position in ``[0, 1]``.
    width : float
        Resonance width ``Γ > 0``.

    Examples
    --------
    >>> import torch
    >>> from skhep_ml.integrate import BreitWignerMapping
    >>> m = BreitWignerMapping(2, axis=0, mass=0.3, width=0.01)
    >>> u = torch.rand(4, 2, dtype=torch.float64)
    >>> x, logj = m(u)
    >>> bool(torch.allclose(m.inverse(x)[0], u))
    True
    """

    def __init__(self, n_features, axis, mass, width):
        super().__init__()
        self.n_features = int(n_features)
        self.axis = int(axis)
        self.mass = float(mass)
        self.width = float(width)
        half = 0.5 * self.width
        self._a = math.atan((0.0 - self.mass) / half)
        self._b = math.atan((1.0 - self.mass) / half)

    def _log_jac(self, xa):
        half = 0.5 * self.width
        return torch.log((self._b - self._a) * ((xa - self.mass) ** 2 + half**2) / half)

    def forward(self, u):
        """Map ``u`` to ``x``; return ``(x, log|dx/du|)``."""
        half = 0.5 * self.width
        ua = u[:, self.axis]
        xa = self.mass + half * torch.tan(self._a + ua * (self._b - self._a))
        xa = xa.clamp(0.0, 1.0)
        x = u.clone()
        x[:, self.axis] = xa
        return x, self._log_jac(xa)

    def inverse(self, x):
        """Map ``x`` to ``u``; return ``(u, log|du/dx|)``."""
        half = 0.5 * self.width
        xa = x[:, self.axis]
        ua = (torch.atan((xa - self.mass) / half) - self._a) / (self._b - self._a)
        u = x.clone()
        u[:, self.axis] = ua.clamp(0.0, 1.0)
        return u, -self._log_jac(xa)


class CombinationBreitWignerMapping(nn.Module):
    """Breit-Wigner channel mapping of a linear combination of the inputs.

    A resonance in ``t = a·x`` (any direction ``a``: a ridge across the box,
    an invariant mass built from several inputs) or, with ``squared=True``, in
    ``s = (a·x)²`` (a relativistic Breit-Wigner in a squared mass) becomes flat
    along one coordinate. The mapping is triangular: every coordinate but the
    pivot ``k`` (the largest ``|a_k|``) is unchanged; given them,
    ``t = a_k x_k + Σ_{j≠k} a_j x_j`` spans an interval ``[t_lo, t_hi]`` as
    ``x_k`` spans ``[0, 1]``, and ``u_k`` is mapped by the inverse CDF of the
    Breit-Wigner truncated to it, so the Jacobian is exact::

        G(t) = atan((t - m) / (Γ/2))           (squared: atan((t² - m²) / (m Γ)))
        u_k  = (G(t) - G(t_lo)) / (G(t_hi) - G(t_lo))
        |dx/du| = (G(t_hi) - G(t_lo)) / (|a_k| G'(t))

    A resonance ``1 / ((t - m)² + Γ²/4)`` (or ``1 / ((s - m²)² + m²Γ²)``) times
    ``|dx/du|`` is then constant in ``u_k`` and smooth in the other coordinates.
    Computed in float64 (the difference of two arctangents near ``±π/2``
    loses digits in float32), returned in the input's dtype. With the
    channel-mapping protocol: ``forward(u) -> (x, log|dx/du|)`` and
    ``inverse(x) -> (u, log|du/dx|)`` on torch tensors of the unit cube.

    Parameters
    ----------
    coefficients : array-like of shape (n_features,)
        The combination ``a`` (need not be normalised; zero entries are inputs
        the resonance does not depend on). With ``squared=True`` all entries
        must be non-negative, so that ``a·x >= 0`` on the box.
    mass : float
        Resonance position: ``t = mass`` (or ``s = mass²``).
    width : float
        Width ``Γ > 0`` (in ``t``; with ``squared=True`` the ``Γ`` of
        ``1 / ((s - m²)² + m²Γ²)``).
    squared : bool, default=False
        Breit-Wigner in ``s = (a·x)²`` instead of ``t = a·x``.

    Attributes
    ----------
    pivot : int
        The mapped coordinate ``k``.

    See Also
    --------
    BreitWignerMapping : the resonance along one coordinate axis.

    Examples
    --------
    >>> import torch
    >>> from skhep_ml.integrate import CombinationBreitWignerMapping
    >>> m = CombinationBreitWignerMapping([0.6, -0.8, 0.0], mass=0.1, width=0.01)
    >>> u = torch.rand(5, 3, dtype=torch.float64)
    >>> x, logj = m(u)
    >>> bool(torch.allclose(m.inverse(x)[0], u)), m.pivot
    (True, 1)
    """

    def __init__(self, coefficients, mass, width, squared=False):
        super().__init__()
        a = np.asarray(coefficients, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(a)) or not np.any(a != 0):
            raise ValueError(
                f"coefficients must be finite and not all zero, got {a.tolist()}."
            )
        if not width > 0:
            raise ValueError(f"width must be positive, got {width}.")
        if squared and (np.any(a < 0) or not mass > 0):
            raise ValueError(
                "squared=True needs non-negative coefficients (a·x >= 0 on the "
                f"box) and a positive mass, got coefficients {a.tolist()} and "
                f"mass {mass}."
            )
        self.n_features = len(a)
        self.coefficients = a
        self.mass = float(mass)
        self.width = float(width)
        self.squared = bool(squared)
        self.pivot = int(np.argmax(np.abs(a)))
        self.register_buffer("_a", torch.as_tensor(a), persistent=False)
        self._ak = float(a[self.pivot])

    # G, its inverse and its derivative: the Breit-Wigner CDF up to a constant
    def _G(self, t):
        if self.squared:
            mg = self.mass * self.width
            return torch.atan((t * t - self.mass**2) / mg)
        return torch.atan((t - self.mass) / (0.5 * self.width))

    def _G_inverse(self, g):
        if self.squared:
            mg = self.mass * self.width
            return torch.sqrt((self.mass**2 + mg * torch.tan(g)).clamp_min(0.0))
        return self.mass + 0.5 * self.width * torch.tan(g)

    def _log_G_prime(self, t):
        if self.squared:
            mg = self.mass * self.width
            t = t.clamp_min(1e-300)
            return torch.log(mg * 2 * t / ((t * t - self.mass**2) ** 2 + mg**2))
        half = 0.5 * self.width
        return torch.log(half / ((t - self.mass) ** 2 + half**2))

    def _interval(self, rest):
        """``G(t_lo), G(t_hi)`` given the sum ``rest`` of the other terms."""
        lo = rest + min(0.0, self._ak)
        hi = rest + max(0.0, self._ak)
        if self.squared:
            lo = lo.clamp_min(0.0)
        return self._G(lo), self._G(hi)

    def _rest(self, y):
        """``Σ_{j≠k} a_j y_j`` (float64)."""
        k = self.pivot
        return y @ self._a.to(y) - self._ak * y[:, k]

    def forward(self, u):
        """Map ``u`` to ``x``; return ``(x, log|dx/du|)``."""
        y = u.to(torch.float64)
        k = self.pivot
        rest = self._rest(y)
        g_lo, g_hi = self._interval(rest)
        t = self._G_inverse(g_lo + y[:, k] * (g_hi - g_lo))
        x = y.clone()
        x[:, k] = ((t - rest) / self._ak).clamp(0.0, 1.0)
        logj = torch.log(g_hi - g_lo) - math.log(abs(self._ak)) - self._log_G_prime(t)
        return x.to(u.dtype), logj.to(u.dtype)

    def inverse(self, x):
        """Map ``x`` to ``u``; return ``(u, log|du/dx|)``."""
        y = x.to(torch.float64)
        k = self.pivot
        rest = self._rest(y)
        t = rest + self._ak * y[:, k]
        if self.squared:
            t = t.clamp_min(0.0)
        g_lo, g_hi = self._interval(rest)
        u = y.clone()
        u[:, k] = ((self._G(t) - g_lo) / (g_hi - g_lo)).clamp(0.0, 1.0)
        logj = self._log_G_prime(t) + math.log(abs(self._ak)) - torch.log(g_hi - g_lo)
        return u.to(x.dtype), logj.to(x.dtype)


class _Channel(nn.Module):
    """One channel: mapping ∘ VEGAS map ∘ flow, with defensive components.

    The density is the mixture ``(1 - ε) g_flow + 3ε/4 g_VEGAS + ε/4 g_map``
    of the full channel, its VEGAS map alone and its mapping alone (uniform
    before the mapping), so the weights stay bounded by ``4 f / (ε g_map)``
    even where the flow and the VEGAS grid both lost a region.
    """

    #: share of the defensive fraction drawn from the mapping alone
    uniform_share = 0.25

    def __init__(self, n_dims, grid, mapping, defensive_fraction, flow_kwargs):
        super().__init__()
        self.mapping = mapping if mapping is not None else IdentityMapping()
        self.vegas = VegasMap(grid, n_dims=n_dims)
        self.flow = Flow(n_dims, domain="unit", **flow_kwargs)
        self.defensive_fraction = float(defensive_fraction)

    def component_shares(self):
        """Mixture weights of (flow, VEGAS only, mapping only)."""
        eps = self.defensive_fraction
        return (1.0 - eps, eps * (1.0 - self.uniform_share), eps * self.uniform_share)

    def _mix(self, log_qf, lj_v):
        """Mixture log density in ``u`` space from the flow part and VEGAS Jacobian.

        ``log_qf``: flow density at ``y``; ``lj_v``: ``log|dy/du|``.
        """
        shares = self.component_shares()
        if shares[0] >= 1.0:
            return log_qf + lj_v
        terms = [
            log_qf + lj_v + math.log(shares[0]),
            lj_v + math.log(shares[1]),
            torch.full_like(lj_v, math.log(shares[2])),
        ]
        return torch.logsumexp(torch.stack(terms, -1), -1)

    def log_prob(self, x):
        """Log density of the channel proposal at unit-cube points ``x``."""
        u, lj_m = self.mapping.inverse(x)
        y, lj_v = self.vegas.inverse(u)
        y = y.clamp(0.0, 1.0)
        return self._mix(self.flow.log_prob(y), lj_v) + lj_m

    def log_prob_vegas(self, x):
        """Log density of the channel without its flow (VEGAS map only)."""
        u, lj_m = self.mapping.inverse(x)
        _, lj_v = self.vegas.inverse(u)
        return lj_m + lj_v

    def from_latent(self, z, component: int):
        """Map latent ``z`` to ``x``; return ``(x, log g(x))`` (mixture density).

        ``component``: 0 the full channel, 1 its VEGAS map only, 2 its mapping
        only.
        """
        if component == 0:
            y, ladj = self.flow.inverse(z)
            y = y.clamp(0.0, 1.0)
            u, lj_v_fwd = self.vegas(y)
            x, lj_m_fwd = self.mapping(u)
            return x, self._mix(-ladj, -lj_v_fwd) - lj_m_fwd
        if component == 1:
            u, _ = self.vegas(z)
        else:
            u = z
        x, _ = self.mapping(u)
        return x, self.log_prob(x)

    def from_latent_parts(self, parts):
        """:meth:`from_latent` of several ``(z, component)`` parts at once.

        The defensive components (1 and 2) share one density evaluation, so a
        draw costs one flow inverse and one flow forward pass per channel.
        Returns a list of ``(x, log g(x))`` in the order of ``parts``.
        """
        out = [None] * len(parts)
        defensive, xs = [], []
        for j, (z, component) in enumerate(parts):
            if component == 0:
                out[j] = self.from_latent(z, 0)
                continue
            u = self.vegas(z)[0] if component == 1 else z
            xs.append(self.mapping(u)[0])
            defensive.append(j)
        if defensive:
            x = torch.cat(xs)
            log_g = self.log_prob(x)
            start = 0
            for j, xj in zip(defensive, xs):
                out[j] = (xj, log_g[start : start + len(xj)])
                start += len(xj)
        return out


class Proposal(nn.Module):
    """Multi-channel proposal: per-channel densities and channel weights.

    ``forward(X)`` takes ``X = [x, log prior weights]`` of shape
    ``(n, n_dims + n_channels)`` and returns ``(log g_i(x), log α_i(x))``, two
    ``(n, n_channels)`` tensors.

    Parameters
    ----------
    n_dims : int
        Dimension.
    grids : list of array-like
        VEGAS grid per channel (``(n_dims, bins + 1)``).
    mappings : list of nn.Module or None
        Channel mappings (``None`` = identity).
    defensive_fraction : float
        Share of every channel sampled without its flow.
    flow_kwargs : dict
        Arguments of :class:`skhep_ml.nn.Flow`.
    cw_hidden : tuple of int
        Hidden widths of the channel-weight network.
    cw_init_std : float
        Initial std of its last layer (0: start from the prior weights; > 0
        breaks the symmetry of identical channels).
    map_prior : bool
        Multiply the channel weights by the channels' VEGAS-map densities
        (the balance heuristic of multi-channel integration), for channels
        with distinct mappings.
    flow_prior : bool
        Multiply the channel weights by the channels' full densities
        (detached; the balance heuristic with the trained flows), for
        identical channels: a channel's weight then falls where its own
        proposal is thin, which bounds ``α_i f / g_i`` by about
        ``f / Σ_j g_j`` even for the points its defensive components put
        into another channel's peak.
    """

    def __init__(
        self,
        n_dims,
        grids,
        mappings,
        defensive_fraction,
        flow_kwargs,
        cw_hidden=(32,),
        cw_init_std=0.0,
        map_prior=False,
        flow_prior=False,
    ):
        super().__init__()
        self.n_dims = int(n_dims)
        self.channels = nn.ModuleList(
            _Channel(n_dims, g, m, defensive_fraction, flow_kwargs)
            for g, m in zip(grids, mappings)
        )
        self.n_channels = len(self.channels)
        self.map_prior = bool(map_prior)
        self.flow_prior = bool(flow_prior)
        self.cwnet = None
        if self.n_channels > 1:
            self.cwnet = make_mlp(
                n_dims, self.n_channels, tuple(cw_hidden), "silu", zero_last=True
            )
            if cw_init_std > 0:
                nn.init.normal_(self.cwnet[-1].weight, std=cw_init_std)

    def log_alpha(self, x, log_prior, log_q=None):
        """Log channel weights ``log α_i(x)`` (rows sum to one).

        ``log_q``: the channels' log densities at ``x`` when already known
        (used with ``flow_prior``).
        """
        if self.cwnet is None:
            return x.new_zeros(x.shape[0], 1)
        logits = self.cwnet(x) + log_prior
        if self.map_prior:
            with torch.no_grad():
                logits = logits + torch.stack(
                    [ch.log_prob_vegas(x) for ch in self.channels], dim=-1
                )
        if self.flow_prior:
            if log_q is None:
                with torch.no_grad():
                    log_q = self.log_probs(x)
            logits = logits + log_q.detach()
        return torch.log_softmax(logits, dim=-1)

    def log_probs(self, x):
        """``(n, n_channels)`` log densities of every channel."""
        return torch.stack([ch.log_prob(x) for ch in self.channels], dim=-1)

    def own_log_probs(self, x, ch):
        """``(n, n_channels)`` log densities for training on own samples.

        Row ``r`` drawn from channel ``ch[r]`` gets that channel's density with
        gradient; the other channels' densities (used only by the channel
        weights of ``flow_prior``, detached there) are evaluated without
        gradient, or left at 0 when not used. A row then costs one backward
        pass through one flow instead of one through every flow.
        """
        cols = []
        for j, channel in enumerate(self.channels):
            own = ch == j
            col = x.new_zeros(len(x))
            rows = own.nonzero().squeeze(1)
            if len(rows):
                col = col.index_put((rows,), channel.log_prob(x[rows]))
            rows = (~own).nonzero().squeeze(1)
            if self.flow_prior and len(rows):
                with torch.no_grad():
                    other = channel.log_prob(x[rows])
                col = col.index_put((rows,), other)
            cols.append(col)
        return torch.stack(cols, dim=-1)

    def forward(self, X):
        """``(log g_i(x), log α_i(x))`` at ``X = [x, log prior weights]``.

        With one more column, the channel each row was drawn from, the
        densities are those of :meth:`own_log_probs`.
        """
        d, C = self.n_dims, self.n_channels
        x = X[:, :d]
        log_prior = X[:, d : d + C]
        if X.shape[1] > d + C:
            log_q = self.own_log_probs(x, X[:, d + C].long())
        else:
            log_q = self.log_probs(x)
        return log_q, self.log_alpha(x, log_prior, log_q)
