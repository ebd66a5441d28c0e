"""Regression targets with known truth (BayesianRegressor)."""

from __future__ import annotations

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
