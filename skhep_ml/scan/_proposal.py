"""Where :class:`~skhep_ml.ActiveScanner` looks next: design, candidates, selection.

Works in unit-cube coordinates on the surrogate's scores; the estimator supplies
the scores and the threshold.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import qmc
from sklearn.base import clone

__all__ = [
    "ProposalSettings",
    "initial_design",
    "oversample",
    "propose",
    "sample_region",
    "select_points",
]


def _gumbel_top(weights, n, rng):
    """Draw ``n`` indices without replacement with probability ∝ ``weights``."""
    n = min(n, len(weights))
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    with np.errstate(divide="ignore"):
        keys = np.log(weights) + rng.gumbel(size=len(weights))
    return np.argpartition(-keys, n - 1)[:n]


def oversample(oversampler, U, inside, n_new, seed):
    """Candidates near known in-target points, by an imbalanced-learn sampler.

    Parameters
    ----------
    oversampler : "smote", imblearn sampler or None
        ``"smote"`` uses :class:`imblearn.over_sampling.SMOTE`; a sampler
        instance is cloned; ``None`` gives no candidates.
    U : ndarray of shape (n_points, d)
        Evaluated points in unit coordinates.
    inside : ndarray of bool of shape (n_points,)
        Whether each point is in the target.
    n_new : int
        Candidates wanted.
    seed : int
        Seed of the sampler.

    Returns
    -------
    U_new : ndarray of shape (n_new, d) or (0, d)
        New points in ``[0, 1]^d``; none when fewer than two points are in the
        target, when all are, or when the sampler refuses the data.
    """
    n_pos = int(inside.sum())
    if oversampler is None or n_new <= 0 or n_pos < 2 or n_pos == len(inside):
        return np.empty((0, U.shape[1]))
    if isinstance(oversampler, str):
        from imblearn.over_sampling import SMOTE

        sampler = SMOTE()
    else:
        sampler = clone(oversampler)
    params = sampler.get_params()
    update = {}
    if "sampling_strategy" in params:
        update["sampling_strategy"] = {1: n_pos + n_new}
    for name in ("k_neighbors", "n_neighbors"):
        if isinstance(params.get(name), numbers.Integral):
            update[name] = int(min(params[name], n_pos - 1))
    if "random_state" in params:
        update["random_state"] = seed
    sampler.set_params(**update)
    try:
        X_res, y_res = sampler.fit_resample(U, inside.astype(np.int64))
    except ValueError:
        return np.empty((0, U.shape[1]))
    X_res = np.asarray(X_res, dtype=np.float64)
    extra = X_res[len(U) :][np.asarray(y_res)[len(U) :] == 1]
    return np.clip(extra, 0.0, 1.0)


def select_points(
    cand, score, threshold, U_inside, *, n_select, n_rectify, diversity, rng
):
    """Pick the candidates to evaluate: selected and rectifying points.

    Parameters
    ----------
    cand : ndarray of shape (n_candidates, d)
        Candidates in unit coordinates.
    score : ndarray of shape (n_candidates,)
        Surrogate score of each candidate (in-target likelihood or probability).
    threshold : float
        Score at the edge of the target.
    U_inside : ndarray of shape (n_inside, d)
        Known in-target points (unit coordinates), for the diversity weight.
    n_select, n_rectify : int
        Points predicted in the target (drawn ∝ score × distance^diversity to
        the known in-target points), and points next to the predicted boundary.
    diversity : float
        Exponent of the distance weight; 0 draws ∝ score.
    rng : numpy.random.Generator

    Returns
    -------
    chosen, rectify : ndarray of int
        Indices into ``cand``, disjoint. Fewer predicted-inside candidates than
        ``n_select`` are filled up with the best-scored others.
    """
    pool = np.flatnonzero(score >= threshold)
    if len(pool) < n_select:
        rest = np.setdiff1d(np.arange(len(cand)), pool)
        fill = rest[np.argsort(-score[rest], kind="stable")[: n_select - len(pool)]]
        chosen = np.concatenate([pool, fill])
    else:
        weight = score[pool]
        if diversity > 0 and len(U_inside):
            dist, _ = cKDTree(U_inside).query(cand[pool], k=1)
            weight = weight * (dist + 1e-3) ** diversity
        chosen = pool[_gumbel_top(weight, n_select, rng)]
    taken = np.zeros(len(cand), dtype=bool)
    taken[chosen] = True
    free = np.flatnonzero(~taken)
    order = np.argsort(np.abs(score[free] - threshold), kind="stable")
    near = free[order[: 3 * n_rectify]]
    rectify = near[_gumbel_top(np.ones(len(near)), n_rectify, rng)]
    return chosen, rectify


def initial_design(n, d, kind, base_seed):
    """The initial design L0: ``n`` uniform points or a Latin hypercube in ``[0, 1]^d``.

    Drawn from ``(base_seed, 0)`` (the iterations draw from ``(base_seed, it)``).
    """
    seed = np.random.SeedSequence([base_seed, 0])
    if kind == "lhs":
        sampler = qmc.LatinHypercube(d, seed=np.random.default_rng(seed))
        return sampler.random(n)
    return np.random.default_rng(seed).uniform(size=(n, d))


@dataclass(frozen=True)
class ProposalSettings:
    """The scanner's parameters that shape one iteration's selection K."""

    n_per_iteration: int
    n_candidates: int
    oversampler: object
    oversample_fraction: float
    random_fraction: float
    rectify_fraction: float
    diversity: float


def propose(settings, U, inside, score, threshold, rng, seed):
    """Selection K of an iteration, in unit coordinates, with the origin of each.

    Parameters
    ----------
    settings : ProposalSettings
        Sizes and shares of the selection.
    U : ndarray of shape (n_points, d)
        Evaluated points in unit coordinates.
    inside : ndarray of bool of shape (n_points,)
        Whether each is in the target.
    score : callable
        ``score(U) -> ndarray``: the surrogate's selection score of unit points.
    threshold : float
        Score at the edge of the target.
    rng : numpy.random.Generator
        Draws the candidates and the selection.
    seed : int
        Seed of the oversampler.

    Returns
    -------
    U_new : ndarray of shape (n_new, d)
        Selected ("select"), rectifying ("rectify") and uniform ("random") points.
    origin : ndarray of str of shape (n_new,)
    """
    d = U.shape[1]
    K = settings.n_per_iteration
    n_rand = int(round(settings.random_fraction * K))
    n_rect = int(round(settings.rectify_fraction * K))
    n_over = int(round(settings.oversample_fraction * settings.n_candidates))
    over = oversample(settings.oversampler, U, inside, n_over, seed)
    uniform = rng.uniform(size=(settings.n_candidates - len(over), d))
    cand = np.vstack([uniform, over])
    chosen, rect = select_points(
        cand,
        score(cand),
        threshold,
        U[inside],
        n_select=max(0, K - n_rand - n_rect),
        n_rectify=n_rect,
        diversity=settings.diversity,
        rng=rng,
    )
    rand = rng.uniform(size=(n_rand, d))
    U_new = np.vstack([cand[chosen], cand[rect], rand])
    origin = np.array(
        ["select"] * len(chosen) + ["rectify"] * len(rect) + ["random"] * n_rand,
        dtype=object,
    )
    return U_new, origin


def sample_region(score, threshold, d, n_samples, rng, max_candidates):
    """Uniform points of ``[0, 1]^d`` whose score reaches ``threshold``.

    Draws batches of 65536 until ``n_samples`` are found or ``max_candidates``
    are drawn.

    Raises
    ------
    ValueError
        If fewer than ``n_samples`` of the candidates reach the threshold.
    """
    found = []
    n_found = 0
    drawn = 0
    batch = 65536
    while n_found < n_samples and drawn < max_candidates:
        U = rng.uniform(size=(batch, d))
        drawn += batch
        keep = U[score(U) >= threshold]
        found.append(keep)
        n_found += len(keep)
    if n_found < n_samples:
        raise ValueError(
            f"only {n_found} of {drawn} candidates are predicted in target, "
            f"fewer than n_samples={n_samples}."
        )
    return np.vstack(found)[:n_samples]
