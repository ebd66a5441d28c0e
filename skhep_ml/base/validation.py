"""Input validation shared by the estimators."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

#: the private scikit-learn names the estimators use are imported here only
__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "check_finite",
    "check_hidden_layer_sizes",
    "check_is_fitted",
    "check_random_state",
    "check_sample_weight",
    "validate_data",
]


def check_finite(values, name: str, *, context: str = "") -> None:
    """Raise a ValueError naming ``name`` if ``values`` has NaN or inf entries.

    Parameters
    ----------
    values : ndarray
        Values to check.
    name : str
        What the values are, for the message.
    context : str, default=""
        Appended to the message (e.g. which points).
    """
    values = np.asarray(values)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s) out of "
            f"{values.size}.{(' ' + context) if context else ''}"
        )


def check_sample_weight(sample_weight, X) -> np.ndarray:
    """Validate ``sample_weight`` for ``X``: finite, non-negative, not all zero.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        ``None`` means unit weights.
    X : ndarray of shape (n_samples, n_features)
        The data the weights belong to.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,), float64
    """
    if sample_weight is not None:
        check_finite(np.asarray(sample_weight, dtype=float), "sample_weight")
    return _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )


def check_hidden_layer_sizes(hidden_layer_sizes) -> tuple[int, ...]:
    """Return ``hidden_layer_sizes`` as a tuple of positive ints."""
    if isinstance(hidden_layer_sizes, numbers.Integral):
        hidden_layer_sizes = (hidden_layer_sizes,)
    sizes = tuple(hidden_layer_sizes)
    if not all(isinstance(s, numbers.Integral) and int(s) > 0 for s in sizes):
        raise ValueError(
            f"hidden_layer_sizes must be positive integers, got {hidden_layer_sizes!r}."
        )
    return tuple(int(s) for s in sizes)


