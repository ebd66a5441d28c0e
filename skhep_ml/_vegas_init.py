"""VEGAS initialisation of the integrator's proposal (uses the ``vegas`` package)."""

from __future__ import annotations

import numpy as np

from .nn.vegas import reduce_grid

__all__ = ["adapt_vegas_grid", "adapt_grid_to_samples"]


def adapt_vegas_grid(
    h, n_dims, *, n_iter, n_per_iter, n_bins, reduced_bins, rng, alpha=0.5
):
    """Adapt a ``vegas.AdaptiveMap`` to ``h`` on the unit cube; reduce its bins.

    Parameters
    ----------
    h : callable
        ``h(u) -> values`` for unit-cube points ``u`` of shape (n, n_dims).
    n_dims : int
        Dimension.
    n_iter, n_per_iter : int
        Adaptation iterations and points per iteration.
    n_bins, reduced_bins : int
        VEGAS bins per dimension, and bins kept after reduction.
    rng : numpy RandomState
        Source of the uniform points.
    alpha : float, default=0.5
        VEGAS damping.

    Returns
    -------
    grid : ndarray of shape (n_dims, reduced_bins + 1)
    last : tuple
        ``(u, values, log_density)`` of the last iteration's points, drawn from
        the map before its final adaptation (an unbiased sample of it).
    """
    import vegas

    amap = vegas.AdaptiveMap([[0.0, 1.0]] * n_dims, ninc=n_bins)
    last = None
    for _ in range(n_iter):
        y = rng.uniform(size=(n_per_iter, n_dims))
        u = np.empty_like(y)
        jac = np.empty(n_per_iter)
        amap.map(y, u, jac)
        values = h(u)
        last = (u, values, -np.log(jac))
        amap.add_training_data(y, (values * jac) ** 2)
        amap.adapt(alpha=alpha)
    return _clean(amap, reduced_bins), last


def _clean(amap, reduced_bins):
    """The map's grid with exact end points, no collapsed bins, reduced."""
    grid = np.asarray(amap.grid, dtype=np.float64)
    grid[:, 0], grid[:, -1] = 0.0, 1.0
    grid = np.maximum.accumulate(grid, axis=1)
    grid = reduce_grid(grid, min(reduced_bins, grid.shape[1] - 1))
    # guard against collapsed nodes (regions where the integrand vanishes)
    if np.any(np.diff(grid, axis=1) <= 1e-9):
        grid = 0.9 * grid + 0.1 * np.linspace(0.0, 1.0, grid.shape[1])
    return grid


def adapt_grid_to_samples(u, values, n_bins, reduced_bins):
    """Adapt a VEGAS grid to already evaluated uniform points ``(u, values)``."""
    import vegas

    n_dims = u.shape[1]
    # vegas needs several points per bin
    n_bins = max(1, min(n_bins, len(u) // 10))
    amap = vegas.AdaptiveMap([[0.0, 1.0]] * n_dims, ninc=n_bins)
    if np.any(values > 0):
        try:
            amap.adapt_to_samples(
                np.ascontiguousarray(u), np.asarray(values, float), nitn=5
            )
        except ValueError:  # too few points: keep the identity grid
            amap = vegas.AdaptiveMap([[0.0, 1.0]] * n_dims, ninc=n_bins)
    return _clean(amap, reduced_bins)
