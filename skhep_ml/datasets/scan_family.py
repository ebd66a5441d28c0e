"""A procedural family of scan problems with exact truth (issue 20).

:func:`make_scan_family` draws, from a seed, an allowed region of one of five
kinds in ``d = 2 .. 10`` dimensions: ``"periodic"`` (a product of cosines in a
band, 2-30 pieces), ``"ellipsoids"`` (a union of 1-6 randomly oriented
ellipsoids whose volumes span up to three decades), ``"shells"`` (1-3 thin
spherical shells), ``"ridge"`` (a likelihood ridge: a tube around a curved
line, banana-like) and ``"relic"`` (a relic-density-like hypersurface
``Ω h² = 0.12 ± 10 %`` with resonant dips that may split it into branches).

Every region is defined in the unit cube ``u`` and mapped affinely onto a
random box ``bounds``; the problem plugs into
:class:`~skhep_ml.ActiveScanner` as ``objective``, ``bounds`` and ``target``
(an observable ``(n, d) -> (n,)`` and its band). Membership is exact (the
objective in the band, inside the box); :meth:`ScanRegion.sample_truth` draws
exactly uniformly from the region (piece-wise or by rejection from a proposal
that holds the region tightly, never from the whole box); the pieces
(connected components) are known by construction and
:meth:`ScanRegion.piece_of` labels a point's piece.
"""

from __future__ import annotations

import math
from functools import cached_property, partial

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln

__all__ = [
    "SCAN_FAMILY_KINDS",
    "EllipsoidRegion",
    "PeriodicRegion",
    "RelicRegion",
    "RidgeRegion",
    "ScanRegion",
    "ShellRegion",
    "make_scan_family",
]

#: the kinds :func:`make_scan_family` draws from, in this order
SCAN_FAMILY_KINDS = ("periodic", "ellipsoids", "shells", "ridge", "relic")

#: proposals per Monte Carlo chunk (volume estimates and rejection sampling)
_CHUNK = 200_000


def _ball_volume(d):
    """Volume of the unit ball in ``d`` dimensions."""
    return math.exp(0.5 * d * math.log(math.pi) - gammaln(0.5 * d + 1.0))


def _uniform_shell(n, d, r_in, r_out, rng):
    """``n`` points uniform in the shell ``r_in <= |x| <= r_out`` of ``R^d``.

    A uniform direction and the radius by inversion of its ``r^(d-1)`` law.
    """
    g = rng.standard_normal((n, d))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    r = (r_in**d + rng.random((n, 1)) * (r_out**d - r_in**d)) ** (1.0 / d)
    return g * r


def _rejection(n, d, propose, accept, rng):
    """``n`` accepted proposals: ``propose(m, rng) -> (m, d)``, ``accept -> bool``."""
    out, have = [], 0
    while have < n:
        cand = propose(_CHUNK, rng)
        cand = cand[accept(cand, rng)]
        out.append(cand)
        have += len(cand)
    return np.vstack(out)[:n] if out else np.empty((0, d))


def _draw_pieces(n, shares, rng):
    """Piece index of each of ``n`` draws, with probabilities ``shares``."""
    return rng.choice(len(shares), size=n, p=shares)


class ScanRegion:
    """An allowed region with exact truth, defined in the unit cube.

    Subclasses define the observable (``_value``), the piece of an allowed
    point (``_piece``), exact uniform draws (``_sample_unit``), the pieces'
    volume shares (``piece_shares``) and ``volume_fraction``; this class maps
    them onto ``bounds``.

    Attributes
    ----------
    name : str
        ``"<kind>-<d>d-seed<seed>"``.
    kind : str
        One of :data:`SCAN_FAMILY_KINDS`.
    n_dim : int
        Dimension.
    bounds : ndarray of shape (n_dim, 2)
        The box of the scan.
    target : tuple of float
        Band ``(low, high)`` of :meth:`objective` (in target: inside it).
    n_pieces : int
        Number of disconnected pieces of the allowed region.
    """

    kind = ""

    def __init__(self, bounds, target, name):
        self.bounds = np.asarray(bounds, dtype=float)
        self.n_dim = self.bounds.shape[0]
        self.target = (float(target[0]), float(target[1]))
        self.name = name

    def __repr__(self):
        return (
            f"{type(self).__name__}(name={self.name!r}, n_pieces={self.n_pieces}, "
            f"volume_fraction={self.volume_fraction:.3g})"
        )

    # ------------------------------------------------------------ coordinates
    def to_unit(self, X):
        """Points ``X`` in the unit-cube coordinates of the region.

        Raises
        ------
        ValueError
            If ``X`` is not of shape ``(n, n_dim)``.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_dim:
            raise ValueError(
                f"{self.name} needs X of shape (n, {self.n_dim}), got {X.shape}."
            )
        low = self.bounds[:, 0]
        return (X - low) / (self.bounds[:, 1] - low)

    def from_unit(self, U):
        """Unit-cube points ``U`` in the coordinates of ``bounds``."""
        low = self.bounds[:, 0]
        return low + np.asarray(U, dtype=float) * (self.bounds[:, 1] - low)

    # ---------------------------------------------------------------- truth
    def objective(self, X):
        """The observable at ``X``: in target when inside :attr:`target`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_dim)
            Points.

        Returns
        -------
        values : ndarray of shape (n_samples,)
        """
        return self._value(self.to_unit(X))

    def _inside_unit(self, U):
        low, high = self.target
        values = self._value(U)
        in_box = ((U >= 0.0) & (U <= 1.0)).all(axis=1)
        return in_box & (values >= low) & (values <= high)

    def contains(self, X):
        """Exact membership: inside the box with the objective in the band.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_dim)
            Points.

        Returns
        -------
        inside : ndarray of bool of shape (n_samples,)
        """
        return self._inside_unit(self.to_unit(X))

    def piece_of(self, X):
        """Index of the piece holding each point, ``-1`` outside the region.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_dim)
            Points.

        Returns
        -------
        piece : ndarray of int of shape (n_samples,)
            In ``0 .. n_pieces - 1``, or ``-1``.
        """
        U = self.to_unit(X)
        inside = self._inside_unit(U)
        piece = np.full(len(U), -1, dtype=np.int64)
        piece[inside] = self._piece(U[inside])
        return piece

    def sample_truth(self, n, random_state=None):
        """``n`` points drawn exactly uniformly from the allowed region.

        Parameters
        ----------
        n : int
            Number of points.
        random_state : int, numpy.random.Generator or None, default=None
            Seed of the draws.

        Returns
        -------
        X : ndarray of shape (n, n_dim)

        Raises
        ------
        ValueError
            If ``n`` is not a non-negative integer.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}.")
        rng = np.random.default_rng(random_state)
        if n == 0:
            return np.empty((0, self.n_dim))
        return self.from_unit(self._sample_unit(int(n), rng))

    @property
    def n_pieces(self):
        return len(self.piece_shares)

    @cached_property
    def piece_volumes(self):
        """Volume of each piece as a share of the box (sums to ``volume_fraction``)."""
        return self.volume_fraction * np.asarray(self.piece_shares)


# ======================================================================
# periodic: a product of cosines in a band
# ======================================================================
class PeriodicRegion(ScanRegion):
    """``O = [2 + prod_i cos t_i]^5`` in a band, generalising arXiv:2207.09959.

    The phases are ``t_i = (s_i + w_i u_i) π/2`` with integers ``s_i`` and
    ``w_i >= 1``: the box starts and ends on the half-cell lattice of
    ``cos``, i.e. at a cell boundary (``cos = 0``) or a cell centre
    (``|cos| = 1``). The band ``O in [(2 + p_lo)^5, (2 + p_hi)^5]`` with
    ``0 < p_lo < p_hi < 1`` is ``p_lo <= P <= p_hi`` for ``P = prod cos t_i``;
    since ``p_lo > 0`` it lies in the cells ``|t_i - j_i π| < π/2`` with an
    even ``sum j_i``, one connected ring around each cell centre (a convex
    superlevel set of the log-concave ``P`` minus a smaller one). A cell the
    box cuts through its centre keeps half of its ring per cut dimension
    (still connected, since ``P`` decreases along every ray from the centre),
    so the pieces and their volume shares ``prod_i (kept fraction)`` are exact.

    The ring's own volume (the same in every cell) is a Monte Carlo estimate
    from the proposal of the sampler (see :meth:`sample_truth`): the shell
    ``r_in <= |τ| <= r_out`` with ``r_out = sqrt(-2 ln p_lo)`` (from
    ``-ln cos τ >= τ²/2``) and ``r_in = min(T, sqrt(-ln p_hi / c))`` with
    ``T = arccos p_lo`` and ``c = -ln cos T / T²`` (from ``-ln cos τ <= c τ²``
    for ``|τ| <= T``), which holds the ring; ``volume_fraction_error`` is its
    standard error.
    """

    kind = "periodic"

    def __init__(self, bounds, starts, widths, p_band, name, mc_seed=0):
        p_lo, p_hi = (float(p) for p in p_band)
        if not 0.0 < p_lo < p_hi < 1.0:
            raise ValueError(f"p_band needs 0 < p_lo < p_hi < 1, got {p_band!r}.")
        super().__init__(bounds, ((2.0 + p_lo) ** 5, (2.0 + p_hi) ** 5), name)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.widths = np.asarray(widths, dtype=np.int64)
        self.p_band = (p_lo, p_hi)
        self.mc_seed = int(mc_seed)
        self._cells, self._kept_sign, self._lookup, self._j_min = _periodic_pieces(
            self.starts, self.widths
        )

    def _phase(self, U):
        return (self.starts + U * self.widths) * (0.5 * np.pi)

    def _value(self, U):
        return (2.0 + np.prod(np.cos(self._phase(U)), axis=1)) ** 5

    def _piece(self, U):
        j = np.floor(self._phase(U) / np.pi + 0.5).astype(np.int64) - self._j_min
        return self._lookup[tuple(j.T)]

    @cached_property
    def piece_shares(self):
        kept = np.where(self._kept_sign == 0, 1.0, 0.5).prod(axis=1)
        return kept / kept.sum()

    # ring around a cell centre, in offsets τ = t - j π
    def _ring_radii(self):
        p_lo, p_hi = self.p_band
        big_t = math.acos(p_lo)
        c = -math.log(math.cos(big_t)) / big_t**2
        r_in = min(big_t, math.sqrt(-math.log(p_hi) / c))
        return r_in, math.sqrt(-2.0 * math.log(p_lo)), big_t

    def _propose(self, m, rng):
        r_in, r_out, _ = self._ring_radii()
        return _uniform_shell(m, self.n_dim, r_in, r_out, rng)

    def _in_ring(self, tau, rng=None):
        """Offsets ``τ`` from a cell centre that lie on the ring (exact)."""
        p_lo, p_hi = self.p_band
        big_t = self._ring_radii()[2]
        prod = np.prod(np.cos(tau), axis=1)
        return (np.abs(tau) <= big_t).all(axis=1) & (prod >= p_lo) & (prod <= p_hi)

    @cached_property
    def _ring_volume(self):
        """(volume, standard error) of one full ring in τ space."""
        rng = np.random.default_rng(self.mc_seed)
        r_in, r_out, _ = self._ring_radii()
        shell = _ball_volume(self.n_dim) * (r_out**self.n_dim - r_in**self.n_dim)
        hits, total = 0, 0
        while hits < 40_000 and total < 40 * _CHUNK:
            hits += int(self._in_ring(self._propose(_CHUNK, rng)).sum())
            total += _CHUNK
        rate = hits / total
        return shell * rate, shell * math.sqrt(rate * (1.0 - rate) / total)

    @cached_property
    def volume_fraction(self):
        kept = np.where(self._kept_sign == 0, 1.0, 0.5).prod(axis=1).sum()
        box = float(np.prod(self.widths * (0.5 * np.pi)))
        return self._ring_volume[0] * kept / box

    @cached_property
    def volume_fraction_error(self):
        return self.volume_fraction * self._ring_volume[1] / self._ring_volume[0]

    def _sample_unit(self, n, rng):
        tau = _rejection(n, self.n_dim, self._propose, self._in_ring, rng)
        piece = _draw_pieces(n, self.piece_shares, rng)
        sign = self._kept_sign[piece]
        tau = np.where(sign == 0, tau, sign * np.abs(tau))
        t = self._cells[piece] * np.pi + tau
        return (t / (0.5 * np.pi) - self.starts) / self.widths


def _periodic_pieces(starts, widths):
    """Cells of the cosine lattice holding a ring, the kept half, a lookup.

    Returns ``cells`` (the centre multiples ``j`` of π, one row per piece),
    ``kept_sign`` (per piece and dimension: 0 for a whole cell, +1/-1 for the
    half kept above/below the centre), the piece lookup over the overlapped
    cells (-1 for cells with an odd ``sum j``) and its offset ``j_min``.
    """
    ends = starts + widths
    # cell j spans the half-cell lattice [2j - 1, 2j + 1]
    j_min = np.floor_divide(starts - 1, 2) + 1
    j_max = -np.floor_divide(-(ends + 1), 2) - 1
    shape = tuple(int(s) for s in j_max - j_min + 1)
    grid = np.indices(shape).reshape(len(shape), -1).T + j_min
    cells = grid[grid.sum(axis=1) % 2 == 0]
    below = 2 * cells - 1 < starts  # lower half cut away: keep the upper half
    above = 2 * cells + 1 > ends
    kept_sign = np.where(below, 1, 0) + np.where(above, -1, 0)
    lookup = np.full(shape, -1, dtype=np.int64)
    lookup[tuple((cells - j_min).T)] = np.arange(len(cells))
    return cells, kept_sign, lookup, j_min


class _ExactPieces:
    """Shares and volume fraction of regions whose pieces' volumes are exact.

    The host defines ``_volumes``: the exact volume of every piece in the
    unit cube.
    """

    _volumes: np.ndarray

    @cached_property
    def piece_shares(self):
        return self._volumes / self._volumes.sum()

    @cached_property
    def volume_fraction(self):
        return float(self._volumes.sum())

    volume_fraction_error = 0.0


# ======================================================================
# ellipsoids
# ======================================================================
class EllipsoidRegion(_ExactPieces, ScanRegion):
    """A union of disjoint, randomly oriented ellipsoids inside the box.

    The observable is the smallest Mahalanobis radius
    ``min_k |diag(1/a_k) R_kᵀ (u - c_k)|`` with band ``[0, 1]``. The
    ellipsoids are disjoint and inside the cube by construction, so the
    volumes ``V_d prod_i a_ki`` and the piece shares are exact; draws pick an
    ellipsoid by volume and map a uniform point of the unit ball.
    """

    kind = "ellipsoids"

    def __init__(self, bounds, centres, rotations, axes, name):
        super().__init__(bounds, (0.0, 1.0), name)
        self.centres = np.asarray(centres, dtype=float)
        self.rotations = np.asarray(rotations, dtype=float)
        self.axes = np.asarray(axes, dtype=float)

    def _radii(self, U):
        z = np.einsum("nd,kde->nke", U, self.rotations) - np.einsum(
            "kd,kde->ke", self.centres, self.rotations
        )
        return np.linalg.norm(z / self.axes, axis=2)

    def _value(self, U):
        return self._radii(U).min(axis=1)

    def _piece(self, U):
        return self._radii(U).argmin(axis=1)

    @cached_property
    def _volumes(self):
        return _ball_volume(self.n_dim) * self.axes.prod(axis=1)

    def _sample_unit(self, n, rng):
        piece = _draw_pieces(n, self.piece_shares, rng)
        v = _uniform_shell(n, self.n_dim, 0.0, 1.0, rng) * self.axes[piece]
        return self.centres[piece] + np.einsum("ne,nde->nd", v, self.rotations[piece])


# ======================================================================
# shells
# ======================================================================
class ShellRegion(_ExactPieces, ScanRegion):
    """A union of disjoint thin spherical shells inside the box.

    The observable is ``min_k |u - c_k| / R_k`` with band ``[1 - δ, 1 + δ]``
    (relative half-thickness ``δ``); the outer spheres are disjoint and
    inside the cube, so only shell ``k`` can hold a point with ratio ``k`` in
    the band. Volumes ``V_d R_k^d [(1+δ)^d - (1-δ)^d]`` are exact; draws
    pick a shell by volume, a direction uniformly and the radius by the
    inverse of its ``r^(d-1)`` distribution.
    """

    kind = "shells"

    def __init__(self, bounds, centres, radii, thickness, name):
        thickness = float(thickness)
        super().__init__(bounds, (1.0 - thickness, 1.0 + thickness), name)
        self.centres = np.asarray(centres, dtype=float)
        self.radii = np.asarray(radii, dtype=float)
        self.thickness = thickness

    def _ratios(self, U):
        dist = np.linalg.norm(U[:, None, :] - self.centres[None], axis=2)
        return dist / self.radii

    def _value(self, U):
        return self._ratios(U).min(axis=1)

    def _piece(self, U):
        return self._ratios(U).argmin(axis=1)

    @cached_property
    def _volumes(self):
        d, t = self.n_dim, self.thickness
        return _ball_volume(d) * self.radii**d * ((1 + t) ** d - (1 - t) ** d)

    def _sample_unit(self, n, rng):
        piece = _draw_pieces(n, self.piece_shares, rng)
        unit = _uniform_shell(
            n, self.n_dim, 1 - self.thickness, 1 + self.thickness, rng
        )
        return self.centres[piece] + unit * self.radii[piece, None]


# ======================================================================
# ridge
# ======================================================================
class RidgeRegion(ScanRegion):
    """A likelihood ridge: a tube around a curved line (banana-like).

    ``χ²(u) = sum_{i >= 1} ((u_i - γ_i(u_0)) / σ_i)²`` with the curve
    ``γ_i(s) = m_i + b_i sin(2π ν_i s + φ_i)`` and band ``χ² in [0, 1]``:
    for every ``u_0`` the cross-section is an ellipsoid of semi-axes ``σ_i``
    that stays inside the cube (``|b_i| + σ_i <= min(m_i, 1 - m_i)``). The
    region is one piece; its volume ``V_(d-1) prod σ_i`` is exact (a shear
    keeps volume) and draws take ``u_0`` uniformly, then a uniform point of
    the cross-section.
    """

    kind = "ridge"

    def __init__(self, bounds, mids, amplitudes, frequencies, phases, sigmas, name):
        super().__init__(bounds, (0.0, 1.0), name)
        self.mids = np.asarray(mids, dtype=float)
        self.amplitudes = np.asarray(amplitudes, dtype=float)
        self.frequencies = np.asarray(frequencies, dtype=float)
        self.phases = np.asarray(phases, dtype=float)
        self.sigmas = np.asarray(sigmas, dtype=float)

    def _curve(self, s):
        arg = 2 * np.pi * self.frequencies * s[:, None] + self.phases
        return self.mids + self.amplitudes * np.sin(arg)

    def _value(self, U):
        return (((U[:, 1:] - self._curve(U[:, 0])) / self.sigmas) ** 2).sum(axis=1)

    def _piece(self, U):
        return np.zeros(len(U), dtype=np.int64)

    piece_shares = np.ones(1)
    volume_fraction_error = 0.0

    @cached_property
    def volume_fraction(self):
        return float(_ball_volume(self.n_dim - 1) * self.sigmas.prod())

    def _sample_unit(self, n, rng):
        s = rng.random(n)
        rest = (
            self._curve(s)
            + _uniform_shell(n, self.n_dim - 1, 0.0, 1.0, rng) * self.sigmas
        )
        return np.column_stack([s, rest])


# ======================================================================
# relic density
# ======================================================================
#: log10 of the band edges of Ω h² = 0.12 ± 10 % relative to 0.12
_LOG_LOW, _LOG_HIGH = math.log10(0.9), math.log10(1.1)


class RelicRegion(ScanRegion):
    """A relic-density-like hypersurface ``Ω h² = 0.12 ± 10 %``.

    ``Ω h² = 0.12 · 10^ℓ₀ / σv`` with an annihilation-like cross section
    ``σv = λ(u_1) h(u_0) 10^κ``: a coupling ``λ = 10^(k (u_1 - 1))`` spanning
    ``k`` decades, a mass ``u_0`` with Breit-Wigner resonances
    ``h = 1 + sum_r A_r / (1 + ((u_0 - m_r)/γ_r)²)`` (dips of ``Ω``) and a
    linear ``κ = sum_{i >= 2} c_i u_i`` in the other parameters. In target,
    ``u_1`` lies in an interval of width ``log10(1.1/0.9)/k`` around a
    surface that dips at every resonance; where a dip leaves the box the
    surface splits into branches. For fixed ``u_0`` the allowed set is a slab
    (convex) in the other coordinates, so the pieces are the maximal
    ``u_0``-intervals where the slab meets the cube, found on a grid of
    ``2^17`` points (exact but for features narrower than ``8e-6``).

    Draws are exact: ``(u_0, u_2, ...)`` uniform, accepted with probability
    (length of the allowed ``u_1`` interval in ``[0, 1]``) / (its unclipped
    width), then ``u_1`` uniform in it. The volume and piece shares are Monte
    Carlo estimates from ``10^6`` such proposals (``volume_fraction_error``
    is the standard error of the volume).
    """

    kind = "relic"

    def __init__(self, bounds, decades, level, resonances, slopes, name, mc_seed=0):
        super().__init__(bounds, (0.9 * 0.12, 1.1 * 0.12), name)
        self.decades = float(decades)
        self.level = float(level)
        self.resonances = np.asarray(resonances, dtype=float).reshape(-1, 3)
        self.slopes = np.asarray(slopes, dtype=float)
        self.mc_seed = int(mc_seed)
        self._edges = self._piece_edges()

    def _log_h(self, m):
        pos, height, width = self.resonances.T
        bw = height / (1.0 + ((m[:, None] - pos) / width) ** 2)
        return np.log10(1.0 + bw.sum(axis=1))

    def _log_rest(self, U):
        return U[:, 2:] @ self.slopes

    def _value(self, U):
        log_sv = (
            self.decades * (U[:, 1] - 1.0) + self._log_h(U[:, 0]) + self._log_rest(U)
        )
        return 0.12 * 10.0 ** (self.level - log_sv)

    def _u1_interval(self, log_h_rest):
        """Allowed ``u_1`` interval (unclipped) for ``log10 h + κ``."""
        low = 1.0 + (self.level - _LOG_HIGH - log_h_rest) / self.decades
        return low, low + (_LOG_HIGH - _LOG_LOW) / self.decades

    def _piece_edges(self):
        m = (np.arange(2**17) + 0.5) / 2**17
        kappa = np.array(
            [np.minimum(self.slopes, 0).sum(), np.maximum(self.slopes, 0).sum()]
        )
        log_h = self._log_h(m)
        # a slab meets the cube where the interval at the largest (smallest) κ
        # starts below 1 (ends above 0)
        low_at_max = self._u1_interval(log_h + kappa[1])[0]
        high_at_min = self._u1_interval(log_h + kappa[0])[1]
        ok = (low_at_max < 1.0) & (high_at_min > 0.0)
        step = np.diff(np.concatenate([[False], ok, [False]]).astype(np.int8))
        starts, ends = np.flatnonzero(step == 1), np.flatnonzero(step == -1)
        return np.column_stack([starts, ends]) / 2**17

    def _piece(self, U):
        return np.searchsorted(self._edges[:, 0], U[:, 0], side="right") - 1

    def _propose(self, m, rng):
        return rng.random((m, self.n_dim))

    def _clipped(self, U):
        low, high = self._u1_interval(self._log_h(U[:, 0]) + self._log_rest(U))
        return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)

    def _accept(self, U, rng):
        low, high = self._clipped(U)
        width = (_LOG_HIGH - _LOG_LOW) / self.decades
        return rng.random(len(U)) * width < high - low

    @cached_property
    def _mc(self):
        """(volume, standard error, piece shares) from 10^6 proposals."""
        rng = np.random.default_rng(self.mc_seed)
        lengths, pieces = [], []
        for _ in range(5):
            U = self._propose(_CHUNK, rng)
            low, high = self._clipped(U)
            lengths.append(high - low)
            pieces.append(self._piece(U))
        length, piece = np.concatenate(lengths), np.concatenate(pieces)
        mass = np.bincount(
            np.maximum(piece, 0), weights=length, minlength=len(self._edges)
        )
        err = float(length.std() / math.sqrt(len(length)))
        shares = mass / max(mass.sum(), np.finfo(float).tiny)
        return float(length.mean()), err, shares

    @cached_property
    def volume_fraction(self):
        return self._mc[0]

    @cached_property
    def volume_fraction_error(self):
        return self._mc[1]

    @cached_property
    def piece_shares(self):
        return self._mc[2]

    def _sample_unit(self, n, rng):
        U = _rejection(n, self.n_dim, self._propose, self._accept, rng)
        low, high = self._clipped(U)
        U[:, 1] = low + rng.random(n) * (high - low)
        return U


# ======================================================================
# drawing a problem from a seed
# ======================================================================
def make_scan_family(seed, *, n_dims=None, dims=(2, 10), kind=None):
    """Draw a scan problem with exact truth from the procedural family.

    Every random choice comes from ``numpy.random.default_rng(seed)``, in
    this order: the kind (uniform over :data:`SCAN_FAMILY_KINDS` unless
    given), the dimension (uniform integer in ``dims`` unless ``n_dims`` is
    given), the box (per dimension a width ``10^U(-1, 3)`` and a lower edge
    ``U(-1, 0)`` times the width), then the kind's own parameters:

    - ``"periodic"``: band ``p_lo ~ U(0.2, 0.7)``, ``p_hi = p_lo + U(0.05,
      0.25)`` (at most 0.95) of ``P = prod cos t_i``; per dimension a width
      of ``w_i ~ U{1, .., w_max}`` half-cells (``w_max = 6`` for ``d <= 3``,
      4 up to 5-d, else 3) and a start ``s_i ~ U{-3, .., 3}``, redrawn until
      the region holds 2-30 pieces.
    - ``"ellipsoids"``: ``K ~ U{1, .., 6}``; target volume fraction
      ``f = 10^U(-4, log10 0.3)``; log-volumes spread evenly over
      ``U(0, 3)`` decades; axes ``r_k exp(z)`` with ``z ~ U(-ln 3, ln 3)``
      centred (volume kept); random rotations (Haar); centres uniform where
      the ellipsoid's extent fits the cube, placed largest first without
      overlap (bounding spheres); ``f`` halves after 200 failed placements.
    - ``"shells"``: ``K ~ U{1, 2, 3}``; relative half-thickness
      ``δ = 10^U(-2.3, -1)``; radii ``R_1 ~ U(0.2, 0.45)``, the others
      ``R_1 U(0.3, 1)``; centres placed like the ellipsoids, radii shrink by
      0.9 after 200 failures.
    - ``"ridge"``: volume fraction ``f = 10^U(-4, log10 0.3)`` giving the
      geometric-mean half-width of the tube, half-widths spread by
      ``exp(U(-ln 3, ln 3))`` and capped at 0.4 (then ``f`` is what they
      give); curve mid-points, amplitudes ``|b_i| <= 0.5 - σ_i``
      (``U(0, 1)`` of the room), frequencies ``U(0.25, 1.25)`` and phases
      ``U(0, 2π)``.
    - ``"relic"``: ``k ~ U(2, 6)`` decades of the coupling; ``U{0, .., 3}``
      resonances at ``U(0.1, 0.9)`` with heights ``10^U(1, 3.5)`` and widths
      ``U(0.005, 0.03)``; slopes ``c_i ~ U(-1, 1)`` for the other parameters;
      the level puts the off-resonance surface at ``u_1 ~ U(0.3, 0.8)``;
      redrawn while fewer than 5 % of the proposals are accepted.

    Parameters
    ----------
    seed : int
        Seed of the draw; the same seed gives the same problem.
    n_dims : int, optional
        Dimension; drawn from ``dims`` when None.
    dims : tuple of int, default=(2, 10)
        Inclusive range of the drawn dimension.
    kind : str, optional
        One of :data:`SCAN_FAMILY_KINDS`; drawn when None.

    Returns
    -------
    problem : ScanRegion
        With ``objective``, ``bounds``, ``target``, ``contains``,
        ``sample_truth``, ``piece_of``, ``n_pieces``, ``piece_shares``,
        ``volume_fraction`` (and ``volume_fraction_error``) and ``name``.

    Raises
    ------
    ValueError
        For an unknown kind or a dimension outside 2-10.

    Examples
    --------
    >>> from skhep_ml.datasets import make_scan_family
    >>> problem = make_scan_family(0, kind="ellipsoids", n_dims=3)
    >>> X = problem.sample_truth(100, random_state=0)
    >>> bool(problem.contains(X).all())
    True
    """
    rng = np.random.default_rng(seed)
    kind_draw = SCAN_FAMILY_KINDS[rng.integers(len(SCAN_FAMILY_KINDS))]
    kind = kind_draw if kind is None else kind
    if kind not in SCAN_FAMILY_KINDS:
        raise ValueError(f"kind={kind!r} is not one of {SCAN_FAMILY_KINDS}.")
    lo_dim, hi_dim = (int(v) for v in dims)
    d_draw = int(rng.integers(lo_dim, hi_dim + 1))
    d = d_draw if n_dims is None else int(n_dims)
    if not 2 <= d <= 10:
        raise ValueError(f"the dimension must be in 2..10, got {d}.")
    width = 10.0 ** rng.uniform(-1.0, 3.0, d)
    low = -rng.random(d) * width
    bounds = np.column_stack([low, low + width])
    name = f"{kind}-{d}d-seed{seed}"
    return _DRAWS[kind](rng, d, bounds, name)


#: smallest volume fraction a draw keeps (periodic bands and crowded
#: ellipsoids are redrawn below it)
_MIN_FRACTION = 1e-5


def _log_uniform_fraction(rng):
    return 10.0 ** rng.uniform(-4.0, math.log10(0.3))


def _spread(rng, d):
    """``d`` log-factors ``U(-a, a)`` centred to sum zero.

    ``a = ln 3 min(1, sqrt(4 / d))``: aspect ratios up to 9 in few
    dimensions, milder in many (where the box has little room).
    """
    a = math.log(3.0) * min(1.0, math.sqrt(4.0 / d))
    z = rng.uniform(-a, a, d)
    return z - z.mean()


def _draw_periodic(rng, d, bounds, name):
    goal = 10.0 ** rng.uniform(math.log10(2.0), math.log10(30.0))
    w_max = 8 if d <= 3 else 5 if d <= 5 else 4
    for attempt in range(100_000):
        widths = rng.integers(1, w_max + 1, d)
        starts = rng.integers(-3, 4, d)
        n_pieces = len(_periodic_pieces(starts, widths)[0])
        if not 2 <= n_pieces <= 30:
            continue
        if abs(math.log(n_pieces / goal)) <= math.log(1.5) or attempt > 10_000:
            break
    while True:
        p_lo = rng.uniform(0.2, 0.7)
        p_hi = min(0.95, p_lo + rng.uniform(0.05, 0.25))
        mc_seed = int(rng.integers(2**31))
        region = PeriodicRegion(bounds, starts, widths, (p_lo, p_hi), name, mc_seed)
        if region.volume_fraction >= _MIN_FRACTION:
            return region


def _draw_ellipsoids(rng, d, bounds, name):
    from scipy.stats import special_ortho_group

    n = int(rng.integers(1, 7))
    fraction = _log_uniform_fraction(rng)
    decades = rng.uniform(0.0, 3.0)
    log_vol = decades * (np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1))
    shares = 10.0**log_vol / (10.0**log_vol).sum()
    shape = np.exp(np.array([_spread(rng, d) for _ in range(n)]))
    rotations = special_ortho_group.rvs(d, size=n, random_state=rng).reshape(n, d, d)
    start = fraction
    while True:
        if fraction < _MIN_FRACTION and len(shares) > 1:
            # too crowded for the box: drop the smallest ellipsoid, start again
            shares, shape, rotations = shares[1:], shape[1:], rotations[1:]
            shares, fraction = shares / shares.sum(), start
        radius = (fraction * shares / _ball_volume(d)) ** (1.0 / d)
        axes = radius[:, None] * shape
        # half-extent of ellipsoid k along cube axis i: |R_k[i] * a_k|
        reach = np.sqrt(np.einsum("kie,ke->ki", rotations**2, axes**2))
        covs = np.einsum("kie,ke,kje->kij", rotations, axes**2, rotations)
        centres = _place(rng, reach, partial(_ellipsoids_apart, covs))
        if centres is not None:
            return EllipsoidRegion(bounds, centres, rotations, axes, name)
        fraction /= 2.0


#: grid of the separation parameter s of the ellipsoid overlap test
_S_GRID = np.linspace(0.0, 1.0, 65)[1:-1]


def _ellipsoids_apart(covs, k, centre_k, j, centre_j):
    """Whether ellipsoids ``k`` and ``j`` (shape matrices ``covs``) are disjoint.

    Gilitschenski & Hanebeck (2012): they are disjoint if and only if
    ``1 - Δᵀ [Σ_j / (1 - s) + Σ_k / s]⁻¹ Δ < 0`` for some ``s`` in (0, 1); a
    value below zero on the grid certifies it (the test never calls
    overlapping ellipsoids disjoint).
    """
    delta = centre_k - centre_j
    mats = covs[j] / (1.0 - _S_GRID[:, None, None]) + covs[k] / _S_GRID[:, None, None]
    rhs = np.broadcast_to(delta, (len(_S_GRID), len(delta)))[..., None]
    solved = np.linalg.solve(mats, rhs)[..., 0]
    return bool((1.0 - solved @ delta).min() < 0.0)


def _spheres_apart(radii, k, centre_k, j, centre_j):
    """Whether balls ``k`` and ``j`` of ``radii`` are disjoint."""
    return bool(np.linalg.norm(centre_k - centre_j) > radii[k] + radii[j])


def _place(rng, reach, apart, n_tries=200):
    """Centres in the cube for objects of per-axis half-extent ``reach`` (K, d).

    Placed largest first, each uniformly where it fits the cube, redrawn
    until ``apart(k, c_k, j, c_j)`` holds for every placed ``j``; None after
    ``n_tries`` failures for one object.
    """
    centres = np.empty_like(reach)
    done = []
    for k in np.argsort(-reach.max(axis=1)):
        if (reach[k] >= 0.5).any():
            return None
        for _ in range(n_tries):
            c = reach[k] + rng.random(reach.shape[1]) * (1.0 - 2.0 * reach[k])
            if all(apart(k, c, j, centres[j]) for j in done):
                centres[k] = c
                done.append(k)
                break
        else:
            return None
    return centres


def _shell_fraction(radii, thickness, d):
    return (
        _ball_volume(d)
        * (radii**d).sum()
        * ((1 + thickness) ** d - (1 - thickness) ** d)
    )


def _shell_excess(radii, d, fraction, thickness):
    return _shell_fraction(radii, thickness, d) - fraction


def _draw_shells(rng, d, bounds, name):
    n = int(rng.integers(1, 4))
    fraction = _log_uniform_fraction(rng)
    first = rng.uniform(0.25, 0.45)
    radii = first * np.concatenate([[1.0], rng.uniform(0.3, 1.0, n - 1)])
    while True:
        outer = radii * (1.0 + _MAX_THICKNESS)
        reach = np.repeat(outer[:, None], d, axis=1)
        centres = _place(rng, reach, partial(_spheres_apart, outer))
        if centres is not None:
            break
        radii = radii * 0.9
    thickness = _MAX_THICKNESS
    if _shell_fraction(radii, _MAX_THICKNESS, d) > fraction:
        excess = partial(_shell_excess, radii, d, fraction)
        thickness = max(brentq(excess, 0.0, _MAX_THICKNESS), _MIN_THICKNESS)
    return ShellRegion(bounds, centres, radii, thickness, name)


#: range of the shells' relative half-thickness
_MIN_THICKNESS, _MAX_THICKNESS = 0.003, 0.2


def _draw_ridge(rng, d, bounds, name):
    fraction = _log_uniform_fraction(rng)
    mean_sigma = (fraction / _ball_volume(d - 1)) ** (1.0 / (d - 1))
    sigmas = np.minimum(mean_sigma * np.exp(_spread(rng, d - 1)), 0.4)
    room = 0.5 - sigmas
    amplitudes = room * rng.random(d - 1) * rng.choice([-1.0, 1.0], d - 1)
    slack = room - np.abs(amplitudes)
    mids = 0.5 + slack * rng.uniform(-1.0, 1.0, d - 1)
    frequencies = rng.uniform(0.25, 1.25, d - 1)
    phases = rng.uniform(0.0, 2.0 * np.pi, d - 1)
    return RidgeRegion(bounds, mids, amplitudes, frequencies, phases, sigmas, name)


def _draw_relic(rng, d, bounds, name):
    while True:
        decades = rng.uniform(2.0, 6.0)
        n_res = int(rng.integers(0, 4))
        resonances = np.column_stack(
            [
                rng.uniform(0.1, 0.9, n_res),
                10.0 ** rng.uniform(1.5, 4.0, n_res),
                rng.uniform(0.01, 0.05, n_res),
            ]
        )
        slopes = rng.uniform(-1.0, 1.0, d - 2)
        if d > 2:
            slopes *= decades * rng.uniform(0.1, 0.4) / np.abs(slopes).sum()
        surface = rng.uniform(0.3, 0.8)
        level = decades * (surface - 1.0) + 0.5 * slopes.sum()
        region = RelicRegion(
            bounds,
            decades,
            level,
            resonances,
            slopes,
            name,
            mc_seed=int(rng.integers(2**31)),
        )
        width = (_LOG_HIGH - _LOG_LOW) / decades
        if len(region._edges) and region.volume_fraction >= 0.05 * width:
            return region


_DRAWS = {
    "periodic": _draw_periodic,
    "ellipsoids": _draw_ellipsoids,
    "shells": _draw_shells,
    "ridge": _draw_ridge,
    "relic": _draw_relic,
}
