"""ActiveScanner against known truth: the cosine toy of arXiv:2207.09959."""

import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scan_settings import FAST, PROBLEM, SMALL, Recorder, flaky, truly_in
from sklearn.neighbors import KNeighborsRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from skhep_ml import ActiveScanner
from skhep_ml.datasets import (
    cosine_toy,
    make_scan_problem,
    scan_cell_coverage,
    scan_true_cells,
)
from skhep_ml.scan._store import EvaluationStore


@pytest.fixture(scope="module")
def fast_scan():
    return ActiveScanner(**FAST).fit()


# --------------------------------------------------------------------- truth
def test_efficiency_after_warm_up(fast_scan):
    scan = fast_scan
    # labels agree with the truth
    np.testing.assert_array_equal(scan.in_target_, truly_in(scan.points_))
    np.testing.assert_allclose(scan.values_, cosine_toy(scan.points_))
    eff = [h["efficiency"] for h in scan.history_]
    assert len(eff) == 5
    # L0 is uniform: the in-target volume fraction 7.5 %
    assert abs(eff[0] - PROBLEM.in_target_fraction) < 0.03
    # after warm-up most selected points are in target (random: 7.5 %); the
    # pieces' balance spends some calls growing the pieces it found
    assert eff[-1] >= 0.6
    # (on the points it chose: many at the edges of the pieces it grows)
    assert scan.history_[-1]["surrogate_accuracy"] >= 0.7
    total = scan.history_[-1]
    assert total["n_calls_total"] == scan.n_evaluations_ == 2500
    assert total["n_in_target_total"] == scan.in_target_.sum()


def test_coverage_of_true_region(fast_scan):
    cells = scan_true_cells(cosine_toy, PROBLEM.bounds, PROBLEM.target, n_bins=8)
    found = fast_scan.points_[fast_scan.in_target_]
    coverage = scan_cell_coverage(found, cells, PROBLEM.bounds, n_bins=8)
    assert coverage >= 0.9


def test_surrogate_predictions_and_sample(fast_scan):
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 10 * np.pi, size=(20_000, 3))
    accuracy = np.mean(fast_scan.predict_in_target(X) == truly_in(X))
    assert accuracy >= 0.93
    drawn = fast_scan.sample(500, random_state=0)
    assert drawn.shape == (500, 3)
    assert np.all((drawn >= 0) & (drawn <= 10 * np.pi))
    # 7.5 % of uniform draws are in target; the surrogate's region holds most
    assert truly_in(drawn).mean() >= 0.5
    np.testing.assert_array_equal(drawn, fast_scan.sample(500, random_state=0))
    clone = pickle.loads(pickle.dumps(fast_scan))
    np.testing.assert_array_equal(clone.predict(X[:100]), fast_scan.predict(X[:100]))


@pytest.mark.slow
def test_full_scan_reaches_goals():
    """Issue 6's goals: ~90 % efficiency, coverage >= 95 %, 20k points."""
    scan = ActiveScanner(
        objective=cosine_toy,
        bounds=PROBLEM.bounds,
        target=PROBLEM.target,
        n_initial=1000,
        n_per_iteration=2000,
        n_target=20_000,
        n_iterations=None,
        eval_batch_size=500,
        random_state=0,
    ).fit()
    assert scan.in_target_.sum() >= 20_000
    # (0.893 measured: the pieces' balance spends a few calls growing them)
    assert np.mean([h["efficiency"] for h in scan.history_[4:]]) >= 0.85
    cells = scan_true_cells(cosine_toy, PROBLEM.bounds, PROBLEM.target)
    coverage = scan_cell_coverage(scan.points_[scan.in_target_], cells, PROBLEM.bounds)
    assert coverage >= 0.95
    random_calls = 20_000 / PROBLEM.in_target_fraction
    assert random_calls / scan.n_evaluations_ >= 5


# --------------------------------------------------------------- durability


def test_resume_repeats_no_call(tmp_path):
    store = tmp_path / "scan.sqlite"
    first = Recorder()
    a = ActiveScanner(**dict(SMALL, objective=first, n_iterations=1, store=store)).fit()
    assert len(first.points()) == 300 == a.n_evaluations_
    second = Recorder()
    b = ActiveScanner(**dict(SMALL, objective=second, n_iterations=3, store=store))
    b.fit()
    # the second fit only evaluated the two new iterations
    assert len(second.points()) == 200
    both = np.vstack([first.points(), second.points()])
    assert len(np.unique(both, axis=0)) == len(both)
    assert b.n_evaluations_ == 500
    assert [h["iteration"] for h in b.history_] == [0, 1, 2, 3]
    np.testing.assert_array_equal(b.points_[:300], a.points_)
    # a fit with another seed does not redo the initial design
    other = Recorder()
    ActiveScanner(
        **dict(SMALL, objective=other, n_iterations=1, random_state=None, store=store)
    ).fit()
    assert len(other.points()) == 0
    # a third fit with the same limits calls nothing
    third = Recorder()
    c = ActiveScanner(**dict(SMALL, objective=third, n_iterations=3, store=store)).fit()
    assert len(third.points()) == 0
    np.testing.assert_array_equal(c.points_, b.points_)


def test_interrupted_scan_loses_nothing(tmp_path):
    store = tmp_path / "scan.sqlite"
    crash = Recorder(fail_after=5, exc=KeyboardInterrupt)
    with pytest.raises(KeyboardInterrupt):
        ActiveScanner(**dict(SMALL, objective=crash, store=store)).fit()
    assert len(crash.points()) == 250
    with EvaluationStore(store, 3) as st:
        data = st.load()
    np.testing.assert_array_equal(data["X"], crash.points())
    np.testing.assert_allclose(data["value"], cosine_toy(crash.points()))
    # resume: the 250 stored points are not evaluated again
    rest = Recorder()
    scan = ActiveScanner(**dict(SMALL, objective=rest, n_iterations=2, store=store))
    scan.fit()
    both = np.vstack([crash.points(), rest.points()])
    assert len(np.unique(both, axis=0)) == len(both) == scan.n_evaluations_ == 400
    # the interrupted batch is finished with the points it had proposed
    assert len(rest.points()) == 150
    assert [h["n_calls"] for h in scan.history_] == [200, 100, 100]
    ref = ActiveScanner(**dict(SMALL, n_iterations=1)).fit()
    np.testing.assert_array_equal(scan.points_[:300], ref.points_)


def test_crashing_objective_loses_no_point(tmp_path):
    store = tmp_path / "scan.sqlite"
    crash = Recorder(fail_after=3, exc=SystemExit)
    with pytest.raises(SystemExit):
        ActiveScanner(**dict(SMALL, objective=crash, store=store)).fit()
    with EvaluationStore(store, 3) as st:
        assert len(st) == 150


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from skhep_ml import ActiveScanner
    from skhep_ml.datasets import cosine_toy
    calls = [0]
    def objective(X):
        calls[0] += 1
        if calls[0] == 4:
            os.kill(os.getpid(), signal.SIGKILL)
        return cosine_toy(X)
    ActiveScanner(objective=objective, bounds=[[0, 10 * np.pi]] * 3,
                  target=(80, 120), n_initial=200, eval_batch_size=50,
                  store=sys.argv[1], random_state=0).fit()
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_process_loses_nothing(tmp_path):
    store = tmp_path / "scan.sqlite"
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(store)],
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(store) as conn:
        n = conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]
    assert n == 150  # the three chunks that returned before the kill
    rest = Recorder()
    scan = ActiveScanner(**dict(SMALL, objective=rest, n_iterations=0, store=store))
    scan.fit()
    assert len(rest.points()) == 50 and scan.n_evaluations_ == 200


class CountedFlaky:
    """:func:`flaky`, counting the points of every call it gets."""

    def __init__(self):
        self.n_points = 0

    def __call__(self, X):
        self.n_points += len(X)
        return flaky(X)


def test_failures_recorded_not_fed_not_retried(tmp_path):
    store = tmp_path / "scan.sqlite"
    objective = CountedFlaky()
    scan = ActiveScanner(
        **dict(SMALL, objective=objective, n_iterations=2, store=store)
    ).fit()
    X_all = np.vstack([scan.points_, scan.failed_points_])
    # every call is counted: a chunk that raised is re-run point by point
    assert scan.n_evaluations_ == objective.n_points > len(X_all)
    assert scan.history_[-1]["n_calls_total"] == objective.n_points
    bad = (X_all[:, 0] > 28.0) | (X_all[:, 1] > 29.0)
    expected_failed = X_all[bad]
    np.testing.assert_array_equal(
        np.sort(scan.failed_points_, axis=0), np.sort(expected_failed, axis=0)
    )
    assert len(scan.failed_points_) > 0
    assert np.isfinite(scan.values_).all()
    np.testing.assert_allclose(scan.values_, cosine_toy(scan.points_))
    with EvaluationStore(store, 3) as st:
        data = st.load()
    assert data["failed"].sum() == len(scan.failed_points_)
    errors = {e.split(":")[0] for e in np.array(data["error"], object)[data["failed"]]}
    assert errors == {"RuntimeError", "value is not finite"}
    # the reasons are exposed beside the points
    raised = scan.failed_points_[:, 1] > 29.0
    reasons = set(scan.failed_reasons_[raised])
    assert reasons == {"RuntimeError: solver did not converge"}
    assert set(scan.failed_reasons_[~raised]) == {"value is not finite"}
    # a refit evaluates nothing again, failed points included
    rec = Recorder()
    ActiveScanner(**dict(SMALL, objective=rec, n_iterations=2, store=store)).fit()
    assert len(rec.points()) == 0


def test_wrong_shape_raises_and_keeps_points(tmp_path):
    calls = [0]

    def objective(X):
        calls[0] += 1
        return cosine_toy(X) if calls[0] < 3 else np.zeros(len(X) + 1)

    store = tmp_path / "scan.sqlite"
    with pytest.raises(ValueError, match="objective must return shape"):
        ActiveScanner(**dict(SMALL, objective=objective, store=store)).fit()
    with EvaluationStore(store, 3) as st:
        assert len(st) == 100


def test_all_failed_initial_design_raises():
    def objective(X):
        return np.full(len(X), np.nan)

    with pytest.raises(ValueError, match="all 200 evaluations.*retry_failed=True"):
        ActiveScanner(**dict(SMALL, objective=objective)).fit()


def test_store_of_other_dimension_is_refused(tmp_path):
    store = tmp_path / "scan.sqlite"
    ActiveScanner(**dict(SMALL, n_iterations=0, store=store)).fit()
    with pytest.raises(ValueError, match="3-dimensional"):
        ActiveScanner(
            **dict(SMALL, bounds=[[0, 1], [0, 1]], n_iterations=0, store=store)
        ).fit()


# ------------------------------------------------------------- distributed
def test_dask_backend_matches_sequential():
    distributed = pytest.importorskip("distributed")
    import joblib

    params = dict(SMALL, n_iterations=1)
    ref = ActiveScanner(**params).fit()
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        with joblib.parallel_config(backend="dask"):
            scan = ActiveScanner(**params).fit()
    np.testing.assert_array_equal(scan.points_, ref.points_)
    np.testing.assert_array_equal(scan.values_, ref.values_)


def test_n_jobs_threads_match_sequential():
    import joblib

    params = dict(SMALL, n_iterations=1)
    ref = ActiveScanner(**params).fit()
    with joblib.parallel_config(backend="threading"):
        scan = ActiveScanner(**dict(params, n_jobs=2)).fit()
    np.testing.assert_array_equal(scan.points_, ref.points_)


# ------------------------------------------------------------------ options
def test_given_points_lhs_and_stop_criteria():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 10 * np.pi, size=(50, 3))
    scan = ActiveScanner(
        **dict(SMALL, initial_design="lhs", max_evaluations=330, n_iterations=None)
    ).fit(X, cosine_toy(X))
    assert scan.n_evaluations_ == 330
    np.testing.assert_array_equal(scan.points_[:50], X)
    # the Latin hypercube puts exactly one of 150 points in each stratum
    lhs = scan.points_[50:200] / (10 * np.pi)
    for j in range(3):
        assert len(np.unique(np.floor(lhs[:, j] * 150))) == 150
    # X without y is evaluated as the initial design
    rec = Recorder()
    scan = ActiveScanner(**dict(SMALL, objective=rec, n_iterations=0)).fit(X)
    np.testing.assert_array_equal(rec.points(), X)
    # n_target stops the scan once enough points are in target
    scan = ActiveScanner(**dict(SMALL, n_target=60, n_iterations=None)).fit()
    assert scan.in_target_.sum() >= 60
    assert scan.history_[-2]["n_in_target_total"] < 60


def test_log_scale_bounds():
    def objective(X):
        return np.log10(X[:, 0]) + np.log10(X[:, 1])

    scan = ActiveScanner(
        objective=objective,
        bounds=[[1e-3, 1e3], [1e-2, 1e2]],
        log_scale=True,
        target=(-0.5, 0.5),
        n_initial=400,
        n_per_iteration=200,
        n_candidates=5000,
        n_iterations=2,
        max_epochs=60,
        epochs_per_iteration=10,
        hidden_layer_sizes=(32,),
        lr=1e-2,
        random_state=0,
    ).fit()
    L0 = np.log10(scan.points_[:400])
    # log-uniform initial design: uniform in log10 x
    assert abs(np.median(L0[:, 0])) < 0.4 and abs(np.median(L0[:, 1])) < 0.3
    assert scan.history_[-1]["efficiency"] >= 0.6
    with pytest.raises(ValueError, match="positive bounds"):
        ActiveScanner(
            objective=objective, bounds=[[-1, 1], [1, 2]], log_scale=True, target=(0, 1)
        ).fit()


def test_classification_mode():
    def allowed(X):
        return truly_in(X).astype(float)

    scan = ActiveScanner(
        **dict(FAST, objective=allowed, target="classification", n_iterations=3)
    ).fit()
    assert scan.history_[-1]["efficiency"] >= 0.6
    np.testing.assert_array_equal(scan.in_target_, truly_in(scan.points_))
    proba = scan.predict_proba(scan.points_[:10])
    assert proba.shape == (10, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(np.unique(scan.predict(scan.points_))) <= {0, 1}


@pytest.mark.parametrize("lr_schedule", ["cosine", "constant_cosine"])
def test_scheduled_first_fit_keeps_training_in_the_iterations(lr_schedule):
    scan = ActiveScanner(**dict(SMALL, n_iterations=2, lr_schedule=lr_schedule))
    scan.fit()
    assert [h["iteration"] for h in scan.history_] == [0, 1, 2]
    # the first fit, then epochs_per_iteration more epochs per retraining (one
    # before each iteration's proposal, one on the final data)
    assert scan.n_iter_ == SMALL["max_epochs"] + 2 * SMALL["epochs_per_iteration"]
    assert "lr_scheduler" not in dict(scan.net_.callbacks_)


def test_custom_estimator_and_sampler():
    from imblearn.over_sampling import ADASYN

    scan = ActiveScanner(
        **dict(
            SMALL,
            estimator=KNeighborsRegressor(n_neighbors=3),
            oversampler=ADASYN(n_neighbors=5),
            n_iterations=2,
        )
    ).fit()
    assert scan.estimator_.n_neighbors == 3
    assert scan.history_[-1]["efficiency"] > 3 * PROBLEM.in_target_fraction
    assert not hasattr(scan, "net_")


def test_custom_classifier_in_classification_mode():
    from sklearn.neighbors import KNeighborsClassifier

    def allowed(X):
        return truly_in(X).astype(float)

    scan = ActiveScanner(
        **dict(
            SMALL,
            objective=allowed,
            target="classification",
            estimator=KNeighborsClassifier(n_neighbors=5),
            n_iterations=2,
        )
    ).fit()
    np.testing.assert_array_equal(scan.estimator_.classes_, [0.0, 1.0])
    assert scan.history_[-1]["efficiency"] > 3 * PROBLEM.in_target_fraction
    proba = scan.predict_proba(scan.points_)
    np.testing.assert_array_equal(proba[:, 1] >= 0.5, scan.predict(scan.points_) == 1)


def test_surrogate_only_fit_without_objective():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 10 * np.pi, size=(2000, 3))
    reg = ActiveScanner(
        hidden_layer_sizes=(32, 32),
        max_epochs=100,
        lr=1e-2,
        batch_size=128,
        random_state=0,
    ).fit(X, cosine_toy(X))
    X_test = rng.uniform(0, 10 * np.pi, size=(2000, 3))
    assert reg.score(X_test, cosine_toy(X_test)) > 0.95
    with pytest.raises(ValueError, match="needs X and y"):
        ActiveScanner().fit()
    with pytest.raises(ValueError, match="bounds is required"):
        ActiveScanner(objective=cosine_toy, target=(80, 120)).fit()
    with pytest.raises(ValueError, match="target is required"):
        ActiveScanner(objective=cosine_toy, bounds=PROBLEM.bounds).fit()


@parametrize_with_checks(
    [
        ActiveScanner(
            target="classification",
            hidden_layer_sizes=(16,),
            max_epochs=60,
            lr=1e-2,
            random_state=0,
        )
    ]
)
def test_classification_mode_sklearn_checks(estimator, check):
    check(estimator)


def test_problems_have_known_volume():
    rng = np.random.default_rng(5)
    for name in ("cosine3d", "cosine7d"):
        p = make_scan_problem(name)
        X = rng.uniform(0, 10 * np.pi, size=(400_000, p.n_dim))
        v = p.objective(X)
        frac = np.mean((v >= p.target[0]) & (v <= p.target[1]))
        assert abs(frac - p.in_target_fraction) < 5 * np.sqrt(frac / len(X))
    assert make_scan_problem("cosine7d").in_target_fraction < 0.01


def test_corner_plot_and_history(fast_scan):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skhep_ml.plotting import plot_corner, plot_scan_history

    found = fast_scan.points_[fast_scan.in_target_]
    fig = plot_corner(
        found, reference=fast_scan.points_, bounds=PROBLEM.bounds, max_points=200
    )
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 9 and len(visible) == 6
    assert fig.axes[0].get_xlim() == tuple(PROBLEM.bounds[0])
    ax = plot_scan_history(fast_scan.history_)
    bars = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(bars, [h["efficiency"] for h in fast_scan.history_])
    plt.close("all")


@pytest.mark.gpu
def test_scan_on_gpu_predicts_on_cpu():
    scan = ActiveScanner(**dict(SMALL, n_iterations=1, device="cuda")).fit()
    assert scan.net_.device == "cuda"
    X = scan.points_[:50]
    clone = pickle.loads(pickle.dumps(scan))
    np.testing.assert_allclose(clone.predict(X), scan.predict(X), rtol=1e-5)
    assert scan.history_[-1]["efficiency"] > 3 * PROBLEM.in_target_fraction
