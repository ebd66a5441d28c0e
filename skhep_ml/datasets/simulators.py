"""Simulators with tractable likelihoods (ALICERatioEstimator)."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["alice_toy_log_ratio", "make_alice_toy", "sample_alice_toy"]


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
