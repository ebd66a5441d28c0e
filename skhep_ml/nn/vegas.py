"""A VEGAS grid as a torch bijection of the unit hypercube.

VEGAS (Lepage, J. Comput. Phys. 27 (1978) 192; arXiv:2009.05112) adapts, per
dimension, ``K`` bins of equal probability: the map ``y -> x`` sends the
``k``-th of ``K`` equal bins of ``y`` linearly onto ``[g_k, g_{k+1}]``. This
module holds the grid nodes as a buffer (so skorch moves and pickles them with
the module) and applies the map and its inverse with their log-Jacobians.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["VegasMap", "reduce_grid"]


def reduce_grid(grid, n_bins: int) -> np.ndarray:
    """Merge the equal-probability bins of a VEGAS grid down to ``n_bins``.

    VEGAS bins carry equal probability, so merging keeps every ``k``-th node
    when ``n_bins`` divides the bin count; otherwise the nodes are linearly
    interpolated at the equal-probability fractions ``j / n_bins`` (the map is
    piecewise linear, so this is its exact value there).

    Parameters
    ----------
    grid : array-like of shape (n_dims, n_old + 1)
        Increasing nodes of each dimension, first 0 and last 1 (unit cube).
    n_bins : int
        Bins to keep, ``1 <= n_bins <= n_old``.

    Returns
    -------
    grid : ndarray of shape (n_dims, n_bins + 1)
    """
    grid = np.asarray(grid, dtype=np.float64)
    n_old = grid.shape[1] - 1
    if not 1 <= n_bins <= n_old:
        raise ValueError(f"n_bins must be in [1, {n_old}], got {n_bins}.")
    y_old = np.linspace(0.0, 1.0, n_old + 1)
    y_new = np.linspace(0.0, 1.0, n_bins + 1)
    return np.stack([np.interp(y_new, y_old, g) for g in grid])


class VegasMap(nn.Module):
    """Per-dimension piecewise-linear monotone map of ``[0, 1]^d`` (a VEGAS grid).

    Parameters
    ----------
    grid : array-like of shape (n_dims, n_bins + 1)
        Increasing nodes per dimension, from 0 to 1. ``None`` (with
        ``n_dims``) gives the identity grid with one bin.
    n_dims : int, default=None
        Dimension when ``grid`` is ``None``.

    Examples
    --------
    >>> import torch
    >>> from skhep_ml.nn.vegas import VegasMap
    >>> m = VegasMap([[0.0, 0.1, 1.0]])
    >>> x, logj = m(torch.tensor([[0.25]], dtype=torch.float64))
    >>> float(x), round(float(logj.exp()), 3)
    (0.05, 0.2)
    """

    grid: torch.Tensor  # the registered buffer of bin nodes

    def __init__(self, grid=None, n_dims: int | None = None):
        super().__init__()
        if grid is None:
            if n_dims is None:
                raise ValueError("VegasMap needs a grid or n_dims.")
            grid = np.tile([0.0, 1.0], (int(n_dims), 1))
        grid = torch.as_tensor(np.asarray(grid, dtype=np.float64))
        if grid.ndim != 2 or grid.shape[1] < 2:
            raise ValueError(
                f"grid must be (n_dims, n_bins + 1), got {tuple(grid.shape)}."
            )
        widths = grid[:, 1:] - grid[:, :-1]
        if not bool((widths > 0).all()):
            raise ValueError("grid nodes must be strictly increasing.")
        self.register_buffer("grid", grid)

    @property
    def n_bins(self) -> int:
        """Bins per dimension."""
        return self.grid.shape[1] - 1

    def _prepare(self, t):
        grid = self.grid.to(t.dtype)
        return grid, grid[:, 1:] - grid[:, :-1]

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``y`` (uniform side) to ``x``; return ``(x, log|dx/dy|)``."""
        grid, widths = self._prepare(y)
        k = self.n_bins
        t = (y * k).clamp(0.0, k)
        idx = t.floor().long().clamp(0, k - 1)
        frac = t - idx
        idx_t = idx.T
        lo = torch.gather(grid, 1, idx_t).T
        w = torch.gather(widths, 1, idx_t).T
        x = lo + frac * w
        return x, torch.log(k * w).sum(-1)

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``x`` back to ``y``; return ``(y, log|dy/dx|)``."""
        grid, widths = self._prepare(x)
        k = self.n_bins
        x = x.clamp(0.0, 1.0)
        idx = torch.searchsorted(
            grid[:, 1:-1].contiguous(), x.T.contiguous(), right=True
        )
        lo = torch.gather(grid, 1, idx).T
        w = torch.gather(widths, 1, idx).T
        y = (idx.T + (x - lo) / w) / k
        return y, -torch.log(k * w).sum(-1)

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """Log density at ``x`` of the map applied to uniform ``y``."""
        return self.inverse(x)[1]
