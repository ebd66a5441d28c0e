"""Input validation shared by the estimators."""

from __future__ import annotations

import importlib
import numbers
import warnings
from collections.abc import Mapping

import numpy as np
from scipy.sparse import issparse
from sklearn.utils import check_array, check_random_state, check_X_y, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import (
    _check_n_features,
    _check_sample_weight,
    check_is_fitted,
)
from sklearn.utils.validation import validate_data as _sklearn_validate_data

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


def validate_data(_estimator, /, X="no_validation", y="no_validation", **kwargs):
    """scikit-learn's ``validate_data``, also for named columns of event data.

    Besides what scikit-learn accepts (arrays, pandas DataFrames, whose column
    names it keeps in ``feature_names_in_``), ``X`` may be a numpy structured
    (record) array, an awkward array of records with flat numeric fields (what
    ``uproot`` returns from ``tree.arrays(branches)``) or a mapping of column name
    to 1-d array (``tree.arrays(branches, library="np")``). Their field names are
    the feature names: ``reset=True`` sets ``feature_names_in_``, ``reset=False``
    checks them with scikit-learn's rules (a ValueError for other or reordered
    names, a warning when the estimator was fitted without names). An awkward
    ``y`` becomes a numpy array.

    Parameters
    ----------
    _estimator : estimator instance
        The estimator validating its input.
    X, y : array-like, structured array, awkward array or mapping
        The input; ``"no_validation"`` skips one of them as in scikit-learn.
    **kwargs
        Passed to :func:`sklearn.utils.validation.validate_data` (``reset``,
        ``dtype``, ...).

    Returns
    -------
    out : ndarray or tuple of ndarray
        What scikit-learn's ``validate_data`` returns.

    Raises
    ------
    ValueError
        If a field is not a flat numeric column (e.g. a jagged awkward field).
    """
    y = _awkward_to_numpy(y)
    names, X = _named_columns_to_array(X)
    if names is None:
        return _sklearn_validate_data(_estimator, X, y, **kwargs)
    reset = kwargs.get("reset", True)
    if reset:
        out = _sklearn_validate_data(_estimator, X, y, **kwargs)
        _estimator.feature_names_in_ = names
        return out
    _check_column_names(_estimator, names)
    return _validate_unnamed_array(_estimator, X, y, **kwargs)


def _validate_unnamed_array(
    estimator,
    X,
    y,
    *,
    reset=False,
    validate_separately=False,
    skip_check_array=False,
    **check_params,
):
    """scikit-learn's ``validate_data(reset=False)`` without its feature-name check.

    For the 2-d array of named columns whose names :func:`_check_column_names`
    has checked: scikit-learn's own check would warn that the plain array has no
    names. The same steps as scikit-learn's (the target tag, ``check_array`` or
    ``check_X_y``, the number of features) with nothing silenced, so concurrent
    calls from threads (joblib, dask) see every warning of their own.
    """
    if y is None and get_tags(estimator).target_tags.required:
        raise ValueError(
            f"This {type(estimator).__name__} estimator requires y to be passed, "
            "but the target y is None."
        )
    no_y = y is None or (isinstance(y, str) and y == "no_validation")
    check_params = {"estimator": estimator, **check_params}
    if skip_check_array:
        out = X if no_y else (X, y)
    elif no_y:
        out = check_array(X, input_name="X", **check_params)
    elif validate_separately:
        x_params, y_params = validate_separately
        X = check_array(X, input_name="X", **{"estimator": estimator, **x_params})
        y = check_array(y, input_name="y", **{"estimator": estimator, **y_params})
        out = X, y
    else:
        out = X, y = check_X_y(X, y, **check_params)
    if check_params.get("ensure_2d", True):
        _check_n_features(estimator, X, reset=False)
    return out


def _awkward_to_numpy(a):
    """An awkward array as numpy (regular arrays only); anything else as is."""
    if type(a).__module__.startswith("awkward") and hasattr(a, "layout"):
        return _awkward().to_numpy(a)
    return a


def _awkward():
    """awkward, already imported where an awkward array was given."""
    return importlib.import_module("awkward")


def _named_columns_to_array(X):
    """``(names, 2-d ndarray)`` for record-like ``X``; ``(None, X)`` otherwise."""
    if isinstance(X, np.ndarray) and X.dtype.names is not None:
        names, columns = X.dtype.names, [X[name] for name in X.dtype.names]
    elif type(X).__module__.startswith("awkward") and getattr(X, "fields", None):
        names, columns = X.fields, [X[name] for name in X.fields]
        try:
            columns = [_awkward().to_numpy(c) for c in columns]
        except ValueError as exc:
            raise ValueError(
                "every field of an awkward array must be a flat numeric column "
                "(one value per event); select or reduce the jagged fields first "
                f"(e.g. ak.firsts, ak.num): {exc}"
            ) from exc
    elif isinstance(X, Mapping) and not issparse(X):  # a DOK matrix is a dict
        names, columns = list(X), [np.asarray(X[name]) for name in X]
    else:
        return None, X
    for name, column in zip(names, columns):
        if column.ndim != 1 or column.dtype.kind not in "biuf":
            raise ValueError(
                f"field {name!r} must be a 1-d numeric column, got dtype "
                f"{column.dtype} and shape {column.shape}."
            )
    dtype = np.result_type(*(c.dtype for c in columns), np.float32)
    X = np.empty((len(columns[0]) if columns else 0, len(columns)), dtype=dtype)
    for j, column in enumerate(columns):
        X[:, j] = column
    return np.asarray(names, dtype=object), X


def _check_column_names(estimator, names) -> None:
    """scikit-learn's feature-name check of ``reset=False`` for field names."""
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is None:
        warnings.warn(
            f"X has feature names, but {type(estimator).__name__} was fitted "
            "without feature names",
            UserWarning,
            stacklevel=3,
        )
        return
    if len(fitted) != len(names) or np.any(fitted != names):
        unexpected = sorted(set(names) - set(fitted))
        missing = sorted(set(fitted) - set(names))
        message = "The feature names should match those that were passed during fit."
        if unexpected:
            message += f"\nFeature names unseen at fit time: {unexpected}"
        if missing:
            message += f"\nFeature names seen at fit time, yet now missing: {missing}"
        if not unexpected and not missing:
            message += "\nFeature names must be in the same order as they were in fit."
        raise ValueError(message)
