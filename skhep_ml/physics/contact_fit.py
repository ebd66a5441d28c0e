"""A binned χ² fit of the four contact couplings to Standard-Model pseudo-data.

The ISR-corrected cross section in bins of ``cos θ*`` and ``√s'`` is an exact
quadratic polynomial in the couplings ``ε = (ε_LL, ε_RR, ε_LR, ε_RL)``
(each enters one helicity amplitude linearly, so there are no cross terms):
``σ_b(ε) = σ_b^SM + Σ_k (A_bk ε_k + B_bk ε_k²)``, with ``A`` and ``B`` from
quadratures at ``ε_k = ±1`` (:func:`~skhep_ml.physics.isr_dsigma_dcos`). The
χ² to Asimov pseudo-data (the SM expectation for a luminosity ``L``) is
``Σ_b (L σ_b(ε) - L σ_b^SM)² / (L σ_b^SM)``; its 95 % CL region in four
dimensions, ``χ² ≤ 9.49``, is a thin shell around the SM point with a second
branch where interference and square terms cancel.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

from .electroweak import PDG_2024
from .isr import isr_dsigma_dcos

__all__ = ["ContactFit"]


class ContactFit:
    """χ² of the contact couplings to SM pseudo-data in (cos θ*, √s') bins.

    Parameters
    ----------
    sqrt_s : float, default=200.0
        Centre-of-mass energy [GeV].
    luminosity : float, default=3000.0
        Integrated luminosity [pb^-1] (about the four LEP2 experiments' at
        189-209 GeV together).
    cos_edges : array-like, default=10 equal bins in [-1, 1]
        Bin edges in ``cos θ*``.
    mass_edges : array-like, default=(50, 170, 200)
        Bin edges in ``√s'`` [GeV] (the radiative return and the
        "exclusive" sample).
    inputs : ElectroweakInputs, default=PDG_2024
        Electroweak inputs.

    Attributes
    ----------
    sm : ndarray of shape (n_bins,)
        SM cross sections of the bins [pb].
    linear, quadratic : ndarray of shape (n_bins, 4)
        ``A`` [pb TeV^2] and ``B`` [pb TeV^4].
    bounds : ndarray of shape (4, 2)
        The scan box, ``[-0.5, 0.5]`` TeV^-2 for every coupling (it holds
        both branches at the default luminosity).
    chi2_95 : float
        9.49, the 95 % quantile of χ² with four degrees of freedom.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.physics import ContactFit
    >>> fit = ContactFit()
    >>> float(fit.chi2(np.zeros((1, 4)))[0])
    0.0
    """

    def __init__(
        self,
        sqrt_s=200.0,
        *,
        luminosity=3000.0,
        cos_edges=None,
        mass_edges=(50.0, 170.0, 200.0),
        inputs=PDG_2024,
    ):
        self.sqrt_s = float(sqrt_s)
        self.luminosity = float(luminosity)
        self.cos_edges = (
            np.linspace(-1.0, 1.0, 11) if cos_edges is None else np.asarray(cos_edges)
        )
        self.mass_edges = np.asarray(mass_edges, dtype=float)
        if self.luminosity <= 0:
            raise ValueError(f"luminosity must be positive, got {luminosity}.")
        if np.any(np.diff(self.cos_edges) <= 0) or np.any(
            np.diff(self.mass_edges) <= 0
        ):
            raise ValueError("bin edges must increase.")
        self.inputs = inputs
        self.sm = self._bins(None)
        plus = np.stack([self._bins(np.eye(4)[k]) for k in range(4)], 1)
        minus = np.stack([self._bins(-np.eye(4)[k]) for k in range(4)], 1)
        self.linear = 0.5 * (plus - minus)
        self.quadratic = 0.5 * (plus + minus) - self.sm[:, None]
        self.bounds = np.tile([-0.5, 0.5], (4, 1))
        self.chi2_95 = float(chi2.ppf(0.95, 4))

    def _bins(self, eps):
        """σ in every (√s', cos θ*) bin [pb], flat, mass-major."""
        x, w = np.polynomial.legendre.leggauss(3)  # dσ/dcos θ* is quadratic
        lo, hi = self.cos_edges[:-1, None], self.cos_edges[1:, None]
        cos = (0.5 * (hi - lo) * x + 0.5 * (hi + lo)).ravel()
        weight = (0.5 * (hi - lo) * w).ravel()
        above = []
        for m in self.mass_edges:
            if m >= self.sqrt_s:
                above.append(np.zeros(len(lo)))
                continue
            d = isr_dsigma_dcos(
                cos, self.sqrt_s, sqrt_s_min=m, eps=eps, inputs=self.inputs
            )
            above.append(np.sum((weight * d).reshape(len(lo), -1), axis=1))
        above = np.array(above)
        return (above[:-1] - above[1:]).ravel()

    def predict(self, eps):
        """Bin cross sections ``σ_b(ε)`` [pb].

        Parameters
        ----------
        eps : array-like of shape (n, 4)
            Couplings [TeV^-2] (LL, RR, LR, RL).

        Returns
        -------
        sigma : ndarray of shape (n, n_bins)
        """
        eps = np.asarray(eps, dtype=float)
        if eps.ndim != 2 or eps.shape[1] != 4:
            raise ValueError(f"eps must have shape (n, 4), got {eps.shape}.")
        return self.sm + eps @ self.linear.T + (eps**2) @ self.quadratic.T

    def chi2(self, eps):
        """χ² to the SM pseudo-data.

        Parameters
        ----------
        eps : array-like of shape (n, 4)
            Couplings [TeV^-2].

        Returns
        -------
        chi2 : ndarray of shape (n,)
        """
        expected = self.luminosity * self.sm
        predicted = self.luminosity * self.predict(eps)
        return np.sum((predicted - expected) ** 2 / expected, axis=1)

    def scan_problem(self):
        """The 95 % CL region as an :class:`~skhep_ml.ActiveScanner` problem.

        Returns
        -------
        problem : sklearn.utils.Bunch
            ``objective`` (:meth:`chi2`), ``bounds``, ``target``
            ``(0, chi2_95)`` and ``n_dim``.
        """
        from sklearn.utils import Bunch

        return Bunch(
            objective=self.chi2, bounds=self.bounds, target=(0.0, self.chi2_95), n_dim=4
        )
