"""The parameter box of :class:`~skhep_ml.ActiveScanner` and its unit-cube map.

The scanner samples, proposes and selects in ``[0, 1]^d`` and feeds its surrogate
``[-1, 1]^d``; :class:`ParameterSpace` maps between those and the parameters
(linearly, or linearly in ``log x`` for the log-scale dimensions).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ParameterSpace", "check_bounds", "check_log_scale", "data_bounds"]


def check_log_scale(log_scale, n_dim):
    """``log_scale`` as a boolean mask of shape ``(n_dim,)``.

    Raises
    ------
    ValueError
        If ``log_scale`` is neither a bool nor one entry per dimension.
    """
    log = np.asarray(log_scale, dtype=bool)
    if log.ndim > 1 or (log.ndim == 1 and len(log) != n_dim):
        raise ValueError(
            f"log_scale must be a bool or have one entry per dimension "
            f"({n_dim}), got {log.size} entries."
        )
    return np.broadcast_to(log, (n_dim,)).copy()


def check_bounds(bounds, log_scale, n_dim=None):
    """Validate ``bounds`` (shape ``(d, 2)``) with the ``log_scale`` option.

    Parameters
    ----------
    bounds : array-like of shape (d, 2)
        Lower and upper edge of each parameter.
    log_scale : bool or array-like of bool of shape (d,)
        Log-scale dimensions (their bounds must be positive).
    n_dim : int, default=None
        Number of features ``bounds`` must match, when known.

    Returns
    -------
    bounds : ndarray of shape (d, 2)
    log : ndarray of bool of shape (d,)

    Raises
    ------
    ValueError
        On a wrong shape, non-finite or empty intervals, or log dimensions with
        ``low <= 0``.
    """
    bounds = np.asarray(bounds, dtype=np.float64)
    if bounds.ndim != 2 or bounds.shape[1] != 2:
        raise ValueError(f"bounds must have shape (d, 2), got {bounds.shape}.")
    if n_dim is not None and bounds.shape[0] != n_dim:
        raise ValueError(
            f"bounds has {bounds.shape[0]} rows but X has {n_dim} features."
        )
    bad = ~(np.isfinite(bounds).all(axis=1) & (bounds[:, 0] < bounds[:, 1]))
    if bad.any():
        raise ValueError(
            f"bounds needs finite low < high in every dimension; {int(bad.sum())} "
            "dimension(s) are not."
        )
    log = check_log_scale(log_scale, bounds.shape[0])
    if (bounds[log, 0] <= 0).any():
        raise ValueError(
            f"log_scale needs positive bounds; {int((bounds[log, 0] <= 0).sum())} "
            "log dimension(s) have low <= 0."
        )
    return bounds, np.array(log)


def data_bounds(X, log_scale):
    """Bounds around the training data: 5 % margins (low * 0.95 in log dimensions).

    Parameters
    ----------
    X : ndarray of shape (n_samples, d)
        Training inputs.
    log_scale : bool or array-like of bool of shape (d,)
        Log-scale dimensions.

    Returns
    -------
    bounds : ndarray of shape (d, 2)
    log : ndarray of bool of shape (d,)
    """
    low, high = X.min(axis=0), X.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    bounds = np.column_stack([low - 0.05 * span, high + 0.05 * span])
    log = check_log_scale(log_scale, X.shape[1])
    bounds[log, 0] = np.where(log, X.min(axis=0) * 0.95, 0)[log]
    return check_bounds(bounds, log, X.shape[1])


class ParameterSpace:
    """Map between the parameter box and the unit cube ``[0, 1]^d``.

    Parameters
    ----------
    bounds : ndarray of shape (d, 2)
        Validated bounds (:func:`check_bounds`).
    log : ndarray of bool of shape (d,)
        Dimensions mapped linearly in ``log x``.
    """

    def __init__(self, bounds, log):
        self.log = log
        T = bounds.copy()
        T[log] = np.log(T[log])
        self.t_low = T[:, 0]
        self.t_width = T[:, 1] - T[:, 0]

    def to_unit(self, X):
        """Parameters → ``[0, 1]^d``."""
        T = np.array(X, dtype=np.float64, copy=True)
        if self.log.any():
            T[:, self.log] = np.log(T[:, self.log])
        return (T - self.t_low) / self.t_width

    def from_unit(self, U):
        """``[0, 1]^d`` → parameters."""
        T = self.t_low + np.asarray(U, dtype=np.float64) * self.t_width
        if self.log.any():
            T[:, self.log] = np.exp(T[:, self.log])
        return T

    def features(self, X):
        """Surrogate inputs: parameters mapped to ``[-1, 1]^d``."""
        return 2.0 * self.to_unit(X) - 1.0
