"""Small fitted estimators whose samples the io tests write."""

import numpy as np
import pytest

from skhep_ml import ActiveScanner, FlowDensity, NeuralImportanceIntegrator


def gaussian_bump(X):
    """A positive integrand on the unit square (integral about 0.14)."""
    return np.exp(-0.5 * np.sum((X - 0.5) ** 2, axis=1) / 0.15**2)


def ring(X):
    return np.sum(X**2, axis=1)


@pytest.fixture(scope="session")
def density():
    rng = np.random.default_rng(0)
    X = np.empty(400, dtype=[("pt", float), ("eta", float)])
    X["pt"], X["eta"] = rng.exponential(size=400), rng.normal(size=400)
    return FlowDensity(
        n_transforms=1, bins=4, hidden_layer_sizes=(8,), max_epochs=2, random_state=0
    ).fit(X)


@pytest.fixture(scope="session")
def integrator():
    return NeuralImportanceIntegrator(
        integrand=gaussian_bump,
        n_dims=2,
        max_evaluations=3000,
        n_iter=2,
        flow_bins=4,
        n_transforms=1,
        hidden_layer_sizes=(8,),
        vegas_bins=8,
        grid_bins=4,
        random_state=0,
    ).fit()


@pytest.fixture(scope="session")
def scanner():
    return ActiveScanner(
        objective=ring,
        bounds=[[-1, 1], [-1, 1]],
        target=(0.2, 0.4),
        n_initial=60,
        n_per_iteration=20,
        n_candidates=200,
        n_iterations=1,
        max_epochs=3,
        epochs_per_iteration=1,
        random_state=0,
    ).fit()
