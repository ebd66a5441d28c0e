"""skhep_ml quickstart: the five estimators in scikit-learn workflows.

Each block uses a scikit-learn tool (Pipeline, GridSearchCV, cross_val_score) on a
toy with a known answer and prints one line comparing with it. Runs in about a
minute on 2 CPU cores.
"""

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhep_ml import (
    ActiveScanner,
    ALICERatioEstimator,
    BayesianRegressor,
    FlowDensity,
    NeuralImportanceIntegrator,
)
from skhep_ml.datasets import (
    Camel,
    alice_toy_log_ratio,
    make_alice_toy,
    make_amplitude_like,
    make_scan_problem,
    make_two_moons,
    two_moons_log_density,
)

# 1. A surrogate with error bars: log targets, scaled inputs, cross-validated.
X, y = make_amplitude_like(2000, random_state=0)  # amplitudes spanning ~1e4
surrogate = TransformedTargetRegressor(
    make_pipeline(StandardScaler(), BayesianRegressor(max_epochs=30, random_state=0)),
    func=np.log,
    inverse_func=np.exp,
)
mape = -cross_val_score(
    surrogate, X, y, cv=2, scoring="neg_mean_absolute_percentage_error"
).mean()
log_mean, log_std = surrogate.fit(X, y).regressor_.predict(X[:1], return_std=True)
print(
    f"BayesianRegressor           CV mean relative error {mape:.2%}; "
    f"A = {np.exp(log_mean[0]):.2f} ± {log_std[0]:.1%} (true {y[0]:.2f})"
)

# 2. A density: GridSearchCV picks the flow by held-out log-likelihood.
X = make_two_moons(2000, random_state=0)
grid = GridSearchCV(
    FlowDensity(max_epochs=30, hidden_layer_sizes=(64, 64), random_state=0),
    {"n_transforms": [2, 4]},
    cv=2,
).fit(X)
X_test = make_two_moons(2000, random_state=1)
gap = np.mean(two_moons_log_density(X_test)) - grid.score(X_test)
print(
    f"FlowDensity                 n_transforms={grid.best_params_['n_transforms']}, "
    f"log-likelihood gap to the truth {gap:.3f} nats"
)

# 3. An integral: neural importance sampling from a VEGAS start.
camel = Camel(4)
nis = NeuralImportanceIntegrator(integrand=camel, n_iter=8, random_state=0).fit()
value, error = nis.integrate(20_000, random_state=1)
print(
    f"NeuralImportanceIntegrator  {value:.4f} ± {error:.4f} "
    f"(exact {camel.integral:.4f}, pull {(value - camel.integral) / error:+.1f})"
)

# 4. A likelihood ratio: ALICE with the joint ratio routed through a Pipeline.
X, y, joint_ratio, joint_score = make_alice_toy(5000, random_state=0)
ratio = make_pipeline(
    StandardScaler(), ALICERatioEstimator(n_theta=1, max_epochs=20, random_state=0)
)
ratio.fit(X, y, aliceratioestimator__joint_ratio=joint_ratio)
X_test, *_ = make_alice_toy(2000, random_state=1)
mse = np.mean(
    (
        ratio[-1].predict_log_ratio(ratio[0].transform(X_test))
        - alice_toy_log_ratio(X_test)
    )
    ** 2
)
print(f"ALICERatioEstimator         MSE of log r against the exact ratio {mse:.4f}")

# 5. A scan: find the allowed band of an expensive observable with few calls.
problem = make_scan_problem("cosine3d")
scanner = ActiveScanner(
    objective=problem.objective,
    bounds=problem.bounds,
    target=problem.target,
    n_initial=500,
    n_per_iteration=500,
    max_evaluations=3000,
    n_candidates=20_000,
    random_state=0,
).fit()
print(
    f"ActiveScanner               {scanner.in_target_.sum()} in-band points from "
    f"{len(scanner.points_)} calls ({scanner.in_target_.mean():.0%}; random sampling: "
    f"{problem.in_target_fraction:.0%})"
)
