"""Born cross section of e+e- → μ+μ- through γ and Z, with a contact interaction.

The helicity amplitudes are those of the LEP contact-interaction fits
(H. Kroha, Phys. Rev. D 46 (1992) 58; E. Eichten, K. Lane and M. Peskin, Phys.
Rev. Lett. 50 (1983) 811; the LEP Electroweak Working Group, Phys. Rept. 532
(2013) 119, section 3.5), for massless fermions and ``i, j`` the electron and
muon helicities:

.. math::

    \\frac{d\\sigma}{d\\Omega} = \\frac{1}{16 s} \\Big[
        (|a_{LL}|^2 + |a_{RR}|^2)(1 + \\cos\\theta)^2
        + (|a_{LR}|^2 + |a_{RL}|^2)(1 - \\cos\\theta)^2 \\Big],

    a_{ij} = \\alpha(s) Q_e Q_\\mu
        + \\frac{\\sqrt2 G_F M_Z^2}{\\pi} g_i g_j
          \\frac{s}{s - M_Z^2 + i s \\Gamma_Z / M_Z}
        + \\varepsilon_{ij} s ,

with ``θ`` the angle between the e- and the μ-, ``g_L = (g_V + g_A)/2``,
``g_R = (g_V - g_A)/2`` and ``ε_ij = η_ij / Λ^2`` (the coupling
``g^2/4π = 1`` of the LEP convention; η = +1 interferes constructively with
the photon). ``a_ij`` is LEP's ``A_ij`` times ``α``. The contact couplings
are given in TeV^-2 throughout.
"""

from __future__ import annotations

import numpy as np

from .electroweak import GEV2_TO_PB, PDG_2024

__all__ = [
    "HELICITIES",
    "born_afb",
    "born_cross_section",
    "born_dsigma_dcos",
    "contact_coefficients",
    "helicity_amplitudes",
]

#: order of the helicity combinations (electron, muon) in every array
HELICITIES = ("LL", "RR", "LR", "RL")

#: (1 + cos θ)^2 for LL and RR, (1 - cos θ)^2 for LR and RL
_FORWARD = np.array([True, True, False, False])


def _contact(eps):
    if eps is None:
        return np.zeros(4)
    eps = np.asarray(eps, dtype=float)
    if eps.shape[-1:] != (4,):
        raise ValueError(
            "eps holds the four contact couplings (LL, RR, LR, RL) in TeV^-2 on its "
            f"last axis; got shape {eps.shape}."
        )
    return eps * 1e-6  # TeV^-2 -> GeV^-2


def _check_s(s):
    s = np.asarray(s, dtype=float)
    if np.any(~(s > 0)):
        raise ValueError("s must be positive (GeV^2).")
    return s


def helicity_amplitudes(s, eps=None, *, inputs=PDG_2024):
    """The four reduced helicity amplitudes ``a_ij(s)``.

    Parameters
    ----------
    s : array-like
        Squared centre-of-mass energy [GeV^2].
    eps : array-like of shape (..., 4), default=None
        Contact couplings ``η_ij / Λ^2`` [TeV^-2] in the order of
        :data:`HELICITIES`; ``None`` is the Standard Model.
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Returns
    -------
    a : ndarray of complex, shape broadcast(s, eps[..., 0]) + (4,)
    """
    s = _check_s(s)
    p = inputs
    g = np.array([p.g_left, p.g_right])
    gg = np.array([g[0] * g[0], g[1] * g[1], g[0] * g[1], g[1] * g[0]])
    chi = s / (s - p.m_z**2 + 1j * s * p.gamma_z / p.m_z)
    z_norm = np.sqrt(2.0) * p.g_fermi * p.m_z**2 / np.pi
    photon = p.alpha(s)  # Q_e Q_mu = +1
    return (
        photon[..., None] + z_norm * gg * chi[..., None] + _contact(eps) * s[..., None]
    )


def _angular(cos):
    cos = np.asarray(cos, dtype=float)
    return np.where(_FORWARD, (1 + cos[..., None]) ** 2, (1 - cos[..., None]) ** 2)


def born_dsigma_dcos(s, cos, eps=None, *, inputs=PDG_2024):
    """Differential Born cross section ``dσ/dcos θ`` [pb].

    Parameters
    ----------
    s : array-like
        Squared centre-of-mass energy [GeV^2].
    cos : array-like
        ``cos θ`` of the μ- against the e- direction, broadcast with ``s``.
    eps : array-like of shape (..., 4), default=None
        Contact couplings [TeV^-2] (see :func:`helicity_amplitudes`).
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Returns
    -------
    dsigma : ndarray

    Examples
    --------
    >>> from skhep_ml.physics import born_dsigma_dcos
    >>> round(float(born_dsigma_dcos(200.0**2, 0.0)), 3)
    1.125
    """
    s, cos = np.broadcast_arrays(_check_s(s), np.asarray(cos, dtype=float))
    a2 = np.abs(helicity_amplitudes(s, eps, inputs=inputs)) ** 2
    return np.pi / (8.0 * s) * np.sum(a2 * _angular(cos), axis=-1) * GEV2_TO_PB


def born_cross_section(s, eps=None, *, inputs=PDG_2024):
    """Total Born cross section ``σ = π / (3s) Σ_ij |a_ij|^2`` [pb].

    Parameters
    ----------
    s : array-like
        Squared centre-of-mass energy [GeV^2].
    eps : array-like of shape (..., 4), default=None
        Contact couplings [TeV^-2].
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Returns
    -------
    sigma : ndarray
    """
    s = _check_s(s)
    a2 = np.abs(helicity_amplitudes(s, eps, inputs=inputs)) ** 2
    return np.pi / (3.0 * s) * np.sum(a2, axis=-1) * GEV2_TO_PB


def born_afb(s, eps=None, *, inputs=PDG_2024):
    """Born forward-backward asymmetry ``(σ_F - σ_B) / (σ_F + σ_B)``.

    ``A_FB = 3/4 (|a_LL|^2 + |a_RR|^2 - |a_LR|^2 - |a_RL|^2) / Σ |a_ij|^2``.

    Parameters
    ----------
    s : array-like
        Squared centre-of-mass energy [GeV^2].
    eps : array-like of shape (..., 4), default=None
        Contact couplings [TeV^-2].
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Returns
    -------
    afb : ndarray
    """
    a2 = np.abs(helicity_amplitudes(_check_s(s), eps, inputs=inputs)) ** 2
    sign = np.where(_FORWARD, 1.0, -1.0)
    return 0.75 * np.sum(sign * a2, axis=-1) / np.sum(a2, axis=-1)


def contact_coefficients(s, cos, *, inputs=PDG_2024):
    """``dσ/dcos θ`` as a polynomial in the contact couplings.

    ``dσ/dcos θ (ε) = c0 + Σ_k c1_k ε_k + Σ_k c2_k ε_k^2``, exactly (each
    coupling enters one helicity amplitude linearly). The joint score of
    likelihood-ratio inference is then ``∂ log dσ / ∂ε_k
    = (c1_k + 2 c2_k ε_k) / dσ``.

    Parameters
    ----------
    s : array-like
        Squared centre-of-mass energy [GeV^2].
    cos : array-like
        ``cos θ``, broadcast with ``s``.
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Returns
    -------
    c0 : ndarray of shape broadcast(s, cos)
        The Standard Model [pb].
    c1 : ndarray of shape broadcast(s, cos) + (4,)
        Interference [pb TeV^2].
    c2 : ndarray of shape broadcast(s, cos) + (4,)
        Squared contact terms [pb TeV^4].
    """
    s, cos = np.broadcast_arrays(_check_s(s), np.asarray(cos, dtype=float))
    a = helicity_amplitudes(s, inputs=inputs)
    norm = (np.pi / (8.0 * s) * GEV2_TO_PB)[..., None] * _angular(cos)
    s_tev = 1e-6 * s[..., None]
    c1 = norm * 2.0 * a.real * s_tev
    c2 = norm * s_tev**2
    c0 = np.sum(norm * np.abs(a) ** 2, axis=-1)
    return c0, c1, c2
