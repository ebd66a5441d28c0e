"""Fitted estimators pickled by release 0.1.0 load and predict as they did.

The pickles and the outputs they gave before pickling were written by
``tests/data/make_release_pickles.py`` run on release 0.1.0 (the flat layout);
the old module paths they name resolve through ``skhep_ml._compat``.
"""

import pickle
from pathlib import Path

import numpy as np
import pytest

import skhep_ml

DATA = Path(__file__).parent / "data" / "release_0_1_0"

METHOD = {
    "BayesianRegressor": "predict",
    "FlowDensity": "score_samples",
    "NeuralImportanceIntegrator": "score_samples",
    "ALICERatioEstimator": "predict_log_ratio",
    "ActiveScanner": "predict",
}


@pytest.mark.parametrize("name", sorted(METHOD))
def test_release_pickle_loads_and_predicts_the_same(name):
    expected = np.load(DATA / "expected.npz")
    est = pickle.loads((DATA / f"{name}.pkl").read_bytes())
    assert type(est) is getattr(skhep_ml, name)
    out = getattr(est, METHOD[name])(expected[f"{name}_X"])
    np.testing.assert_allclose(out, expected[f"{name}_out"], rtol=1e-6, atol=1e-9)


def test_release_integrator_keeps_its_integral():
    expected = np.load(DATA / "expected.npz")
    est = pickle.loads((DATA / "NeuralImportanceIntegrator.pkl").read_bytes())
    value, error = expected["NeuralImportanceIntegrator_integral"]
    assert est.integral_ == value and est.integral_error_ == error


def test_old_module_paths_resolve_to_the_new_objects():
    import skhep_ml._channels as old_channels  # a module of release 0.1.0
    import skhep_ml.losses as old_losses

    from skhep_ml.integrate._channels import Proposal
    from skhep_ml.regression.loss import HeteroscedasticGaussianNLL
    from skhep_ml.regression.regressor import _BayesNet

    assert old_channels.Proposal is Proposal
    assert old_losses.HeteroscedasticGaussianNLL is HeteroscedasticGaussianNLL
    assert skhep_ml.regression._BayesNet is _BayesNet
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        old_losses.nothing  # noqa: B018
