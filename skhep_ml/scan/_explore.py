"""Exploration aids of :class:`~skhep_ml.ActiveScanner`'s selection.

The pieces of the found region (connected components of the known in-target
points), candidates around each piece in equal numbers, and the disagreement of
a tree ensemble on in/out calls. All in unit-cube coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from sklearn.ensemble import ExtraTreesClassifier

__all__ = ["Pieces", "disagreement", "find_pieces", "local_candidates", "tree_votes"]

#: in-target points the components are computed on (the others join the
#: piece of their nearest one)
_MAX_LINKED = 4000

#: neighbours whose distance sets the linking radius
_K_LINK = 5


@dataclass(frozen=True)
class Pieces:
    """Connected components of the known in-target points.

    Attributes
    ----------
    points : ndarray of shape (m, d)
        The (possibly subsampled) in-target points that were linked.
    labels : ndarray of int of shape (m,)
        Piece of each.
    n_pieces : int
        Number of pieces.
    radii : ndarray of shape (n_pieces,)
        Each piece's linking scale: the median linking radius of its points.
    tree : cKDTree
        Of ``points``.
    """

    points: np.ndarray
    labels: np.ndarray
    n_pieces: int
    radii: np.ndarray
    tree: cKDTree

    def assign(self, X):
        """Piece of the nearest linked point of each row of ``X`` and its distance."""
        dist, nearest = self.tree.query(X, k=1)
        return self.labels[nearest], dist


def find_pieces(U_inside, rng, n_evaluated=None):
    """The pieces of the found region: points linked within their local spacing.

    Each in-target point's linking radius is twice its distance to its 5th
    nearest in-target neighbour (at most the spacing ``n_evaluated^(-1/d)`` of
    all the calls made); two points are linked when each lies within the
    other's radius. Pieces sampled densely or sparsely alike are told apart by
    gaps wider than their own sampling, and a lone point links to no piece
    whose points are denser.

    Parameters
    ----------
    U_inside : ndarray of shape (n, d)
        Known in-target points.
    rng : numpy.random.Generator
        Draws the subsample linked when ``n`` exceeds 4000.
    n_evaluated : int, optional
        Calls made so far (caps the radii).

    Returns
    -------
    pieces : Pieces or None
        None below two points.
    """
    n = len(U_inside)
    if n < 2:
        return None
    pts = U_inside
    if n > _MAX_LINKED:
        pts = U_inside[rng.choice(n, _MAX_LINKED, replace=False)]
    m, d = pts.shape
    tree = cKDTree(pts)
    k = min(_K_LINK, m - 1)
    dist, _ = tree.query(pts, k=k + 1)
    radius = 2.0 * dist[:, k]
    if n_evaluated is not None:
        radius = np.minimum(radius, float(n_evaluated) ** (-1.0 / d))
    balls = tree.query_ball_point(pts, radius)
    rows = np.repeat(np.arange(m), [len(b) for b in balls])
    cols = np.concatenate([np.asarray(b, dtype=np.int64) for b in balls])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(m, m)).tocsr()
    graph = graph.minimum(graph.T)  # linked both ways
    n_pieces, labels = connected_components(graph, directed=False)
    radii = np.array([np.median(radius[labels == p]) for p in range(n_pieces)])
    return Pieces(pts, labels, int(n_pieces), radii, tree)


def local_candidates(pieces, n, rng):
    """``n`` candidates around the found pieces, the same number per piece.

    Each is a linked in-target point of its piece (drawn uniformly within the
    piece) moved by a Gaussian step of per-dimension width
    ``radius / sqrt(d)`` (a step of about the piece's linking radius), so the
    pieces grow beyond the hull of their known points; reflected into the
    cube (:func:`reflect_into_cube`).

    Returns
    -------
    U : ndarray of shape (n, d) or (0, d)
    """
    if pieces is None or n <= 0:
        d = 0 if pieces is None else pieces.points.shape[1]
        return np.empty((0, d))
    d = pieces.points.shape[1]
    piece = rng.integers(pieces.n_pieces, size=n)
    order = np.argsort(pieces.labels, kind="stable")
    starts = np.searchsorted(pieces.labels[order], np.arange(pieces.n_pieces + 1))
    sizes = np.diff(starts)
    base = order[starts[piece] + (rng.random(n) * sizes[piece]).astype(np.int64)]
    return reflect_into_cube(pieces.points[base] + _local_steps(pieces, base, rng))


def _local_steps(pieces, base, rng):
    """Gaussian steps from ``pieces.points[base]`` with the covariance of each
    base point's ``2 d`` nearest linked neighbours (long along a thin piece,
    short across it)."""
    pts = pieces.points
    m, d = pts.shape
    k = int(min(m, 2 * d + 1))
    uniq, inv = np.unique(base, return_inverse=True)
    _, nb = pieces.tree.query(pts[uniq], k=k)
    nb = nb.reshape(len(uniq), k)
    local = pts[nb] - pts[uniq][:, None, :]
    cov = np.einsum("nki,nkj->nij", local, local) / k
    cov += np.eye(d) * 1e-12
    chol = np.linalg.cholesky(cov)
    z = rng.standard_normal((len(base), d))
    return np.einsum("nij,nj->ni", chol[inv], z)


def reflect_into_cube(U):
    """``U`` folded into the unit cube by reflection at its faces.

    Clipping would put every step that leaves the cube exactly on a face: the
    scan would record points on its bounds, with a finite share of the
    candidates on a set of zero volume.
    """
    t = np.mod(U, 2.0)
    return np.where(t > 1.0, 2.0 - t, t)


def tree_votes(U, inside, cand, seed, n_estimators=32):
    """Share of an extremely randomized tree ensemble voting each candidate in.

    The trees are fitted on the in/out labels of the evaluated points.

    Parameters
    ----------
    U : ndarray of shape (n, d)
        Evaluated points.
    inside : ndarray of bool of shape (n,)
        Their labels.
    cand : ndarray of shape (m, d)
        Candidates.
    seed : int
        Seed of the trees.
    n_estimators : int, default=32
        Trees.

    Returns
    -------
    p : ndarray of shape (m,)
        The labels' common value when they are all equal.
    """
    if inside.all() or not inside.any():
        return np.full(len(cand), float(inside.all()))
    trees = ExtraTreesClassifier(
        n_estimators=n_estimators, min_samples_leaf=2, random_state=seed, n_jobs=1
    ).fit(U, inside)
    return trees.predict_proba(cand)[:, list(trees.classes_).index(True)]


def disagreement(p):
    """Disagreement ``4 p (1 - p)`` of an ensemble whose share ``p`` votes in
    (1 where it splits evenly, 0 where it agrees)."""
    return 4.0 * p * (1.0 - p)
