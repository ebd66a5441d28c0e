"""Densities with exact log-densities (FlowDensity)."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
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
