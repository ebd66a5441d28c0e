"""The integrator's plan: the documented table, and what a fit uses of it."""

import dataclasses
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from skhep_ml import NeuralImportanceIntegrator
from skhep_ml.datasets import Camel
from skhep_ml.integrate import BreitWignerMapping
from skhep_ml.integrate.plan import Plan, blend, integration_box, make_plan

RELEASE = Path(__file__).parents[1] / "data" / "release_0_1_0"


def _plan(d, budget, channels=None, **kw):
    est = NeuralImportanceIntegrator(
        integrand=Camel(d), max_evaluations=budget, channels=channels, **kw
    )
    n_channels = len(channels) if isinstance(channels, list) else channels or 1
    return make_plan(est, d, n_channels)


def test_every_entry_is_documented_and_the_plan_is_frozen():
    doc = Plan.__doc__
    for field in dataclasses.fields(Plan):
        assert field.name in doc, field.name
    plan = _plan(2, 10_000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.rounds = 3


def test_defaults_blend_smoothly_between_the_two_limits():
    # the limits: fine strata pay (2-d) and do not (8-d) at 1e5 calls
    low, high = _plan(2, 10**5), _plan(8, 10**5)
    assert low.blend < 1e-3 and high.blend > 1 - 1e-3
    assert (low.hidden_layer_sizes, low.activation) == ((16, 16), "relu")
    assert (high.hidden_layer_sizes, high.activation) == ((32, 32), "silu")
    assert (low.buffer_reuse, low.lr, high.buffer_reuse, high.lr) == pytest.approx(
        (0, 1e-2, 1, 2e-2), abs=1e-3
    )
    assert (low.loss, high.loss) == ("variance", "kl")
    # the blend grows with the dimension and falls with the budget
    for N in (10**4, 10**5, 10**6):
        blends = [blend(d, N) for d in range(2, 17)]
        assert blends == sorted(blends) and 0 < blends[0] < blends[-1] < 1
    assert blend(4, 10**6) < blend(4, 10**5) < blend(4, 10**4)
    # no thresholds: a 1 % larger budget moves every numeric default by < 2 %
    for d in range(2, 17):
        a, b = _plan(d, 100_000), _plan(d, 101_000)
        assert b.lr == pytest.approx(a.lr, rel=0.02)
        assert b.buffer_reuse == pytest.approx(a.buffer_reuse, abs=0.02)
        assert abs(b.vegas_bins - a.vegas_bins) <= 1 + 0.02 * a.vegas_bins
    # vegas.Integrator where grid_blend >= 1/2 (from 5-d at 1e5 calls)
    assert not _plan(4, 10**5).vegas_integrator and _plan(5, 10**5).vegas_integrator
    assert [_plan(d, 10**5).vegas_integrator for d in (2, 3, 4, 5, 8, 16)] == [
        p.grid_blend >= 0.5 for p in (_plan(d, 10**5) for d in (2, 3, 4, 5, 8, 16))
    ]
    # 128 * 2^-blend VEGAS bins, times 2^-grid_blend kept
    for d in (2, 3, 4, 5, 8):
        p = _plan(d, 10**5)
        assert p.vegas_bins == round(128 * 2**-p.blend)
        assert p.grid_bins == round(p.vegas_bins * 2**-p.grid_blend)
    assert _plan(8, 10**5, grid_bins=100).grid_bins == 64
    assert _plan(8, 10**5, vegas_bins=16).grid_bins == round(16 * 2**-p.grid_blend)


def test_budget_shares_and_their_taper():
    for budget in (10**4, 10**5, 10**6, 10**7):
        for d in (2, 8):
            p = _plan(d, budget)
            total = p.vegas_calls + p.training_calls + p.explore_calls + p.final_calls
            assert total == budget
    # up to 1e5 calls: VEGAS 15 % (low) or 20 % (high), training 20 % or 30 %
    low, high = _plan(2, 10**5), _plan(8, 10**5)
    assert low.vegas_calls == pytest.approx(0.15e5, rel=1e-3)
    assert high.vegas_calls == pytest.approx(0.20e5, rel=1e-3)
    assert low.training_calls == pytest.approx(0.20e5, rel=0.02)
    assert high.training_calls == pytest.approx(0.30e5, rel=0.02)
    # above: the VEGAS share (and every high share) falls as N^-0.18
    taper = 0.1**0.18
    assert _plan(2, 10**6).vegas_calls == pytest.approx(0.15 * taper * 1e6, rel=1e-3)
    assert _plan(8, 10**6).vegas_calls == pytest.approx(0.20 * taper * 1e6, rel=1e-3)
    assert _plan(2, 10**6).training_calls == pytest.approx(0.2e6, rel=0.02)
    assert _plan(8, 10**6).training_calls == pytest.approx(0.3 * taper * 1e6, rel=0.02)
    # no budget: the fixed defaults
    p = _plan(2, None)
    assert (p.vegas_calls_per_iter, p.rounds, p.calls_per_round) == (2000, 50, 1000)
    assert p.final_calls == 10_000
    with pytest.raises(ValueError, match="too small"):
        _plan(2, 3)


def test_schedule_grows_with_the_budget():
    budgets = [2_000, 10**4, 10**5, 10**6, 10**7, 10**8]
    for d in (2, 4, 8):
        plans = [_plan(d, n) for n in budgets]
        for key in (
            "rounds",
            "calls_per_round",
            "batch_size",
            "vegas_calls",
            "final_calls",
        ):
            values = [getattr(p, key) for p in plans]
            assert values == sorted(values), (d, key, values)
        assert all(1 <= p.rounds <= 50 for p in plans[1:])
        assert all(256 <= p.batch_size <= 1024 for p in plans)
    # sqrt(N) 4^blend / 64 rounds: sqrt(N) / 64 and sqrt(N) / 16 at the limits
    assert _plan(2, 10**6).rounds == round(1e3 / 64)
    assert _plan(8, 10**6).rounds == 50 and _plan(8, 10**5).rounds == round(
        math.sqrt(1e5) / 16
    )
    p = _plan(4, 10**5)
    assert p.rounds == round(math.sqrt(1e5) * 4**p.blend / 64)
    # a third of a round's training points per batch
    p = _plan(8, 10**5)
    assert p.batch_size == math.ceil((1 + p.buffer_reuse) * p.calls_per_round / 3)


def test_channels_set_blocks_and_training_points():
    # ceil(log2 d) blocks, at least two, one fewer with several channels
    assert [_plan(d, 10**5).n_transforms for d in (2, 4, 8, 16)] == [2, 2, 3, 4]
    assert _plan(8, 10**5, channels=2).n_transforms == 2
    identical = _plan(3, 10**5, channels=2)
    maps = [BreitWignerMapping(3, 0, 0.3, 0.01), BreitWignerMapping(3, 1, 0.6, 0.01)]
    distinct = _plan(3, 10**5, channels=maps)
    assert (
        identical.flow_prior and not identical.own_samples and not identical.map_prior
    )
    assert distinct.own_samples and distinct.map_prior and not distinct.flow_prior
    assert identical.cw_init_std > 0 and distinct.cw_init_std == 0
    assert not _plan(3, 10**5).own_samples


def test_the_fit_runs_its_plan(capsys):
    est = NeuralImportanceIntegrator(
        integrand=Camel(4), max_evaluations=20_000, n_iter=8, random_state=0, verbose=1
    ).fit()
    plan = est.plan_
    out = capsys.readouterr().out
    assert str(plan) in out and "VEGAS stage" in out and "batch_size" in out
    # the calls of every stage (a bare AdaptiveMap spends exactly its share)
    # the exploration spends at most its share, the final integration the rest
    final = est.result_.n_evaluations
    explored = est.n_evaluations_ - plan.vegas_calls - plan.training_calls - final
    assert est.n_evaluations_ == 20_000
    assert 0 < explored <= plan.explore_calls
    assert final == plan.final_calls + plan.explore_calls - explored
    # the rounds, their batches, their last learning rate and objective
    assert est.n_iter_ == len(est.net_.history) == plan.rounds * plan.epochs_per_round
    assert est.net_.batch_size == plan.batch_size
    assert est.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(
        plan.round_lr(plan.rounds - 1)
    )
    assert plan.variance_from == 6 and est.net_.criterion_.loss == "variance"
    # the network and the grid
    channel = est.net_.module_.channels[0]
    assert len(channel.flow.blocks) == plan.n_transforms
    conditioner = channel.flow.blocks[0].conditioner
    assert conditioner[0].out_features == plan.hidden_layer_sizes[0]
    assert isinstance(conditioner[1], torch.nn.SiLU)
    assert channel.vegas.n_bins == plan.grid_bins
    assert len(est.buffer_X_) == min(
        plan.buffer_size, est.n_evaluations_ - plan.final_calls
    )


def test_buffer_fit_plans_epochs_and_no_calls():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(2_000, 2))
    est = NeuralImportanceIntegrator(n_iter=3, max_epochs=2, random_state=0).fit(
        X, Camel(2)(X)
    )
    plan = est.plan_
    assert plan.vegas_calls == plan.training_calls == plan.final_calls == 0
    assert est.n_iter_ == plan.rounds * plan.epochs_per_round == 6
    assert est.net_.batch_size == plan.batch_size == 1024


def test_release_pickle_without_a_plan_still_integrates_and_samples():
    est = pickle.loads((RELEASE / "NeuralImportanceIntegrator.pkl").read_bytes())
    assert not hasattr(est, "plan_")
    truth = est.integrand.integral
    value, error = est.integrate(4_000, random_state=0)
    assert abs(value - truth) < 5 * error
    X, w = est.sample(4_000, random_state=1)
    assert X.shape == (4_000, est.n_features_in_)
    assert abs(w.mean() - truth) < 5 * w.std() / math.sqrt(len(w))
    assert np.all(np.isfinite(est.score_samples(X[:10])))


def test_integration_box_and_its_errors():
    assert np.array_equal(integration_box(None, 2), [[0, 1], [0, 1]])
    data = np.random.default_rng(0).normal(size=(50, 3))
    box = integration_box(None, 3, data)
    assert np.all((box[:, 0] < data.min(0)) & (data.max(0) < box[:, 1]))
    with pytest.raises(ValueError, match="2 rows for 3 dimensions"):
        NeuralImportanceIntegrator(
            integrand=Camel(3), n_dims=3, bounds=[[0, 1]] * 2
        ).fit()
    with pytest.raises(ValueError, match="low < high"):
        integration_box([[0, 1], [1, 1]], 2)
