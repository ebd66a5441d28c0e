"""Candidates spread over the surrogate's predicted region, however thin.

Uniform candidates hit a region of volume ``v`` at rate ``v``: a shell or a
ridge of volume 1e-3 gets ten of 10,000, and the selection can only grow
:class:`~skhep_ml.ActiveScanner`'s found pieces from their own neighbourhood.
Chains that walk the predicted region (the surrogate is cheap) reach all of it
instead: a hit-and-run walk over the points whose score reaches the threshold,
started from the known in-target points. All in unit-cube coordinates.
"""

from __future__ import annotations

import numpy as np

__all__ = ["chord", "region_candidates"]

#: points tried along each chord of a hit-and-run step
N_TRIES = 32


def chord(U, v):
    """The segment of the unit cube through each row of ``U`` along ``v``.

    Returns
    -------
    t_low, t_high : ndarray of shape (n,)
        ``U + t v`` lies in the cube for ``t_low <= t <= t_high``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        a = -U / v
        b = (1.0 - U) / v
    lo = np.where(v != 0, np.minimum(a, b), -np.inf)
    hi = np.where(v != 0, np.maximum(a, b), np.inf)
    return lo.max(axis=1), hi.min(axis=1)


def region_candidates(score, threshold, starts, n, rng, n_tries=N_TRIES):
    """``n`` points of the predicted region ``score >= threshold`` by hit-and-run.

    Each chain starts at a row of ``starts`` (points the surrogate predicts in
    target); a step draws a uniform direction, ``n_tries`` uniform points on
    the cube's chord through the chain's point along it, and moves to one of
    those predicted in target, uniformly (it stays when none is). The current
    point and the tries are exchangeable on the chord, so the walk keeps the
    uniform distribution on the predicted region; a chord crosses a thin
    shell or band twice and lets a chain jump to the far side. Every new
    state is a candidate (``sqrt(n)`` chains of ``sqrt(n)`` steps, capped at
    64 steps; steps that stay add none, so fewer than ``n`` may come back).

    Parameters
    ----------
    score : callable
        ``score(U) -> ndarray`` of unit-cube points.
    threshold : float
        Score at the edge of the target.
    starts : ndarray of shape (m, d)
        Starting points (drawn with replacement for the chains).
    n : int
        Candidates wanted.
    rng : numpy.random.Generator
    n_tries : int, default=32
        Points tried per chord.

    Returns
    -------
    U : ndarray of shape (m, d), m <= n
        ``score`` costs about ``n * n_tries`` evaluations.
    """
    d = starts.shape[1]
    if n <= 0 or not len(starts):
        return np.empty((0, d))
    n_steps = int(min(64, max(1, round(np.sqrt(n)))))
    n_chains = -(-n // n_steps)
    X = starts[rng.integers(len(starts), size=n_chains)]
    out = []
    for _ in range(n_steps):
        v = rng.standard_normal((n_chains, d))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        lo, hi = chord(X, v)
        t = lo[:, None] + rng.random((n_chains, n_tries)) * (hi - lo)[:, None]
        tries = X[:, None, :] + t[..., None] * v[:, None, :]
        tries = np.clip(tries, 0.0, 1.0)  # round-off at the faces
        ok = (score(tries.reshape(-1, d)) >= threshold).reshape(n_chains, n_tries)
        # one of the inside tries or the current point, uniformly
        keys = np.where(ok, rng.random(ok.shape), -1.0)
        stay_key = rng.random(n_chains)
        best = keys.argmax(axis=1)
        # the current point counts as one inside member of the set
        n_ok = ok.sum(axis=1)
        move = (n_ok > 0) & (stay_key * (n_ok + 1) >= 1.0)
        rows = np.flatnonzero(move)
        X = X.copy()
        X[rows] = tries[rows, best[rows]]
        out.append(X[rows])  # a chain that stays adds no new candidate
    return np.vstack(out)[:n]
