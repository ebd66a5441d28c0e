"""Polyak averaging of FlowDensity's weights (ema_decay)."""

import numpy as np
import pytest
from density_settings import FAST, fit_seed

from skhep_ml import FlowDensity
from skhep_ml.datasets import make_two_moons


def test_weight_averaging_differs_from_the_last_weights_and_scores_better():
    X, Xt = make_two_moons(2000, random_state=0), make_two_moons(3000, random_state=1)
    # a noisy constant learning rate: the average of the iterates is better
    params = {
        **FAST,
        "max_epochs": 20,
        "batch_size": 128,
        "lr": 1e-2,
        "lr_schedule": "constant",
    }
    last = FlowDensity(**params).fit(X)
    avg = FlowDensity(**params, ema_decay=0.99).fit(X)
    # same trajectory (averaging does not touch training), different result
    assert avg.loss_curve_ == last.loss_curve_
    assert not np.allclose(avg.score_samples(Xt), last.score_samples(Xt))
    assert avg.score(Xt) > last.score(Xt) + 0.02


def test_weight_averaging_with_early_stopping_keeps_the_validated_average():
    X = make_two_moons(400, random_state=0)
    est = FlowDensity(
        **{
            **FAST,
            "max_epochs": 60,
            "lr": 2e-2,
            "lr_schedule": "constant",
            "early_stopping": True,
        },
        ema_decay=0.95,
        inference_dtype="float64",
        n_iter_no_change=3,
        # splines on [-4, 4]: at this rate and size the held-out loss stalls
        # well before 60 epochs, so early stopping has to act
        tail_bound=4.0,
    ).fit(X)
    from skorch.dataset import ValidSplit

    seed = fit_seed(FAST["random_state"])
    _, valid = ValidSplit(0.1, random_state=seed)(np.arange(len(X)))
    best = min(est.net_.history[:, "valid_loss"])
    # the loss is the NLL of the standardised data
    nll = -est.score(X[valid.indices]) - np.log(est.scale_).sum()
    assert nll == pytest.approx(best, abs=1e-4)
    # it stopped after the best epoch and went back to it
    assert est.n_iter_ < 60 and best < est.net_.history[-1, "valid_loss"]
