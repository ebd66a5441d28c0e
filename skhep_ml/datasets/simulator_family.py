"""A procedural family of EFT-morphing simulators with exact likelihoods.

Every draw of :func:`make_simulator_family` is a :class:`MorphingSimulator`: a
latent event ``z`` whose density is a polynomial of degree 2 in the theory
parameters θ (Standard-Model, interference and squared terms, as EFT morphing
gives), observed through smeared functions of ``z``. Its joint ratio, joint
score, marginal likelihood, Fisher information and expected −2Δlog L curve
are all exact (the last three up to quadratures of stated accuracy), so
likelihood-ratio estimators can be judged against the truth on draws they
were not tuned on.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
from numpy.polynomial.legendre import legvander
from scipy.special import roots_jacobi, roots_legendre
from sklearn.utils import check_random_state

__all__ = [
    "SIMULATOR_FAMILY_KINDS",
    "OBSERVABLE_MAPS",
    "MorphingSimulator",
    "make_simulator_family",
    "observable_map",
]

SIMULATOR_FAMILY_KINDS = ("interference", "squared", "rate")
"""Ways a parameter enters the latent density (see :class:`MorphingSimulator`)."""

OBSERVABLE_MAPS = ("linear", "exp", "sinh", "fold")
"""Functions ``g`` of one latent coordinate that the observables smear."""

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_CHUNK = 2048


def observable_map(name, param, t):
    """``g(t)`` of one observable, mapping ``t ∈ [-1, 1]`` onto ``[0, 1]``.

    ``"linear"``: ``(t + 1)/2``; ``"exp"``: ``expm1(a(t+1))/expm1(2a)`` (a
    falling spectrum); ``"sinh"``: ``(1 + sinh(a t)/sinh(a))/2`` (stretched
    tails); ``"fold"``: ``((t - a)/(1 + |a|))^2``, not invertible (the sign of
    ``t - a`` is lost).
    """
    if name == "linear":
        return 0.5 * (t + 1.0)
    if name == "exp":
        return np.expm1(param * (t + 1.0)) / np.expm1(2.0 * param)
    if name == "sinh":
        return 0.5 + 0.5 * np.sinh(param * t) / np.sinh(param)
    if name == "fold":
        return ((t - param) / (1.0 + abs(param))) ** 2
    raise ValueError(f"unknown observable map {name!r}; choose from {OBSERVABLE_MAPS}.")


def _monomials(n_theta):
    """Exponent tuples of the degree-≤2 monomials: ``()``, ``(i,)``, ``(i, j)``."""
    out = [()]
    out += [(i,) for i in range(n_theta)]
    out += [(i, j) for i in range(n_theta) for j in range(i, n_theta)]
    return out


def _tensor_apply(coef, mats):
    """Contract the trailing ``m`` axes of ``coef`` with ``mats[c]`` (new, old)."""
    m = len(mats)
    ops: list = [coef, [Ellipsis, *range(m)]]
    for c, mat in enumerate(mats):
        ops += [mat, [m + c, c]]
    return np.einsum(*ops, [Ellipsis, *range(m, 2 * m)])


def _tensor_at_points(coef, mats):
    """``Σ coef[k, a, b, ...] M_0[n, a] M_1[n, b] ...`` as an ``(n, k)`` array."""
    m = len(mats)
    ops: list = [coef, [Ellipsis, *range(m)]]
    for c, mat in enumerate(mats):
        ops += [mat, [m, c]]
    return np.einsum(*ops, [m, Ellipsis])


class MorphingSimulator:
    """An EFT-morphing simulator with tractable likelihoods.

    **Latent model.** ``z ∈ [-1, 1]^m`` (``m = n_latent``, 1 or 2) has the
    density

    ``p(z|θ) = ρ(z) Σ_c π_c(θ) (Σ_i u_i(θ) A_{c,i}(z))^2 / σ(θ)``

    over *channels* ``c`` (helicity-like, summed incoherently), with
    ``u = (1, θ_1, ..., θ_k)``, amplitudes ``A_{c,i}`` that are polynomials
    (tensor Legendre series) in ``z``, a channel prefactor ``π_c`` (1, or
    ``θ_r`` for a rate parameter), the fixed envelope
    ``ρ(z) = Π_j (1 - z_j)^{α_j} (1 + z_j)^{β_j}`` and the exact normalisation
    ``σ(θ)``. Expanded, ``p(z|θ) = ρ(z) Σ_k w_k(θ) f_k(z) / Σ_k w_k(θ) σ_k``
    with the monomials ``w = (1, θ_i, θ_i θ_j)`` — the morphing structure — and
    it is non-negative for every θ in the box by construction (squared
    amplitudes, and ``θ_r ≥ 0``). Parameter kinds:

    * ``"interference"``: its amplitude lives in the Standard-Model channels
      and interferes with ``A_{c,0}`` (linear and squared terms); box
      ``[-1, 1]``. Where a single SM channel has a zero, so has the density
      (heavy-tailed joint score).
    * ``"squared"``: its amplitude lives in a channel of its own, so it enters
      only as ``θ_i^2`` (a CP-odd-like operator without interference): the
      likelihood is even in ``θ_i`` (a sign degeneracy); box ``[-1, 1]``.
    * ``"rate"``: a signal strength ``θ_r ∈ [0, 1]`` multiplying a channel of
      its own (linear term only); ``θ_r ≥ 0`` is a physical boundary.

    **Observables.** ``x_j = g_j(z_{c_j}) + σ_j ε_j`` with Gaussian
    ``ε_j``: each observable reads one latent coordinate ``c_j`` through one of
    :data:`OBSERVABLE_MAPS` (invertible or not); a coordinate may have one or
    two observables. ``p(x|z)`` is exact.

    **Exactness.** The joint ratio and joint score are closed-form (``ρ`` and
    ``p(x|z)`` cancel). ``σ(θ)`` is exact (Gauss–Jacobi quadrature, exact for
    the polynomial times ``ρ``). The marginal
    ``p(x|θ) = Σ_k w_k(θ) F_k(x) / Σ_k w_k(θ) σ_k`` with
    ``F_k(x) = ∫ ρ f_k p(x|z) dz``: the integral factorises over the latent
    coordinates into 1-d Gauss–Jacobi quadratures, ``n_nodes_ = ceil(6/w)``
    nodes (48 to 800) for the narrowest smearing ``w = min_j σ_j / max|g_j'|``
    in ``z`` units (the error of a Gaussian falls like ``exp(-2 N^2 w^2)``).
    On events simulated at a box corner of 30 draws, ``log p(x|θ)`` moves by
    at most 2e-12 with twice the nodes; it agrees with scipy's adaptive
    ``quad`` to 1e-9 (tested). The Fisher information and the expected
    −2Δlog L curve integrate over ``x`` by a tensor Gauss–Legendre rule on
    ``[min g − 8σ, max g + 8σ]`` per observable (the Fisher information moves
    by at most 1.5e-4, relative, with twice the nodes on 12 draws).

    Usually drawn by :func:`make_simulator_family`; the constructor takes the
    explicit structure.

    Parameters
    ----------
    channels : list of (int, ndarray)
        ``(prefactor, amplitudes)`` per channel: ``prefactor`` is ``-1`` (1) or
        the index of the rate parameter multiplying the channel;
        ``amplitudes`` has shape ``(n_theta + 1, d + 1, ..., d + 1)`` (``m``
        trailing axes of Legendre coefficients, row 0 the θ-independent
        amplitude, row ``i + 1`` the one multiplied by ``θ_i``).
    envelope : array-like of shape (n_latent, 2)
        Jacobi exponents ``(α_j, β_j) > -1`` of ``ρ``.
    observables : sequence of (int, str, float, float)
        ``(latent coordinate, map name, map parameter, smearing σ)`` per
        observable; every latent coordinate needs at least one.
    kinds : sequence of str
        The kind of every parameter (:data:`SIMULATOR_FAMILY_KINDS`).
    theta_true : array-like of shape (n_theta,), default=None
        A parameter point inside the box for benchmarks (``None``: θ_ref).
    name : str, default="morphing"
        Name of the simulator (draws of one family share it).
    seed : int, default=None
        The seed that drew it, if any.

    Attributes
    ----------
    n_theta, n_x, n_latent : int
        Dimensions of θ, x and z.
    theta_bounds : ndarray of shape (n_theta, 2)
        The parameter box.
    theta_ref : ndarray of shape (n_theta,)
        The reference (Standard Model) point, θ = 0.
    n_nodes_ : tuple of int
        Gauss–Jacobi nodes per latent coordinate of the marginal.
    """

    def __init__(
        self,
        channels,
        envelope,
        observables,
        kinds,
        *,
        theta_true=None,
        name="morphing",
        seed=None,
    ):
        self.kinds = tuple(kinds)
        bad = [k for k in self.kinds if k not in SIMULATOR_FAMILY_KINDS]
        if bad or not 1 <= len(self.kinds) <= 3:
            raise ValueError(
                f"kinds must be 1 to 3 of {SIMULATOR_FAMILY_KINDS}, got {kinds!r}."
            )
        self.n_theta = len(self.kinds)
        self.envelope = np.asarray(envelope, dtype=float).reshape(-1, 2)
        self.n_latent = self.envelope.shape[0]
        self.observables = tuple(
            (int(c), str(g), float(a), float(s)) for c, g, a, s in observables
        )
        self.n_x = len(self.observables)
        if sorted({o[0] for o in self.observables}) != list(range(self.n_latent)):
            raise ValueError("every latent coordinate needs at least one observable.")
        self.channels = [(int(p), np.asarray(a, dtype=float)) for p, a in channels]
        self.name = name
        self.seed = seed
        self.theta_bounds = np.array(
            [[0.0, 1.0] if k == "rate" else [-1.0, 1.0] for k in self.kinds]
        )
        self.theta_ref = np.zeros(self.n_theta)
        self.theta_true = (
            self.theta_ref.copy()
            if theta_true is None
            else self._theta_rows(theta_true, 1, "theta_true")[0]
        )
        self._build_density()
        self._build_sampler()
        self._build_quadrature()

    # ------------------------------------------------------------ construction
    def _build_density(self):
        """Legendre coefficients ``f_k(z)`` of every monomial ``w_k(θ)``."""
        self.monomials_ = _monomials(self.n_theta)
        index = {mono: k for k, mono in enumerate(self.monomials_)}
        degree = self.channels[0][1].shape[1] - 1
        self.degree_ = 2 * degree
        m = self.n_latent
        tq, wq = roots_legendre(2 * degree + 1)
        amp_at = legvander(tq, degree)
        proj = (legvander(tq, self.degree_) * wq[:, None]).T
        proj *= (np.arange(self.degree_ + 1) + 0.5)[:, None]
        dens = np.zeros((len(self.monomials_),) + (len(tq),) * m)
        for prefactor, amps in self.channels:
            values = _tensor_apply(amps, [amp_at] * m)
            pre = () if prefactor < 0 else (prefactor,)
            rows = [i for i in range(self.n_theta + 1) if np.any(amps[i])]
            for i in rows:
                for j in rows:
                    mono = tuple(sorted(pre + tuple(q - 1 for q in (i, j) if q > 0)))
                    dens[index[mono]] += values[i] * values[j]
        self._coef = _tensor_apply(dens, [proj] * m)

    def _build_sampler(self):
        """Components ``ρ A_{c,i}^2`` of the proposal and their cell tables.

        Every non-zero amplitude ``A_{c,i}`` is a component; its density
        ``ρ A^2`` is sampled exactly by rejection from uniform draws in 16
        cells per latent coordinate, each cell with a rigorous bound: ``max ρ``
        on the cell (``ρ`` is unimodal) times ``(max |A|)^2`` over 8 Chebyshev
        points of the cell divided by ``cos(dπ/16)`` per coordinate (the
        Ehlich-Zeller bound of a degree-d polynomial).
        """
        m, d = self.n_latent, self.channels[0][1].shape[1] - 1
        comps = [
            (c, i)
            for c, (_, amps) in enumerate(self.channels)
            for i in range(self.n_theta + 1)
            if np.any(amps[i])
        ]
        self._comp_channel = np.array([c for c, _ in comps])
        self._comp_row = np.array([i for _, i in comps])
        self._comp_amp = np.array([self.channels[c][1][i] for c, i in comps])
        self._prefactor = np.array([p for p, _ in self.channels])
        n_cells, n_cheb = 16, 8
        edges = np.linspace(-1.0, 1.0, n_cells + 1)
        cheb = np.cos((2 * np.arange(1, n_cheb + 1) - 1) * np.pi / (2 * n_cheb))
        pts = (0.5 * (edges[:-1] + edges[1:])[:, None] + cheb / n_cells).reshape(-1)
        vals = _tensor_apply(self._comp_amp, [legvander(pts, d)] * m)
        vals = np.abs(vals).reshape((len(comps),) + (n_cells, n_cheb) * m)
        slack = np.cos(d * np.pi / (2 * n_cheb)) ** m
        amp_bound = vals.max(axis=tuple(range(2, 2 + 2 * m, 2))) / slack
        rho_bound = []
        for a, b in self.envelope:
            mode = (b - a) / (a + b) if a + b > 0 else 0.0
            at = np.clip(mode, edges[:-1], edges[1:])
            rho_bound.append(self._log_envelope_1d(at, a, b))
        bound = np.log(amp_bound**2) + sum(np.ix_(*rho_bound))
        self._cell_log_bound = bound.reshape(len(comps), -1)
        weight = np.exp(
            self._cell_log_bound - self._cell_log_bound.max(1, keepdims=True)
        )
        cum = np.cumsum(weight, 1) / weight.sum(1, keepdims=True)
        # rows offset by their index: one searchsorted finds every row's cell
        self._cell_cum = (cum + np.arange(len(comps))[:, None]).reshape(-1)
        self._cell_edges = edges
        tj, wj = zip(*(roots_jacobi(d + 1, a, b) for a, b in self.envelope))
        on_nodes = _tensor_apply(self._comp_amp, [legvander(t, d) for t in tj])
        wgrid = reduce(np.multiply, np.ix_(*wj))
        self._comp_mass = (on_nodes**2 * wgrid).reshape(len(comps), -1).sum(1)

    @staticmethod
    def _log_envelope_1d(t, alpha, beta):
        with np.errstate(divide="ignore"):
            return alpha * np.log1p(-t) + beta * np.log1p(t)

    def _log_envelope(self, z):
        """``log ρ(z)``."""
        return sum(
            self._log_envelope_1d(z[:, c], a, b)
            for c, (a, b) in enumerate(self.envelope)
        )

    def _amplitudes_at(self, z):
        """Every component amplitude ``A_j(z)``: ``(n, n_components)``."""
        d = self._comp_amp.shape[1] - 1
        mats = [legvander(z[:, c], d) for c in range(self.n_latent)]
        return _tensor_at_points(self._comp_amp, mats)

    def _draw_component(self, comp, rng):
        """One latent event from ``ρ A_j^2`` per entry ``j`` of ``comp``."""
        n_cells = len(self._cell_edges) - 1
        per_comp = self._cell_log_bound.shape[1]

        def propose(rows):
            j = comp[rows]
            u = j + rng.uniform(size=rows.size)
            cell = np.searchsorted(self._cell_cum, u) - j * per_comp
            cell = np.clip(cell, 0, per_comp - 1)
            idx = np.unravel_index(cell, (n_cells,) * self.n_latent)
            low = self._cell_edges[np.stack(idx, 1)]
            zz = low + (2.0 / n_cells) * rng.uniform(size=low.shape)
            amp = self._amplitudes_at(zz)[np.arange(rows.size), j]
            with np.errstate(divide="ignore"):
                log_h = 2.0 * np.log(np.abs(amp)) + self._log_envelope(zz)
            log_u = np.log(rng.uniform(size=rows.size))
            return zz, log_u + self._cell_log_bound[j, cell] < log_h

        return _rejection(propose, len(comp), self.n_latent)

    def _build_quadrature(self):
        """Gauss–Jacobi rules per latent coordinate and the exact ``σ_k``."""
        t = np.linspace(-1.0, 1.0, 4001)
        g_t = [observable_map(g, a, t) for _, g, a, _ in self.observables]
        self._ranges = [
            (gt.min() - 8 * o[3], gt.max() + 8 * o[3])
            for gt, o in zip(g_t, self.observables)
        ]
        # narrowest smearing in z units per coordinate; the Gauss-Jacobi error
        # of a Gaussian of width w (z units) falls like exp(-2 N^2 w^2)
        width = np.full(self.n_latent, np.inf)
        for gt, (c, _, _, s) in zip(g_t, self.observables):
            slope = np.abs(np.diff(gt) / np.diff(t)).max()
            width[c] = min(width[c], s / slope)
        self.n_nodes_ = tuple(int(np.clip(np.ceil(6.0 / w), 48, 800)) for w in width)
        self._rules = []
        integrals = []
        for c, n in enumerate(self.n_nodes_):
            alpha, beta = self.envelope[c]
            tc, wc = roots_jacobi(n, alpha, beta)
            cols = [j for j, o in enumerate(self.observables) if o[0] == c]
            g_at = np.array(
                [observable_map(*self.observables[j][1:3], tc) for j in cols]
            )
            sig = np.array([self.observables[j][3] for j in cols])
            pl = legvander(tc, self.degree_)
            self._rules.append((cols, g_at, sig, wc[:, None] * pl))
            integrals.append((wc @ pl)[None, :])
        self._norm = _tensor_apply(self._coef, integrals).reshape(-1)

    # ------------------------------------------------------------ validation
    def _theta_rows(self, theta, n, name="theta"):
        """``theta`` as ``(n, n_theta)`` rows inside the box."""
        theta = np.asarray(theta, dtype=float)
        k = self.n_theta
        if theta.ndim == 0 and k == 1:
            theta = theta.reshape(1)
        if theta.ndim == 1 and theta.shape[0] == k:
            theta = np.broadcast_to(theta, (n, k))
        if theta.shape != (n, k):
            raise ValueError(
                f"{name} must have shape ({k},) or ({n}, {k}), got {theta.shape}."
            )
        if not np.isfinite(theta).all():
            raise ValueError(f"{name} must be finite.")
        lo, hi = self.theta_bounds[:, 0], self.theta_bounds[:, 1]
        if ((theta < lo - 1e-12) | (theta > hi + 1e-12)).any():
            raise ValueError(
                f"{name} must lie in the parameter box theta_bounds="
                f"{self.theta_bounds.tolist()}."
            )
        return np.ascontiguousarray(theta)

    def _events(self, a, width, name):
        a = np.asarray(a, dtype=float)
        if a.ndim != 2 or a.shape[1] != width or not np.isfinite(a).all():
            raise ValueError(
                f"{name} must be a finite array of shape (n, {width}), got "
                f"shape {a.shape}."
            )
        return a

    # ------------------------------------------------------------ morphing
    def _w(self, theta):
        """Monomials ``w_k(θ)`` ``(n, K)`` and their gradients ``(n, K, n_theta)``."""
        n, k = theta.shape
        w = np.ones((n, len(self.monomials_)))
        dw = np.zeros((n, len(self.monomials_), k))
        for j, mono in enumerate(self.monomials_):
            for p, i in enumerate(mono):
                w[:, j] *= theta[:, i]
                other = mono[1 - p] if len(mono) == 2 else None
                dw[:, j, i] += 1.0 if other is None else theta[:, other]
        return w, dw

    def _latent_basis(self, z):
        """``f_k(z)`` ``(n, K)`` (without the envelope ρ)."""
        mats = [legvander(z[:, c], self.degree_) for c in range(self.n_latent)]
        return _tensor_at_points(self._coef, mats)

    def _coordinate_basis(self, c, xc):
        """``∫ ρ_c P_a(t) Π_j N(x_j; g_j(t), σ_j^2) dt`` as ``(G, log scale)``."""
        _, g_at, sig, wpl = self._rules[c]
        out = np.empty((len(xc), wpl.shape[1]))
        shift = np.empty(len(xc))
        for s in range(0, len(xc), _CHUNK):
            xs = xc[s : s + _CHUNK]
            logn = -0.5 * (((xs[:, :, None] - g_at[None]) / sig[:, None]) ** 2).sum(1)
            top = logn.max(1)
            out[s : s + _CHUNK] = np.exp(logn - top[:, None]) @ wpl
            shift[s : s + _CHUNK] = top
        return out, shift - np.log(sig).sum() - len(sig) * _LOG_SQRT_2PI

    def _marginal_basis(self, x):
        """``F_k(x) = basis * exp(shift)``: ``(n, K)`` and ``(n,)``."""
        parts = [
            self._coordinate_basis(c, x[:, r[0]]) for c, r in enumerate(self._rules)
        ]
        basis = _tensor_at_points(self._coef, [p[0] for p in parts])
        return basis, sum(p[1] for p in parts)

    def _log_mix(self, basis, w):
        """``log(w·basis) - log(w·σ)`` per row."""
        with np.errstate(divide="ignore", invalid="ignore"):
            num = np.log(np.maximum((basis * w).sum(1), 0.0))
        return num - np.log(w @ self._norm)

    def _score_mix(self, basis, w, dw):
        """``∇_θ [log(w·basis) - log(w·σ)]`` per row."""
        with np.errstate(divide="ignore", invalid="ignore"):
            num = np.einsum("nk,nkt->nt", basis, dw) / (basis * w).sum(1)[:, None]
        return num - (dw.transpose(0, 2, 1) @ self._norm) / (w @ self._norm)[:, None]

    # ------------------------------------------------------------ sampling
    def _simulate(self, theta, rng):
        """Draw ``(x, z)``, one event per row of ``theta``, by exact rejection.

        By Cauchy-Schwarz, ``(Σ_i u_i A_{c,i})^2 ≤ L_c Σ_i |u_i| A_{c,i}^2``
        with ``L_c = Σ_i |u_i|`` over the channel's amplitudes, so the mixture
        ``Σ_{c,i} π_c L_c |u_i| ρ A_{c,i}^2`` bounds the density: pick a
        component with probability proportional to its weight times its mass,
        draw from it (:meth:`_draw_component`) and accept with the ratio of
        the density to the mixture.
        """
        n = len(theta)
        u = np.abs(np.column_stack([np.ones(n), theta]))
        pre = np.where(
            self._prefactor[None] < 0, 1.0, theta[:, np.maximum(self._prefactor, 0)]
        )
        ch, row = self._comp_channel, self._comp_row
        l1 = np.zeros((len(self.channels), n))
        np.add.at(l1, ch, u[:, row].T)
        coef = pre[:, ch] * l1.T[:, ch] * u[:, row]
        cum = np.cumsum(coef * self._comp_mass, 1)

        def propose(rows):
            pick = rng.uniform(size=rows.size) * cum[rows, -1]
            comp = np.minimum((cum[rows] < pick[:, None]).sum(1), len(ch) - 1)
            zz = self._draw_component(comp, rng)
            env = (coef[rows] * self._amplitudes_at(zz) ** 2).sum(1)
            dens = (self._latent_basis(zz) * self._w(theta[rows])[0]).sum(1)
            return zz, rng.uniform(size=rows.size) * env < dens

        z = _rejection(propose, n, self.n_latent)
        x = np.column_stack(
            [
                observable_map(g, a, z[:, c]) + s * rng.standard_normal(n)
                for c, g, a, s in self.observables
            ]
        )
        return x, z

    def sample(self, n_samples, theta, random_state=None):
        """Simulate events at one parameter point (or one per row).

        Parameters
        ----------
        n_samples : int
            Number of events.
        theta : array-like of shape (n_theta,) or (n_samples, n_theta)
            Parameter point(s) inside ``theta_bounds``.
        random_state : int, RandomState instance or None, default=None
            Seed.

        Returns
        -------
        x : ndarray of shape (n_samples, n_x)
            Observations.
        z : ndarray of shape (n_samples, n_latent)
            Latent events.
        """
        rng = check_random_state(random_state)
        return self._simulate(self._theta_rows(theta, int(n_samples)), rng)

    def make_training(
        self, n_samples=10_000, *, theta=None, theta_ref=None, random_state=None
    ):
        """Training data in the conventions of :func:`make_alice_toy`.

        Half of the rows (``y = 0``) are simulated at their θ (uniform in
        ``theta_bounds`` per row, or the given ``theta``), the other half
        (``y = 1``) at the reference θ_1; for those the θ column is drawn the
        same way and the joint ratio and score are evaluated at it. Rows are
        shuffled.

        Parameters
        ----------
        n_samples : int, default=10000
            Number of rows (``n_samples - n_samples // 2`` with ``y = 0``).
        theta : array-like of shape (n_theta,) or (n_samples, n_theta), default=None
            Numerator θ per row (any prior: draw it yourself); ``None`` draws it
            uniformly in the box.
        theta_ref : array-like of shape (n_theta,), default=None
            Reference θ_1 (``None``: ``theta_ref``, the Standard Model).
        random_state : int, RandomState instance or None, default=None
            Seed.

        Returns
        -------
        X : ndarray of shape (n_samples, n_x + n_theta)
            ``[x, θ]``.
        y : ndarray of shape (n_samples,)
            0 for events from θ, 1 for events from θ_1.
        joint_ratio : ndarray of shape (n_samples,)
            ``r(x,z|θ,θ_1) = p(z|θ)/p(z|θ_1)``.
        joint_score : ndarray of shape (n_samples, n_theta)
            ``t(x,z|θ) = ∇_θ log p(x,z|θ)``.
        """
        rng = check_random_state(random_state)
        n_num = n_samples - n_samples // 2
        if theta is None:
            lo, hi = self.theta_bounds.T
            th = lo + (hi - lo) * rng.uniform(size=(n_samples, self.n_theta))
        else:
            th = self._theta_rows(theta, n_samples)
        ref = self._theta_rows(
            self.theta_ref if theta_ref is None else theta_ref, n_samples, "theta_ref"
        )
        y = np.zeros(n_samples)
        y[n_num:] = 1.0
        x, z = self._simulate(np.where(y[:, None] == 0, th, ref), rng)
        basis = self._latent_basis(z)
        log_r = self._log_mix(basis, self._w(th)[0]) - self._log_mix(
            basis, self._w(ref)[0]
        )
        score = self._score_mix(basis, *self._w(th))
        order = rng.permutation(n_samples)
        X = np.column_stack([x, th])[order]
        return X, y[order], np.exp(log_r)[order], score[order]

    # ------------------------------------------------------------ exact truth
    def latent_log_density(self, z, theta):
        """``log p(z|θ)`` (normalised, envelope included).

        Parameters
        ----------
        z : array-like of shape (n, n_latent)
            Latent events in ``[-1, 1]^n_latent``.
        theta : array-like of shape (n_theta,) or (n, n_theta)
            Parameter point(s).

        Returns
        -------
        log_p : ndarray of shape (n,)
        """
        z = self._events(z, self.n_latent, "z")
        w, _ = self._w(self._theta_rows(theta, len(z)))
        return self._log_mix(self._latent_basis(z), w) + self._log_envelope(z)

    def joint_log_ratio(self, x, z, theta0, theta1=None):
        """Exact ``log r(x,z|θ_0,θ_1) = log p(z|θ_0) - log p(z|θ_1)``.

        Parameters
        ----------
        x : array-like of shape (n, n_x)
            Observations (the smearing cancels; checked for shape only).
        z : array-like of shape (n, n_latent)
            Latent events.
        theta0, theta1 : array-like of shape (n_theta,) or (n, n_theta)
            Numerator and denominator (``None``: ``theta_ref``).

        Returns
        -------
        log_r : ndarray of shape (n,)
        """
        z = self._events(z, self.n_latent, "z")
        self._events(x, self.n_x, "x")
        basis = self._latent_basis(z)
        t1 = self.theta_ref if theta1 is None else theta1
        w0 = self._w(self._theta_rows(theta0, len(z), "theta0"))[0]
        w1 = self._w(self._theta_rows(t1, len(z), "theta1"))[0]
        return self._log_mix(basis, w0) - self._log_mix(basis, w1)

    def joint_score(self, x, z, theta):
        """Exact ``t(x,z|θ) = ∇_θ log p(x,z|θ) = ∇_θ log p(z|θ)``.

        Parameters
        ----------
        x : array-like of shape (n, n_x)
            Observations (checked for shape only).
        z : array-like of shape (n, n_latent)
            Latent events.
        theta : array-like of shape (n_theta,) or (n, n_theta)
            Parameter point(s).

        Returns
        -------
        score : ndarray of shape (n, n_theta)
        """
        z = self._events(z, self.n_latent, "z")
        self._events(x, self.n_x, "x")
        w, dw = self._w(self._theta_rows(theta, len(z)))
        return self._score_mix(self._latent_basis(z), w, dw)

    def log_likelihood(self, x, theta):
        """Marginal ``log p(x|θ)`` (quadrature, accurate to about 1e-12).

        Parameters
        ----------
        x : array-like of shape (n, n_x)
            Observations.
        theta : array-like of shape (n_theta,) or (n, n_theta)
            Parameter point(s).

        Returns
        -------
        log_p : ndarray of shape (n,)
        """
        x = self._events(x, self.n_x, "x")
        w, _ = self._w(self._theta_rows(theta, len(x)))
        basis, shift = self._marginal_basis(x)
        return self._log_mix(basis, w) + shift

    def score(self, x, theta):
        """Marginal score ``∇_θ log p(x|θ)``.

        Parameters
        ----------
        x : array-like of shape (n, n_x)
            Observations.
        theta : array-like of shape (n_theta,) or (n, n_theta)
            Parameter point(s).

        Returns
        -------
        score : ndarray of shape (n, n_theta)
        """
        x = self._events(x, self.n_x, "x")
        w, dw = self._w(self._theta_rows(theta, len(x)))
        return self._score_mix(self._marginal_basis(x)[0], w, dw)

    def log_ratio(self, x, theta0, theta1=None):
        """Marginal ``log r(x|θ_0,θ_1) = log p(x|θ_0) - log p(x|θ_1)``.

        Parameters
        ----------
        x : array-like of shape (n, n_x)
            Observations.
        theta0, theta1 : array-like of shape (n_theta,) or (n, n_theta)
            Numerator and denominator (``None``: ``theta_ref``).

        Returns
        -------
        log_r : ndarray of shape (n,)
        """
        x = self._events(x, self.n_x, "x")
        basis, _ = self._marginal_basis(x)
        t1 = self.theta_ref if theta1 is None else theta1
        w0 = self._w(self._theta_rows(theta0, len(x), "theta0"))[0]
        w1 = self._w(self._theta_rows(t1, len(x), "theta1"))[0]
        return self._log_mix(basis, w0) - self._log_mix(basis, w1)

    def log_ratio_grid(self, x, theta_grid, theta1=None):
        """``log r(x_i|θ_j, θ_1)`` for every grid point and event.

        The input of :func:`skhep_ml.ratio.likelihood_profile`; the basis
        integrals are computed once, so a grid costs little more than a point.

        Parameters
        ----------
        x : array-like of shape (n, n_x)
            Observations.
        theta_grid : array-like of shape (n_grid, n_theta)
            Parameter points (a 1-d array for ``n_theta = 1``).
        theta1 : array-like of shape (n_theta,), default=None
            Denominator (``None``: ``theta_ref``).

        Returns
        -------
        log_r : ndarray of shape (n_grid, n)
        """
        x = self._events(x, self.n_x, "x")
        grid = self._grid(theta_grid)
        basis, _ = self._marginal_basis(x)
        return self._grid_log_p(basis, grid) - self._grid_log_p(
            basis,
            self._theta_rows(self.theta_ref if theta1 is None else theta1, 1, "theta1"),
        )

    def _grid(self, theta_grid):
        grid = np.asarray(theta_grid, dtype=float)
        grid = grid.reshape(len(grid), -1) if grid.ndim < 2 else grid
        return self._theta_rows(grid, len(grid), "theta_grid")

    def _grid_log_p(self, basis, grid):
        """``log(w_j·basis_i) - log(w_j·σ)`` as ``(n_grid, n)``."""
        w, _ = self._w(grid)
        with np.errstate(divide="ignore"):
            return (
                np.log(np.maximum(w @ basis.T, 0.0)) - np.log(w @ self._norm)[:, None]
            )

    # ------------------------------------------------------------ x quadrature
    def _x_quadrature(self, n_quad):
        """Basis, log scale and weights of the x-space Gauss–Legendre grid."""
        tq, wq = roots_legendre(int(n_quad))
        mats, shifts, weights = [], [], []
        for c, (cols, *_) in enumerate(self._rules):
            axes = []
            for j in cols:
                lo, hi = self._ranges[j]
                axes.append((lo + (hi - lo) * (tq + 1) / 2, wq * (hi - lo) / 2))
            pts = np.stack(np.meshgrid(*[a[0] for a in axes], indexing="ij"), -1)
            wts = np.prod(np.meshgrid(*[a[1] for a in axes], indexing="ij"), 0)
            g, s = self._coordinate_basis(c, pts.reshape(-1, len(cols)))
            mats.append(g)
            shifts.append(s)
            weights.append(wts.reshape(-1))
        basis = _tensor_apply(self._coef, mats).reshape(len(self.monomials_), -1).T
        shift = sum(np.ix_(*shifts)).reshape(-1)
        weight = reduce(np.multiply, np.ix_(*weights)).reshape(-1)
        return basis, shift, weight

    def fisher_information(self, theta, *, n_quad=None):
        """Exact expected Fisher information ``E_x[s s^T]`` of one event.

        ``s = ∇_θ log p(x|θ)`` of the marginal model, integrated over ``x`` by a
        tensor Gauss–Legendre rule (``n_quad`` nodes per observable on
        ``[min g − 8σ, max g + 8σ]``).

        Parameters
        ----------
        theta : array-like of shape (n_theta,)
            Parameter point.
        n_quad : int, default=None
            Nodes per observable (``None``: 96, 64 or 40 for 1, 2, 3
            observables).

        Returns
        -------
        info : ndarray of shape (n_theta, n_theta)
        """
        theta = self._theta_rows(theta, 1)
        basis, shift, weight = self._x_quadrature(self._n_quad(n_quad))
        w, dw = self._w(np.broadcast_to(theta, (len(basis), self.n_theta)))
        p = np.exp(self._log_mix(basis, w) + shift) * weight
        s = self._score_mix(basis, w, dw)
        return np.einsum("n,ni,nj->ij", p, s, s)

    def expected_q(self, theta_grid, *, theta_true=None, n_events=100, n_quad=None):
        """Expected (Asimov) −2Δlog L curve of ``n_events`` events at ``theta_true``.

        ``q(θ_j) = 2 n [max_l E(θ_l) - E(θ_j)]`` with
        ``E(θ) = ∫ p(x|θ_true) log p(x|θ) dx`` (x quadrature as in
        :meth:`fisher_information`, dropping the nodes where
        ``p(x|θ_true)`` is below 1e-13 of its maximum; cost about
        ``n_grid × n_quad^n_x / 6`` logarithms for three observables): the curve that
        :func:`~skhep_ml.ratio.likelihood_profile` with ``n_events`` approaches
        on a large sample from ``theta_true``, minimum 0 on the grid.

        Parameters
        ----------
        theta_grid : array-like of shape (n_grid, n_theta)
            Parameter points (a 1-d array for ``n_theta = 1``).
        theta_true : array-like of shape (n_theta,), default=None
            The truth (``None``: the draw's ``theta_true``).
        n_events : int, default=100
            Number of events.
        n_quad : int, default=None
            Nodes per observable, as in :meth:`fisher_information`.

        Returns
        -------
        q : ndarray of shape (n_grid,)
        """
        grid = self._grid(theta_grid)
        true = self._theta_rows(
            self.theta_true if theta_true is None else theta_true, 1, "theta_true"
        )
        basis, shift, weight = self._x_quadrature(self._n_quad(n_quad))
        p_true = np.exp(self._grid_log_p(basis, true)[0] + shift) * weight
        # nodes below 1e-13 of the largest carry < 1e-11 of the mass in all
        keep = p_true > 1e-13 * p_true.max()
        basis, p_true = basis[keep], p_true[keep]
        expect = np.concatenate(
            [
                self._grid_log_p(basis, grid[s : s + 256]) @ p_true
                for s in range(0, len(grid), 256)
            ]
        )
        return 2.0 * n_events * (expect.max() - expect)

    def _n_quad(self, n_quad):
        return {1: 96, 2: 64, 3: 40}[self.n_x] if n_quad is None else int(n_quad)

    def __repr__(self):
        return (
            f"MorphingSimulator(name={self.name!r}, seed={self.seed}, "
            f"kinds={self.kinds}, n_latent={self.n_latent}, n_x={self.n_x})"
        )


def _rejection(propose, n, width):
    """Rejection sampling of ``n`` rows: ``propose(rows) -> (draws, accepted)``.

    Rows still waiting get several proposals per round (up to 64, about 8192
    in all) and keep their first accepted one, which is the draw a one-by-one
    rejection loop gives, in far fewer rounds.
    """
    out = np.empty((n, width))
    todo = np.arange(n)
    while todo.size:
        rep = int(np.clip(8192 // todo.size, 1, 64))
        draws, ok = propose(np.repeat(todo, rep))
        ok = ok.reshape(todo.size, rep)
        got = ok.any(1)
        first = ok.argmax(1)[got]
        out[todo[got]] = draws.reshape(todo.size, rep, width)[got, first]
        todo = todo[~got]
    return out


def _random_amplitude(rng, shape, n_channels):
    """Random Legendre tensors, coefficient ``(a, b)`` of scale ``1/(1 + a + b)``."""
    decay = 1.0 / (1.0 + sum(np.ix_(*[np.arange(n) for n in shape])))
    return rng.standard_normal((n_channels, *shape)) * decay


def make_simulator_family(seed, *, n_theta=None, kinds=None):
    """Draw one simulator of the EFT-morphing family (:class:`MorphingSimulator`).

    Random choices, all from ``numpy.random.default_rng(seed)``:

    * ``n_theta`` uniform in {1, 2, 3} (unless given); every parameter's kind
      ``"interference"`` (probability 1/2), ``"squared"`` (1/4) or ``"rate"``
      (1/4), at most one rate (a second becomes interference), unless
      ``kinds`` is given;
    * latent dimension ``n_latent`` uniform in {1, 2}; amplitude degree ``d``
      uniform in {2, 3} per coordinate; envelope exponents ``α, β`` uniform in
      ``[0, 2]`` per coordinate;
    * one or two Standard-Model channels (equal odds) with a random amplitude
      ``A_0`` (Legendre coefficients normal with scale ``1/(1 + a + b)``),
      normalised to ``E_ρ[Σ_c A_{c,0}^2] = 1``;
    * an interference parameter: ``A_i = κ (γ A_0 + sqrt(1 - γ^2) A_⊥)`` in the
      SM channels, ``A_⊥`` random and orthonormal to ``A_0``, ``|γ|`` uniform in
      ``[0.2, 0.8]`` with a random sign, ``κ`` log-uniform in ``[0.5, 2]``;
      a squared parameter: a random amplitude of norm ``κ`` (log-uniform in
      ``[0.5, 2]``) in its own channel; a rate parameter: a random signal
      amplitude of norm ``κ`` (log-uniform in ``[0.5, 1.5]``) in its own channel;
    * a θ-independent flat background of rate ``b`` relative to the SM: 0 with
      probability 1/2 (interference zeros survive), else uniform in
      ``[0.05, 0.5]``;
    * observables: 1 or 2 per latent coordinate (probability 2/3, 1/3; at most
      3 in all), each a map from :data:`OBSERVABLE_MAPS` (equal odds; ``exp``
      parameter uniform in ``[0.5, 2.5]``, ``sinh`` in ``[1, 3]``, ``fold``
      offset in ``[-0.5, 0.5]``) smeared by ``σ`` log-uniform in
      ``[0.03, 0.3]`` (the maps' range is ``[0, 1]``);
    * ``theta_true``: uniform in ``[-0.5, 0.5]`` per amplitude parameter and in
      ``[0.2, 0.8]`` for a rate.

    Parameters
    ----------
    seed : int
        The draw.
    n_theta : {1, 2, 3}, default=None
        Fix the number of parameters (kinds still drawn).
    kinds : sequence of str, default=None
        Fix the kinds (and so ``n_theta``), e.g. ``("interference", "squared")``.

    Returns
    -------
    simulator : MorphingSimulator

    Examples
    --------
    >>> from skhep_ml.datasets import make_simulator_family
    >>> sim = make_simulator_family(0, kinds=("interference",))
    >>> X, y, r, t = sim.make_training(1000, random_state=0)
    >>> X.shape == (1000, sim.n_x + 1), t.shape
    (True, (1000, 1))
    """
    if kinds is not None and (
        not 1 <= len(kinds) <= 3 or any(k not in SIMULATOR_FAMILY_KINDS for k in kinds)
    ):
        raise ValueError(
            f"kinds must be 1 to 3 of {SIMULATOR_FAMILY_KINDS}, got {kinds!r}."
        )
    rng = np.random.default_rng(seed)
    if kinds is None:
        if n_theta is None:
            n_theta = int(rng.integers(1, 4))
        if n_theta not in (1, 2, 3):
            raise ValueError(f"n_theta must be 1, 2 or 3, got {n_theta!r}.")
        drawn = list(
            rng.choice(SIMULATOR_FAMILY_KINDS, size=n_theta, p=[0.5, 0.25, 0.25])
        )
        first_rate = drawn.index("rate") if "rate" in drawn else n_theta
        kinds = [
            "interference" if (k == "rate" and i > first_rate) else str(k)
            for i, k in enumerate(drawn)
        ]
    elif n_theta is not None and n_theta != len(kinds):
        raise ValueError(f"n_theta={n_theta} disagrees with kinds={kinds!r}.")
    if list(kinds).count("rate") > 1:
        raise ValueError("at most one rate parameter.")
    k = len(kinds)
    m = int(rng.integers(1, 3))
    d = int(rng.integers(2, 4))
    shape = (d + 1,) * m
    envelope = rng.uniform(0.0, 2.0, size=(m, 2))
    n_sm = int(rng.integers(1, 3))

    tj, wj = zip(*(roots_jacobi(d + 1, a, b) for a, b in envelope))
    mats = [legvander(t, d) for t in tj]
    wgrid = reduce(np.multiply, np.ix_(*wj))
    wgrid = wgrid / wgrid.sum()

    def inner(a, b):
        return float((_tensor_apply(a, mats) * _tensor_apply(b, mats) * wgrid).sum())

    def normalised(a, norm=1.0):
        return a * norm / np.sqrt(inner(a, a))

    sm = np.zeros((k + 1, n_sm, *shape))
    sm[0] = normalised(_random_amplitude(rng, shape, n_sm))
    channels = []
    extra = []
    for i, kind in enumerate(kinds):
        kappa = np.exp(rng.uniform(np.log(0.5), np.log(1.5 if kind == "rate" else 2.0)))
        amp = _random_amplitude(rng, shape, n_sm if kind == "interference" else 1)
        if kind == "interference":
            perp = normalised(amp - inner(amp, sm[0]) * sm[0])
            gamma = rng.uniform(0.2, 0.8) * rng.choice([-1.0, 1.0])
            sm[i + 1] = kappa * (gamma * sm[0] + np.sqrt(1 - gamma**2) * perp)
        else:
            own = np.zeros((k + 1, *shape))
            own[0 if kind == "rate" else i + 1] = normalised(amp, kappa)[0]
            extra.append((i if kind == "rate" else -1, own))
    channels += [(-1, sm[:, c]) for c in range(n_sm)]
    channels += extra
    if rng.uniform() < 0.5:
        bkg = np.zeros((k + 1, *shape))
        bkg[(0,) + (0,) * m] = np.sqrt(rng.uniform(0.05, 0.5))
        channels.append((-1, bkg))

    observables = []
    counts = [1 + int(rng.uniform() < 1 / 3) for _ in range(m)]
    if sum(counts) > 3:
        counts[-1] = 1
    for c, count in enumerate(counts):
        for _ in range(count):
            g = str(rng.choice(OBSERVABLE_MAPS))
            param = {
                "linear": 0.0,
                "exp": rng.uniform(0.5, 2.5),
                "sinh": rng.uniform(1.0, 3.0),
                "fold": rng.uniform(-0.5, 0.5),
            }[g]
            sigma = np.exp(rng.uniform(np.log(0.03), np.log(0.3)))
            observables.append((c, g, float(param), float(sigma)))
    theta_true = [
        rng.uniform(0.2, 0.8) if kind == "rate" else rng.uniform(-0.5, 0.5)
        for kind in kinds
    ]
    return MorphingSimulator(
        channels,
        envelope,
        observables,
        kinds,
        theta_true=theta_true,
        name="morphing_family",
        seed=seed,
    )
