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


def docs_example(name="distributed.rst"):
    """The first Python block of a user-guide page, as a script."""
    import pathlib
    import textwrap

    page = pathlib.Path(__file__).parents[1] / "docs" / "user_guide" / name
    text = page.read_text()
    start = text.index(".. code-block:: python\n") + len(".. code-block:: python\n")
    lines = []
    for line in text[start:].splitlines()[1:]:
        if line and not line.startswith("   "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines))


@pytest.mark.slow
def test_docs_dask_example_runs_on_process_based_cluster(tmp_path):
    import os
    import subprocess
    import sys

    script = tmp_path / "example.py"
    script.write_text(docs_example())
    assert "processes=False" not in script.read_text()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=root)
    proc = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "in target" in proc.stdout
    n_in = int(proc.stdout.split()[-3])
    assert n_in > 20
