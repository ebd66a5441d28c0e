"""The shared skorch machinery: data loader, device, seeding, validation."""

import numpy as np
import pytest
import torch

from skhep_ml.base import (
    ArrayDataset,
    BatchLoader,
    ConstantCosine,
    check_sample_weight,
    resolve_device,
    torch_seed,
)


def test_batch_loader_visits_every_row_once_per_epoch():
    ds = ArrayDataset(torch.arange(103.0)[:, None], torch.arange(103.0))
    loader = BatchLoader(ds, batch_size=10, shuffle=True)
    assert len(loader) == 11
    seen = torch.cat([xb[:, 0] for xb, _ in loader])
    assert sorted(seen.tolist()) == list(range(103))
    assert not torch.equal(seen, torch.arange(103.0))  # shuffled
    for xb, yb in loader:
        torch.testing.assert_close(xb[:, 0], yb)  # X and y stay aligned


def test_batch_loader_unwraps_subsets():
    ds = ArrayDataset(torch.arange(20.0)[:, None])
    sub = torch.utils.data.Subset(
        torch.utils.data.Subset(ds, list(range(5, 20))), [0, 2, 4]
    )
    rows = torch.cat([xb[:, 0] for xb, _ in BatchLoader(sub, batch_size=2)])
    assert rows.tolist() == [5.0, 7.0, 9.0]


def test_resolve_device(monkeypatch):
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="not a valid torch device"):
        resolve_device("tpu7")


def test_torch_seed_is_reproducible_and_leaves_global_state():
    before = torch.random.get_rng_state()
    with torch_seed(5):
        a = torch.rand(3)
    with torch_seed(5):
        b = torch.rand(3)
    torch.testing.assert_close(a, b)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_check_sample_weight_errors():
    X = np.zeros((4, 2))
    np.testing.assert_array_equal(check_sample_weight(None, X), np.ones(4))
    with pytest.raises(ValueError, match="Negative values"):
        check_sample_weight([1.0, -1.0, 1.0, 1.0], X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_sample_weight([1.0, np.nan, 1.0, 1.0], X)
    with pytest.raises(ValueError):
        check_sample_weight([1.0, 1.0], X)


def test_constant_cosine_schedule():
    factor = ConstantCosine(50)
    values = np.array([factor(e) for e in range(50)])
    np.testing.assert_array_equal(values[:40], 1.0)  # constant for 80 %
    assert np.all(np.diff(values[39:]) < 0)  # then strictly decreasing
    assert 0 < values[-1] < 0.03  # close to, but not at, zero in the last epoch
    # half a cosine: the midpoint of the decay is at half the rate
    np.testing.assert_allclose(ConstantCosine(10, 0.5)(7), 0.5)
    assert ConstantCosine(1)(0) == 0.5  # one epoch: that epoch decays


def test_constant_cosine_drives_the_optimizer():
    from skhep_ml import BayesianRegressor

    X = np.random.default_rng(0).normal(size=(64, 2))
    est = BayesianRegressor(
        max_epochs=10, lr=0.01, lr_schedule="constant_cosine", random_state=0
    ).fit(X, X[:, 0])
    lrs = [g["lr"] for g in est.net_.optimizer_.param_groups]
    # after 10 epochs the scheduler has stepped 10 times: factor(10) = 0
    np.testing.assert_allclose(lrs, 0.0, atol=1e-12)
    est.set_params(lr_schedule="warm")  # invalid values are refused at fit
    with pytest.raises(ValueError, match="lr_schedule"):
        est.fit(X, X[:, 0])


def test_estimators_train_with_torch_fused_adam():
    from skorch import NeuralNet

    from skhep_ml import ALICERatioEstimator

    X = np.random.default_rng(0).normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    est = ALICERatioEstimator(n_theta=1, max_epochs=2, random_state=0).fit(X, y)
    assert isinstance(est.net_, NeuralNet)
    opt = est.net_.optimizer_
    assert type(opt) is torch.optim.Adam and opt.defaults["fused"]
    # one Adam state per weight tensor, stepped once per batch
    assert len(opt.state) == len(list(est.net_.module_.parameters()))


def test_weighted_standardization_equals_repeated_rows_and_keeps_constant_columns():
    from skhep_ml.base import weighted_standardization

    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(3.0, 2.0, 50), np.full(50, 7.0)])
    w = rng.integers(1, 4, 50)
    mean, scale = weighted_standardization(X, w.astype(float))
    Xr = np.repeat(X, w, axis=0)
    np.testing.assert_allclose(mean, Xr.mean(axis=0))
    np.testing.assert_allclose(scale[0], Xr[:, 0].std())
    assert scale[1] == 1.0  # a constant column is shifted, not blown up
    np.testing.assert_allclose(weighted_standardization(X)[0], X.mean(axis=0))


def test_inference_copy_is_cast_once_and_renewed_by_training(monkeypatch):
    import copy
    import pickle

    from skhep_ml import FlowDensity
    from skhep_ml.base import estimator as estimator_module

    X = np.random.default_rng(0).normal(size=(300, 2))
    # trained in float32, evaluated in float64: one cast copy
    est = FlowDensity(
        n_transforms=2,
        bins=4,
        hidden_layer_sizes=(8,),
        max_epochs=2,
        inference_dtype="float64",
        random_state=0,
    ).fit(X)
    copies = []
    real_deepcopy = copy.deepcopy

    def counting_deepcopy(obj, *args):
        if obj is est.net_.module_:
            copies.append(obj)
        return real_deepcopy(obj, *args)

    monkeypatch.setattr(estimator_module.copy, "deepcopy", counting_deepcopy)
    first = est.sample(50, random_state=1)
    np.testing.assert_array_equal(est.sample(50, random_state=1), first)
    assert len(copies) == 1  # the float64 inference copy is made once
    # a pickle drops the copy; the loaded estimator samples the same points
    loaded = pickle.loads(pickle.dumps(est))
    assert "_inference_copy" not in loaded.__dict__
    np.testing.assert_array_equal(loaded.sample(50, random_state=1), first)
    # training changes the weights: the next sample uses the new ones
    est.fit(X + 3.0)
    assert np.abs(est.sample(50, random_state=1).mean(axis=0) - 3.0).max() < 0.5


def test_removed_classes_of_release_0_1_0_resolve_to_their_replacements():
    import skhep_ml.nn.optim as old_optim  # removed: an alias module
    import skorch
    from skorch.callbacks import PassthroughScoring
    from skorch.history import History

    import skhep_ml.base
    import skhep_ml.ratio
    from skhep_ml.nn import MLP

    assert skhep_ml.base.TorchNet is skorch.NeuralNet
    assert skhep_ml.base._History is History
    assert skhep_ml.base._EpochMean is PassthroughScoring
    assert skhep_ml.ratio._RatioMLP is MLP
    # an old FlatAdam's flat moments load as a torch Adam's, per parameter
    net = torch.nn.Linear(3, 2)
    params = list(net.parameters())
    flat = {
        "step": 4,
        "exp_avg": torch.arange(8.0),
        "exp_avg_sq": torch.arange(8.0) + 10,
    }
    state = {
        "defaults": {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8},
        "state": {params[0]: flat},
        "param_groups": [
            {
                "params": params,
                "lr": 0.1,
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "weight_decay": 0.0,
            }
        ],
    }
    opt = old_optim.FlatAdam.__new__(old_optim.FlatAdam)
    opt.__setstate__(state)
    assert type(opt) is torch.optim.Adam
    torch.testing.assert_close(
        opt.state[params[0]]["exp_avg"], flat["exp_avg"][:6].view(2, 3)
    )
    torch.testing.assert_close(
        opt.state[params[1]]["exp_avg_sq"], flat["exp_avg_sq"][6:]
    )
    assert float(opt.state[params[1]]["step"]) == 4
    net(torch.ones(5, 3)).sum().backward()
    opt.step()  # continues from the loaded moments
    assert float(opt.state[params[0]]["step"]) == 5
