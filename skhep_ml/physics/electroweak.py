"""Electroweak inputs at the Z pole and the running QED coupling.

Every number is the Particle Data Group's (R. L. Workman et al. and S. Navas et
al., Review of Particle Physics, 2024 edition) or the LEP/SLD Z-pole
combination (ALEPH, DELPHI, L3, OPAL, SLD and the LEP Electroweak Working
Group, Phys. Rept. 427 (2006) 257, hep-ex/0509008) that the PDG quotes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GEV2_TO_PB", "ElectroweakInputs", "PDG_2024"]

#: conversion ``(ħc)^2``: 1 GeV^-2 = 0.3893794e9 pb (PDG physical constants)
GEV2_TO_PB = 0.3893794e9

#: sum over the charged fermions lighter than M_Z of N_c Q^2 (e, mu, tau, u, d, s, c, b)
_CHARGE_SUM = 3.0 + 3.0 * (2 * 4.0 / 9.0 + 3 * 1.0 / 9.0)


@dataclass(frozen=True)
class ElectroweakInputs:
    """The electroweak inputs of the improved Born approximation.

    The Z exchange is normalised with the Fermi constant,
    ``g_Z^2 = 4 √2 G_F M_Z^2`` (which absorbs the ρ parameter), and couples to
    the charged leptons through the measured effective couplings
    ``g_V``, ``g_A`` (lepton universality); the photon exchange uses the
    running ``α(s)``. The Z propagator has the s-dependent ("running") width
    ``s - M_Z^2 + i s Γ_Z / M_Z``, the definition in which the LEP
    experiments quote ``M_Z`` and ``Γ_Z``.

    Parameters
    ----------
    m_z : float
        Z mass [GeV], running-width definition.
    gamma_z : float
        Z width [GeV].
    g_fermi : float
        Fermi constant [GeV^-2].
    alpha_mz : float
        On-shell QED coupling at ``M_Z^2`` (``1/α(M_Z^2)``
        = ``(1 - Δα_lep - Δα_had^(5)) / α(0)``).
    alpha_0 : float
        Fine-structure constant at zero momentum (real photons: the ISR).
    g_v, g_a : float
        Effective vector and axial couplings of the charged leptons.
    m_e : float
        Electron mass [GeV] (the collinear logarithm of the ISR).
    """

    m_z: float
    gamma_z: float
    g_fermi: float
    alpha_mz: float
    alpha_0: float
    g_v: float
    g_a: float
    m_e: float

    @property
    def g_left(self):
        """Left-handed coupling ``(g_V + g_A) / 2``."""
        return 0.5 * (self.g_v + self.g_a)

    @property
    def g_right(self):
        """Right-handed coupling ``(g_V - g_A) / 2``."""
        return 0.5 * (self.g_v - self.g_a)

    @property
    def sin2_theta_eff(self):
        """``sin^2 θ_eff^lept = (1 - g_V / g_A) / 4``."""
        return 0.25 * (1.0 - self.g_v / self.g_a)

    @property
    def gamma_ll(self):
        """Tree-level ``Γ(Z → ℓℓ) = G_F M_Z^3 (g_V^2 + g_A^2) / (6 √2 π)`` [GeV]."""
        return (
            self.g_fermi
            * self.m_z**3
            * (self.g_v**2 + self.g_a**2)
            / (6.0 * np.sqrt(2.0) * np.pi)
        )

    def alpha(self, s):
        """Running QED coupling ``α(s)``.

        ``1/α(s) = 1/α(M_Z^2) - Σ_f N_c Q_f^2 ln(s / M_Z^2) / (3π)`` over the
        massless charged fermions below the top (one loop): valid above the
        b threshold, which is where the examples use it.

        Parameters
        ----------
        s : array-like
            Squared energy [GeV^2], positive.

        Returns
        -------
        alpha : ndarray
        """
        s = np.asarray(s, dtype=float)
        inverse = 1.0 / self.alpha_mz - _CHARGE_SUM * np.log(s / self.m_z**2) / (
            3.0 * np.pi
        )
        return 1.0 / inverse


#: PDG 2024 / LEP-SLD 2006: M_Z = 91.1876(21) GeV, Γ_Z = 2.4955(23) GeV,
#: G_F = 1.1663788(6)e-5 GeV^-2, 1/α(M_Z^2) = 128.952 (on-shell,
#: Δα_lep = 0.031498, Δα_had^(5) = 0.02766), α(0) = 1/137.035999,
#: g_V^ℓ = -0.03783(41), g_A^ℓ = -0.50123(26) (lepton-universal fit of the
#: Z-pole data; sin^2 θ_eff^lept = 0.23113 from them), m_e = 0.51099895 MeV.
PDG_2024 = ElectroweakInputs(
    m_z=91.1876,
    gamma_z=2.4955,
    g_fermi=1.1663788e-5,
    alpha_mz=1.0 / 128.952,
    alpha_0=1.0 / 137.035999,
    g_v=-0.03783,
    g_a=-0.50123,
    m_e=0.51099895e-3,
)
