"""Scan problems with known allowed regions (ActiveScanner)."""

from __future__ import annotations

import numpy as np

__all__ = [
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
