"""Amplitude-like regression targets on massless 2→3 and 2→4 phase space.

Two kinds, both functions on the unit box of :func:`phase_space_points` (so the
regressor's inputs ``X`` have a fixed dimension, 5 or 8) at ``√s = 1``:

* :class:`EEToQQbarG`: the exact tree-level ``e+e- → γ* → q q̄ g`` matrix element.
* :class:`AntennaAmplitude` from :func:`make_amplitude_family`: a procedural,
  seeded family of antenna sums with soft and collinear poles, times a random
  angular factor and loop-like logarithms.

No closed form of a 2→4 matrix element is provided: 2→4 targets are antenna-like only.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from sklearn.utils import check_random_state

from .phase_space import pair_invariants, phase_space_points

__all__ = [
    "AntennaAmplitude",
    "EEToQQbarG",
    "make_amplitude_family",
]


class _PhaseSpaceTarget:
    """A positive function on the unit box of ``n_final``-body phase space."""

    n_final: int
    name: str
    y_cut: float = 0.0

    @property
    def n_features(self):
        """Dimension ``3 n_final - 4`` of the input box."""
        return 3 * self.n_final - 4

    def __repr__(self):
        return self.name

    def momenta(self, X):
        """Four-momenta ``(n, n_final, 4)`` of the box points ``X`` (√s = 1)."""
        momenta, _ = phase_space_points(X, self.n_final, 1.0, y_cut=self.y_cut)
        return momenta

    def __call__(self, X):
        """Amplitude ``(n,)`` at the box points ``X`` of shape (n, n_features)."""
        return self.from_momenta(self.momenta(X))

    def from_momenta(self, momenta):  # pragma: no cover - abstract
        raise NotImplementedError

    def make(self, n_samples=10_000, random_state=None):
        """Uniform points of the input box and their amplitudes.

        Parameters
        ----------
        n_samples : int, default=10000
            Number of points.
        random_state : int, RandomState instance or None, default=None
            Seed of the uniform inputs.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Positive, noise-free amplitudes.
        """
        if not (isinstance(n_samples, int | np.integer) and n_samples >= 1):
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        rng = check_random_state(random_state)
        X = rng.uniform(size=(int(n_samples), self.n_features))
        return X, self(X)


# e+ and e- beams along +z and -z at √s = 1
_BEAMS = np.array([[0.5, 0.0, 0.0, 0.5], [0.5, 0.0, 0.0, -0.5]])


class EEToQQbarG(_PhaseSpaceTarget):
    """Exact tree-level ``e+e- → γ* → q(p1) q̄(p2) g(p3)`` matrix element.

    With beams ``k± = (√s/2)(1, 0, 0, ±1)`` and ``y_ab = 2 a·b / s``, the spin- and
    colour-summed, spin-averaged squared matrix element of massless QCD is

    ``|M|^2 ∝ (y_{+1}^2 + y_{-1}^2 + y_{+2}^2 + y_{-2}^2) / (y_13 y_23)``;

    this target is the dimensionless ``(3/2) (y_{+1}^2 + ...) / (y_13 y_23)``,
    normalised so that ``dσ = σ_0 (C_F α_s / 2π) A dx1 dx2 dα dcosβ dγ / (8π^2)``
    with the Born ``σ_0 = 4π α^2 N_c e_q^2 / (3 s)``. In energy
    fractions ``x_i = 2 E_i/√s`` and polar angles ``θ_i`` it is
    ``(3/4) Σ_{i=1,2} x_i^2 (1 + cos^2 θ_i) / ((1 - x1)(1 - x2))``, whose average
    over the event orientation is the textbook Dalitz density
    ``(x1^2 + x2^2) / ((1 - x1)(1 - x2))``:
    ``(1/σ_0) dσ/dx1 dx2 = (C_F α_s / 2π) (x1^2 + x2^2)/((1 - x1)(1 - x2))``
    (R. K. Ellis, W. J. Stirling, B. R. Webber, *QCD and Collider Physics*,
    CUP 1996, ch. 3; J. Ellis, M. K. Gaillard, G. G. Ross, Nucl. Phys. B111
    (1976) 253). Collinear poles at ``x1 → 1`` (``q̄ ∥ g``) and ``x2 → 1``
    (``q ∥ g``), the soft pole where both meet; the phase-space map cuts every
    ``s_ij >= y_cut s``, so the values are finite (range ~ ``1/y_cut^2``).

    Parameters
    ----------
    y_cut : float, default=0.01
        Lower bound on every ``s_ij / s``, in ``(0, 1/3)``.

    Attributes
    ----------
    n_final : int
        3.
    n_features : int
        5 (see :func:`phase_space_points`).
    name : str
        ``"ee_to_qqbarg(y_cut=...)"``.
    """

    n_final = 3

    def __init__(self, y_cut=0.01):
        if not 0.0 < y_cut < 1.0 / 3.0:
            raise ValueError(f"y_cut must be in (0, 1/3), got {y_cut!r}.")
        self.y_cut = float(y_cut)
        self.name = f"ee_to_qqbarg(y_cut={self.y_cut:g})"

    @staticmethod
    def dalitz(x1, x2):
        """Orientation average ``(x1^2 + x2^2) / ((1 - x1)(1 - x2))``."""
        x1, x2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
        return (x1**2 + x2**2) / ((1.0 - x1) * (1.0 - x2))

    def from_momenta(self, momenta):
        """The target from four-momenta ``(n, 3, 4)`` (``√s = 1``, quark first)."""
        p = np.asarray(momenta, dtype=float)
        y = pair_invariants(p)
        metric = np.array([1.0, -1.0, -1.0, -1.0])
        y_beam = 2.0 * np.einsum("bk,nik->nbi", _BEAMS * metric, p[:, :2])
        numerator = np.sum(y_beam**2, axis=(1, 2))
        return 1.5 * numerator / (y[:, 0, 2] * y[:, 1, 2])


def _log_uniform(rng, low, high, size=None):
    return np.exp(rng.uniform(np.log(low), np.log(high), size=size))


def _antenna_triples(n_final):
    """``(i, j, k)``: parton ``j`` radiated between ``i < k``, all choices."""
    return np.array(
        [
            (i, j, k)
            for j in range(n_final)
            for i, k in combinations([m for m in range(n_final) if m != j], 2)
        ]
    )


class AntennaAmplitude(_PhaseSpaceTarget):
    """One seeded member of the antenna-like amplitude family.

    Built by :func:`make_amplitude_family` (which documents the random choices).
    With ``y_ij = s_ij / s``, the regulator ``δ`` and ``ŷ = y + δ``:

    ``A = Σ_t c_t [2 ŷ_ik ŷ_ijk / (ŷ_ij ŷ_jk) + r_t (ŷ_ij / ŷ_jk + ŷ_jk / ŷ_ij)]
    / ŷ_ijk × F(angles) × L(y)``

    summed over the antenna triples ``t = (i, j, k)`` (parton ``j`` radiated
    between ``i`` and ``k``; ``y_ijk = y_ij + y_ik + y_jk``), the structure of the
    ``q g q̄`` antenna ``A_3^0`` (Gehrmann-De Ridder, Gehrmann, Glover, JHEP 0509
    (2005) 056) with random weights: a double (soft) pole ``1/(y_ij y_jk)`` when
    ``j`` is soft and single (collinear) poles ``1/y_jk``, all regulated by ``δ``.

    ``F = Σ_i w_i (1 + a_i cos θ_i + b_i cos^2 θ_i + e_i sin^2 θ_i cos 2φ_i)``
    (``θ_i, φ_i``: polar angle of parton ``i`` to the beam and its azimuth; the
    ``cos 2φ`` term, as from transversely polarised beams, makes every input of
    the box matter) and ``L = 1 + mean_ij (c_ij ℓ_ij^2 - d_ij ℓ_ij)``,
    ``ℓ_ij = log ŷ_ij <= 0``, a loop-like logarithmic factor. Every factor is
    positive by construction.

    Attributes
    ----------
    seed : int
        The family seed.
    n_final : int
        3 or 4 massless final-state partons.
    n_features : int
        5 or 8, the inputs of :func:`phase_space_points`.
    name : str
        ``"antenna_amplitude(seed=..., n_final=...)"``.
    regulator : float
        ``δ``.
    triples : ndarray of shape (n_triples, 3)
        The antenna triples ``(i, j, k)``.
    antenna_coef, ratio_coef : ndarray of shape (n_triples,)
        ``c_t`` and ``r_t``.
    angular_weight, angular_linear : ndarray of shape (n_final,)
        ``w_i`` and ``a_i``.
    angular_quadratic, angular_azimuthal : ndarray of shape (n_final,)
        ``b_i`` and ``e_i``.
    log_square, log_linear : ndarray of shape (n_pairs,)
        ``c_ij`` and ``d_ij`` over the pairs ``i < j`` in lexicographic order.
    """

    def __init__(self, seed, n_final, regulator, rng):
        self.seed = seed
        self.n_final = int(n_final)
        self.regulator = float(regulator)
        self.triples = _antenna_triples(self.n_final)
        n_triples, n_pairs = len(self.triples), self.n_final * (self.n_final - 1) // 2
        self.antenna_coef = _log_uniform(rng, 0.1, 1.0, n_triples)
        self.ratio_coef = rng.uniform(0.0, 1.0, n_triples)
        self.angular_weight = rng.dirichlet(np.ones(self.n_final))
        self.angular_linear = rng.uniform(-0.5, 0.5, self.n_final)
        self.angular_quadratic = rng.uniform(-0.2, 1.0, self.n_final)
        self.angular_azimuthal = rng.uniform(-0.2, 0.2, self.n_final)
        self.log_square = rng.uniform(0.0, 0.05, n_pairs)
        self.log_linear = rng.uniform(0.0, 0.3, n_pairs)
        self.name = f"antenna_amplitude(seed={seed}, n_final={self.n_final})"

    def antenna(self, y):
        """Antenna sum of the pair invariants ``y`` (n, n_final, n_final) / s."""
        y = np.asarray(y, dtype=float) + self.regulator
        i, j, k = self.triples.T
        y_ij, y_jk, y_ik = y[:, i, j], y[:, j, k], y[:, i, k]
        y_ijk = y_ij + y_jk + y_ik - 2.0 * self.regulator
        soft = 2.0 * y_ik * y_ijk / (y_ij * y_jk)
        collinear = y_ij / y_jk + y_jk / y_ij
        terms = (soft + self.ratio_coef * collinear) / y_ijk
        return terms @ self.antenna_coef

    def angular_factor(self, momenta):
        """``F`` of the four-momenta ``(n, n_final, 4)``, in ``[0.3, 2.7]``."""
        p = np.asarray(momenta, dtype=float)
        norm = np.linalg.norm(p[..., 1:], axis=-1)
        # a parton of zero momentum (a corner of the box) counts as cos θ = 0
        cos_theta = np.divide(p[..., 3], norm, out=np.zeros_like(norm), where=norm > 0)
        # sin^2 θ cos 2φ = (p_x^2 - p_y^2) / |p|^2
        norm2 = np.where(norm > 0, norm, 1.0) ** 2
        cos_2phi = (p[..., 1] ** 2 - p[..., 2] ** 2) / norm2
        per_parton = (
            1.0
            + self.angular_linear * cos_theta
            + self.angular_quadratic * cos_theta**2
            + self.angular_azimuthal * cos_2phi
        )
        return per_parton @ self.angular_weight

    def log_factor(self, y):
        """``L`` of the pair invariants ``y`` / s, at least 1."""
        i, j = np.triu_indices(self.n_final, k=1)
        ell = np.log(np.asarray(y, dtype=float)[:, i, j] + self.regulator)
        return 1.0 + (self.log_square * ell**2 - self.log_linear * ell).mean(axis=1)

    def from_momenta(self, momenta):
        """The amplitude from four-momenta ``(n, n_final, 4)`` at ``√s = 1``."""
        y = pair_invariants(momenta)
        return self.antenna(y) * self.angular_factor(momenta) * self.log_factor(y)


# lower end of the log-uniform regulator range (one decade): the same dynamic
# range for both multiplicities (n = 4 has six pairs, so a larger minimum)
_REGULATOR_LOW = {3: 1e-3, 4: 6e-4}


def make_amplitude_family(seed, *, n_final=None, regulator=None):
    """Draw one member of the antenna-like amplitude family.

    Every choice comes from ``numpy.random.default_rng(seed)`` in this order:

    * ``n_final``: 3 or 4 with equal probability (unless given; drawn anyway);
    * the regulator ``δ``: log-uniform over one decade, ``[1e-3, 1e-2]`` for
      n = 3 and ``[6e-4, 6e-3]`` for n = 4, which gives both the same dynamic
      range (unless given; drawn anyway, so the other draws do not depend on it);
    * per antenna triple (3 for n = 3, 12 for n = 4): ``c_t`` log-uniform in
      ``[0.1, 1]`` and ``r_t`` uniform in ``[0, 1]``;
    * the angular factor: ``w ~ Dirichlet(1, ..., 1)``, ``a_i ~ U(-0.5, 0.5)``,
      ``b_i ~ U(-0.2, 1)``, ``e_i ~ U(-0.2, 0.2)`` (so ``0.3 <= F <= 2.7``);
    * per pair: ``c_ij ~ U(0, 0.05)``, ``d_ij ~ U(0, 0.3)``.

    The smooth regulator keeps the target finite on the whole box (no cut in
    the map, which for n = 4 would not be a box). Measured over seeds 0-59 with
    2e4 uniform points each: max/min spans 2.4e3 to 3.9e5 (median 3.8e4) for
    n = 3 and 1.4e3 to 9.5e4 (median 8.6e3) for n = 4; the median value is
    ~50 (n = 3) and ~2e3 (n = 4).

    Parameters
    ----------
    seed : int
        Seed of the family draw (non-negative).
    n_final : {3, 4} or None, default=None
        Fix the multiplicity instead of drawing it.
    regulator : float or None, default=None
        Fix ``δ >= 0`` instead of drawing it (``0`` gives the bare poles).

    Returns
    -------
    target : AntennaAmplitude
        Picklable; ``target(X)`` evaluates it, ``target.make(n, random_state)``
        samples ``(X, y)``.

    Examples
    --------
    >>> from skhep_ml.datasets import make_amplitude_family
    >>> target = make_amplitude_family(3, n_final=3)
    >>> X, y = target.make(1000, random_state=0)
    >>> X.shape, bool((y > 0).all())
    ((1000, 5), True)
    """
    if not (isinstance(seed, int | np.integer) and seed >= 0):
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    rng = np.random.default_rng(int(seed))
    drawn_n = int(rng.choice([3, 4]))
    regulator_exponent = rng.uniform()
    if n_final is None:
        n_final = drawn_n
    elif n_final not in (3, 4):
        raise ValueError(f"n_final must be 3, 4 or None, got {n_final!r}.")
    if regulator is None:
        regulator = _REGULATOR_LOW[n_final] * 10.0**regulator_exponent
    elif not (np.isfinite(regulator) and regulator >= 0):
        raise ValueError(f"regulator must be a non-negative number, got {regulator!r}.")
    return AntennaAmplitude(int(seed), n_final, regulator, rng)
