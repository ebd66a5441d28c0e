"""Standardisation of inputs and targets, weighted, shared by the estimators."""

from __future__ import annotations

import numpy as np

__all__ = ["weighted_standardization"]


def weighted_standardization(values, sample_weight=None):
    """Weighted mean and scale of every column, for ``(values - mean) / scale``.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_columns)
        Inputs or targets.
    sample_weight : ndarray of shape (n_samples,), default=None
        Row weights (unit weights when None): a weight of 2 counts as a
        repeated row.

    Returns
    -------
    mean, scale : ndarray of shape (n_columns,)
        The weighted mean and standard deviation; a constant column (standard
        deviation below ``1e-12`` of its magnitude) gets scale 1, so it is
        shifted but not blown up.
    """
    values = np.asarray(values, dtype=np.float64)
    mean = np.average(values, axis=0, weights=sample_weight)
    scale = np.sqrt(np.average((values - mean) ** 2, axis=0, weights=sample_weight))
    scale = np.where(scale > 1e-12 * np.maximum(np.abs(mean), 1.0), scale, 1.0)
    return mean, scale
