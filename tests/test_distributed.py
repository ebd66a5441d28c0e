"""GridSearchCV over a dask.distributed LocalCluster through joblib."""

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from skhep_ml import BayesianRegressor
from skhep_ml.datasets import make_heteroscedastic

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_grid_search_on_dask_matches_sequential(dask_client):
    X, y, _ = make_heteroscedastic(400, random_state=0)
    params = {"hidden_layer_sizes": [(4,), (32, 32)]}
    est = BayesianRegressor(max_epochs=30, lr=3e-3, random_state=0)
    with parallel_config(backend="dask"):
        on_dask = GridSearchCV(est, params, cv=2, n_jobs=-1).fit(X, y)
    sequential = GridSearchCV(est, params, cv=2, n_jobs=1).fit(X, y)
    np.testing.assert_allclose(
        on_dask.cv_results_["mean_test_score"],
        sequential.cv_results_["mean_test_score"],
        rtol=1e-10,
    )
    assert on_dask.best_params_ == {"hidden_layer_sizes": (32, 32)}
    tasks = dask_client.run_on_scheduler(
        lambda dask_scheduler: len(dask_scheduler.transition_log)
    )
    assert tasks > 0  # the fits really went through the scheduler
