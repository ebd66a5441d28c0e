"""NeuralImportanceIntegrator's verbose output: one plain line per stage."""

import re

import numpy as np
import pytest

from skhep_ml import NeuralImportanceIntegrator
from skhep_ml.datasets import Camel

ANSI = "\x1b["

#: a small fit: 2 training rounds, a few thousand calls
SMALL = dict(
    max_evaluations=6000,
    n_iter=2,
    n_samples_per_iter=500,
    vegas_iter=3,
    vegas_samples_per_iter=400,
    hidden_layer_sizes=(8,),
    n_transforms=1,
    flow_bins=4,
    random_state=0,
)

NUMBER = r"[-+0-9.eE]+"


def _fit(verbose, **kw):
    return NeuralImportanceIntegrator(
        integrand=Camel(2), **{**SMALL, **kw}, verbose=verbose
    ).fit()


def _stage_lines(out):
    """``{stage: match}`` of the stage lines (each must appear once)."""
    patterns = {
        "vegas": rf"^VEGAS stage: (\d+) calls, estimate ({NUMBER}) \+/- ({NUMBER})$",
        "exploration": r"^exploration: (\d+) calls, (\d+) peak\(s\) found, "
        r"(\d+) not covered by VEGAS$",
        "training": rf"^training: (\d+) rounds, (\d+) calls, loss ({NUMBER}) -> "
        rf"({NUMBER})$",
        "final": rf"^final integration: (\d+) calls, ({NUMBER}) \+/- ({NUMBER}), "
        rf"unweighting efficiency ({NUMBER})$",
    }
    found = {}
    for key, pattern in patterns.items():
        matches = re.findall(pattern, out, flags=re.MULTILINE)
        assert len(matches) <= 1, (key, out)
        if matches:
            found[key] = matches[0]
    return found


def test_verbose_one_prints_the_plan_and_one_line_per_stage(capsys):
    est = _fit(verbose=1)
    out = capsys.readouterr().out
    assert ANSI not in out
    # the plan, and again once the exploration added channels
    plan_lines = len(str(est.plan_).splitlines())
    assert out.startswith("NeuralImportanceIntegrator plan: d=2, 1 channel(s)")
    assert str(est.plan_) in out
    lines = _stage_lines(out)
    assert set(lines) == {"vegas", "exploration", "training", "final"}
    assert len(out.splitlines()) == plan_lines * (1 + (est.n_channels_ > 1)) + 4
    vegas_calls, vegas_value, vegas_error = lines["vegas"]
    explore_calls, _, new_channels = lines["exploration"]
    rounds, training_calls, first_loss, last_loss = lines["training"]
    final_calls, value, error, efficiency = lines["final"]
    # the calls of the stages add up to every call of the fit
    calls = (
        int(vegas_calls) + int(explore_calls) + int(training_calls) + int(final_calls)
    )
    assert calls == est.n_evaluations_ == SMALL["max_evaluations"]
    plan = est.plan_
    assert int(vegas_calls) == plan.vegas_iter * plan.vegas_calls_per_iter
    assert 0 < int(explore_calls) <= plan.explore_calls
    assert est.n_channels_ == 1 + int(new_channels)
    assert int(training_calls) == plan.rounds * plan.calls_per_round
    assert int(rounds) == est.plan_.rounds == 2
    # the printed estimates are the fitted ones (rounded)
    assert float(vegas_value) == pytest.approx(est.vegas_integral_, rel=1e-5)
    assert float(vegas_error) == pytest.approx(est.vegas_integral_error_, rel=0.05)
    assert float(value) == pytest.approx(est.integral_, rel=1e-5)
    assert float(error) == pytest.approx(est.integral_error_, rel=0.05)
    assert float(efficiency) == pytest.approx(
        est.result_.unweighting_efficiency, rel=1e-2
    )
    assert float(first_loss) == pytest.approx(est.loss_curve_[0], rel=1e-3)
    assert float(last_loss) == pytest.approx(est.loss_curve_[-1], rel=1e-3)
    assert "round 1/" not in out  # per-round lines from verbose=2 on


def test_verbose_two_adds_one_line_per_round(capsys):
    est = _fit(verbose=2)
    out = capsys.readouterr().out
    assert ANSI not in out
    rounds = re.findall(
        rf"^round (\d+)/(\d+): (\d+) calls, (\d+) training rows, (\w+) loss "
        rf"({NUMBER}), lr ({NUMBER})$",
        out,
        flags=re.MULTILINE,
    )
    assert [int(r[0]) for r in rounds] == [1, 2]
    assert {int(r[1]) for r in rounds} == {est.plan_.rounds}
    training_calls = int(_stage_lines(out)["training"][1])
    assert sum(int(r[2]) for r in rounds) == training_calls
    np.testing.assert_allclose(
        [float(r[5]) for r in rounds], est.loss_curve_, rtol=1e-3
    )
    assert [r[4] for r in rounds] == [est.plan_.round_loss(r) for r in range(2)]
    np.testing.assert_allclose(
        [float(r[6]) for r in rounds],
        [est.plan_.round_lr(r) for r in range(2)],
        rtol=1e-2,
    )
    # no skorch epoch table besides the round lines
    assert not re.search(r"^\s+epoch\s+train_loss", out, flags=re.MULTILINE)


def test_verbose_zero_prints_nothing(capsys):
    est = _fit(verbose=0)
    assert capsys.readouterr() == ("", "")
    assert est.n_evaluations_ == SMALL["max_evaluations"]


def test_the_output_does_not_change_the_fit(capsys):
    quiet, loud = _fit(verbose=0), _fit(verbose=2)
    capsys.readouterr()
    assert quiet.integral_ == loud.integral_
    assert quiet.integral_error_ == loud.integral_error_


def test_without_vegas_the_training_and_final_lines_add_up(capsys):
    est = _fit(verbose=1, vegas_init=False)
    lines = _stage_lines(capsys.readouterr().out)
    assert set(lines) == {"training", "final"}
    calls = int(lines["training"][1]) + int(lines["final"][0])
    assert calls == est.n_evaluations_


def test_learning_from_a_buffer_prints_one_plain_line_per_epoch(capsys):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(512, 2))
    y = Camel(2)(X)
    est = NeuralImportanceIntegrator(
        n_iter=3,
        hidden_layer_sizes=(8,),
        n_transforms=1,
        flow_bins=4,
        vegas_bins=8,
        grid_bins=8,
        verbose=1,
        random_state=0,
    ).fit(X, y)
    out = capsys.readouterr().out
    assert ANSI not in out
    table = out[len(str(est.plan_)) + 1 :].splitlines()
    assert table[0].split()[:2] == ["epoch", "train_loss"]
    assert len(table) == 2 + est.n_iter_ == 5
