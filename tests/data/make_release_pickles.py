"""Write pickles of fitted public estimators, to test that later releases load them.

Run from a checkout of the release being frozen (the files in ``release_0_1_0/``
were made by release 0.1.0, commit fede8ef)::

    python tests/data/make_release_pickles.py tests/data/release_0_1_0

Each ``<Estimator>.pkl`` holds a fitted estimator (tiny settings, CPU) and
``expected.npz`` the outputs it gave on fixed inputs before pickling.
"""

import pickle
import sys
from pathlib import Path

import numpy as np

from skhep_ml import (
    ActiveScanner,
    ALICERatioEstimator,
    BayesianRegressor,
    FlowDensity,
    NeuralImportanceIntegrator,
)
from skhep_ml.datasets import (
    Camel,
    make_alice_toy,
    make_amplitude_like,
    make_scan_problem,
    make_two_moons,
)


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    expected = {}

    X, y = make_amplitude_like(400, random_state=0)
    reg = BayesianRegressor(
        hidden_layer_sizes=(16,), max_epochs=5, n_predict_samples=4, random_state=0
    ).fit(X, np.log(y))
    expected["BayesianRegressor_X"] = X[:20]
    expected["BayesianRegressor_out"] = reg.predict(X[:20])

    X = make_two_moons(400, random_state=0)
    flow = FlowDensity(
        n_transforms=2, bins=4, hidden_layer_sizes=(8,), max_epochs=3, random_state=0
    ).fit(X)
    expected["FlowDensity_X"] = X[:20]
    expected["FlowDensity_out"] = flow.score_samples(X[:20])

    nis = NeuralImportanceIntegrator(
        integrand=Camel(2),
        max_evaluations=4000,
        n_transforms=2,
        hidden_layer_sizes=(8,),
        random_state=0,
    ).fit()
    U = rng.uniform(size=(20, 2))
    expected["NeuralImportanceIntegrator_X"] = U
    expected["NeuralImportanceIntegrator_out"] = nis.score_samples(U)
    expected["NeuralImportanceIntegrator_integral"] = np.array(
        [nis.integral_, nis.integral_error_]
    )

    X, yl, r, _ = make_alice_toy(600, random_state=0)
    ratio = ALICERatioEstimator(
        hidden_layer_sizes=(16,), max_epochs=3, random_state=0
    ).fit(X, yl, joint_ratio=r)
    expected["ALICERatioEstimator_X"] = X[:20]
    expected["ALICERatioEstimator_out"] = ratio.predict_log_ratio(X[:20])

    problem = make_scan_problem("cosine3d")
    scan = ActiveScanner(
        objective=problem.objective,
        bounds=problem.bounds,
        target=problem.target,
        n_initial=100,
        n_per_iteration=100,
        max_evaluations=300,
        n_candidates=2000,
        hidden_layer_sizes=(16,),
        max_epochs=5,
        random_state=0,
    ).fit()
    P = scan.points_[:20]
    expected["ActiveScanner_X"] = P
    expected["ActiveScanner_out"] = scan.predict(P)

    for est in (reg, flow, nis, ratio, scan):
        (out / f"{type(est).__name__}.pkl").write_bytes(pickle.dumps(est))
    np.savez(out / "expected.npz", **expected)


if __name__ == "__main__":
    main(sys.argv[1])
