"""Coverage of a scan's found points against the exact truth (issue 20).

The allowed region of a :class:`~skhep_ml.datasets.ScanRegion` is cut into
clusters of a dense truth sample: each piece gets clusters in proportion to
its exact volume share (at least one), found by k-means in the unit-cube
coordinates of the box, so no cluster straddles two pieces. A cluster's mass
is its piece's share times its share of the piece's truth points; a cluster
is covered when a found point lies in the region, in its piece, with that
cluster's centre the nearest of the piece. The coverage is the covered mass;
:func:`ideal_coverage` is the same for as many points drawn from the truth.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin

__all__ = [
    "TruthClusters",
    "ideal_coverage",
    "piece_coverage",
    "scan_coverage",
    "surrogate_recall_precision",
]


class TruthClusters:
    """Clusters of a dense truth sample of a scan problem, with their masses.

    Parameters
    ----------
    problem : ScanRegion
        A problem of :func:`~skhep_ml.datasets.make_scan_family`.
    n_clusters : int, default=256
        Clusters in all; piece ``p`` gets ``max(1, round(n_clusters *
        share_p))`` of them (one when it drew fewer truth points than that).
    n_truth : int, optional
        Size of the truth sample; ``50 * n_clusters`` when None.
    random_state : int, default=0
        Seed of the truth sample and of k-means.

    Attributes
    ----------
    centres_ : list of ndarray
        Cluster centres of each piece (unit-cube coordinates).
    masses_ : list of ndarray
        Mass of each cluster of each piece (all sum to one).
    n_clusters_ : int
        Clusters made.
    """

    def __init__(self, problem, *, n_clusters=256, n_truth=None, random_state=0):
        if (
            isinstance(n_clusters, bool)
            or int(n_clusters) != n_clusters
            or n_clusters < 1
        ):
            raise ValueError(
                f"n_clusters must be a positive integer, got {n_clusters!r}."
            )
        n_clusters = int(n_clusters)
        n_truth = 50 * n_clusters if n_truth is None else int(n_truth)
        self.problem = problem
        X = problem.sample_truth(n_truth, random_state=random_state)
        U, piece = problem.to_unit(X), problem.piece_of(X)
        shares = np.asarray(problem.piece_shares, dtype=float)
        self.centres_, self.masses_ = [], []
        for p, share in enumerate(shares):
            members = U[piece == p]
            k = min(max(1, round(n_clusters * share)), max(1, len(members)))
            if k == 1:
                self.centres_.append(np.full((1, U.shape[1]), 0.5))
                self.masses_.append(np.array([share]))
                continue
            km = KMeans(k, n_init=1, random_state=random_state).fit(members)
            counts = np.bincount(km.labels_, minlength=k)
            self.centres_.append(km.cluster_centers_)
            self.masses_.append(share * counts / counts.sum())
        self.n_clusters_ = sum(len(m) for m in self.masses_)

    def covered(self, points):
        """Which clusters hold a found point, per piece (list of bool arrays)."""
        points = np.asarray(points, dtype=float).reshape(-1, self.problem.n_dim)
        piece = self.problem.piece_of(points)
        U = self.problem.to_unit(points)
        hit = [np.zeros(len(m), dtype=bool) for m in self.masses_]
        for p, centres in enumerate(self.centres_):
            inside = U[piece == p]
            if len(inside):
                hit[p][pairwise_distances_argmin(inside, centres)] = True
        return hit

    def coverage(self, points):
        """Share of the region's mass in clusters holding a found point."""
        hit = self.covered(points)
        return float(sum(m[h].sum() for m, h in zip(self.masses_, hit)))

    def piece_coverage(self, points):
        """Covered share of each piece's own mass, ndarray of shape (n_pieces,)."""
        hit = self.covered(points)
        return np.array([m[h].sum() / m.sum() for m, h in zip(self.masses_, hit)])


def _clusters(problem, clusters, n_clusters, n_truth, random_state):
    if clusters is not None:
        return clusters
    return TruthClusters(
        problem, n_clusters=n_clusters, n_truth=n_truth, random_state=random_state
    )


def scan_coverage(
    found_points,
    problem,
    *,
    clusters=None,
    n_clusters=256,
    n_truth=None,
    random_state=0,
):
    """Share of the allowed region's mass that a scan's found points cover.

    Parameters
    ----------
    found_points : array-like of shape (n_samples, n_dim)
        Points a scan found (points outside the region are ignored).
    problem : ScanRegion
        The problem scanned.
    clusters : TruthClusters, optional
        Reuse these clusters (same problem); built from the next arguments
        when None.
    n_clusters, n_truth, random_state
        As in :class:`TruthClusters`.

    Returns
    -------
    coverage : float
        In ``[0, 1]``; compare with :func:`ideal_coverage` at the same number
        of points.
    """
    cells = _clusters(problem, clusters, n_clusters, n_truth, random_state)
    return cells.coverage(found_points)


def piece_coverage(
    found_points,
    problem,
    *,
    clusters=None,
    n_clusters=256,
    n_truth=None,
    random_state=0,
):
    """Covered share of each piece's mass, ndarray of shape (n_pieces,).

    Arguments as in :func:`scan_coverage`.
    """
    cells = _clusters(problem, clusters, n_clusters, n_truth, random_state)
    return cells.piece_coverage(found_points)


def ideal_coverage(
    problem,
    n_found,
    *,
    n_draws=5,
    clusters=None,
    n_clusters=256,
    n_truth=None,
    random_state=0,
):
    """Coverage of ``n_found`` points drawn from the truth, mean of ``n_draws``.

    The reference for :func:`scan_coverage`: what an ideal scan with as many
    in-target points reaches. Other arguments as in :func:`scan_coverage`;
    the draws use seeds derived from ``random_state`` other than the truth
    sample's.

    Returns
    -------
    coverage : float
    """
    cells = _clusters(problem, clusters, n_clusters, n_truth, random_state)
    seeds = np.random.SeedSequence([int(random_state), 20]).spawn(n_draws)
    values = [
        cells.coverage(problem.sample_truth(int(n_found), np.random.default_rng(s)))
        for s in seeds
    ]
    return float(np.mean(values))


def surrogate_recall_precision(
    predict_in_target, problem, *, n_points=10_000, random_state=0
):
    """Recall and precision of a surrogate's in-target calls against the truth.

    Recall is the share of ``n_points`` fresh truth points that
    ``predict_in_target`` calls in target. Precision is the share of truly
    in-target points among the points it calls in target in a pool of
    ``n_points`` truth points and ``n_points`` uniform points of the box (so
    both in- and out-of-target points are judged even when the region is a
    tiny part of the box).

    Parameters
    ----------
    predict_in_target : callable
        ``(n, d) -> (n,)`` booleans, e.g. ``ActiveScanner.predict_in_target``.
    problem : ScanRegion
        The problem.
    n_points : int, default=10000
        Points of each kind.
    random_state : int, default=0
        Seed of the points.

    Returns
    -------
    recall, precision : float
        ``precision`` is NaN when no pool point is called in target.
    """
    rng = np.random.default_rng([int(random_state), 21])
    truth = problem.sample_truth(int(n_points), rng)
    uniform = problem.from_unit(rng.random((int(n_points), problem.n_dim)))
    called_truth = np.asarray(predict_in_target(truth), dtype=bool)
    called_uniform = np.asarray(predict_in_target(uniform), dtype=bool)
    recall = float(called_truth.mean())
    called = np.vstack([truth[called_truth], uniform[called_uniform]])
    precision = float(problem.contains(called).mean()) if len(called) else float("nan")
    return recall, precision
