"""The ``bounds`` option of :class:`~skhep_ml.FlowDensity`: box → real line.

Bounded features go through ``logit((x - low) / (high - low))`` (both edges
finite), ``log(x - low)`` or ``log(high - x)`` (one edge) before the flow; the
log-Jacobian of that map is part of the density.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_bounds", "check_inside", "from_real", "outside", "to_real"]

#: margin of the logit transform: box data are clipped to [eps, 1 - eps]
_BOX_EPS = 1e-9


def check_bounds(bounds, n_features):
    """The box as an array of shape ``(n_features, 2)``, or None without one.

    Raises
    ------
    ValueError
        On a wrong shape, NaN edges or ``low >= high``.
    """
    if bounds is None:
        return None
    b = np.asarray(bounds, dtype=np.float64)
    if b.shape == (2,):
        b = np.tile(b, (n_features, 1))
    if b.shape != (n_features, 2):
        raise ValueError(
            f"bounds must have shape ({n_features}, 2) or (2,), got {b.shape}."
        )
    if np.isnan(b).any():
        raise ValueError(f"bounds contains {int(np.isnan(b).sum())} NaN value(s).")
    bad = ~(b[:, 0] < b[:, 1])
    if bad.any():
        raise ValueError(
            f"bounds need low < high; {int(bad.sum())} feature(s) violate it."
        )
    return b


def outside(X, bounds):
    """Rows of ``X`` on or outside the box (all False without bounds)."""
    if bounds is None:
        return np.zeros(len(X), dtype=bool)
    return ((X <= bounds[:, 0]) | (X >= bounds[:, 1])).any(axis=1)


def check_inside(X, bounds):
    """Raise a ValueError if rows of ``X`` lie on or outside the box."""
    out = outside(X, bounds)
    if out.any():
        raise ValueError(f"X has {int(out.sum())} point(s) on or outside bounds.")


def to_real(X, bounds):
    """Map the bounded features to the real line; returns ``(Y, log|det dY/dX|)``."""
    X = np.asarray(X, dtype=np.float64)
    logdet = np.zeros(len(X))
    if bounds is None:
        return X, logdet
    Y = X.copy()
    low, high = bounds[:, 0], bounds[:, 1]
    for j in np.flatnonzero(np.isfinite(low) | np.isfinite(high)):
        lo, hi = low[j], high[j]
        if np.isfinite(lo) and np.isfinite(hi):
            u = np.clip((X[:, j] - lo) / (hi - lo), _BOX_EPS, 1.0 - _BOX_EPS)
            Y[:, j] = np.log(u) - np.log1p(-u)
            logdet -= np.log(hi - lo) + np.log(u) + np.log1p(-u)
        elif np.isfinite(lo):  # half line: log(x - lo)
            d = np.maximum(X[:, j] - lo, _BOX_EPS)
            Y[:, j] = np.log(d)
            logdet -= np.log(d)
        else:  # (-inf, hi): log(hi - x)
            d = np.maximum(hi - X[:, j], _BOX_EPS)
            Y[:, j] = np.log(d)
            logdet -= np.log(d)
    return Y, logdet


def from_real(Y, bounds):
    """Inverse of :func:`to_real` (values only)."""
    if bounds is None:
        return Y
    X = Y.copy()
    low, high = bounds[:, 0], bounds[:, 1]
    for j in np.flatnonzero(np.isfinite(low) | np.isfinite(high)):
        lo, hi = low[j], high[j]
        if np.isfinite(lo) and np.isfinite(hi):
            X[:, j] = lo + (hi - lo) / (1.0 + np.exp(-Y[:, j]))
        elif np.isfinite(lo):
            X[:, j] = lo + np.exp(Y[:, j])
        else:
            X[:, j] = hi - np.exp(Y[:, j])
    return X
