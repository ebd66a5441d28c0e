"""ActiveScanner against objectives that hang, fail or stop the scan early."""

import sqlite3
import threading
import warnings

import numpy as np
import pytest
from scan_settings import FAST, SMALL, Recorder, truly_in

from skhep_ml import ActiveScanner
from skhep_ml.datasets import cosine_toy
from skhep_ml.scan import ScanStoppedWarning
from skhep_ml.scan._store import EvaluationStore

#: released at the end of the module, so the abandoned calls end
_HANG = threading.Event()


@pytest.fixture(scope="module", autouse=True)
def _release_hanging_calls():
    yield
    _HANG.set()


def hangs_above_10(X):
    """Hangs (until the module ends) on a chunk whose first point has x0 > 10."""
    X = np.asarray(X)
    if X[0, 0] > 10.0:
        _HANG.wait(600)
    return cosine_toy(X)


def chunks(X):
    """The chunks of ``eval_batch_size`` points of ``X`` (stored in order)."""
    return X.reshape(-1, SMALL["eval_batch_size"], X.shape[1])


def test_timeout_abandons_hanging_calls_and_records_them():
    scan = ActiveScanner(
        **dict(SMALL, objective=hangs_above_10, n_iterations=1, timeout=0.5)
    ).fit()
    hung = scan.failed_points_
    # exactly the chunks starting with x0 > 10 failed, with "timeout"
    assert len(hung) > 0 and set(scan.failed_reasons_) == {"timeout"}
    assert (chunks(hung)[:, 0, 0] > 10.0).all()
    assert (chunks(scan.points_)[:, 0, 0] <= 10.0).all()
    np.testing.assert_allclose(scan.values_, cosine_toy(scan.points_))
    assert scan.n_evaluations_ == len(scan.points_) + len(hung) == 300


def _process_backend(name):
    """joblib configuration of a process-based backend (with its cluster)."""
    import contextlib

    import joblib

    if name == "loky":
        return joblib.parallel_config(backend="loky")
    distributed = pytest.importorskip("distributed")
    stack = contextlib.ExitStack()
    cluster = stack.enter_context(
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
    )
    stack.enter_context(distributed.Client(cluster))
    stack.enter_context(joblib.parallel_config(backend="dask"))
    return stack


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_timeout_with_process_based_backends(backend):
    with _process_backend(backend):
        scan = ActiveScanner(
            **dict(SMALL, objective=hangs_above_10, n_iterations=0, timeout=1.0),
            n_jobs=2,
        ).fit()
    assert len(scan.failed_points_) > 0
    assert set(scan.failed_reasons_) == {"timeout"}
    assert (chunks(scan.failed_points_)[:, 0, 0] > 10.0).all()
    assert (chunks(scan.points_)[:, 0, 0] <= 10.0).all()
    assert len(scan.points_) + len(scan.failed_points_) == SMALL["n_initial"]


def test_timeout_of_a_failing_chunk_bounds_its_one_by_one_calls():
    calls = []

    def objective(X):
        calls.append(len(X))
        if len(X) > 1:
            raise RuntimeError("batch failed")
        if X[0, 0] > 15.0:
            _HANG.wait(600)
        return cosine_toy(X)

    scan = ActiveScanner(
        **dict(SMALL, objective=objective, n_iterations=0, n_initial=50, timeout=1.0)
    ).fit()
    # the chunk raised, its points were called one by one until the first hang;
    # the points after it were abandoned with the chunk's time
    first_hang = np.flatnonzero(scan.failed_reasons_ == "timeout")
    assert len(first_hang) > 0 and len(calls) == 1 + (50 - len(first_hang)) + 1
    assert scan.n_evaluations_ == sum(calls)
    assert set(scan.failed_reasons_) == {"timeout"}


def test_failed_design_reused_after_fixing_the_objective(tmp_path):
    store = tmp_path / "scan.sqlite"

    def broken(X):
        raise ImportError("libSPheno.so not found")

    with pytest.raises(ValueError, match="ImportError: libSPheno.so not found"):
        ActiveScanner(**dict(SMALL, objective=broken, store=store)).fit()
    # without retry_failed, the failed points stay failed and are not called
    rec = Recorder()
    with pytest.raises(ValueError, match="retry_failed=True"):
        ActiveScanner(**dict(SMALL, objective=rec, store=store)).fit()
    assert len(rec.points()) == 0
    fixed = Recorder()
    scan = ActiveScanner(
        **dict(SMALL, objective=fixed, n_iterations=1, store=store, retry_failed=True)
    ).fit()
    assert len(scan.failed_points_) == 0 and len(scan.failed_reasons_) == 0
    # the 200 design points were called once by the broken objective, one by
    # one after its chunks raised (400 calls), then again by the fixed one
    assert len(fixed.points()) == 300
    assert scan.n_evaluations_ == 400 + 300
    np.testing.assert_array_equal(
        np.sort(fixed.points()[:200], axis=0), np.sort(scan.points_[:200], axis=0)
    )
    np.testing.assert_allclose(scan.values_, cosine_toy(scan.points_))


def test_retry_failed_only_evaluates_failed_points(tmp_path):
    store = tmp_path / "scan.sqlite"

    def nan_above_28(X):
        values = cosine_toy(X)
        values[np.asarray(X)[:, 0] > 28.0] = np.nan
        return values

    first = ActiveScanner(
        **dict(SMALL, objective=nan_above_28, n_iterations=1, store=store)
    ).fit()
    n_failed = len(first.failed_points_)
    assert n_failed > 0
    rec = Recorder()
    again = ActiveScanner(
        **dict(SMALL, objective=rec, n_iterations=1, store=store, retry_failed=True)
    ).fit()
    np.testing.assert_array_equal(
        np.sort(rec.points(), axis=0), np.sort(first.failed_points_, axis=0)
    )
    assert again.n_evaluations_ == first.n_evaluations_ + n_failed
    assert len(again.points_) == len(first.points_) + n_failed


def test_limit_before_n_target_warns():
    with pytest.warns(ScanStoppedWarning, match="n_iterations=1 was reached"):
        ActiveScanner(**dict(SMALL, n_target=10_000, n_iterations=1)).fit()
    with pytest.warns(ScanStoppedWarning, match="max_evaluations=250 was reached"):
        ActiveScanner(
            **dict(SMALL, n_target=10_000, max_evaluations=250, n_iterations=None)
        ).fit()


def never_in_target(X):
    return np.zeros(len(X))


def test_only_n_target_scans_to_n_target():
    params = dict(SMALL, n_target=250, n_per_iteration=20)
    del params["n_iterations"]  # the defaults: "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScanStoppedWarning)
        scan = ActiveScanner(**params).fit()
    assert scan.in_target_.sum() >= 250
    # past the 10 iterations a scan without n_target makes
    assert len(scan.history_) > 11
    # with "auto", max_evaluations = n_initial + 100 * n_target bounds it
    never = dict(params, objective=never_in_target, n_target=10, n_per_iteration=1000)
    with pytest.warns(ScanStoppedWarning, match="max_evaluations=1200 was"):
        scan = ActiveScanner(**never).fit()
    assert scan.n_evaluations_ == 1200


def test_classification_mode_has_no_overflow_warning():
    def allowed(X):
        return truly_in(X).astype(float)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        scan = ActiveScanner(
            **dict(FAST, objective=allowed, target="classification", n_iterations=1)
        ).fit()
        proba = scan.predict_proba(scan.points_)
    assert np.isfinite(proba).all()


def test_store_written_before_calls_were_counted_is_read(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('n_dim', '2');"
            "CREATE TABLE evaluations (seq INTEGER PRIMARY KEY, key TEXT UNIQUE NOT "
            "NULL, x BLOB NOT NULL, value REAL, status TEXT NOT NULL, error TEXT, "
            "iteration INTEGER NOT NULL, origin TEXT NOT NULL, time REAL NOT NULL);"
        )
        x = np.array([0.5, 0.25]).tobytes()
        conn.execute(
            "INSERT INTO evaluations VALUES (0, 'k', ?, 1.5, 'ok', NULL, 0, "
            "'initial', 0.0)",
            (x,),
        )
    with EvaluationStore(path, 2) as st:
        data = st.load()
        st.add([1], [[0.1, 0.2]], [2.0], [None], 1, ["select"], [2])
        data = st.load()
    np.testing.assert_array_equal(data["calls"], [1, 2])
    np.testing.assert_array_equal(data["value"], [1.5, 2.0])
