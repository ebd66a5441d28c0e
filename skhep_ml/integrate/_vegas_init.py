"""VEGAS initialisation of the integrator's proposal (uses the ``vegas`` package)."""

from __future__ import annotations

import numpy as np

from ..nn.vegas import reduce_grid

__all__ = ["adapt_grid_to_samples", "adapt_vegas_grid", "adapt_vegas_integrator"]


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


def adapt_vegas_integrator(
    h, n_dims, *, n_iter, n_per_iter, n_bins, reduced_bins, rng, alpha=0.5
):
    """Adapt a grid with ``vegas.Integrator`` (VEGAS+: adaptive stratification).

    Unlike :func:`adapt_vegas_grid`, the training points of the grid come
    from vegas's own adaptive stratified sampling, which concentrates them
    in the hypercubes that carry the integral; at equal calls the map and the
    estimate are much better for multi-modal integrands in high dimensions.
    ``vegas`` spends at most ``n_per_iter`` calls per iteration (often a few
    fewer); the calls are counted by ``h``.

    The first ``n_iter - 1`` iterations adapt the map and the allocation of
    points to the hypercubes; the last one samples them without adapting.

    Returns
    -------
    grid : ndarray of shape (n_dims, reduced_bins + 1)
    last : tuple
        ``(mean, variance)`` of the last iteration's estimate, and the
        ``(u, values, log_q)`` of its points (``log_q``: the log density they
        were drawn from).
    """
    import vegas

    @vegas.lbatchintegrand
    def batch(x):
        return np.asarray(h(np.array(x, dtype=np.float64)), dtype=np.float64)

    integ = vegas.Integrator(
        [[0.0, 1.0]] * n_dims,
        alpha=alpha,
        nitn=1,
        neval=n_per_iter,
        maxinc_axis=n_bins,
        min_neval_batch=n_per_iter,
        ran_array_generator=lambda size: rng.uniform(size=size),
    )
    if n_iter > 1:
        integ(batch, nitn=n_iter - 1, neval=n_per_iter)
    # the last pass: sample the adapted map and allocation without adapting,
    # so the sampling density of every point is known exactly (1 / (N wgt))
    xs, hs, wgts, cubes = [], [], [], []
    for x, wgt, hcube in integ.random_batch(yield_hcube=True):
        x = np.array(x, dtype=np.float64)
        xs.append(x)
        hs.append(np.asarray(h(x), dtype=np.float64))
        wgts.append(np.array(wgt, dtype=np.float64))
        cubes.append(np.array(hcube))
    u, values = np.concatenate(xs), np.concatenate(hs)
    wgt, cube = np.concatenate(wgts), np.concatenate(cubes)
    # stratified estimate and its variance (per hypercube, as vegas does)
    fw = wgt * values
    _, inv, n_c = np.unique(cube, return_inverse=True, return_counts=True)
    s1 = np.bincount(inv, fw)
    s2 = np.bincount(inv, fw * fw)
    many = n_c > 1
    var = np.sum((n_c[many] * s2[many] - s1[many] ** 2) / (n_c[many] - 1))
    log_q = -np.log(len(u) * wgt)
    return _clean(integ.map, reduced_bins), (
        float(fw.sum()),
        float(max(var, 0.0)),
        u,
        values,
        log_q,
    )


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
