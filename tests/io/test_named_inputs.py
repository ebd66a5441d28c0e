"""Every estimator takes named event columns: DataFrame, record array, awkward."""

import numpy as np
import pytest

import skhep_ml
from skhep_ml.base import validate_data

NAMES = ["pt", "eta", "phi"]

#: cheap settings and the (fit targets, prediction method) of each estimator
CASES = {
    "BayesianRegressor": (
        dict(hidden_layer_sizes=(8,), max_epochs=3, n_predict_samples=4),
        "regression",
        "predict",
    ),
    "FlowDensity": (
        dict(n_transforms=1, bins=4, hidden_layer_sizes=(8,), max_epochs=2),
        None,
        "score_samples",
    ),
    "NeuralImportanceIntegrator": (
        dict(
            n_iter=2,
            flow_bins=4,
            n_transforms=1,
            hidden_layer_sizes=(8,),
            vegas_bins=4,
            grid_bins=4,
        ),
        "integrand",
        "score_samples",
    ),
    "ALICERatioEstimator": (
        dict(n_theta=1, hidden_layer_sizes=(8,), max_epochs=3),
        "classes",
        "predict_log_ratio",
    ),
    "ActiveScanner": (
        dict(hidden_layer_sizes=(8,), max_epochs=3),
        "regression",
        "predict",
    ),
}


def _data(kind, n=64):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(n, len(NAMES)))
    y = {
        None: None,
        "regression": X.sum(axis=1),
        "integrand": 1.0 + X[:, 0],
        "classes": np.arange(n) % 2,
    }[kind]
    return X, y


def _as_structured(X, names=NAMES):
    out = np.empty(len(X), dtype=[(name, np.float64) for name in names])
    for j, name in enumerate(names):
        out[name] = X[:, j]
    return out


def _as_dataframe(X, names=NAMES):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(X, columns=names)


def _as_awkward(X, names=NAMES):
    ak = pytest.importorskip("awkward")
    return ak.zip({name: X[:, j] for j, name in enumerate(names)})


CONTAINERS = {
    "dataframe": _as_dataframe,
    "structured": _as_structured,
    "awkward": _as_awkward,
}


@pytest.mark.parametrize("container", list(CONTAINERS))
@pytest.mark.parametrize("name", list(CASES))
def test_named_columns_fit_and_predict_like_the_plain_array(name, container):
    params, kind, method = CASES[name]
    X, y = _data(kind)
    to_named = CONTAINERS[container]
    cls = getattr(skhep_ml, name)
    plain = cls(**params, random_state=0).fit(X, y)
    named = cls(**params, random_state=0).fit(to_named(X), y)
    assert list(named.feature_names_in_) == NAMES
    assert not hasattr(plain, "feature_names_in_")
    # equal up to round-off (a DataFrame's column-major memory sums in another order)
    np.testing.assert_allclose(
        getattr(named, method)(to_named(X)), getattr(plain, method)(X), rtol=1e-12
    )
    with pytest.raises(ValueError, match="feature names should match"):
        getattr(named, method)(to_named(X, ["pt", "eta", "mass"]))
    with pytest.raises(ValueError, match="same order"):
        getattr(named, method)(to_named(X[:, ::-1], NAMES[::-1]))


class _Stub:
    """Minimal estimator for the validation wrapper itself."""

    def __sklearn_tags__(self):
        from sklearn.base import BaseEstimator

        return BaseEstimator().__sklearn_tags__()


def test_unnamed_input_after_named_fit_warns_like_sklearn():
    X, _ = _data(None)
    est = _Stub()
    validate_data(est, _as_structured(X))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        validate_data(est, X, reset=False)
    plain = _Stub()
    validate_data(plain, X)
    with pytest.warns(UserWarning, match="fitted without feature names"):
        validate_data(plain, _as_structured(X), reset=False)


def test_refit_without_names_forgets_them():
    X, _ = _data(None)
    est = _Stub()
    validate_data(est, _as_structured(X))
    validate_data(est, X)
    assert not hasattr(est, "feature_names_in_")


def test_uproot_style_mapping_and_float32_fields_are_kept():
    X, _ = _data(None)
    est = _Stub()
    out = validate_data(
        est,
        {n: X[:, j].astype(np.float32) for j, n in enumerate(NAMES)},
        dtype=[np.float64, np.float32],
    )
    assert out.dtype == np.float32 and list(est.feature_names_in_) == NAMES
    np.testing.assert_array_equal(out, X.astype(np.float32))


def test_jagged_awkward_field_is_a_clear_error():
    ak = pytest.importorskip("awkward")
    jagged = ak.zip({"pt": [1.0, 2.0], "jets": [[1.0], [2.0, 3.0]]}, depth_limit=1)
    with pytest.raises(ValueError, match="flat numeric column"):
        validate_data(_Stub(), jagged)


def test_non_numeric_field_is_a_clear_error():
    X = np.zeros(3, dtype=[("pt", float), ("label", "U3")])
    with pytest.raises(ValueError, match="'label' must be a 1-d numeric column"):
        validate_data(_Stub(), X)


def test_sparse_dok_matrix_is_not_taken_for_named_columns():
    from scipy import sparse

    X = sparse.dok_array(np.eye(3))  # a dict subclass
    est = _Stub()
    out = validate_data(est, X, accept_sparse=True, ensure_all_finite=False)
    assert sparse.issparse(out) and not hasattr(est, "feature_names_in_")


def test_named_reset_false_validates_like_sklearn_without_a_warning():
    import warnings

    X, y = _data("regression")
    est = _Stub()
    validate_data(est, _as_structured(X), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning of the wrapper fails
        out = validate_data(est, _as_structured(X), reset=False, dtype=np.float32)
        Xo, yo = validate_data(est, _as_structured(X), y, reset=False)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, X.astype(np.float32))
    np.testing.assert_array_equal(Xo, X)
    np.testing.assert_array_equal(yo, y)
    # scikit-learn's own checks still run on the converted array
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        validate_data(est, _as_structured(X[:1]), reset=False, ensure_min_samples=2)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        validate_data(est, _as_structured(X), y[:-1], reset=False)
    with pytest.raises(ValueError, match="NaN"):
        validate_data(est, _as_structured(np.full_like(X, np.nan)), reset=False)
    est.n_features_in_ = 2  # the feature count is still checked
    with pytest.raises(ValueError, match="is expecting 2 features"):
        validate_data(est, _as_structured(X), reset=False)


def test_named_and_unnamed_validation_from_threads_keep_every_warning():
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    X, _ = _data(None)
    est = _Stub()
    validate_data(est, _as_structured(X))
    named, plain = _as_structured(X), X

    def call(i):
        validate_data(est, named if i % 2 else plain, reset=False)

    n_calls = 400
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(call, range(n_calls)))
    messages = [str(w.message) for w in caught]
    # every unnamed call warns once, no named call does (nothing is silenced)
    assert len(messages) == n_calls // 2
    assert all("does not have valid feature names" in m for m in messages)
