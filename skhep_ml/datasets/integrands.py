"""Integrands with exact integrals (NeuralImportanceIntegrator)."""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "BreitWignerRidge",
    "Camel",
    "CrossingResonances",
    "Ring",
    "make_integrand",
]


def _namespace(X):
    """``(xp, X)``: torch for a tensor (kept on its device), numpy otherwise."""
    if type(X).__module__.startswith("torch"):
        import torch

        return torch, X
    return np, np.asarray(X, dtype=float)


def _check_points(X, n_features, name):
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(
            f"{name} needs points of shape (n, {n_features}), got {tuple(X.shape)}."
        )


def _cauchy_mass(low, high, mass, width):
    """Integral of the unit-normalised Breit-Wigner over ``[low, high]``."""
    half = 0.5 * width
    return (math.atan((high - mass) / half) - math.atan((low - mass) / half)) / math.pi


def _cauchy_difference_mass(width):
    """Integral over the unit square of the Breit-Wigner in ``x1 - x2`` at 0."""
    half = 0.5 * width
    return 2.0 * (
        math.atan(1.0 / half) / math.pi
        - half / (2.0 * math.pi) * math.log1p(1.0 / half**2)
    )


class _Integrand:
    """Base of the toy integrands: a callable with its exact ``integral``."""

    n_features: int
    integral: float
    name: str

    def __repr__(self):
        return f"{type(self).__name__}(n_features={self.n_features})"

    def _prepare(self, X):
        xp, X = _namespace(X)
        _check_points(X, self.n_features, type(self).__name__)
        return xp, X


class Camel(_Integrand):
    """Two Gaussian peaks on the diagonal of the unit hypercube (the "camel").

    ``f(x) = 1/2 [N(x; μ1, σ²) + N(x; μ2, σ²)]`` with ``μ1 = (1/3, ..., 1/3)``,
    ``μ2 = (2/3, ..., 2/3)`` and ``σ = 0.1`` per coordinate. Each normalised
    Gaussian loses the same mass outside the cube, so the exact integral is
    ``[Φ(2/(3σ)) - Φ(-1/(3σ))]^d``.

    Parameters
    ----------
    n_features : int, default=2
        Dimension ``d``.
    width : float, default=0.1
        Standard deviation ``σ`` of each peak per coordinate.

    Attributes
    ----------
    integral : float
        Exact integral over ``[0, 1]^d``.
    n_features : int
        Dimension.

    Examples
    --------
    >>> from skhep_ml.datasets import Camel
    >>> f = Camel(4)
    >>> round(f.integral, 6)
    0.998285
    """

    def __init__(self, n_features=2, width=0.1):
        self.n_features = int(n_features)
        self.width = float(width)
        self.name = f"camel_d{self.n_features}"
        s = self.width * math.sqrt(2.0)
        one_dim = 0.5 * (math.erf((2.0 / 3.0) / s) - math.erf((-1.0 / 3.0) / s))
        self.integral = one_dim**self.n_features

    def __call__(self, X):
        """Evaluate at points ``X`` of shape (n, d) (numpy array or torch tensor)."""
        xp, X = self._prepare(X)
        d, s2 = self.n_features, self.width**2
        norm = (2.0 * math.pi * s2) ** (-0.5 * d)
        r1 = ((X - 1.0 / 3.0) ** 2).sum(-1)
        r2 = ((X - 2.0 / 3.0) ** 2).sum(-1)
        return 0.5 * norm * (xp.exp(-0.5 * r1 / s2) + xp.exp(-0.5 * r2 / s2))


class Ring(_Integrand):
    """A thin Gaussian ring in 2-d: ``f ∝ exp(-(r - r0)² / (2 w²))``.

    Centred at ``(1/2, 1/2)`` with radius ``r0 = 0.3`` and width ``w = 0.005``;
    normalised to integral ≈ 1. The ring lies 40 widths inside the square, so
    the integral over the square equals the one over the plane,
    ``2π [w² exp(-r0²/2w²) + r0 w √(π/2) (1 + erf(r0/(√2 w)))] / Z``.

    Parameters
    ----------
    radius : float, default=0.3
        Ring radius ``r0``.
    width : float, default=0.005
        Gaussian width ``w`` of the ring.

    Attributes
    ----------
    integral : float
        Exact integral over ``[0, 1]^2``.
    n_features : int
        Always 2.

    Examples
    --------
    >>> from skhep_ml.datasets import Ring
    >>> round(Ring().integral, 6)
    1.0
    """

    def __init__(self, radius=0.3, width=0.005):
        self.n_features = 2
        self.radius = float(radius)
        self.width = float(width)
        self.name = "ring_d2"
        r0, w = self.radius, self.width
        self._norm = 1.0 / (2.0 * math.pi * r0 * w * math.sqrt(2.0 * math.pi))
        exact = (
            2.0
            * math.pi
            * (
                w**2 * math.exp(-(r0**2) / (2 * w**2))
                + r0
                * w
                * math.sqrt(math.pi / 2)
                * (1.0 + math.erf(r0 / (math.sqrt(2) * w)))
            )
        )
        self.integral = exact * self._norm

    def __call__(self, X):
        """Evaluate at points ``X`` of shape (n, 2) (numpy array or torch tensor)."""
        xp, X = self._prepare(X)
        r = (((X - 0.5) ** 2).sum(-1)) ** 0.5
        return self._norm * xp.exp(-0.5 * ((r - self.radius) / self.width) ** 2)


class BreitWignerRidge(_Integrand):
    """A narrow Breit-Wigner ridge along the diagonal ``x1 = x2`` in 4-d.

    ``f(x) = L_Γ(x1 - x2) · 3/2 (x3² + x4²)`` with the unit-normalised
    Breit-Wigner ``L_Γ(t) = (Γ/2π) / (t² + Γ²/4)`` and ``Γ = 0.005``. The
    ridge is not aligned with the axes, which defeats a separable (VEGAS)
    grid. The difference ``x1 - x2`` has the triangular density ``1 - |t|``,
    so the exact integral is ``2 [atan(2/Γ)/π - Γ/(4π) log(1 + 4/Γ²)]``.

    Parameters
    ----------
    width : float, default=0.005
        Breit-Wigner width ``Γ``.

    Attributes
    ----------
    integral : float
        Exact integral over ``[0, 1]^4``.
    n_features : int
        Always 4.

    Examples
    --------
    >>> from skhep_ml.datasets import BreitWignerRidge
    >>> round(BreitWignerRidge().integral, 4)
    0.9889
    """

    def __init__(self, width=0.005):
        self.n_features = 4
        self.width = float(width)
        self.name = "ridge_d4"
        self.integral = _cauchy_difference_mass(self.width)

    def __call__(self, X):
        """Evaluate at points ``X`` of shape (n, 4) (numpy array or torch tensor)."""
        xp, X = self._prepare(X)
        half = 0.5 * self.width
        t = X[:, 0] - X[:, 1]
        bw = (half / math.pi) / (t**2 + half**2)
        return bw * 1.5 * (X[:, 2] ** 2 + X[:, 3] ** 2)


class CrossingResonances(_Integrand):
    """Two crossing Breit-Wigner resonance bands in 3-d (a Dalitz-like toy).

    ``f(x) = [0.6 L(x1; m1, Γ1) + 0.4 L(x2; m2, Γ2)] · 2 x3`` with masses
    ``m1 = 0.3, m2 = 0.6`` and widths ``Γ1 = Γ2 = 0.01``: one band per
    resonance, crossing at ``(m1, m2)``. Each band is what a resonance-adapted
    channel mapping flattens (see :class:`skhep_ml.integrate.BreitWignerMapping`).
    Exact integral ``Σ_i c_i [atan((1 - m_i)/(Γ_i/2)) + atan(m_i/(Γ_i/2))]/π``.

    Parameters
    ----------
    masses : tuple of 2 float, default=(0.3, 0.6)
        Resonance positions in ``x1`` and ``x2``.
    widths : tuple of 2 float, default=(0.01, 0.01)
        Resonance widths.
    coefficients : tuple of 2 float, default=(0.6, 0.4)
        Weights of the two bands.

    Attributes
    ----------
    integral : float
        Exact integral over ``[0, 1]^3``.
    n_features : int
        Always 3.

    Examples
    --------
    >>> from skhep_ml.datasets import CrossingResonances
    >>> round(CrossingResonances().integral, 4)
    0.9928
    """

    def __init__(self, masses=(0.3, 0.6), widths=(0.01, 0.01), coefficients=(0.6, 0.4)):
        self.n_features = 3
        self.masses = tuple(float(m) for m in masses)
        self.widths = tuple(float(w) for w in widths)
        self.coefficients = tuple(float(c) for c in coefficients)
        self.name = "resonances_d3"
        self.integral = sum(
            c * _cauchy_mass(0.0, 1.0, m, w)
            for c, m, w in zip(self.coefficients, self.masses, self.widths)
        )

    def __call__(self, X):
        """Evaluate at points ``X`` of shape (n, 3) (numpy array or torch tensor)."""
        xp, X = self._prepare(X)
        total = 0.0
        bands = zip(self.coefficients, self.masses, self.widths)
        for axis, (c, m, w) in enumerate(bands):
            half = 0.5 * w
            total = total + c * (half / math.pi) / ((X[:, axis] - m) ** 2 + half**2)
        return total * 2.0 * X[:, 2]


def make_integrand(name):
    """Return one of the benchmark integrands by name.

    Parameters
    ----------
    name : {"camel_d2", "camel_d4", "camel_d8", "ring_d2", "ridge_d4", "resonances_d3"}
        Which integrand.

    Returns
    -------
    integrand : callable
        Evaluates ``(n, d)`` points (numpy or torch) to ``(n,)`` values and
        exposes ``integral`` (exact), ``n_features`` and ``name``.

    Raises
    ------
    ValueError
        For an unknown name.

    Examples
    --------
    >>> from skhep_ml.datasets import make_integrand
    >>> f = make_integrand("camel_d2")
    >>> f.n_features
    2
    """
    if name.startswith("camel_d"):
        return Camel(int(name[len("camel_d") :]))
    table = {
        "ring_d2": Ring,
        "ridge_d4": BreitWignerRidge,
        "resonances_d3": CrossingResonances,
    }
    if name not in table:
        raise ValueError(
            f"unknown integrand {name!r}; choose camel_d<d>, {', '.join(table)}."
        )
    return table[name]()
