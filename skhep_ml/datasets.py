"""Toy problems with known truth: targets, integrands, objectives, simulators.

Every generator takes ``random_state`` and returns numpy arrays. This module
imports no estimator.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "amplitude_like",
    "heteroscedastic_sigma",
    "make_amplitude_like",
    "make_heteroscedastic",
]


# ---------------------------------------------------------------------------
# regression (BayesianRegressor)
# ---------------------------------------------------------------------------
def amplitude_like(X):
    """Noise-free amplitude-like function of 5 inputs on the unit cube.

    The inputs play the roles of an energy fraction ``x0`` (soft enhancement
    ``1/z``), a polar angle ``x1`` (collinear enhancement ``1/(1 - cos θ)``),
    an azimuth ``x2`` and two further momentum fractions ``x3, x4`` that
    modulate the interference terms:

    ``A = (1 + x3^2 + 0.6 x4 cos(2π x2) + 0.3 cos θ) / (z (1 - cos θ + δ))``

    with ``z = 0.01 + 0.99 x0``, ``cos θ = 1 - 2 x1``, ``δ = 0.02``. The values
    span about four orders of magnitude.

    Parameters
    ----------
    X : array-like of shape (n_samples, 5)
        Points in [0, 1]^5.

    Returns
    -------
    A : ndarray of shape (n_samples,)
        Positive amplitudes.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 5:
        raise ValueError(f"amplitude_like needs X of shape (n, 5), got {X.shape}.")
    z = 0.01 + 0.99 * X[:, 0]
    cos_theta = 1.0 - 2.0 * X[:, 1]
    numerator = (
        1.0
        + X[:, 3] ** 2
        + 0.6 * X[:, 4] * np.cos(2 * np.pi * X[:, 2])
        + 0.3 * cos_theta
    )
    return numerator / (z * (1.0 - cos_theta + 0.02))


def make_amplitude_like(n_samples=10_000, *, random_state=None):
    """Sample the amplitude-like regression problem (noise-free).

    Parameters
    ----------
    n_samples : int, default=10000
        Number of points.
    random_state : int, RandomState instance or None, default=None
        Seed of the uniform inputs.

    Returns
    -------
    X : ndarray of shape (n_samples, 5)
        Uniform points in [0, 1]^5.
    y : ndarray of shape (n_samples,)
        ``amplitude_like(X)``, positive, dynamic range ~1e4.
    """
    rng = check_random_state(random_state)
    X = rng.uniform(size=(n_samples, 5))
    return X, amplitude_like(X)


def heteroscedastic_sigma(x):
    """True noise width ``σ(x) = 0.05 + 0.25 (1 + sin(2 x)) / 2`` of the 1-d toy."""
    x = np.asarray(x, dtype=float)
    return 0.05 + 0.125 * (1.0 + np.sin(2.0 * x))


def make_heteroscedastic(n_samples=2000, *, random_state=None):
    """1-d regression toy with known input-dependent noise.

    ``y = sin(x) + 0.3 x + σ(x) ε`` with ``x ~ U(-3, 3)``, ``ε ~ N(0, 1)`` and
    ``σ(x)`` from :func:`heteroscedastic_sigma` (between 0.05 and 0.30).

    Parameters
    ----------
    n_samples : int, default=2000
        Number of points.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
    y : ndarray of shape (n_samples,)
    sigma : ndarray of shape (n_samples,)
        The true noise width at each point.
    """
    rng = check_random_state(random_state)
    x = rng.uniform(-3.0, 3.0, size=n_samples)
    sigma = heteroscedastic_sigma(x)
    y = np.sin(x) + 0.3 * x + sigma * rng.standard_normal(n_samples)
    return x[:, None], y, sigma


# ---------------------------------------------------------------------------
# densities (FlowDensity)
# ---------------------------------------------------------------------------
__all__ += [
    "DENSITY_TOYS",
    "checkerboard_log_density",
    "eight_gaussians_log_density",
    "make_checkerboard",
    "make_eight_gaussians",
    "make_physics_events",
    "make_two_moons",
    "physics_events_log_density",
    "two_moons_log_density",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


def _as_2d(X, n_features, name):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"{name} needs X of shape (n, {n_features}), got {X.shape}.")
    return X


def _gauss_legendre(n, low, high):
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return 0.5 * (high - low) * nodes + 0.5 * (high + low), 0.5 * (high - low) * weights


def _moon_arcs(t):
    """Centres of the two moons at arc parameter ``t`` in [0, pi]."""
    upper = np.stack([np.cos(t), np.sin(t)], axis=-1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=-1)
    return upper, lower


def make_two_moons(n_samples=10_000, *, noise=0.1, random_state=None):
    """Sample two interleaved half circles with Gaussian noise.

    Half the points lie on ``(cos t, sin t)``, half on
    ``(1 - cos t, 0.5 - sin t)``, ``t ~ U(0, pi)``, each smeared by an isotropic
    Gaussian of width ``noise``. Unlike :func:`sklearn.datasets.make_moons` the
    arc parameter is random, so :func:`two_moons_log_density` is exact.

    Parameters
    ----------
    n_samples : int, default=10_000
        Number of points.
    noise : float, default=0.1
        Gaussian smearing width.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    """
    rng = check_random_state(random_state)
    t = rng.uniform(0.0, np.pi, size=n_samples)
    upper, lower = _moon_arcs(t)
    which = rng.uniform(size=n_samples) < 0.5
    X = np.where(which[:, None], upper, lower)
    return X + noise * rng.standard_normal((n_samples, 2))


def two_moons_log_density(X, *, noise=0.1, n_nodes=256):
    """Exact log-density of :func:`make_two_moons`.

    The arc integral ``(1/pi) int_0^pi N(x; c(t), noise^2 I) dt`` is done by
    Gauss-Legendre quadrature (relative error far below 1e-10 for the default
    noise).

    Parameters
    ----------
    X : array-like of shape (n_samples, 2)
        Points.
    noise : float, default=0.1
        Gaussian smearing width.
    n_nodes : int, default=256
        Quadrature nodes per arc.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
    """
    from scipy.special import logsumexp

    X = _as_2d(X, 2, "two_moons_log_density")
    t, w = _gauss_legendre(n_nodes, 0.0, np.pi)
    upper, lower = _moon_arcs(t)
    centres = np.concatenate([upper, lower])  # (2 n_nodes, 2)
    log_w = np.log(np.concatenate([w, w]) / (2.0 * np.pi))
    out = np.empty(len(X))
    for start in range(0, len(X), 4096):
        xb = X[start : start + 4096]
        d2 = ((xb[:, None, :] - centres[None]) ** 2).sum(-1)
        log_n = -0.5 * d2 / noise**2 - np.log(2.0 * np.pi * noise**2)
        out[start : start + 4096] = logsumexp(log_n + log_w, axis=1)
    return out


def _eight_centres(radius):
    angles = np.arange(8) * np.pi / 4.0
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def make_eight_gaussians(n_samples=10_000, *, radius=2.0, std=0.2, random_state=None):
    """Sample an equal mixture of 8 isotropic Gaussians on a circle.

    Parameters
    ----------
    n_samples : int, default=10_000
        Number of points.
    radius : float, default=2.0
        Radius of the circle of centres.
    std : float, default=0.2
        Width of every Gaussian.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    """
    rng = check_random_state(random_state)
    centres = _eight_centres(radius)
    k = rng.randint(8, size=n_samples)
    return centres[k] + std * rng.standard_normal((n_samples, 2))


def eight_gaussians_log_density(X, *, radius=2.0, std=0.2):
    """Exact log-density of :func:`make_eight_gaussians`.

    Parameters
    ----------
    X : array-like of shape (n_samples, 2)
        Points.
    radius : float, default=2.0
        Radius of the circle of centres.
    std : float, default=0.2
        Width of every Gaussian.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
    """
    from scipy.special import logsumexp

    X = _as_2d(X, 2, "eight_gaussians_log_density")
    d2 = ((X[:, None, :] - _eight_centres(radius)[None]) ** 2).sum(-1)
    log_n = -0.5 * d2 / std**2 - np.log(2.0 * np.pi * std**2)
    return logsumexp(log_n, axis=1) - np.log(8.0)


def make_checkerboard(n_samples=10_000, *, random_state=None):
    """Sample the uniform checkerboard: 8 unit squares of ``[-2, 2]^2``.

    Parameters
    ----------
    n_samples : int, default=10_000
        Number of points.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        Density 1/8 on the black squares, 0 elsewhere.
    """
    rng = check_random_state(random_state)
    x1 = rng.uniform(-2.0, 2.0, size=n_samples)
    x2 = rng.uniform(0.0, 1.0, size=n_samples) - 2.0 * rng.randint(2, size=n_samples)
    x2 = x2 + np.floor(x1) % 2
    return np.stack([x1, x2], axis=1)


def checkerboard_log_density(X):
    """Exact log-density of :func:`make_checkerboard` (``-inf`` off the board).

    Parameters
    ----------
    X : array-like of shape (n_samples, 2)
        Points.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
    """
    X = _as_2d(X, 2, "checkerboard_log_density")
    inside = (np.abs(X) <= 2.0).all(axis=1)
    black = (np.floor(X[:, 0]) + np.floor(X[:, 1])) % 2 == 0
    return np.where(inside & black, -np.log(8.0), -np.inf)


# the 8-d physics-like density ------------------------------------------------
_PHYS = {
    "mass": 91.19,  # Breit-Wigner pole
    "gamma": 2.5,  # full width
    "window": 15.0,  # BW truncated to |m - mass| < window (then smeared)
    "resolution": 1.5,  # Gaussian mass resolution
    "threshold": 60.0,  # background threshold (smeared edge)
    "bg_scale": 20.0,  # exponential fall of the background
    "bg_smear": 3.0,  # smearing of the threshold
    "pt_smear": 2.0,  # smearing of the Jacobian edge of pT at m / 2
    "cos_smear": 0.05,  # smearing of the cos(theta) edges at +-1
    "met_smear": 2.0,  # smearing of the MET edge at 0
    # x1..x4: Gaussian block, mean linear in (m - 90) / 20, correlated
    "slope": np.array([1.0, -0.5, 0.0, 0.3]),
    "cov": np.array(
        [
            [1.0, 0.6, 0.3, 0.0],
            [0.6, 1.0, 0.1, 0.2],
            [0.3, 0.1, 1.0, 0.5],
            [0.0, 0.2, 0.5, 1.0],
        ]
    ),
}


def _log_smeared_exp(x, scale, smear):
    """log of ``Exp(scale)`` (on x > 0) convolved with ``N(0, smear^2)``."""
    from scipy.special import log_ndtr

    return (
        -np.log(scale)
        - x / scale
        + 0.5 * (smear / scale) ** 2
        + log_ndtr(x / smear - smear / scale)
    )


def _log_diff_ndtr(a, b):
    """``log(Phi(a) - Phi(b))`` for ``a > b``, accurate in both tails."""
    from scipy.special import log_ndtr

    # use the upper tail where both are large: Phi(a) - Phi(b) = Phi(-b) - Phi(-a)
    flip = (a + b) > 0
    hi = np.where(flip, -b, a)
    lo = np.where(flip, -a, b)
    la, lb = log_ndtr(hi), log_ndtr(lo)
    return la + np.log1p(-np.exp(np.minimum(lb - la, 0.0)))


def _pt_half_width(m):
    return 0.5 * np.logaddexp(0.0, m)  # ~ m / 2, smooth and positive


def _met_scale(pt):
    return 5.0 + 0.2 * np.sqrt(pt**2 + 1.0)


def _log_mass_peak(m, n_nodes=600):
    """Truncated Breit-Wigner convolved with the Gaussian resolution."""
    from scipy.special import logsumexp

    P = _PHYS
    half = 0.5 * P["gamma"]
    t, w = _gauss_legendre(n_nodes, P["mass"] - P["window"], P["mass"] + P["window"])
    norm = 2.0 * np.arctan(P["window"] / half) / np.pi
    log_bw = np.log(half / np.pi / ((t - P["mass"]) ** 2 + half**2) / norm)
    sig = P["resolution"]
    out = np.empty(len(m))
    for start in range(0, len(m), 4096):
        mb = m[start : start + 4096, None]
        log_g = -0.5 * ((mb - t) / sig) ** 2 - np.log(sig) - 0.5 * _LOG_2PI
        out[start : start + 4096] = logsumexp(log_g + log_bw + np.log(w), axis=1)
    return out


def _physics_mean(m):
    return ((m - 90.0) / 20.0)[:, None] * _PHYS["slope"]


def make_physics_events(n_samples=10_000, *, peak_fraction=0.3, random_state=None):
    """Sample the 8-d physics-like event density with exact normalisation.

    Columns: ``m`` (a truncated Breit-Wigner peak at 91.19, width 2.5, on an
    exponentially falling background above a threshold at 60, both smeared by
    the detector resolution), four correlated Gaussian observables whose means
    depend on ``m``, ``pT`` (uniform up to the Jacobian edge ``m/2``, smeared),
    ``cos theta`` (``(3/8)(1 + cos^2)`` on ``[-1, 1]``, smeared edges) and a
    missing transverse energy (exponential with a ``pT``-dependent slope,
    smeared edge at 0). The density is a product of normalised conditionals,
    so :func:`physics_events_log_density` is exactly normalised.

    Parameters
    ----------
    n_samples : int, default=10_000
        Number of events.
    peak_fraction : float, default=0.3
        Fraction of resonant (signal) events; a different value gives a
        proposal for weighted-event studies.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 8)
    """
    rng = check_random_state(random_state)
    P = _PHYS
    n = n_samples
    signal = rng.uniform(size=n) < peak_fraction
    # truncated Breit-Wigner by inverting its CDF
    half = 0.5 * P["gamma"]
    a = np.arctan(P["window"] / half)
    bw = P["mass"] + half * np.tan(rng.uniform(-a, a, size=n))
    bg = P["threshold"] + rng.exponential(P["bg_scale"], size=n)
    m = np.where(
        signal,
        bw + P["resolution"] * rng.standard_normal(n),
        bg + P["bg_smear"] * rng.standard_normal(n),
    )
    chol = np.linalg.cholesky(P["cov"])
    gauss = _physics_mean(m) + rng.standard_normal((n, 4)) @ chol.T
    pt = rng.uniform(size=n) * _pt_half_width(m)
    pt = pt + P["pt_smear"] * rng.standard_normal(n)
    # (3/8)(1 + c^2) by rejection from the uniform (envelope 3/4)
    cos = np.empty(n)
    todo = np.arange(n)
    while len(todo):
        c = rng.uniform(-1.0, 1.0, size=len(todo))
        ok = rng.uniform(size=len(todo)) < 0.5 * (1.0 + c**2)
        cos[todo[ok]] = c[ok]
        todo = todo[~ok]
    cos = cos + P["cos_smear"] * rng.standard_normal(n)
    met = rng.exponential(_met_scale(pt)) + P["met_smear"] * rng.standard_normal(n)
    return np.column_stack([m, gauss, pt, cos, met])


def physics_events_log_density(X, *, peak_fraction=0.3):
    """Exact log-density of :func:`make_physics_events`.

    The only numerical step is the Breit-Wigner ⊗ Gaussian convolution of the
    mass peak (600-node Gauss-Legendre quadrature, relative error below 1e-10).

    Parameters
    ----------
    X : array-like of shape (n_samples, 8)
        Events.
    peak_fraction : float, default=0.3
        Fraction of resonant events.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
    """
    from scipy.special import ndtr
    from scipy.stats import multivariate_normal

    X = _as_2d(X, 8, "physics_events_log_density")
    P = _PHYS
    m, gauss, pt, cos, met = X[:, 0], X[:, 1:5], X[:, 5], X[:, 6], X[:, 7]
    log_m = np.logaddexp(
        np.log(peak_fraction) + _log_mass_peak(m),
        np.log1p(-peak_fraction)
        + _log_smeared_exp(m - P["threshold"], P["bg_scale"], P["bg_smear"]),
    )
    log_gauss = multivariate_normal(mean=np.zeros(4), cov=P["cov"]).logpdf(
        gauss - _physics_mean(m)
    )
    log_gauss = np.reshape(log_gauss, -1)
    h, s = _pt_half_width(m), P["pt_smear"]
    log_pt = _log_diff_ndtr(pt / s, (pt - h) / s) - np.log(h)
    # (3/8) int_{-1}^{1} (1 + t^2) N(cos; t, s^2) dt in closed form
    s = P["cos_smear"]
    ua, ub = (-1.0 - cos) / s, (1.0 - cos) / s
    phi_a = np.exp(-0.5 * ua**2) / np.sqrt(2 * np.pi)
    phi_b = np.exp(-0.5 * ub**2) / np.sqrt(2 * np.pi)
    i0 = ndtr(ub) - ndtr(ua)
    i1 = phi_a - phi_b
    i2 = i0 + ua * phi_a - ub * phi_b
    dens_cos = 0.375 * ((1.0 + cos**2) * i0 + 2.0 * cos * s * i1 + s**2 * i2)
    log_cos = np.log(np.maximum(dens_cos, 1e-300))
    log_met = _log_smeared_exp(met, _met_scale(pt), P["met_smear"])
    return log_m + log_gauss + log_pt + log_cos + log_met


#: name → (sampler, exact log-density, n_features) of the density toys
DENSITY_TOYS = {
    "two_moons": (make_two_moons, two_moons_log_density, 2),
    "eight_gaussians": (make_eight_gaussians, eight_gaussians_log_density, 2),
    "checkerboard": (make_checkerboard, checkerboard_log_density, 2),
    "physics_8d": (make_physics_events, physics_events_log_density, 8),
}


# ---------------------------------------------------------------------------
# integrands (NeuralImportanceIntegrator)
# ---------------------------------------------------------------------------
__all__ += [
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


# ---------------------------------------------------------------------------
# simulators (ALICERatioEstimator)
# ---------------------------------------------------------------------------
__all__ += ["alice_toy_log_ratio", "make_alice_toy", "sample_alice_toy"]


def _alice_theta(theta, n_theta, n_samples, name="theta"):
    """Broadcast ``theta`` to shape ``(n_samples, n_theta)``."""
    theta = np.asarray(theta, dtype=float)
    if theta.ndim == 0:
        theta = np.full(n_theta, float(theta))
    if theta.ndim == 1 and theta.shape[0] == n_theta:
        theta = np.broadcast_to(theta, (n_samples, n_theta))
    theta = theta.reshape(-1, n_theta) if theta.ndim == 1 else theta
    if theta.shape != (n_samples, n_theta):
        raise ValueError(
            f"{name} must be a scalar, shape ({n_theta},) or ({n_samples}, {n_theta}); "
            f"got shape {theta.shape}."
        )
    return np.ascontiguousarray(theta)


def _alice_latent(theta, rng):
    """Draw z ~ p(z|θ) = (1 + θ·z)^2 φ_2(z) / (1 + |θ|^2), one row per θ row.

    Rejection sampling: the proposal ``(1 + (θ·z)^2) φ_2(z) / (1 + |θ|^2)`` is a
    mixture of ``φ_2`` and a χ_3-distributed component along θ; the acceptance
    probability ``(1 + θ·z)^2 / (2 (1 + (θ·z)^2))`` is 1/2 on average.
    """
    n, k = theta.shape
    z = np.empty((n, 2))
    todo = np.arange(n)
    while todo.size:
        th = theta[todo]
        norm2 = (th**2).sum(1)
        zz = rng.standard_normal((todo.size, 2))
        quad = rng.uniform(size=todo.size) < norm2 / (1.0 + norm2)
        if quad.any():
            unit = np.zeros((todo.size, 2))
            unit[:, :k] = th / np.sqrt(np.maximum(norm2, 1e-300))[:, None]
            chi3 = np.sqrt(rng.chisquare(3, size=todo.size))
            chi3 *= rng.choice([-1.0, 1.0], size=todo.size)
            along = (zz * unit).sum(1)
            zq = zz + (chi3 - along)[:, None] * unit
            zz = np.where(quad[:, None], zq, zz)
        proj = (th * zz[:, :k]).sum(1)
        accept = rng.uniform(size=todo.size) < (1 + proj) ** 2 / (2 * (1 + proj**2))
        z[todo[accept]] = zz[accept]
        todo = todo[~accept]
    return z


def _alice_log_pz(z, theta):
    """log p(z|θ) - log φ_2(z) = log((1 + θ·z)^2 / (1 + |θ|^2))."""
    k = theta.shape[1]
    amp = 1.0 + (theta * z[:, :k]).sum(1)
    with np.errstate(divide="ignore"):
        return 2.0 * np.log(np.abs(amp)) - np.log1p((theta**2).sum(1))


def sample_alice_toy(
    theta, n_samples=100, *, sigma=0.5, random_state=None, return_latent=False
):
    """Simulate observed events of the ALICE toy at one parameter point.

    The latent ``z ∈ R^2`` follows ``p(z|θ) = (1 + θ·z_{:k})^2 φ_2(z) / (1 + |θ|^2)``
    (a Standard-Model amplitude ``1`` interfering with a new-physics amplitude
    ``z_{:k}`` of strength θ, ``k = len(θ)``); the observation is the smeared
    ``x = z + σ ε``. See :func:`make_alice_toy`.

    Parameters
    ----------
    theta : float or array-like of shape (n_theta,)
        The parameter point (``n_theta`` is 1 or 2).
    n_samples : int, default=100
        Number of events.
    sigma : float, default=0.5
        Detector smearing.
    random_state : int, RandomState instance or None, default=None
        Seed.
    return_latent : bool, default=False
        Also return the latent ``z``.

    Returns
    -------
    x : ndarray of shape (n_samples, 2)
        Observed events.
    z : ndarray of shape (n_samples, 2)
        Latent events (only with ``return_latent``).
    """
    rng = check_random_state(random_state)
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    if theta.ndim != 1 or theta.shape[0] not in (1, 2):
        raise ValueError(f"theta must have 1 or 2 components, got shape {theta.shape}.")
    th = _alice_theta(theta, theta.shape[0], n_samples)
    z = _alice_latent(th, rng)
    x = z + sigma * rng.standard_normal(z.shape)
    return (x, z) if return_latent else x


def make_alice_toy(
    n_samples=10_000,
    *,
    n_theta=1,
    theta=None,
    theta_range=(-1.0, 1.0),
    theta_ref=None,
    sigma=0.5,
    random_state=None,
):
    """Training data for likelihood-ratio estimation with known truth.

    A simulator with a latent variable ``z ∈ R^2``, parameters ``θ ∈ R^k``
    (``k = n_theta``, 1 or 2) and observation ``x = z + σ ε``:

    ``p(z|θ) = (1 + θ·z_{:k})^2 φ_2(z) / (1 + |θ|^2)``,

    the square of a Standard-Model amplitude interfering with a new-physics one.
    The interference has a density zero at ``θ·z = -1``, so the joint score
    ``t(x,z|θ) = 2 z_{:k}/(1 + θ·z_{:k}) - 2θ/(1 + |θ|^2)`` is heavy-tailed.
    The joint likelihood ratio is ``r(x,z|θ,θ_1) = p(z|θ)/p(z|θ_1)`` (the
    smearing cancels). The marginal ratio is known in closed form
    (:func:`alice_toy_log_ratio`).

    Half of the rows (``y = 0``) are simulated at their θ (drawn uniformly in
    ``theta_range`` per row, or the fixed ``theta``), the other half (``y = 1``)
    at the reference ``θ_1``; for those the θ column is drawn the same way and
    the joint ratio and score are evaluated at it, as in madminer's
    ``sample_train_ratio``.

    Parameters
    ----------
    n_samples : int, default=10000
        Number of rows (``n_samples - n_samples // 2`` with ``y = 0``).
    n_theta : {1, 2}, default=1
        Dimension of θ.
    theta : float or array-like of shape (n_theta,), default=None
        Fixed numerator θ; ``None`` draws θ uniformly per row.
    theta_range : tuple of float, default=(-1.0, 1.0)
        Range of every θ component when drawn.
    theta_ref : float or array-like of shape (n_theta,), default=None
        Reference θ_1; ``None`` is the Standard Model, θ_1 = 0.
    sigma : float, default=0.5
        Detector smearing.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2 + n_theta)
        ``[x, θ]``: the observation and the numerator parameter point.
    y : ndarray of shape (n_samples,)
        0 for events simulated at θ, 1 for events simulated at θ_1.
    joint_ratio : ndarray of shape (n_samples,)
        ``r(x,z|θ,θ_1)``, positive (zero only on the measure-zero interference
        zero).
    joint_score : ndarray of shape (n_samples, n_theta)
        ``t(x,z|θ) = ∇_θ log p(x,z|θ)``.

    References
    ----------
    .. [1] J. Brehmer, G. Louppe, J. Pavez, K. Cranmer, "Mining gold from
       implicit models to improve likelihood-free inference",
       arXiv:1805.12244.
    .. [2] M. Stoye, J. Brehmer, G. Louppe, J. Pavez, K. Cranmer, "Likelihood-free
       inference with an improved cross-entropy estimator", arXiv:1808.00973.

    Examples
    --------
    >>> from skhep_ml.datasets import make_alice_toy, alice_toy_log_ratio
    >>> X, y, r, t = make_alice_toy(1000, random_state=0)
    >>> X.shape, r.shape, t.shape
    ((1000, 3), (1000,), (1000, 1))
    >>> alice_toy_log_ratio(X).shape
    (1000,)
    """
    if n_theta not in (1, 2):
        raise ValueError(f"n_theta must be 1 or 2, got {n_theta!r}.")
    rng = check_random_state(random_state)
    n_num = n_samples - n_samples // 2
    if theta is None:
        lo, hi = theta_range
        th = rng.uniform(lo, hi, size=(n_samples, n_theta))
    else:
        th = _alice_theta(theta, n_theta, n_samples)
    ref = _alice_theta(
        0.0 if theta_ref is None else theta_ref, n_theta, n_samples, "theta_ref"
    )
    y = np.zeros(n_samples)
    y[n_num:] = 1.0
    gen_theta = np.where(y[:, None] == 0, th, ref)
    z = _alice_latent(gen_theta, rng)
    x = z + sigma * rng.standard_normal(z.shape)
    log_r = _alice_log_pz(z, th) - _alice_log_pz(z, ref)
    amp = 1.0 + (th * z[:, :n_theta]).sum(1, keepdims=True)
    with np.errstate(divide="ignore"):
        norm = 1.0 + (th**2).sum(1, keepdims=True)
        score = 2.0 * z[:, :n_theta] / amp - 2.0 * th / norm
    order = rng.permutation(n_samples)
    X = np.column_stack([x, th])[order]
    return X, y[order], np.exp(log_r)[order], score[order]


def alice_toy_log_ratio(X, *, n_theta=1, theta_ref=None, sigma=0.5):
    """Exact log likelihood ratio ``log p(x|θ) - log p(x|θ_1)`` of the ALICE toy.

    With ``m = x/(1+σ^2)`` and ``s^2 = σ^2/(1+σ^2)`` (the posterior of z given
    x under the Gaussian part), ``p(x|θ) = N(x; 0, (1+σ^2) I) ·
    ((1 + θ·m_{:k})^2 + s^2 |θ|^2) / (1 + |θ|^2)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, 2 + n_theta)
        ``[x, θ]`` as returned by :func:`make_alice_toy`.
    n_theta : {1, 2}, default=1
        Number of trailing θ columns.
    theta_ref : float or array-like of shape (n_theta,), default=None
        Reference θ_1 (``None``: 0).
    sigma : float, default=0.5
        Detector smearing of the toy.

    Returns
    -------
    log_r : ndarray of shape (n_samples,)
        Exact log ratio.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2 + n_theta:
        raise ValueError(f"X must have shape (n, {2 + n_theta}), got {X.shape}.")
    x, th = X[:, :2], X[:, 2:]
    ref = _alice_theta(
        0.0 if theta_ref is None else theta_ref, n_theta, len(X), "theta_ref"
    )
    m = x[:, :n_theta] / (1.0 + sigma**2)
    s2 = sigma**2 / (1.0 + sigma**2)

    def log_p(t):
        t2 = (t**2).sum(1)
        return np.log((1.0 + (t * m).sum(1)) ** 2 + s2 * t2) - np.log1p(t2)

    return log_p(th) - log_p(ref)


# ---------------------------------------------------------------------------
# scan objectives (ActiveScanner)
# ---------------------------------------------------------------------------
__all__ += [
    "COSINE_TOY_TARGET",
    "cosine_toy",
    "make_scan_problem",
    "scan_cell_coverage",
    "scan_true_cells",
]

#: target band of the cosine toy, O = 100 ± 20 (arXiv:2207.09959)
COSINE_TOY_TARGET = (80.0, 120.0)


def cosine_toy(X):
    """The scan toy ``O = [2 + prod_i cos(x_i / 7)]^5`` of arXiv:2207.09959.

    The original is three-dimensional with ``x_i`` in ``[0, 10π]``; the same
    formula in ``d`` dimensions is the higher-dimensional task.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_dim)
        Points.

    Returns
    -------
    O : ndarray of shape (n_samples,)
        Values in ``[1, 243]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.datasets import cosine_toy
    >>> float(cosine_toy(np.zeros((1, 3)))[0])
    243.0
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"cosine_toy needs X of shape (n, d), got {X.shape}.")
    return (2.0 + np.prod(np.cos(X / 7.0), axis=1)) ** 5


def make_scan_problem(name="cosine3d"):
    """A scan problem with known truth: objective, bounds and target band.

    ``"cosine3d"`` is the three-dimensional toy of arXiv:2207.09959,
    ``O = [2 + cos(x1/7) cos(x2/7) cos(x3/7)]^5`` on ``[0, 10π]^3`` with target
    ``O = 100 ± 20``; about 7.5 % of the volume is in target, in four
    disconnected shells. ``"cosine7d"`` is the same formula in seven
    dimensions: about 0.53 % of the volume is in target, split over 64
    disconnected shells around the corners with an even number of
    ``cos(x_i/7) ≈ -1`` factors.

    Parameters
    ----------
    name : {"cosine3d", "cosine7d"}, default="cosine3d"
        Which problem.

    Returns
    -------
    problem : sklearn.utils.Bunch
        ``objective`` (callable ``(n, d) -> (n,)``), ``bounds`` (ndarray of
        shape (d, 2)), ``target`` (``(low, high)``), ``n_dim`` and
        ``in_target_fraction`` (the in-target volume fraction, from 4e6
        uniform points with seed 0, relative error < 1 %).

    Raises
    ------
    ValueError
        For an unknown name.
    """
    from sklearn.utils import Bunch

    dims = {"cosine3d": (3, 0.0747), "cosine7d": (7, 0.00534)}
    if name not in dims:
        raise ValueError(f"name={name!r} is not one of {sorted(dims)}.")
    n_dim, fraction = dims[name]
    bounds = np.tile([0.0, 10.0 * np.pi], (n_dim, 1))
    return Bunch(
        objective=cosine_toy,
        bounds=bounds,
        target=COSINE_TOY_TARGET,
        n_dim=n_dim,
        in_target_fraction=fraction,
    )


def _cell_index(X, bounds, n_bins):
    bounds = np.asarray(bounds, dtype=float)
    u = (np.asarray(X, dtype=float) - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0])
    idx = np.clip((u * n_bins).astype(np.int64), 0, n_bins - 1)
    return np.ravel_multi_index(idx.T, (n_bins,) * bounds.shape[0])


def scan_true_cells(
    objective,
    bounds,
    target,
    *,
    n_bins=20,
    n_sub=4,
    min_fraction=0.05,
    chunk_size=200_000,
):
    """Cells of a regular grid that hold a part of the true in-target region.

    Each of the ``n_bins^d`` cells is probed on a regular ``n_sub^d`` sub-grid
    (cell-centred); a cell belongs to the true region when at least
    ``min_fraction`` of its probes have ``low <= O <= high``. Slivers below
    ``min_fraction`` of a cell are left out, so a coverage test measures the
    region, not luck on its boundary.

    Parameters
    ----------
    objective : callable
        ``(n, d) -> (n,)`` values.
    bounds : array-like of shape (d, 2)
        Box of the scan.
    target : tuple of float
        ``(low, high)`` band of the value.
    n_bins : int, default=20
        Cells per dimension.
    n_sub : int, default=4
        Probes per cell and dimension.
    min_fraction : float, default=0.05
        Minimal in-target fraction of a true cell.
    chunk_size : int, default=200000
        Probes evaluated per objective call.

    Returns
    -------
    cells : ndarray of bool of shape (n_bins ** d,)
        Flat (C-order) mask of the true cells.
    """
    bounds = np.asarray(bounds, dtype=float)
    d = bounds.shape[0]
    low, high = target
    width = (bounds[:, 1] - bounds[:, 0]) / n_bins
    sub = (np.arange(n_sub) + 0.5) / n_sub
    offsets = np.stack(np.meshgrid(*[sub] * d, indexing="ij"), -1).reshape(-1, d)
    n_cells = n_bins**d
    counts = np.zeros(n_cells)
    cells_per_chunk = max(1, chunk_size // len(offsets))
    for start in range(0, n_cells, cells_per_chunk):
        cells = np.arange(start, min(n_cells, start + cells_per_chunk))
        corner = np.stack(np.unravel_index(cells, (n_bins,) * d), -1)
        pts = bounds[:, 0] + (corner[:, None, :] + offsets[None]) * width
        values = np.asarray(objective(pts.reshape(-1, d)), dtype=float)
        inside = (values >= low) & (values <= high)
        counts[cells] = inside.reshape(len(cells), -1).mean(axis=1)
    return counts >= min_fraction


def scan_cell_coverage(points, true_cells, bounds, *, n_bins=20):
    """Fraction of the true region's cells that hold at least one point.

    Parameters
    ----------
    points : array-like of shape (n_samples, d)
        Found (in-target) points.
    true_cells : ndarray of bool of shape (n_bins ** d,)
        From :func:`scan_true_cells` with the same ``bounds`` and ``n_bins``.
    bounds : array-like of shape (d, 2)
        Box of the scan.
    n_bins : int, default=20
        Cells per dimension.

    Returns
    -------
    coverage : float
        In ``[0, 1]``.
    """
    true_cells = np.asarray(true_cells, dtype=bool)
    if len(points) == 0 or not true_cells.any():
        return 0.0
    hit = np.zeros_like(true_cells)
    hit[_cell_index(points, bounds, n_bins)] = True
    return float((hit & true_cells).sum() / true_cells.sum())
