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

from ._explore import disagreement, find_pieces, local_candidates, tree_votes
from ._region import region_candidates

__all__ = [
    "ProposalSettings",
    "initial_design",
    "oversample",
    "propose",
    "sample_region",
    "select_points",
    "select_unsure",
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


def _shares(n, weights):
    """Split ``n`` into integers proportional to ``weights`` (largest remainders)."""
    weights = np.asarray(weights, dtype=np.float64)
    if n <= 0 or not len(weights) or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = n * weights / weights.sum()
    out = np.floor(exact).astype(np.int64)
    rest = np.argsort(-(exact - out), kind="stable")[: n - int(out.sum())]
    out[rest] += 1
    return out


def _group_shares(n_select, group, pool, is_uniform, n_pieces):
    """Points each group gets: half equally, half by its predicted volume.

    The groups are the found pieces ``0 .. n_pieces - 1`` and, when the pool
    holds any, the predicted-in-target candidates far from every found piece
    (``group == -1``, last). A group's predicted volume is the number of its
    uniform candidates in the pool.
    """
    ids = list(range(n_pieces)) + ([-1] if (pool & (group == -1)).any() else [])
    volume = np.array(
        [(pool & is_uniform & (group == g)).sum() for g in range(n_pieces)], float
    )
    equal = np.full(len(ids), 1.0 / len(ids))
    if volume.sum() > 0:
        volume = volume / volume.sum()
    else:
        volume = np.full(n_pieces, 1.0 / n_pieces)
    weight = 0.5 * equal
    weight[:n_pieces] += 0.5 * volume
    return ids, _shares(n_select, weight)


def select_points(
    cand,
    score,
    threshold,
    U_inside,
    *,
    n_select,
    n_rectify,
    diversity,
    rng,
    pieces=None,
    is_uniform=None,
    votes=None,
    eligible=None,
    fill_missed=True,
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
    pieces : Pieces, optional
        The found pieces (:func:`~._explore.find_pieces`). With them the
        selection is balanced: each piece (the candidates within two of its
        linking radii of its points) and the predicted-in-target candidates far from
        every piece get a share of ``n_select`` (half split equally, half by
        the group's share of the uniform candidates predicted in target); a
        piece with too few candidates predicted in target is filled with its
        best-scored others (they rectify a prediction that misses a known
        piece), and what a group cannot use goes to the others.
    is_uniform : ndarray of bool of shape (n_candidates,), optional
        Which candidates are uniform draws (their count measures a group's
        predicted volume); all when None.

    Returns
    -------
    chosen, rectify : ndarray of int
        Indices into ``cand``, disjoint: the selection predicted in target,
        and the rectifying points (a missed piece's best-scored candidates,
        then the ``n_rectify`` near the boundary). Fewer predicted-inside
        candidates than ``n_select`` are filled up with the best-scored others.
    """
    eligible = np.ones(len(cand), bool) if eligible is None else eligible
    predicted = score >= threshold
    pool = predicted & eligible
    weight = score.copy()
    if diversity > 0 and len(U_inside):
        dist, _ = cKDTree(U_inside).query(cand, k=1)
        weight = weight * (dist + 1e-3) ** diversity
    if votes is not None:  # the second opinion: the trees' vote
        weight = weight * (votes + 1.0 / 32.0)
    taken = np.zeros(len(cand), dtype=bool)
    missed = np.zeros(len(cand), dtype=bool)
    if pieces is not None and n_select > 0:
        group, gdist = pieces.assign(cand)
        group[gdist > 2.0 * pieces.radii[group]] = -1
        uniform = np.ones(len(cand), bool) if is_uniform is None else is_uniform
        ids, shares = _group_shares(n_select, group, pool, uniform, pieces.n_pieces)
        for g, share in zip(ids, shares):
            members = group == g
            inner = np.flatnonzero(members & pool)
            pick = inner[_gumbel_top(weight[inner], share, rng)]
            n_known = int((members & predicted).sum())  # of any stream
            if n_known < share and g >= 0 and fill_missed:
                outer = np.flatnonzero(members & ~predicted)
                nearest = np.argsort(gdist[outer], kind="stable")
                missed[outer[nearest[: share - max(len(pick), n_known)]]] = True
            taken[pick] = True
    taken |= missed
    n_more = n_select - int(taken.sum())
    if n_more > 0:
        free_pool = np.flatnonzero(pool & ~taken)
        taken[free_pool[_gumbel_top(weight[free_pool], n_more, rng)]] = True
        n_more = n_select - int(taken.sum())
    if n_more > 0 and fill_missed:
        rest = np.flatnonzero(~taken & eligible)
        taken[rest[np.argsort(-score[rest], kind="stable")[:n_more]]] = True
    chosen = np.flatnonzero(taken & ~missed)
    free = np.flatnonzero(~taken)
    order = np.argsort(np.abs(score[free] - threshold), kind="stable")
    near = free[order[: 3 * n_rectify]]
    rectify = near[_gumbel_top(np.ones(len(near)), n_rectify, rng)]
    return chosen, np.concatenate([np.flatnonzero(missed), rectify])


def select_unsure(unsure, taken, n, rng):
    """``n`` candidates where the surrogates disagree.

    Drawn without replacement among the candidates not ``taken`` with
    probability ∝ ``unsure`` (so they spread over the disputed regions); none
    where the disagreement is zero everywhere.
    """
    free = np.flatnonzero(~taken & (unsure > 0))
    if n <= 0 or not len(free):
        return np.empty(0, dtype=np.int64)
    return free[_gumbel_top(unsure[free], n, rng)]


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
    unsure_fraction: float = 0.0
    balance_pieces: bool = False
    min_efficiency: float | None = None


def propose(settings, U, inside, score, threshold, rng, seed, measured=None):
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
        Seed of the oversampler and of the tree ensemble.

    Returns
    -------
    U_new : ndarray of shape (n_new, d)
        Selected ("select"), rectifying ("rectify"), disputed ("unsure") and
        uniform ("random") points.
    origin : ndarray of str of shape (n_new,)

    Notes
    -----
    The candidates L: uniform points, and a share ``oversample_fraction``
    near the known in-target points, by the oversampler (all of that share,
    or half of it with ``balance_pieces``, the other half drawn around each
    found piece in equal numbers, :func:`~._explore.local_candidates`).
    With ``balance_pieces`` the selection gives each found piece its share
    (:func:`select_points`); a share ``unsure_fraction`` of K goes to the
    candidates where a tree ensemble fitted on the in/out labels disagrees
    most (:func:`select_unsure`).
    """
    d = U.shape[1]
    K = settings.n_per_iteration
    n_rand = int(round(settings.random_fraction * K))
    n_rect = int(round(settings.rectify_fraction * K))
    n_unsure = int(round(settings.unsure_fraction * K))
    n_near = int(round(settings.oversample_fraction * settings.n_candidates))
    pieces = find_pieces(U[inside], rng, len(U)) if settings.balance_pieces else None
    n_region = n_near // 3 if pieces is not None else 0
    n_near -= n_region
    n_local = n_near // 2 if pieces is not None else 0
    over = oversample(settings.oversampler, U, inside, n_near - n_local, seed)
    local = local_candidates(pieces, n_local, rng)
    region = region_candidates(score, threshold, U[inside], n_region, rng)
    n_uniform = settings.n_candidates - len(over) - len(local) - len(region)
    cand = np.vstack(
        [rng.uniform(size=(n_uniform, d)), over, local.reshape(-1, d), region]
    )
    # uniform and region candidates both count a group's predicted volume
    is_uniform = np.arange(len(cand)) < n_uniform
    is_uniform[len(cand) - len(region) :] = True
    cand_score = score(cand)
    votes = None
    if n_unsure > 0 or pieces is not None:
        votes = tree_votes(U, inside, cand, seed)
    n_select = max(0, K - n_rand - n_rect - n_unsure)
    common = dict(
        diversity=settings.diversity,
        rng=rng,
        pieces=pieces,
        is_uniform=is_uniform,
        votes=votes,
    )
    # the streams, most exploring first: "explore" (uniform and region
    # candidates), "extend" (steps from the pieces), "select" (the
    # oversampler's interpolations between known in-target points)
    source = np.repeat(
        np.array(["explore", "select", "extend", "explore"], dtype=object),
        [n_uniform, len(over), len(local), len(region)],
    )
    if pieces is None:  # the plain selection: one stream
        source[:] = STREAMS[-1]
    picked, rect = _select_streams(
        cand,
        cand_score,
        threshold,
        U[inside],
        source,
        n_select=n_select,
        n_rectify=n_rect,
        counts=_stream_counts(
            n_select,
            {
                st: int(((cand_score >= threshold) & (source == st)).sum())
                for st in STREAMS
            },
            measured,
            settings.min_efficiency,
            {"random": n_rand, "rectify": n_rect, "unsure": n_unsure},
            K,
        ),
        **common,
    )
    chosen = np.concatenate([picked[st] for st in STREAMS[::-1]])
    taken = np.zeros(len(cand), dtype=bool)
    taken[chosen] = taken[rect] = True
    unsure = np.empty(0, dtype=np.int64)
    if n_unsure > 0:
        u = disagreement(votes)
        unsure = select_unsure(u, taken, n_unsure, rng)
    n_rand += n_unsure - len(unsure)  # no disagreement: uniform points instead
    n_rand += n_select + n_rect - len(chosen) - len(rect)
    rand = rng.uniform(size=(max(0, n_rand), d))
    U_new = np.vstack([cand[chosen], cand[rect], cand[unsure], rand])
    origin = np.array(
        sum(([st] * len(picked[st]) for st in STREAMS[::-1]), [])
        + ["rectify"] * len(rect)
        + ["unsure"] * len(unsure)
        + ["random"] * len(rand),
        dtype=object,
    )
    return U_new, origin


def _stream_counts(n_select, avail, measured, min_efficiency, other, K):
    """:func:`allocate`'s counts, or None for one pool (no measurement yet,
    or no ``min_efficiency``)."""
    if measured is None or min_efficiency is None:
        return None
    return allocate(n_select, avail, measured, min_efficiency, other, K)


def _select_streams(
    cand, score, threshold, U_inside, source, *, n_select, n_rectify, counts, **kw
):
    """The selection of each stream and the rectifying points.

    ``counts=None``: one :func:`select_points` over every candidate, each
    chosen point labelled with its candidate's stream. Otherwise one call per
    stream on its own candidates (``"select"`` first: it also rectifies and
    serves the pieces the surrogate misses).
    """
    if counts is None:
        chosen, rect = select_points(
            cand,
            score,
            threshold,
            U_inside,
            n_select=n_select,
            n_rectify=n_rectify,
            **kw,
        )
        return {st: chosen[source[chosen] == st] for st in STREAMS}, rect
    taken = np.zeros(len(cand), dtype=bool)
    picked = {}
    rect = np.empty(0, dtype=np.int64)
    for st in STREAMS[::-1]:
        first = st == STREAMS[-1]
        idx, r = select_points(
            cand,
            score,
            threshold,
            U_inside,
            n_select=counts[st],
            n_rectify=n_rectify if first else 0,
            eligible=(source == st) & ~taken,
            fill_missed=first,
            **kw,
        )
        picked[st] = idx
        taken[idx] = True
        if first:
            rect = r
            taken[r] = True
    return picked, rect


#: the selection's streams, most exploring first (:func:`allocate`)
STREAMS = ("explore", "extend", "select")


def allocate(n_select, avail, measured, min_efficiency, other, K):
    """Points of each stream in a selection of ``n_select``.

    The most exploring streams get as many points as the iteration can
    afford: each point of stream ``s`` is expected to cost
    ``e_best - e_s`` in-target points against the most efficient stream
    (``e`` the streams' in-target shares in the previous iteration,
    ``measured``), and the iteration's expected in-target share must stay at
    ``min_efficiency`` (counting the ``other`` fixed shares at their measured
    shares); the rest goes to the most efficient stream. Every stream keeps at
    least ``K / 50`` points, so its efficiency stays measured.

    Parameters
    ----------
    n_select : int
    avail : dict
        Candidates predicted in target per stream.
    measured : dict
        In-target share per origin in the previous iteration.
    min_efficiency : float
    other : dict
        Counts of the other origins in the iteration.
    K : int
        Points in the iteration.

    Returns
    -------
    counts : dict
    """
    counts = dict.fromkeys(STREAMS, 0)
    left = n_select
    prior = max(measured.values())
    eff = {st: measured.get(st, prior) for st in STREAMS}
    best = max(STREAMS, key=lambda st: (eff[st], STREAMS.index(st)))
    floor = int(round(K / 50))
    for st in STREAMS:
        counts[st] = min(avail[st], floor, left)
        left -= counts[st]
    expected = sum(n * measured.get(o, prior) for o, n in other.items())
    expected += sum(counts[st] * eff[st] for st in STREAMS) + left * eff[best]
    room = expected - min_efficiency * K  # in-target points one may lose
    for st in STREAMS:
        if st == best:
            continue
        cost = eff[best] - eff[st]
        n = min(avail[st] - counts[st], left)
        if cost > 0:
            n = int(min(n, max(0.0, room) / cost))
        counts[st] += n
        left -= n
        room -= n * cost
    counts[best] += left
    return counts


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
