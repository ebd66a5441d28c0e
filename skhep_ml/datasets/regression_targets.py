"""Regression targets with known truth (BayesianRegressor)."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "HeteroscedasticToy",
    "amplitude_like",
    "heteroscedastic_sigma",
    "make_amplitude_like",
    "make_heteroscedastic",
    "make_heteroscedastic_family",
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
# heteroscedastic family with known σ(x)
# ---------------------------------------------------------------------------
def _fourier_features(X, frequencies, phases):
    """``cos(2π X ω_k + φ_k)`` of shape (n, n_terms)."""
    return np.cos(2.0 * np.pi * X @ frequencies.T + phases)


class HeteroscedasticToy:
    """One seeded heteroscedastic regression toy with exactly known ``σ(x)``.

    Built by :func:`make_heteroscedastic_family`, which documents the random
    choices. On ``x ∈ [0, 1]^d``:

    * mean ``m(x) = Σ_k a_k cos(2π ω_k·x + φ_k) + β·(x - 1/2)``;
    * width ``log σ(x) = log σ_0 + R g(x) / G`` with
      ``g(x) = Σ_k b_k cos(2π ν_k·x + ψ_k) + γ·(x - 1/2)`` and the bound
      ``G = Σ|b_k| + Σ|γ_i| / 2 >= |g|``, so ``σ_0 e^(-R) <= σ(x) <= σ_0 e^R``;
    * ``y = m(x) + σ(x) ε`` with ``ε ~ N(0, 1)``.

    Attributes
    ----------
    seed : int
    n_features : int
        ``d`` in 1..6.
    name : str
        ``"heteroscedastic_toy(seed=..., d=...)"``.
    sigma_scale, log_sigma_range : float
        ``σ_0`` and ``R``.
    """

    def __init__(self, seed, n_features, rng):
        d = int(n_features)
        self.seed = seed
        self.n_features = d
        n_mean, n_sigma = rng.integers(2, 7), rng.integers(1, 5)
        self.mean_amplitude = rng.normal(0.0, 1.0, n_mean) / np.sqrt(n_mean)
        self.mean_frequency = rng.normal(0.0, 1.0, (n_mean, d)) / np.sqrt(d)
        self.mean_phase = rng.uniform(0.0, 2.0 * np.pi, n_mean)
        self.mean_slope = rng.uniform(-1.0, 1.0, d) / np.sqrt(d)
        self.sigma_scale = float(np.exp(rng.uniform(np.log(0.02), np.log(0.3))))
        self.log_sigma_range = float(rng.uniform(0.3, 1.2))
        self.sigma_amplitude = rng.normal(0.0, 1.0, n_sigma)
        self.sigma_frequency = rng.normal(0.0, 1.0, (n_sigma, d)) / np.sqrt(d)
        self.sigma_phase = rng.uniform(0.0, 2.0 * np.pi, n_sigma)
        self.sigma_slope = rng.uniform(-1.0, 1.0, d)
        self.name = f"heteroscedastic_toy(seed={seed}, d={d})"

    def __repr__(self):
        return self.name

    def _check(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"{self.name} needs X of shape (n, {self.n_features}), got {X.shape}."
            )
        return X

    def mean(self, X):
        """True mean ``m(x)``, shape (n,)."""
        X = self._check(X)
        waves = _fourier_features(X, self.mean_frequency, self.mean_phase)
        return waves @ self.mean_amplitude + (X - 0.5) @ self.mean_slope

    __call__ = mean

    def sigma(self, X):
        """True noise width ``σ(x) > 0``, shape (n,)."""
        X = self._check(X)
        waves = _fourier_features(X, self.sigma_frequency, self.sigma_phase)
        g = waves @ self.sigma_amplitude + (X - 0.5) @ self.sigma_slope
        bound = (
            np.abs(self.sigma_amplitude).sum() + 0.5 * np.abs(self.sigma_slope).sum()
        )
        return self.sigma_scale * np.exp(self.log_sigma_range * g / bound)

    def make(self, n_samples=2000, random_state=None):
        """Uniform ``X`` in ``[0, 1]^d`` and noisy ``y = m(X) + σ(X) ε``.

        Parameters
        ----------
        n_samples : int, default=2000
            Number of points.
        random_state : int, RandomState instance or None, default=None
            Seed of the inputs and the noise.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
        """
        if not (isinstance(n_samples, int | np.integer) and n_samples >= 1):
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        rng = check_random_state(random_state)
        X = rng.uniform(size=(int(n_samples), self.n_features))
        return X, self.mean(X) + self.sigma(X) * rng.standard_normal(len(X))


def make_heteroscedastic_family(seed, *, n_features=None):
    """Draw one heteroscedastic toy with known mean and ``σ(x)``.

    Every choice comes from ``numpy.random.default_rng(seed)`` in this order:
    ``d`` uniform in 1..6 (drawn even when ``n_features`` is given); the number
    of mean waves ``K`` in 2..6 and of width waves ``K'`` in 1..4;
    ``a_k ~ N(0, 1/K)``, ``ω_k ~ N(0, 1/d)`` per component, ``φ_k ~ U(0, 2π)``,
    ``β_i ~ U(-1, 1)/√d``; ``σ_0`` log-uniform in ``[0.02, 0.3]``,
    ``R ~ U(0.3, 1.2)`` (so ``max σ / min σ <= e^(2R) <= 11``), ``b_k ~ N(0, 1)``,
    ``ν_k ~ N(0, 1/d)``, ``ψ_k ~ U(0, 2π)``, ``γ_i ~ U(-1, 1)`` (see
    :class:`HeteroscedasticToy` for the formulas).

    Parameters
    ----------
    seed : int
        Seed of the toy (non-negative).
    n_features : int or None, default=None
        Fix ``d`` in 1..6 instead of drawing it.

    Returns
    -------
    toy : HeteroscedasticToy
        Picklable; ``toy.make(n, random_state)`` gives ``(X, y)``,
        ``toy.mean(X)`` and ``toy.sigma(X)`` the truth.

    Examples
    --------
    >>> from skhep_ml.datasets import make_heteroscedastic_family
    >>> toy = make_heteroscedastic_family(0, n_features=2)
    >>> X, y = toy.make(500, random_state=0)
    >>> bool((toy.sigma(X) > 0).all()), X.shape
    (True, (500, 2))
    """
    if not (isinstance(seed, int | np.integer) and seed >= 0):
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    rng = np.random.default_rng(int(seed))
    drawn = int(rng.integers(1, 7))
    if n_features is None:
        n_features = drawn
    elif n_features not in range(1, 7):
        raise ValueError(f"n_features must be in 1..6 or None, got {n_features!r}.")
    return HeteroscedasticToy(int(seed), n_features, rng)
