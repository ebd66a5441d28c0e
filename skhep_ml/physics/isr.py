"""Initial-state radiation in the collinear structure-function approach.

Each beam lepton keeps a momentum fraction ``x`` after radiating collinear
photons, with the electron structure function at O(β) with soft-photon
exponentiation (E. A. Kuraev and V. S. Fadin, Sov. J. Nucl. Phys. 41 (1985)
466; the form of O. Nicrosini and L. Trentadue, Phys. Lett. B 196 (1987) 551,
truncated at O(β)):

.. math::

    D(x, s) = \\frac{\\beta}{2} (1 - x)^{\\beta/2 - 1}
        \\Big(1 + \\frac{3}{8}\\beta\\Big) - \\frac{\\beta}{4} (1 + x),
    \\qquad \\beta = \\frac{2\\alpha}{\\pi}\\Big(\\ln\\frac{s}{m_e^2} - 1\\Big),

normalised, ``∫_0^1 D dx = 1``, with ``α = α(0)``. The cross section with
both beams radiating is

.. math::

    \\sigma(s) = \\int dx_1 dx_2 \\, D(x_1) D(x_2) \\,
        \\hat\\sigma(x_1 x_2 s)
      = \\int_{\\tau_{min}}^1 d\\tau \\, H(\\tau) \\hat\\sigma(\\tau s),
    \\qquad H(\\tau) = \\int_\\tau^1 \\frac{dx}{x} D(x) D(\\tau/x).

Coordinates. With ``x_1 = τ^v``, ``x_2 = τ^(1-v)`` (``dx_1 dx_2 = |ln τ| dτ
dv``) the two beam singularities sit at ``v → 0`` and ``v → 1`` for every ``τ``,
the Z ridge ``τ s = M_Z^2`` is a line of constant ``τ``, and the soft end is
``τ → 1``. The substitutions ``v = (2w)^{2/β} / 2`` (mirrored above ``w = 1/2``)
and ``τ = 1 - (1 - τ_min) t^{1/β}`` flatten the three integrable singularities
exactly; in ``(t, w)`` the integrand is bounded.
"""

from __future__ import annotations

import numpy as np

from .born import born_cross_section, born_dsigma_dcos
from .electroweak import PDG_2024

__all__ = [
    "electron_structure_function",
    "isr_beta",
    "isr_cross_section",
    "isr_dsigma_dcos",
    "isr_dsigma_dmass",
    "isr_flux",
]


def isr_beta(s, *, inputs=PDG_2024):
    """``β = 2α/π (ln(s/m_e^2) - 1)`` of the structure function.

    Parameters
    ----------
    s : float or array-like
        Squared centre-of-mass energy [GeV^2].
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs (``α(0)``, ``m_e``).

    Returns
    -------
    beta : float or ndarray
    """
    return 2.0 * inputs.alpha_0 / np.pi * (np.log(s / inputs.m_e**2) - 1.0)


def electron_structure_function(x, s, *, inputs=PDG_2024):
    """The electron structure function ``D(x, s)`` at O(β).

    Parameters
    ----------
    x : array-like
        Momentum fractions in ``(0, 1)``.
    s : float
        Squared centre-of-mass energy [GeV^2].
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Returns
    -------
    D : ndarray
        Positive; integrable singularity ``(1 - x)^(β/2 - 1)`` at ``x → 1``.

    Examples
    --------
    >>> from skhep_ml.physics import electron_structure_function
    >>> round(float(electron_structure_function(0.5, 200.0**2)), 4)
    0.0721
    """
    x = np.asarray(x, dtype=float)
    return _structure_function(1.0 - x, isr_beta(s, inputs=inputs))


def _structure_function(y, beta):
    """``D`` as a function of ``y = 1 - x``."""
    soft = 0.5 * beta * y ** (0.5 * beta - 1.0) * (1.0 + 0.375 * beta)
    return soft - 0.25 * beta * (2.0 - y)


# --- the (τ, v) -> (t, w) coordinates ---------------------------------------


def _v_of_w(w, beta):
    """Return ``(v_small, J, mirrored)``: the smaller of ``v, 1 - v``, ``dv/dw``."""
    w = np.asarray(w, dtype=float)
    mirrored = w > 0.5
    half = np.where(mirrored, 1.0 - w, w)
    p = 2.0 / beta
    v_small = 0.5 * (2.0 * half) ** p
    jac = p * (2.0 * half) ** (p - 1.0)
    return v_small, jac, mirrored


def _beam_factors(log_tau, w, beta):
    """``D(x1) D(x2) dv/dw`` with the ``v``-singularity cancelled analytically.

    ``x1`` is the fraction whose ``1 - x`` vanishes with ``v_small``; the
    product is symmetric, so which beam it is does not matter here.
    """
    v_small, jac, mirrored = _v_of_w(w, beta)
    with np.errstate(invalid="ignore", divide="ignore"):
        y_near = -np.expm1(v_small * log_tau)
        ratio = np.where(
            v_small > 0, y_near / np.where(v_small > 0, v_small, 1.0), -log_tau
        )
    # (β/2) y^(β/2-1) (1 + 3β/8) dv/dw = 2^(1-β/2) (y/v)^(β/2-1) (1 + 3β/8)
    soft = (
        2.0 ** (1.0 - 0.5 * beta) * ratio ** (0.5 * beta - 1.0) * (1.0 + 0.375 * beta)
    )
    d_near = soft - 0.25 * beta * (2.0 - y_near) * jac
    y_far = -np.expm1((1.0 - v_small) * log_tau)
    d_far = _structure_function(y_far, beta)
    return d_near * d_far, v_small, mirrored


def _tau_of_t(t, tau_min, beta):
    """Return ``(τ, ln τ, dτ/dt)`` for ``τ = 1 - (1 - τ_min) t^(1/β)``.

    ``t`` is clipped to ``[1e-15, 1]``: the integrand in ``t`` is constant to
    1e-9 below ``t = 1e-12``, while below ``~1e-20`` ``t^(1/β)`` underflows
    and ``0 · ∞`` would give NaN at the soft end ``t = 0``.
    """
    t = np.clip(np.asarray(t, dtype=float), 1e-15, 1.0)
    one_minus = (1.0 - tau_min) * t ** (1.0 / beta)
    tau = 1.0 - one_minus
    return tau, np.log1p(-one_minus), one_minus / (beta * t)


def _t_of_tau(tau, tau_min, beta):
    return ((1.0 - tau) / (1.0 - tau_min)) ** beta


def _gauss(n, a, b):
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (b - a) * x + 0.5 * (b + a), 0.5 * (b - a) * w


def isr_flux(tau, s, *, n_nodes=64, inputs=PDG_2024):
    """The two-beam flux ``H(τ) = ∫_τ^1 dx/x D(x) D(τ/x)``.

    Computed as ``2 |ln τ| ∫_0^{1/2} dw D(x1) D(x2) dv/dw`` (``x1 = τ^v``,
    ``x2 = τ^(1-v)``, symmetric in ``v ↔ 1 - v``) by Gauss-Legendre
    quadrature, in which the integrand is a smooth function of ``w``.

    Parameters
    ----------
    tau : array-like
        ``τ = x1 x2 = s'/s`` in ``(0, 1)``.
    s : float
        Squared centre-of-mass energy [GeV^2].
    n_nodes : int, default=64
        Gauss-Legendre nodes.
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Returns
    -------
    H : ndarray
        Normalised, ``∫_0^1 H dτ = 1``.
    """
    tau = np.asarray(tau, dtype=float)
    if np.any((tau <= 0) | (tau >= 1)):
        raise ValueError("tau must lie in (0, 1).")
    return _flux(np.log(tau), isr_beta(s, inputs=inputs), n_nodes)


def _flux(log_tau, beta, n_nodes=64):
    """``H`` as a function of ``ln τ`` (exact near ``τ = 1``)."""
    w, wt = _gauss(n_nodes, 0.0, 0.5)
    log_tau = np.asarray(log_tau, dtype=float)
    product, _, _ = _beam_factors(log_tau[..., None], w, beta)
    return 2.0 * np.abs(log_tau) * np.sum(product * wt, axis=-1)


def _check_energies(sqrt_s, sqrt_s_min):
    if not sqrt_s > 0 or not 0 < sqrt_s_min < sqrt_s:
        raise ValueError(
            "need 0 < sqrt_s_min < sqrt_s, got "
            f"sqrt_s={sqrt_s}, sqrt_s_min={sqrt_s_min}."
        )


def _tau_nodes(sqrt_s, sqrt_s_min, n_nodes, inputs):
    """Nodes and weights in ``τ`` for ``∫_{τ_min}^1 dτ H(τ) g(τ)``.

    Below the Z peak in ``ln τ``, across it (±8 half widths) in ``atan``
    variables, the soft end in ``t = ((1-τ)/(1-τ_min))^β`` (geometric panels
    in ``t``); the weights include ``H``.
    """
    p = inputs
    s = sqrt_s**2
    tau_min = (sqrt_s_min / sqrt_s) ** 2
    beta = isr_beta(s, inputs=p)
    tau_z, half = p.m_z**2 / s, p.m_z * p.gamma_z / s
    tau_lo = float(np.clip(tau_z - 8.0 * half, tau_min, 1.0 - 1e-3))
    tau_c = float(np.clip(tau_z + 8.0 * half, tau_min, 1.0 - 1e-3))
    taus, logs, weights = [], [], []
    if tau_lo > tau_min:  # below the peak: the photon's 1/τ, in ln τ
        edges = np.geomspace(tau_min, tau_lo, 5)
        for lo, hi in zip(edges[:-1], edges[1:]):
            log_tau, wl = _gauss(n_nodes, np.log(lo), np.log(hi))
            logs.append(log_tau)
            taus.append(np.exp(log_tau))
            weights.append(wl * taus[-1])
    if tau_c > tau_lo:  # across the peak, in atan variables
        a, b = np.arctan((tau_lo - tau_z) / half), np.arctan((tau_c - tau_z) / half)
        for lo, hi in zip(np.linspace(a, b, 5)[:-1], np.linspace(a, b, 5)[1:]):
            phi, wphi = _gauss(n_nodes, lo, hi)
            taus.append(tau_z + half * np.tan(phi))
            logs.append(np.log(taus[-1]))
            weights.append(wphi * half / np.cos(phi) ** 2)
    t_c = _t_of_tau(tau_c, tau_min, beta)
    edges = t_c * np.geomspace(1e-12, 1.0, 9)
    edges[0] = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        t, wt = _gauss(n_nodes, lo, hi)
        tau, log_tau, dtau = _tau_of_t(t, tau_min, beta)
        taus.append(tau)
        logs.append(log_tau)
        weights.append(wt * dtau)
    tau = np.concatenate(taus)
    return tau, np.concatenate(weights) * _flux(np.concatenate(logs), beta)


def isr_cross_section(
    sqrt_s, *, sqrt_s_min=10.0, eps=None, n_nodes=48, inputs=PDG_2024
):
    """ISR-corrected cross section ``∫_{τ_min}^1 dτ H(τ) σ_Born(τ s)`` [pb].

    Parameters
    ----------
    sqrt_s : float
        Centre-of-mass energy [GeV].
    sqrt_s_min : float, default=10.0
        Lower cut on the μμ invariant mass ``√s' = √(τ s)`` [GeV].
    eps : array-like of shape (4,), default=None
        Contact couplings [TeV^-2] (see :func:`~skhep_ml.physics.helicity_amplitudes`).
    n_nodes : int, default=48
        Gauss-Legendre nodes per panel.
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Returns
    -------
    sigma : float

    Examples
    --------
    >>> from skhep_ml.physics import isr_cross_section
    >>> round(float(isr_cross_section(200.0, sqrt_s_min=0.85 * 200.0)), 2)
    2.81
    """
    _check_energies(sqrt_s, sqrt_s_min)
    tau, weight = _tau_nodes(sqrt_s, sqrt_s_min, n_nodes, inputs)
    return float(
        np.sum(weight * born_cross_section(tau * sqrt_s**2, eps, inputs=inputs))
    )


def isr_dsigma_dmass(mass, sqrt_s, *, eps=None, inputs=PDG_2024):
    """``dσ/dm_μμ = (2m/s) H(m^2/s) σ_Born(m^2)`` [pb/GeV].

    Parameters
    ----------
    mass : array-like
        μμ invariant masses in ``(0, √s)`` [GeV].
    sqrt_s : float
        Centre-of-mass energy [GeV].
    eps : array-like of shape (4,), default=None
        Contact couplings [TeV^-2].
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Returns
    -------
    dsigma : ndarray
    """
    mass = np.asarray(mass, dtype=float)
    s = sqrt_s**2
    tau = mass**2 / s
    return (
        2.0
        * mass
        / s
        * isr_flux(tau, s, inputs=inputs)
        * born_cross_section(mass**2, eps, inputs=inputs)
    )


def isr_dsigma_dcos(
    cos, sqrt_s, *, sqrt_s_min=10.0, eps=None, n_nodes=48, inputs=PDG_2024
):
    """``dσ/dcos θ*`` with ISR, ``θ*`` the μ- angle in the μμ rest frame [pb].

    With collinear radiation the μμ system moves along the beam, so ``θ*``
    is measured from the beam axis: ``∫ dτ H(τ) dσ_Born/dcos θ (τ s)``.

    Parameters
    ----------
    cos : array-like
        ``cos θ*``.
    sqrt_s : float
        Centre-of-mass energy [GeV].
    sqrt_s_min : float, default=10.0
        Lower cut on ``√s'`` [GeV].
    eps : array-like of shape (4,), default=None
        Contact couplings [TeV^-2].
    n_nodes : int, default=48
        Gauss-Legendre nodes per panel.
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Returns
    -------
    dsigma : ndarray
    """
    _check_energies(sqrt_s, sqrt_s_min)
    cos = np.asarray(cos, dtype=float)
    tau, weight = _tau_nodes(sqrt_s, sqrt_s_min, n_nodes, inputs)
    born = born_dsigma_dcos(tau * sqrt_s**2, cos[..., None], eps, inputs=inputs)
    return np.sum(weight * born, axis=-1)
