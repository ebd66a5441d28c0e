"""e+e- → μ+μ-(γ) with ISR as an integrand on the unit hypercube, and its events.

The four coordinates ``u = (t, w, c, f)`` of :class:`RadiativeReturn` are those
of :mod:`skhep_ml.physics.isr` (``t`` the soft end, ``w`` the beam split) and
``cos θ* = 2c - 1``, ``φ = 2π f``; in them the three structure-function
singularities are flat and the Z return is the line ``t = t_Z`` (a
Breit-Wigner across axis 0): the channel of the singularities is the identity,
the channel of the Z ridge a :class:`~skhep_ml.integrate.BreitWignerMapping`
of axis 0 (:meth:`RadiativeReturn.channels`).
"""

from __future__ import annotations

import numpy as np

from .born import born_dsigma_dcos
from .electroweak import PDG_2024
from .isr import (
    _beam_factors,
    _check_energies,
    _t_of_tau,
    _tau_of_t,
    isr_beta,
    isr_cross_section,
    isr_dsigma_dcos,
    isr_dsigma_dmass,
)

__all__ = ["RadiativeReturn"]

#: PDG ids of the LHE record
_ELECTRON, _MUON, _PHOTON = 11, 13, 22


class RadiativeReturn:
    """``dσ`` of e+e- → μ+μ-(γ) with collinear ISR on ``[0, 1]^4`` [pb].

    ``f(u)`` integrates to the ISR-corrected cross section with
    ``√s' > sqrt_s_min`` (:attr:`integral`, from one-dimensional quadrature
    of the structure-function convolution).

    Parameters
    ----------
    sqrt_s : float, default=200.0
        Centre-of-mass energy [GeV].
    sqrt_s_min : float, default=50.0
        Lower cut on the μμ invariant mass ``√s'`` [GeV].
    eps : array-like of shape (4,), default=None
        Contact couplings ``η_ij/Λ^2`` [TeV^-2] (LL, RR, LR, RL).
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Attributes
    ----------
    n_features : int
        4.
    integral : float
        ``σ`` [pb].
    beta : float
        ``β`` of the structure function.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.physics import RadiativeReturn
    >>> f = RadiativeReturn(200.0)
    >>> u = np.random.default_rng(0).uniform(size=(200_000, 4))
    >>> bool(abs(f(u).mean() / f.integral - 1) < 0.05)
    True
    """

    n_features = 4

    def __init__(self, sqrt_s=200.0, *, sqrt_s_min=50.0, eps=None, inputs=PDG_2024):
        _check_energies(sqrt_s, sqrt_s_min)
        self.sqrt_s = float(sqrt_s)
        self.sqrt_s_min = float(sqrt_s_min)
        self.eps = None if eps is None else np.asarray(eps, dtype=float)
        self.inputs = inputs
        self.s = self.sqrt_s**2
        self.tau_min = (self.sqrt_s_min / self.sqrt_s) ** 2
        self.beta = float(isr_beta(self.s, inputs=inputs))
        self.integral = isr_cross_section(
            self.sqrt_s, sqrt_s_min=self.sqrt_s_min, eps=self.eps, inputs=inputs
        )

    def _check(self, U):
        U = np.asarray(U, dtype=float)
        if U.ndim != 2 or U.shape[1] != 4:
            raise ValueError(
                f"RadiativeReturn needs points of shape (n, 4), got {U.shape}."
            )
        return U

    def kinematics(self, U):
        """Parton-level kinematics of the points.

        Parameters
        ----------
        U : array-like of shape (n, 4)
            Points of the unit hypercube.

        Returns
        -------
        kin : dict of ndarray
            ``x1``, ``x2`` (momentum fractions of the e- and the e+), ``tau``,
            ``mass`` (``√s'``), ``cos`` (``cos θ*`` in the μμ frame), ``phi``
            and ``jacobian`` (of ``(τ, v, cos θ*, φ)``, with ``D(x1) D(x2)``).
        """
        U = self._check(U)
        tau, log_tau, dtau = _tau_of_t(U[:, 0], self.tau_min, self.beta)
        beams, v_small, mirrored = _beam_factors(log_tau, U[:, 1], self.beta)
        v = np.where(mirrored, 1.0 - v_small, v_small)
        x1, x2 = np.exp(v * log_tau), np.exp((1.0 - v) * log_tau)
        return {
            "x1": x1,
            "x2": x2,
            "tau": tau,
            "mass": self.sqrt_s * np.sqrt(tau),
            "cos": 2.0 * U[:, 2] - 1.0,
            "phi": 2.0 * np.pi * U[:, 3],
            "jacobian": dtau * np.abs(log_tau) * beams,
        }

    def __call__(self, U):
        """``dσ/du`` [pb]: ``|dτ/dt| |ln τ| D(x1) D(x2) |dv/dw| · 2 dσ_Born/dcos θ``.

        Parameters
        ----------
        U : array-like of shape (n, 4)
            Points of the unit hypercube.

        Returns
        -------
        values : ndarray of shape (n,)
        """
        k = self.kinematics(U)
        born = born_dsigma_dcos(
            self.s * k["tau"], k["cos"], self.eps, inputs=self.inputs
        )
        return 2.0 * k["jacobian"] * born

    def ridge(self):
        """Position and full width of the Z ridge in coordinate ``t``.

        Returns
        -------
        t_z, width : float
            ``t`` of ``τ s = M_Z^2`` and the width ``2 M_Z Γ_Z / s |dt/dτ|``.
        """
        p = self.inputs
        tau_z = p.m_z**2 / self.s
        if not self.tau_min < tau_z < 1:
            raise ValueError("the Z pole is outside the integrated range.")
        t_z = float(_t_of_tau(tau_z, self.tau_min, self.beta))
        slope = self.beta * t_z / (1.0 - tau_z)
        return t_z, 2.0 * p.m_z * p.gamma_z / self.s * slope

    def channels(self):
        """The two channel mappings: singularities (identity) and Z ridge.

        Returns
        -------
        mappings : list of torch.nn.Module
            For ``NeuralImportanceIntegrator(channels=...)``.
        """
        from ..integrate import BreitWignerMapping, IdentityMapping

        t_z, width = self.ridge()
        return [IdentityMapping(), BreitWignerMapping(4, axis=0, mass=t_z, width=width)]

    def dsigma_dmass(self, mass):
        """Exact ``dσ/dm_μμ`` [pb/GeV] (:func:`~skhep_ml.physics.isr_dsigma_dmass`)."""
        return isr_dsigma_dmass(mass, self.sqrt_s, eps=self.eps, inputs=self.inputs)

    def dsigma_dcos(self, cos):
        """Exact ``dσ/dcos θ*`` [pb] (see :func:`~skhep_ml.physics.isr_dsigma_dcos`)."""
        return isr_dsigma_dcos(
            cos,
            self.sqrt_s,
            sqrt_s_min=self.sqrt_s_min,
            eps=self.eps,
            inputs=self.inputs,
        )

    def momenta(self, U):
        """Lab-frame four-momenta ``(E, px, py, pz)`` [GeV] of the final state.

        The μμ system has rapidity ``y = ln(x1/x2)/2`` along the e- beam (+z);
        the two photons are collinear with their beams.

        Parameters
        ----------
        U : array-like of shape (n, 4)
            Points of the unit hypercube.

        Returns
        -------
        p : ndarray of shape (n, 4, 4)
            μ-, μ+, the photon of the e- (along +z) and of the e+ (along -z).
        """
        k = self.kinematics(U)
        half_m = 0.5 * k["mass"]
        sin = np.sqrt(np.clip(1.0 - k["cos"] ** 2, 0.0, 1.0))
        pt = half_m * sin
        px, py, pz = pt * np.cos(k["phi"]), pt * np.sin(k["phi"]), half_m * k["cos"]
        rapidity = 0.5 * np.log(k["x1"] / k["x2"])
        ch, sh = np.cosh(rapidity), np.sinh(rapidity)
        e_beam = 0.5 * self.sqrt_s
        zero = np.zeros_like(px)

        def boosted(e, x, y, z):
            return np.stack([e * ch + z * sh, x, y, z * ch + e * sh], -1)

        photon1 = (1.0 - k["x1"]) * e_beam
        photon2 = (1.0 - k["x2"]) * e_beam
        return np.stack(
            [
                boosted(half_m, px, py, pz),
                boosted(half_m, -px, -py, -pz),
                np.stack([photon1, zero, zero, photon1], -1),
                np.stack([photon2, zero, zero, -photon2], -1),
            ],
            1,
        )

    def lhe_particles(self, u):
        """One event's particles for :func:`skhep_ml.io.write_lhe`.

        Parameters
        ----------
        u : array-like of shape (4,)
            One point.

        Returns
        -------
        particles : list of dict
            e-, e+ (incoming), μ-, μ+ and the two ISR photons.
        """
        p = self.momenta(np.asarray(u, dtype=float)[None])[0]
        e_beam = 0.5 * self.sqrt_s
        beam = dict(status=-1, px=0.0, py=0.0, e=e_beam, m=0.0)
        out = dict(status=1, mother1=1, mother2=2, m=0.0)  # massless kinematics
        ids = (_MUON, -_MUON, _PHOTON, _PHOTON)
        final = [
            dict(id=i, e=q[0], px=q[1], py=q[2], pz=q[3], **out) for i, q in zip(ids, p)
        ]
        return [
            dict(id=_ELECTRON, pz=e_beam, **beam),
            dict(id=-_ELECTRON, pz=-e_beam, **beam),
            *final,
        ]
