"""Massless n-body phase space of e+e- annihilation at fixed √s (n = 3, 4).

Normalisation everywhere: ``dΦ_n = (2π)^4 δ^4(P - Σ p_i) Π d^3p_i / ((2π)^3 2E_i)``
with ``P = (√s, 0, 0, 0)``. Its massless volume is (Kleiss, Stirling, Ellis 1986)

``Φ_n = (2π)^(4-3n) (π/2)^(n-1) s^(n-2) / ((n-1)! (n-2)!)``,

so ``Φ_3 = s / (256 π^3)`` and ``Φ_4 = s^2 / (24576 π^5)``. Four-momenta are
``(E, p_x, p_y, p_z)``; the beams run along ``±z``.

Reference: R. Kleiss, W. J. Stirling, S. D. Ellis, *A new Monte Carlo treatment
of multiparticle phase space at high energies*, Comput. Phys. Commun. 40 (1986)
359 (RAMBO).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "pair_invariants",
    "phase_space_points",
    "phase_space_volume",
    "rambo",
]

_N_FINAL = (3, 4)


def _check_n_final(n_final):
    if n_final not in _N_FINAL:
        raise ValueError(f"n_final must be 3 or 4, got {n_final!r}.")


def _check_box(X, n_features, name):
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(
            f"{name} needs X of shape (n, {n_features}), got {tuple(X.shape)}."
        )
    if np.any((X < 0.0) | (X > 1.0)) or not np.all(np.isfinite(X)):
        raise ValueError(f"{name} needs X in the unit box [0, 1]^{n_features}.")
    return X


def _check_sqrt_s(sqrt_s):
    if not (np.isfinite(sqrt_s) and sqrt_s > 0):
        raise ValueError(f"sqrt_s must be a positive number, got {sqrt_s!r}.")
    return float(sqrt_s)


def phase_space_volume(n_final, sqrt_s=1.0):
    """Exact volume ``Φ_n`` of massless n-body phase space (module docstring).

    Parameters
    ----------
    n_final : int
        Number of final-state particles (any ``n >= 2``).
    sqrt_s : float, default=1.0
        Centre-of-mass energy.

    Returns
    -------
    volume : float
        ``(2π)^(4-3n) (π/2)^(n-1) s^(n-2) / ((n-1)! (n-2)!)``.
    """
    if not (isinstance(n_final, int | np.integer) and n_final >= 2):
        raise ValueError(f"n_final must be an integer >= 2, got {n_final!r}.")
    s = _check_sqrt_s(sqrt_s) ** 2
    n = int(n_final)
    return (
        (2 * math.pi) ** (4 - 3 * n)
        * (math.pi / 2) ** (n - 1)
        * s ** (n - 2)
        / (math.factorial(n - 1) * math.factorial(n - 2))
    )


def rambo(U, sqrt_s=1.0):
    """RAMBO: flat massless phase space from uniform numbers in ``[0, 1]^(4n)``.

    Each particle takes four numbers ``(r1, r2, r3, r4)``: an isotropic massless
    vector of energy ``-log(r3 r4)``; the sum is boosted to rest and scaled to
    ``√s`` (Kleiss, Stirling, Ellis 1986). Every event has the same weight
    :func:`phase_space_volume` ``(n, sqrt_s)``.

    Parameters
    ----------
    U : array-like of shape (n_events, 4 * n_final)
        Uniform numbers in ``(0, 1]``; ``n_final = U.shape[1] // 4 >= 2``.
    sqrt_s : float, default=1.0
        Centre-of-mass energy.

    Returns
    -------
    momenta : ndarray of shape (n_events, n_final, 4)
    weight : ndarray of shape (n_events,)
        The constant phase-space weight.
    """
    U = np.asarray(U, dtype=float)
    if U.ndim != 2 or U.shape[1] % 4 or U.shape[1] < 8:
        raise ValueError(
            f"rambo needs U of shape (n, 4 * n_final) with n_final >= 2, "
            f"got {tuple(U.shape)}."
        )
    if np.any((U <= 0.0) | (U > 1.0)):
        raise ValueError("rambo needs U in (0, 1].")
    sqrt_s = _check_sqrt_s(sqrt_s)
    r = U.reshape(len(U), -1, 4)
    cos_t = 2.0 * r[..., 0] - 1.0
    sin_t = np.sqrt(1.0 - cos_t**2)
    phi = 2.0 * np.pi * r[..., 1]
    q0 = -np.log(r[..., 2] * r[..., 3])
    q = np.stack(
        [q0, q0 * sin_t * np.cos(phi), q0 * sin_t * np.sin(phi), q0 * cos_t], axis=-1
    )
    Q = q.sum(axis=1)
    mass = np.sqrt(Q[:, 0] ** 2 - np.sum(Q[:, 1:] ** 2, axis=1))
    b = -Q[:, 1:] / mass[:, None]
    gamma = Q[:, 0] / mass
    a = 1.0 / (1.0 + gamma)
    x = sqrt_s / mass
    bq = np.einsum("nk,nik->ni", b, q[..., 1:])
    energy = x[:, None] * (gamma[:, None] * q[..., 0] + bq)
    vec = x[:, None, None] * (
        q[..., 1:]
        + b[:, None, :] * q[..., :1]
        + (a[:, None] * bq)[..., None] * b[:, None, :]
    )
    momenta = np.concatenate([energy[..., None], vec], axis=-1)
    weight = np.full(len(U), phase_space_volume(r.shape[1], sqrt_s))
    return momenta, weight


def pair_invariants(momenta):
    """Pair invariants ``s_ij = 2 p_i · p_j`` (``= (p_i + p_j)^2`` if massless).

    Parameters
    ----------
    momenta : array-like of shape (n_events, n_particles, 4)

    Returns
    -------
    s : ndarray of shape (n_events, n_particles, n_particles)
        Symmetric, zero on the diagonal.
    """
    p = np.asarray(momenta, dtype=float)
    if p.ndim != 3 or p.shape[2] != 4:
        raise ValueError(f"momenta must have shape (n, n_particles, 4), got {p.shape}.")
    metric = np.array([1.0, -1.0, -1.0, -1.0])
    s = 2.0 * np.einsum("nik,njk->nij", p * metric, p)
    idx = np.arange(p.shape[1])
    s[:, idx, idx] = 0.0
    return s


def _direction(cos_t, phi):
    sin_t = np.sqrt(np.clip(1.0 - cos_t**2, 0.0, None))
    return np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=-1)


def _euler_rotation(alpha, cos_beta, gamma):
    """Rotation matrices ``R_z(α) R_y(β) R_z(γ)``, shape (n, 3, 3) (Haar measure
    ``dα dcosβ dγ``)."""
    sin_beta = np.sqrt(np.clip(1.0 - cos_beta**2, 0.0, None))
    ca, sa, cg, sg = np.cos(alpha), np.sin(alpha), np.cos(gamma), np.sin(gamma)
    zero, one = np.zeros_like(alpha), np.ones_like(alpha)

    def rz(c, s):
        return np.stack(
            [np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1)]
            + [np.stack([zero, zero, one], -1)],
            axis=-2,
        )

    ry = np.stack(
        [
            np.stack([cos_beta, zero, sin_beta], -1),
            np.stack([zero, one, zero], -1),
            np.stack([-sin_beta, zero, cos_beta], -1),
        ],
        axis=-2,
    )
    return rz(ca, sa) @ ry @ rz(cg, sg)


def _three_body(X, sqrt_s, y_cut):
    """``X -> (momenta, weight)`` for n = 3 (see :func:`phase_space_points`)."""
    s = sqrt_s**2
    scale = 1.0 - 3.0 * y_cut
    u1, u2 = X[:, 0], X[:, 1]
    # the simplex (y23, y13, y12), sum 1, by the polynomial (Duffy) map of the square
    y23 = y_cut + scale * (1.0 - u1)
    y13 = y_cut + scale * u1 * (1.0 - u2)
    y12 = y_cut + scale * u1 * u2
    x1, x2, x3 = 1.0 - y23, 1.0 - y13, 1.0 - y12
    # reference frame: p1 along +z, p2 in the x-z plane with cos θ12 from y12
    # x1 x2 = 0 only at the soft corner u1 = 0, where y12 = 0 and p1 = 0
    x1x2 = x1 * x2
    ratio = np.divide(y12, x1x2, out=np.zeros_like(y12), where=x1x2 > 0)
    cos12 = np.clip(1.0 - 2.0 * ratio, -1.0, 1.0)
    sin12 = np.sqrt(1.0 - cos12**2)
    half = 0.5 * sqrt_s
    n = len(X)
    p1 = half * x1[:, None] * np.stack([np.zeros(n), np.zeros(n), np.ones(n)], -1)
    p2 = half * x2[:, None] * np.stack([sin12, np.zeros(n), cos12], -1)
    vec = np.stack([p1, p2, -p1 - p2], axis=1)
    rot = _euler_rotation(2 * np.pi * X[:, 2], 2 * X[:, 3] - 1, 2 * np.pi * X[:, 4])
    vec = np.einsum("nab,nib->nia", rot, vec)
    energy = half * np.stack([x1, x2, x3], axis=1)
    momenta = np.concatenate([energy[..., None], vec], axis=-1)
    # dΦ_3 = s / (32 (2π)^5) dx1 dx2 dα dcosβ dγ; d(x1, x2) = scale^2 u1 du1 du2
    weight = s / (32 * (2 * np.pi) ** 5) * scale**2 * u1 * 8 * np.pi**2
    return momenta, weight


def _boost(p, parent, mass):
    """Boost rest-frame four-vectors ``p`` (n, 4) into the frame where the
    rest frame moves as ``parent`` of the given ``mass`` (> 0); written with
    ``γ = E/m``, ``γβ = q/m`` so nearly massless parents keep full precision."""
    energy, q = parent[:, 0], parent[:, 1:]
    qk = np.sum(q * p[:, 1:], axis=-1)
    new_energy = (energy * p[:, 0] + qk) / mass
    factor = qk / (mass * (energy + mass)) + p[:, 0] / mass
    return np.concatenate([new_energy[:, None], p[:, 1:] + factor[:, None] * q], -1)


def _two_body(mass, m_a, m_b, cos_t, phi):
    """Rest-frame momenta of ``M -> a b``; returns ``(p_a, p_b, β)``."""
    lam = (mass**2 - (m_a + m_b) ** 2) * (mass**2 - (m_a - m_b) ** 2)
    k = np.sqrt(np.clip(lam, 0.0, None)) / (2.0 * mass)
    direction = k[:, None] * _direction(cos_t, phi)
    e_a = (mass**2 + m_a**2 - m_b**2) / (2.0 * mass)
    e_b = (mass**2 + m_b**2 - m_a**2) / (2.0 * mass)
    p_a = np.concatenate([e_a[:, None], direction], axis=-1)
    p_b = np.concatenate([e_b[:, None], -direction], axis=-1)
    return p_a, p_b, 2.0 * k / mass


def _decay_massless(parent, mass, cos_t, phi):
    """Massless two-body decay of ``parent`` (lab four-vectors of the given
    ``mass``), angles in its rest frame with the lab axes; a massless parent
    (the box's edge) splits into two halves."""
    massive = mass > 0
    mass = np.where(massive, mass, 1.0)
    zero = np.zeros_like(mass)
    p_a, p_b, _ = _two_body(mass, zero, zero, cos_t, phi)
    half = 0.5 * parent
    p_a = np.where(massive[:, None], _boost(p_a, parent, mass), half)
    p_b = np.where(massive[:, None], _boost(p_b, parent, mass), half)
    return p_a, p_b


def _four_body(X, sqrt_s):
    """``X -> (momenta, weight)`` for n = 4 (see :func:`phase_space_points`)."""
    s = sqrt_s**2
    u1, u2 = X[:, 0], X[:, 1]
    mu1, mu2 = u1 * (1.0 - u2), u1 * u2  # m_12/√s, m_34/√s, mu1 + mu2 = u1 <= 1
    cos_t = 2.0 * X[:, 2:8:2] - 1.0
    phi = 2.0 * np.pi * X[:, 3:8:2]
    root = np.full(len(X), sqrt_s)
    q12, q34, beta = _two_body(root, mu1 * sqrt_s, mu2 * sqrt_s, cos_t[:, 0], phi[:, 0])
    p1, p2 = _decay_massless(q12, mu1 * sqrt_s, cos_t[:, 1], phi[:, 1])
    p3, p4 = _decay_massless(q34, mu2 * sqrt_s, cos_t[:, 2], phi[:, 2])
    momenta = np.stack([p1, p2, p3, p4], axis=1)
    # dΦ_4 = dΦ_2(P; q12, q34) dm12²/2π dm34²/2π dΦ_2(q12) dΦ_2(q34), dΦ_2 = β dΩ/32π²
    # dm12² dm34² = 4 s² μ1 μ2 dμ1 dμ2 and dμ1 dμ2 = u1 du1 du2, dΩ = 4π du du
    weight = s**2 * mu1 * mu2 * u1 * beta / (512 * np.pi**5)
    return momenta, weight


def phase_space_points(X, n_final, sqrt_s=1.0, *, y_cut=0.0):
    """Map the unit box ``[0, 1]^(3n-4)`` onto massless n-body phase space.

    A minimal, smooth parametrisation, so a target on phase space is a function on
    a fixed-dimension box:

    * **n = 3** (5 inputs): ``u1, u2`` fill the Dalitz simplex of
      ``y_ij = s_ij / s`` (``y23 = 1 - x1``, ``y13 = 1 - x2``, ``y12 = 1 - x3``
      with energy fractions ``x_i = 2 E_i / √s``) by
      ``(y23, y13, y12) = y_cut + (1 - 3 y_cut) (1 - u1, u1 (1 - u2), u1 u2)``;
      ``u3, u4, u5`` are the Euler angles ``α = 2π u3``, ``cos β = 2 u4 - 1``,
      ``γ = 2π u5`` rotating the event plane (``p1`` along ``z`` before the
      rotation). ``dΦ_3 = s / (32 (2π)^5) dx1 dx2 dα dcosβ dγ`` (Ellis, Stirling,
      Webber, *QCD and Collider Physics*, ch. 3). ``y_cut > 0`` restricts to
      ``s_ij >= y_cut s`` for every pair exactly: the cut region is again a simplex.
    * **n = 4** (8 inputs): the binary tree ``P -> q12 q34``, ``q12 -> p1 p2``,
      ``q34 -> p3 p4``: ``(m12, m34) / √s = (u1 (1 - u2), u1 u2)``, then polar
      and azimuthal angles (``cos θ = 2u - 1``, ``φ = 2π u``) of the three
      two-body decays, each in its parent's rest frame with the lab axes:
      ``dΦ_4 = dΦ_2(P; q12, q34) dm12²/2π dm34²/2π dΦ_2(q12) dΦ_2(q34)`` with
      ``dΦ_2 = β dΩ / (32 π²)``, ``β = λ^(1/2)(1, m12²/s, m34²/s)``. ``y_cut`` must
      be 0 (a cut on all six pairs is no box; regulate the target instead).

    Parameters
    ----------
    X : array-like of shape (n_points, 3 * n_final - 4)
        Points in the unit box.
    n_final : {3, 4}
        Number of final-state massless particles.
    sqrt_s : float, default=1.0
        Centre-of-mass energy.
    y_cut : float, default=0.0
        n = 3 only: lower bound on every ``s_ij / s``, in ``[0, 1/3)``.

    Returns
    -------
    momenta : ndarray of shape (n_points, n_final, 4)
        Massless four-momenta summing to ``(√s, 0, 0, 0)``.
    weight : ndarray of shape (n_points,)
        The phase-space density ``dΦ_n / d^(3n-4)X``: its mean over uniform
        ``X`` is the (cut) phase-space volume.

    See Also
    --------
    rambo : flat phase space from ``4 n`` uniform numbers.
    phase_space_volume : the exact total volume.
    """
    _check_n_final(n_final)
    X = _check_box(X, 3 * n_final - 4, "phase_space_points")
    sqrt_s = _check_sqrt_s(sqrt_s)
    if n_final == 3:
        if not 0.0 <= y_cut < 1.0 / 3.0:
            raise ValueError(f"y_cut must be in [0, 1/3), got {y_cut!r}.")
        return _three_body(X, sqrt_s, float(y_cut))
    if y_cut != 0.0:
        raise ValueError("y_cut is only supported for n_final=3; it must be 0 here.")
    return _four_body(X, sqrt_s)
