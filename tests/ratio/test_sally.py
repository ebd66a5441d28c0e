"""SALLYTransformer against the exact score and Fisher information of the family."""

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhep_ml.datasets import make_simulator_family
from skhep_ml.ratio import SALLYTransformer
from skhep_ml.ratio.loss import ScoreMSE


@pytest.fixture(scope="module")
def fitted():
    sim = make_simulator_family(2)  # three parameters: interference, rate, ...
    theta = sim.theta_true
    x, z = sim.sample(10_000, theta, random_state=0)
    t = sim.joint_score(x, z, theta)
    sally = SALLYTransformer(max_epochs=30, random_state=0).fit(x, t)
    x_test, _ = sim.sample(20_000, theta, random_state=1)
    return sim, theta, sally, x_test


def test_learned_score_is_the_exact_score(fitted):
    sim, theta, sally, x_test = fitted
    t_hat = sally.transform(x_test[:5000])
    exact = sim.score(x_test[:5000], theta)
    assert t_hat.shape == exact.shape == (5000, sim.n_theta)
    # E[t|x] is the score of p(x|θ): relative error of the components
    rel = np.mean((t_hat - exact) ** 2, 0) / np.var(exact, 0)
    assert np.all(rel < 0.05)


def test_fisher_information_within_ten_percent(fitted):
    sim, theta, sally, x_test = fitted
    info = sally.fisher_information(x_test)
    exact = sim.fisher_information(theta)
    # measured 0.9 % (Frobenius, relative) on this draw at 1e4 rows, 50 epochs
    assert np.linalg.norm(info - exact) / np.linalg.norm(exact) < 0.1
    # additive in the events; weights equal to repeats
    np.testing.assert_allclose(
        sally.fisher_information(x_test, n_events=100), 100 * info
    )
    w = np.r_[np.full(10, 2.0), np.ones(10)]
    rep = np.r_[np.repeat(np.arange(10), 2), np.arange(10, 20)]
    np.testing.assert_allclose(
        sally.fisher_information(x_test[:20], sample_weight=w),
        sally.fisher_information(x_test[rep]),
    )


def test_in_a_pipeline_and_1d_target():
    sim = make_simulator_family(3, kinds=("interference",))
    x, z = sim.sample(3000, [0.3], random_state=0)
    t = sim.joint_score(x, z, [0.3])[:, 0]
    pipe = make_pipeline(
        StandardScaler(), SALLYTransformer(max_epochs=20, random_state=0)
    )
    out = pipe.fit(x, t).transform(x[:10])
    assert out.shape == (10, 1)
    assert pipe.predict(x[:10]).shape == (10,)
    exact = sim.score(x[:2000], [0.3])[:, 0]
    assert np.corrcoef(pipe.predict(x[:2000]), exact)[0, 1] > 0.95


def test_score_mse_criterion():
    pred = torch.tensor([[1.0, 2.0], [0.0, 0.0]], dtype=torch.float64)
    packed = torch.tensor([[0.0, 0.0, 3.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    # row errors (1 + 4)/2 = 2.5 and 1, weights 3 and 1
    assert float(ScoreMSE()(pred, packed)) == pytest.approx((3 * 2.5 + 1) / 4)
    assert float(ScoreMSE(weighted=False)(pred, packed)) == pytest.approx(1.75)
