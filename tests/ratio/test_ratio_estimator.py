"""ALICERatioEstimator, its losses and the ALICE toy, tested against exact ratios."""

import pickle

import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhep_ml import ALICERatioEstimator
from skhep_ml.datasets import alice_toy_log_ratio, make_alice_toy, sample_alice_toy
from skhep_ml.ratio import likelihood_profile
from skhep_ml.ratio.loss import (
    RatioCrossEntropy,
    alice_loss,
    alices_loss,
    carl_loss,
    joint_score_mse,
    ratio_cross_entropy,
)

FAST = dict(hidden_layer_sizes=(32, 32), max_epochs=30, batch_size=256, lr=3e-3)


def _mse(est, X_test, log_r_test):
    return float(np.mean((est.predict_log_ratio(X_test) - log_r_test) ** 2))


@pytest.fixture(scope="module")
def held_out_set():
    X, _, _, _ = make_alice_toy(10_000, random_state=99)
    return X, alice_toy_log_ratio(X)


@pytest.fixture(scope="module")
def alice_1e4():
    X, y, r, t = make_alice_toy(10_000, random_state=1)
    est = ALICERatioEstimator(n_theta=1, **FAST, random_state=0)
    est.fit(X, y, joint_ratio=r)
    return est, (X, y, r, t)


# ------------------------------------------------------------------ the toy
@pytest.mark.parametrize("n_theta", [1, 2])
def test_toy_exact_ratio_is_normalised_and_matches_joint_ratio(n_theta):
    theta = [0.7] if n_theta == 1 else [0.5, -0.6]
    X, y, r, t = make_alice_toy(200_000, n_theta=n_theta, theta=theta, random_state=0)
    log_r = alice_toy_log_ratio(X, n_theta=n_theta)
    ref = y == 1
    # E_{θ1}[r(x|θ,θ1)] = 1 and E_θ[1/r] = 1 (exact marginal ratio)
    assert np.exp(log_r[ref]).mean() == pytest.approx(1.0, abs=0.01)
    assert np.exp(-log_r[~ref]).mean() == pytest.approx(1.0, abs=0.03)
    # E[r(x,z) | x] = r(x) under θ1: bin in x_0
    bins = np.digitize(X[ref, 0], [-1.5, -0.5, 0.5, 1.5])
    for b in range(5):
        m = bins == b
        assert r[ref][m].mean() == pytest.approx(np.exp(log_r[ref][m]).mean(), rel=0.03)
    # the joint score has mean zero under θ and a heavy tail (interference zero)
    assert np.abs(t[~ref].mean(0)).max() < 0.05
    a = np.abs(t[~ref, 0])
    assert np.quantile(a, 0.9999) > 4 * np.quantile(a, 0.99)


def test_sample_alice_toy_matches_make_alice_toy():
    x = sample_alice_toy(0.5, 50_000, random_state=0)
    X, y, _, _ = make_alice_toy(100_000, theta=0.5, random_state=1)
    x2 = X[y == 0, :2]
    np.testing.assert_allclose(x.mean(0), x2.mean(0), atol=0.03)
    np.testing.assert_allclose(x.std(0), x2.std(0), atol=0.03)


# ------------------------------------------------------------------- losses
def test_ratio_cross_entropy_matches_bce():
    f = torch.linspace(-5, 5, 11, dtype=torch.float64)
    s_target = torch.linspace(0, 1, 11, dtype=torch.float64)
    s_hat = 1 / (1 + torch.exp(f))
    ref = torch.nn.functional.binary_cross_entropy(s_hat, s_target, reduction="none")
    torch.testing.assert_close(ratio_cross_entropy(f, s_target), ref)


def test_alice_loss_is_minimised_by_the_ratio_average():
    # for fixed x the minimiser of E_z[ALICE] is s = E[1/(1 + r(x,z))]
    log_r_xz = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    s_mean = torch.sigmoid(-log_r_xz).mean()
    best = torch.log((1 - s_mean) / s_mean)
    f = torch.linspace(best - 0.5, best + 0.5, 101, dtype=torch.float64)
    losses = torch.stack([alice_loss(fi.repeat(3), log_r_xz) for fi in f])
    assert abs(float(f[losses.argmin()] - best)) <= 0.01


def test_carl_and_score_losses_weights_equal_repeats():
    f = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    y = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    w = torch.tensor([2.0, 1.0, 1.0], dtype=torch.float64)
    rep = torch.tensor([0, 0, 1, 2])
    torch.testing.assert_close(carl_loss(f, y, w), carl_loss(f[rep], y[rep]))
    t_hat = torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64)
    t = torch.tensor([[0.0], [0.0], [50.0]], dtype=torch.float64)
    # hard class: y = 1 rows do not count; clip at 20 caps the outlier
    got = joint_score_mse(t_hat, t, 1 - y, w, clip=20.0)
    assert float(got) == pytest.approx((2 * 1.0 + 0 + 17.0**2) / 4)
    total = alices_loss(
        f, t_hat, f * 0, t, y, w, alpha=0.5, clip=20.0, score_label="hard"
    )
    assert float(total) == pytest.approx(float(alice_loss(f, f * 0, w) + 0.5 * got))
    # soft class at r(x,z) = 1 with weighted class fractions 3/4, 1/4: P = 3/4
    soft = alices_loss(f, t_hat, f * 0, t, y, w, alpha=0.5, clip=20.0)
    expected = 0.75 * (2 * 1.0 + 4.0 + 17.0**2) / 4
    assert float(soft) == pytest.approx(float(alice_loss(f, f * 0, w) + 0.5 * expected))
    with pytest.raises(ValueError, match="score_label"):
        alices_loss(f, t_hat, f * 0, t, y, w, score_label="mixed")


def test_alices_score_term_uses_the_theta_gradient():
    # a fitted net evaluated on a batch: get_loss's score term must equal the
    # finite-difference θ-derivative of the network output
    X, y, r, t = make_alice_toy(600, random_state=3)
    est = ALICERatioEstimator(
        loss="alices", alpha=1.0, score_clip=None, max_epochs=2, random_state=0
    ).fit(X, y, joint_ratio=r, joint_score=t)
    assert est.loss_used_ == "alices"
    net = est.net_
    net.module_.to(torch.float64)
    Xs = torch.as_tensor(est._scale(X[:50])).requires_grad_(True)
    # packed target: score weight 1 (y=0), soft label 1/(1 + r) with r=1,
    # w=1, t=0
    packed = torch.tensor([[1.0, 0.5, 1.0, 0.0]], dtype=torch.float64)
    packed = packed.repeat(50, 1)
    f = net.module_(Xs)
    loss = net.get_loss(f, packed, X=Xs, training=True)
    eps = 1e-6
    Xp = Xs.detach().clone()
    Xp[:, -1] += eps
    with torch.no_grad():
        dfd = (net.module_(Xp) - net.module_(Xs.detach())) / eps
    expected = alice_loss(f, f * 0, packed[:, 2]) + (dfd**2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)
    # the training step marks the batch and gives the same loss, and its
    # weight gradients are those of that loss (double backward)
    net.optimizer_.zero_grad()
    step = net.train_step_single((Xs.detach(), packed))
    assert step["loss"].item() == pytest.approx(expected.item(), rel=1e-4)
    grads = [p.grad.clone() for p in net.module_.parameters()]
    net.optimizer_.zero_grad()
    Xg = Xs.detach().requires_grad_(True)
    net.get_loss(net.module_(Xg), packed, X=Xg, training=True).backward()
    for got, p in zip(grads, net.module_.parameters()):
        torch.testing.assert_close(got, p.grad)


# --------------------------------------------------------- learning the ratio
def test_alice_learns_the_exact_log_ratio(alice_1e4, held_out_set):
    est, _ = alice_1e4
    assert est.loss_used_ == "alice"
    X_test, log_r_test = held_out_set
    assert _mse(est, X_test, log_r_test) < 0.08
    # predict_log_ratio = log((1 - s)/s) with s = P(reference)
    p = est.predict_proba(X_test[:100])
    np.testing.assert_allclose(
        np.log(p[:, 0] / p[:, 1]), est.predict_log_ratio(X_test[:100]), atol=1e-9
    )
    np.testing.assert_allclose(p.sum(1), 1.0)


@pytest.mark.parametrize("n", [1000, 10_000])
def test_alice_beats_carl(n, held_out_set, alice_1e4):
    X_test, log_r_test = held_out_set
    X, y, r, _ = make_alice_toy(n, random_state=1)
    params = dict(FAST, max_epochs=30 if n == 10_000 else 100)
    carl = ALICERatioEstimator(loss="carl", n_theta=1, **params, random_state=0)
    carl.fit(X, y)
    assert carl.loss_used_ == "carl"
    if n == 10_000:
        alice = alice_1e4[0]
    else:
        alice = ALICERatioEstimator(n_theta=1, **params, random_state=0)
        alice.fit(X, y, joint_ratio=r)
    mse_carl = _mse(carl, X_test, log_r_test)
    mse_alice = _mse(alice, X_test, log_r_test)
    assert mse_alice < 0.8 * mse_carl


def test_alices_learns_the_ratio(held_out_set):
    X_test, log_r_test = held_out_set
    X, y, r, t = make_alice_toy(3000, random_state=2)
    est = ALICERatioEstimator(loss="alices", **FAST, random_state=0)
    est.fit(X, y, joint_ratio=r, joint_score=t)
    assert est.loss_used_ == "alices"
    assert _mse(est, X_test, log_r_test) < 0.15


def test_numerator_probability_is_the_expected_class():
    from skhep_ml.ratio.loss import numerator_probability

    log_r = torch.tensor([-2.0, 0.0, 1.5], dtype=torch.float64)
    r = log_r.exp()
    y = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64)[:3]
    # balanced classes: r / (1 + r), one minus ALICE's soft label
    y_bal = torch.tensor([0.0, 1.0], dtype=torch.float64).repeat(2)
    got = numerator_probability(y_bal, torch.cat([log_r[:2], log_r[:2]]))
    torch.testing.assert_close(got, torch.cat([r[:2], r[:2]]) / (1 + r[:2].repeat(2)))
    # one numerator row in three (or weights 1, 1, 2 → π_0 = 1/4)
    pi0 = 1.0 / 3.0
    torch.testing.assert_close(
        numerator_probability(y, log_r), pi0 * r / (pi0 * r + 1 - pi0)
    )
    w = torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64)
    torch.testing.assert_close(
        numerator_probability(y, log_r, w), 0.25 * r / (0.25 * r + 0.75)
    )


def test_soft_score_weights_keep_the_expected_score_loss():
    # rows of the toy: E[(1 - y) ρ] = E[P(θ|x,z) ρ] for any score model; the
    # soft version has the smaller variance
    from skhep_ml.ratio.loss import numerator_probability

    X, y, r, t = make_alice_toy(200_000, random_state=5)
    t_model = 0.8 * X[:, :1] * np.cos(X[:, 2:])  # any function of (x, θ)
    rho = np.minimum((t_model - np.clip(t, -20, 20)) ** 2, 400.0)[:, 0]
    p = numerator_probability(torch.from_numpy(y), torch.from_numpy(np.log(r)))
    hard, soft = (1 - y) * rho, p.numpy() * rho
    se = np.sqrt((hard.var() + soft.var()) / len(y))
    assert abs(hard.mean() - soft.mean()) < 4 * se
    assert soft.var() < 0.8 * hard.var()


def test_soft_score_label_beats_the_hard_one(held_out_set):
    X_test, log_r_test = held_out_set
    X, y, r, t = make_alice_toy(10_000, random_state=3)
    mse = {}
    for label in ("hard", "soft"):
        est = ALICERatioEstimator(
            loss="alices", score_label=label, **FAST, random_state=0
        ).fit(X, y, joint_ratio=r, joint_score=t)
        mse[label] = _mse(est, X_test, log_r_test)
    # measured: 0.0062 vs 0.0096 (seeds 3-5 of the data: ratio 0.58-0.81)
    assert mse["soft"] < 0.8 * mse["hard"]


def test_huber_score_term_is_quadratic_inside_and_linear_outside():
    # rows: [score weight, label, w, t]; score residuals 1 and 5, threshold 2
    packed = torch.tensor(
        [[1.0, 0.5, 1.0, 0.0], [1.0, 0.5, 1.0, 0.0], [0.0, 0.5, 1.0, 0.0]],
        dtype=torch.float64,
    )
    log_r = torch.zeros(3, dtype=torch.float64)
    score_hat = torch.tensor([[1.0], [5.0], [9.0]], dtype=torch.float64)
    base = RatioCrossEntropy(alpha=0.0)(log_r, packed, score_hat)
    assert float(base) == pytest.approx(np.log(2.0))  # label 1/2 at r̂ = 1
    huber = RatioCrossEntropy(alpha=0.5, huber_delta=[2.0])(log_r, packed, score_hat)
    # 1² inside; 2·2·5 − 2² outside; the reference row does not count
    assert float(huber - base) == pytest.approx(0.5 * (1.0 + 16.0) / 3)
    squared = RatioCrossEntropy(alpha=0.5)(log_r, packed, score_hat)
    wide = RatioCrossEntropy(alpha=0.5, huber_delta=[100.0])(log_r, packed, score_hat)
    assert float(squared - base) == pytest.approx(0.5 * (1.0 + 25.0) / 3)
    assert float(wide) == pytest.approx(float(squared))
    # without the weight column (plain means): the same analytic values
    plain = RatioCrossEntropy(alpha=0.5, huber_delta=[2.0], weighted=False)
    assert float(plain(log_r, packed, score_hat)) == pytest.approx(
        np.log(2.0) + 0.5 * (1.0 + 16.0) / 3
    )


def test_alices_with_huber_score_loss_learns_the_ratio(held_out_set):
    X_test, log_r_test = held_out_set
    X, y, r, t = make_alice_toy(3000, random_state=2)
    est = ALICERatioEstimator(
        loss="alices", score_loss="huber", score_clip=1.0, **FAST, random_state=0
    ).fit(X, y, joint_ratio=r, joint_score=t)
    assert est.loss_used_ == "alices"
    assert est.net_.criterion_.huber_delta is not None
    assert _mse(est, X_test, log_r_test) < 0.15


def test_mle_interval_of_100_events_covers_truth(alice_1e4):
    est, _ = alice_1e4
    grid = np.linspace(-1, 1, 201)
    x_obs = sample_alice_toy(0.3, 100, random_state=7)
    prof = est.profile_likelihood(x_obs, grid)
    lo, hi = prof.intervals[0.95]
    assert lo < 0.3 < hi
    assert prof.q.min() == 0.0
    # the learned curve is close to the exact one for the same events
    exact = likelihood_profile(
        np.stack(
            [
                alice_toy_log_ratio(np.column_stack([x_obs, np.full(100, g)]))
                for g in grid
            ]
        ),
        grid,
    )
    assert abs(prof.mle[0] - exact.mle[0]) < 0.1
    for cl in (0.68, 0.95):
        np.testing.assert_allclose(prof.intervals[cl], exact.intervals[cl], atol=0.15)
    # expected curve: 100 x the mean over a large sample at θ = 0.3
    x_big = sample_alice_toy(0.3, 5000, random_state=8)
    expected = est.profile_likelihood(x_big, grid, n_events=100)
    assert abs(expected.mle[0] - 0.3) < 0.1
    assert expected.intervals[0.68][0] < 0.3 < expected.intervals[0.68][1]


def test_two_dimensional_theta_profile():
    X, y, r, t = make_alice_toy(6000, n_theta=2, random_state=4)
    est = ALICERatioEstimator(n_theta=2, loss="alices", **FAST, random_state=0)
    est.fit(X, y, joint_ratio=r, joint_score=t)
    X_test, _, _, _ = make_alice_toy(5000, n_theta=2, random_state=5)
    assert _mse(est, X_test, alice_toy_log_ratio(X_test, n_theta=2)) < 0.2
    g = np.linspace(-1, 1, 21)
    grid = np.array(np.meshgrid(g, g, indexing="ij")).reshape(2, -1).T
    truth = np.array([0.3, -0.4])
    x_obs = sample_alice_toy(truth, 5000, random_state=6)
    prof = est.profile_likelihood(x_obs, grid, n_events=100)
    assert prof.thresholds[0.68] == pytest.approx(2.279, abs=1e-3)
    near = np.argmin(((grid - truth) ** 2).sum(1))
    assert prof.regions[0.95][near]
    assert np.linalg.norm(prof.mle - truth) < 0.25
    assert not hasattr(prof, "intervals")
    # θ_1 profiled out: q(θ_0) is the smallest 2-d q over θ_1 at each θ_0
    prof0 = est.profile_likelihood(
        x_obs, grid, n_events=100, parameters_of_interest=[0]
    )
    np.testing.assert_allclose(prof0.theta[:, 0], g)
    np.testing.assert_allclose(prof0.q, prof.q.reshape(21, 21).min(1), atol=1e-9)
    assert prof0.thresholds[0.68] == pytest.approx(0.989, abs=1e-3)
    lo, hi = prof0.intervals[0.95]
    assert lo < truth[0] < hi
    # optimisation: profiled maxima at least the grid's, the MLE off the grid
    opt = est.profile_likelihood(
        x_obs, grid, n_events=100, parameters_of_interest=[0], optimize=True
    )
    assert np.all(opt.log_likelihood >= prof0.log_likelihood - 1e-9)
    assert opt.mle_full.shape == (2,) and opt.q.min() >= 0
    # normalised by reference events: a θ-dependent constant removed, so
    # that the mean ratio over them is 1 at every θ
    x_ref = sample_alice_toy(np.zeros(2), 500, random_state=9)
    norm = est.log_ratio_grid(x_obs[:7], grid[:4], x_reference=x_ref)
    raw = est.log_ratio_grid(x_obs[:7], grid[:4], x_reference=None)
    ref_raw = est.log_ratio_grid(x_ref, grid[:4], x_reference=None)
    shift = np.log(np.exp(ref_raw).mean(1))
    np.testing.assert_allclose(norm, raw - shift[:, None], rtol=1e-10, atol=1e-12)
    ref_norm = est.log_ratio_grid(x_ref, grid[:4], x_reference=x_ref)
    np.testing.assert_allclose(np.exp(ref_norm).mean(1), 1.0, rtol=1e-10)
    log_r = est.log_ratio_grid(x_obs[:7], grid[:4], x_reference=None)
    assert log_r.shape == (4, 7)
    rows = np.column_stack([np.tile(x_obs[:7], (4, 1)), np.repeat(grid[:4], 7, 0)])
    np.testing.assert_allclose(log_r.ravel(), est.predict_log_ratio(rows), rtol=1e-12)


def test_likelihood_profile_gaussian_truth():
    # x ~ N(mu, 1): log r(x|mu, 0) = x mu - mu^2/2; MLE = mean, 68% = ±1/sqrt(n)
    rng = np.random.default_rng(0)
    x = rng.normal(0.4, 1.0, size=400)
    grid = np.linspace(-1, 2, 3001)
    log_r = grid[:, None] * x[None] - grid[:, None] ** 2 / 2
    prof = likelihood_profile(log_r, grid, confidence_levels=(0.6827, 0.9545))
    assert prof.mle[0] == pytest.approx(x.mean(), abs=1e-9)
    lo, hi = prof.intervals[0.6827]
    assert lo == pytest.approx(x.mean() - 0.05, abs=1e-4)
    assert hi == pytest.approx(x.mean() + 0.05, abs=1e-4)
    lo, hi = prof.intervals[0.9545]
    assert hi - lo == pytest.approx(0.2, abs=1e-3)


# ------------------------------------------------------- scikit-learn plumbing
def test_score_is_minus_held_out_alice_loss(alice_1e4, held_out_set):
    est, _ = alice_1e4
    X, y, r, _ = make_alice_toy(2000, random_state=11)
    f = torch.as_tensor(est.predict_log_ratio(X))
    expected_alice = -float(alice_loss(f, torch.as_tensor(np.log(r))))
    assert est.score(X, y, joint_ratio=r) == pytest.approx(expected_alice, rel=1e-10)
    expected_carl = -float(carl_loss(f, torch.as_tensor(y)))
    assert est.score(X, y) == pytest.approx(expected_carl, rel=1e-10)
    assert isinstance(est.score(X, y), float)


def test_fit_without_joint_ratio_is_carl():
    X, y, r, t = make_alice_toy(500, random_state=0)
    a = ALICERatioEstimator(n_theta=1, max_epochs=3, random_state=0).fit(X, y)
    b = ALICERatioEstimator(loss="carl", max_epochs=3, random_state=0).fit(
        X, y, joint_ratio=r, joint_score=t
    )
    assert a.loss_used_ == b.loss_used_ == "carl"
    np.testing.assert_array_equal(a.predict_log_ratio(X), b.predict_log_ratio(X))
    c = ALICERatioEstimator(n_theta=1, loss="alices", max_epochs=3, random_state=0)
    with pytest.warns(UserWarning, match="needs joint_score"):
        assert c.fit(X, y, joint_ratio=r).loss_used_ == "alice"


def test_auto_loss_uses_what_fit_receives():
    X, y, r, t = make_alice_toy(400, random_state=0)
    fast = dict(max_epochs=2, hidden_layer_sizes=(8,), random_state=0)
    est = ALICERatioEstimator(**fast)
    assert est.loss == "auto" and est.n_theta is None
    cases = [
        (dict(joint_ratio=r, joint_score=t), "alices"),
        (dict(joint_ratio=r), "alice"),
        (dict(joint_score=t), "cascal"),
        ({}, "carl"),
    ]
    for kw, used in cases:
        fitted = ALICERatioEstimator(n_theta=1, **fast).fit(X, y, **kw)
        assert fitted.loss_used_ == used
        assert (fitted.net_.criterion_.alpha > 0) == (used in ("alices", "cascal"))
    # auto with the score trains exactly what loss="alices" trains
    auto = ALICERatioEstimator(**fast).fit(X, y, joint_ratio=r, joint_score=t)
    alices = ALICERatioEstimator(loss="alices", **fast)
    alices.fit(X, y, joint_ratio=r, joint_score=t)
    np.testing.assert_array_equal(
        auto.predict_log_ratio(X), alices.predict_log_ratio(X)
    )
    assert auto.n_theta_ == 1  # inferred from the score's column


def test_alice_given_a_joint_score_warns_and_ignores_it():
    X, y, r, t = make_alice_toy(400, random_state=0)
    fast = dict(loss="alice", max_epochs=2, hidden_layer_sizes=(8,), random_state=0)
    with pytest.warns(UserWarning, match="ignores the joint_score"):
        warned = ALICERatioEstimator(**fast).fit(X, y, joint_ratio=r, joint_score=t)
    plain = ALICERatioEstimator(n_theta=1, **fast).fit(X, y, joint_ratio=r)
    assert warned.loss_used_ == "alice"
    np.testing.assert_array_equal(
        warned.predict_log_ratio(X), plain.predict_log_ratio(X)
    )


def test_n_theta_is_required_or_checked():
    X, y, r, t = make_alice_toy(200, n_theta=2, random_state=0)
    est = ALICERatioEstimator(max_epochs=1)
    with pytest.raises(ValueError, match="n_theta is required when no joint_score"):
        est.fit(X, y, joint_ratio=r)
    assert est.fit(X, y, joint_ratio=r, joint_score=t).n_theta_ == 2
    with pytest.raises(ValueError, match="joint_score has 2 column"):
        ALICERatioEstimator(n_theta=1, max_epochs=1).fit(
            X, y, joint_ratio=r, joint_score=t
        )


class _Spy(ALICERatioEstimator):
    """Records the joint ratios each fit receives."""

    seen = []

    def fit(self, X, y, joint_ratio=None, joint_score=None, sample_weight=None):
        type(self).seen.append(
            (len(X), None if joint_ratio is None else np.asarray(joint_ratio).copy())
        )
        return super().fit(
            X,
            y,
            joint_ratio=joint_ratio,
            joint_score=joint_score,
            sample_weight=sample_weight,
        )


@pytest.mark.parametrize("routing", [False, True])
def test_gridsearch_slices_joint_ratio_with_the_folds(routing):
    X, y, r, t = make_alice_toy(300, random_state=0)
    r = r * (1 + 1e-9 * np.arange(300))  # tag rows so slices are identifiable
    _Spy.seen = []
    est = _Spy(max_epochs=2, hidden_layer_sizes=(8,))  # n_theta from joint_score
    with sklearn.config_context(enable_metadata_routing=routing):
        if routing:
            pipe = make_pipeline(StandardScaler(), est)
            grid = GridSearchCV(pipe, {"_spy__lr": [1e-3, 1e-2]}, cv=KFold(3))
        else:
            grid = GridSearchCV(est, {"lr": [1e-3, 1e-2]}, cv=KFold(3))
        grid.fit(X, y, joint_ratio=r, joint_score=t)
    folds = list(KFold(3).split(X))
    fold_fits = _Spy.seen[:-1]  # the last one is the refit on everything
    assert len(fold_fits) == 6
    for (n, seen), (train, _) in zip(fold_fits, folds * 2):
        assert n == 200
        np.testing.assert_array_equal(seen, r[train])
    assert _Spy.seen[-1][0] == 300
    assert np.isfinite(grid.best_score_) and grid.best_score_ < 0


def test_gridsearch_scores_with_joint_ratio_under_routing():
    X, y, r, _ = make_alice_toy(300, random_state=0)
    est = ALICERatioEstimator(
        n_theta=1, max_epochs=2, hidden_layer_sizes=(8,), random_state=0
    )
    with sklearn.config_context(enable_metadata_routing=True):
        grid = GridSearchCV(est, {"lr": [1e-3]}, cv=KFold(3)).fit(X, y, joint_ratio=r)
    # manual check of fold 0: fit on train, score = -ALICE loss on the test fold
    train, test = next(KFold(3).split(X))
    fold = ALICERatioEstimator(
        n_theta=1, max_epochs=2, hidden_layer_sizes=(8,), lr=1e-3, random_state=0
    ).fit(X[train], y[train], joint_ratio=r[train])
    expected = fold.score(X[test], y[test], joint_ratio=r[test])
    assert grid.cv_results_["split0_test_score"][0] == pytest.approx(expected)
    # sample_weight under routing: request it for fit and score
    w = np.ones(len(X))
    est2 = ALICERatioEstimator(
        n_theta=1, max_epochs=2, hidden_layer_sizes=(8,), random_state=0
    )
    with sklearn.config_context(enable_metadata_routing=True):
        est2.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        GridSearchCV(est2, {"lr": [1e-3]}, cv=2).fit(
            X, y, joint_ratio=r, sample_weight=w
        )


def test_pickle_and_refit_are_reproducible(alice_1e4):
    est, (X, y, r, _) = alice_1e4
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(
        again.predict_log_ratio(X[:50]), est.predict_log_ratio(X[:50])
    )


# ------------------------------------------------------------------- errors
def test_errors():
    X, y, r, t = make_alice_toy(100, random_state=0)
    est = ALICERatioEstimator(n_theta=1, max_epochs=1)
    bad = r.copy()
    bad[[3, 7]] = [0.0, -1.0]
    with pytest.raises(ValueError, match="joint_ratio contains 2 non-positive"):
        est.fit(X, y, joint_ratio=bad)
    bad = r.copy()
    bad[5] = np.nan
    with pytest.raises(ValueError, match="joint_ratio contains 1 NaN"):
        est.fit(X, y, joint_ratio=bad)
    with pytest.raises(ValueError, match=r"joint_ratio must have shape \(100,\)"):
        est.fit(X, y, joint_ratio=r[:50])
    bad = t.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="joint_score contains 1 NaN or infinite"):
        est.fit(X, y, joint_ratio=r, joint_score=bad)
    with pytest.raises(ValueError, match="joint_score has 3 column"):
        est.fit(X, y, joint_ratio=r, joint_score=np.zeros((100, 3)))
    with pytest.raises(ValueError, match="joint_score must have shape"):
        est.fit(X, y, joint_ratio=r, joint_score=np.zeros((99, 1)))
    y3 = y.copy()
    y3[:10] = 2
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        est.fit(X, y3)
    with pytest.raises(ValueError, match="1 class"):
        est.fit(X, np.zeros(100))
    with pytest.raises(ValueError, match="n_theta=4 exceeds"):
        ALICERatioEstimator(n_theta=4, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="device='cuda'"):
        if torch.cuda.is_available():
            pytest.skip("CUDA present")
        ALICERatioEstimator(n_theta=1, device="cuda").fit(X, y)
    fitted = ALICERatioEstimator(n_theta=1, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="expects 2 observables"):
        fitted.profile_likelihood(X[:, :3], np.linspace(-1, 1, 5))
    with pytest.raises(ValueError, match="1 column"):
        fitted.profile_likelihood(X[:, :2], np.zeros((5, 2)))


@pytest.mark.gpu
def test_gpu_fit_predicts_on_cpu():
    X, y, r, t = make_alice_toy(2000, random_state=0)
    est = ALICERatioEstimator(
        loss="alices", max_epochs=3, device="cuda", random_state=0
    ).fit(X, y, joint_ratio=r, joint_score=t)
    assert np.isfinite(est.predict_log_ratio(X)).all()
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(
        again.predict_log_ratio(X[:20]), est.predict_log_ratio(X[:20]), rtol=1e-5
    )


def test_float64_training_makes_weights_equal_repeats():
    # ALICE on a weighted sample and on the sample with rows repeated: in one
    # full batch per epoch both see the same loss; float64 keeps them equal
    X, y, r, t = make_alice_toy(60, random_state=5)
    w = np.where(np.arange(60) % 3 == 0, 2.0, 1.0)
    rep = np.repeat(np.arange(60), w.astype(int))
    params = dict(
        loss="alices",
        max_epochs=5,
        batch_size=512,
        lr=1e-2,
        random_state=0,
        train_dtype="float64",
    )
    # both fits must shuffle identically: one batch per epoch, so order only
    # permutes a sum; compare with a tolerance at float64 round-off
    weighted = ALICERatioEstimator(**params).fit(
        X, y, joint_ratio=r, joint_score=t, sample_weight=w
    )
    repeated = ALICERatioEstimator(**params).fit(
        X[rep], y[rep], joint_ratio=r[rep], joint_score=t[rep]
    )
    np.testing.assert_allclose(
        weighted.predict_log_ratio(X), repeated.predict_log_ratio(X), rtol=1e-9
    )
    assert next(weighted.net_.module_.parameters()).dtype == torch.float64
    with pytest.raises(ValueError, match="train_dtype"):
        ALICERatioEstimator(n_theta=1, train_dtype="float16").fit(X, y, joint_ratio=r)


def test_unweighted_criterion_equals_the_weighted_one_at_unit_weights():
    gen = torch.Generator().manual_seed(0)
    n = 50
    y = (torch.rand(n, generator=gen) < 0.5).double()
    packed = torch.column_stack(
        [
            y,
            torch.rand(n, generator=gen),
            torch.ones(n),
            torch.randn(n, 1, generator=gen),
        ]
    ).double()
    log_r = torch.randn(n, generator=gen, dtype=torch.float64)
    score_hat = torch.randn(n, 1, generator=gen, dtype=torch.float64)
    for kw in ({}, {"alpha": 0.3}, {"alpha": 0.3, "huber_delta": [0.5]}):
        weighted = RatioCrossEntropy(**kw)(log_r, packed, score_hat)
        plain = RatioCrossEntropy(weighted=False, **kw)(log_r, packed, score_hat)
        assert float(plain) == pytest.approx(float(weighted), rel=1e-12)
    # the weight column counts only when weighted
    packed[:, 2] = torch.linspace(0.1, 3.0, n)
    assert float(RatioCrossEntropy()(log_r, packed)) != pytest.approx(
        float(RatioCrossEntropy(weighted=False)(log_r, packed))
    )


def test_huber_score_term_with_a_threshold_per_theta_component():
    from skhep_ml.ratio.loss import joint_score_mse

    score_hat = torch.tensor([[0.5, -4.0], [-3.0, 0.1]], dtype=torch.float64)
    joint = torch.zeros_like(score_hat)
    y = torch.ones(2, dtype=torch.float64)  # score weights
    # component 0: threshold 1; component 1: threshold 2
    got = joint_score_mse(score_hat, joint, y, huber_delta=[1.0, 2.0])
    rows = [(0.5**2 + (2 * 2 * 4.0 - 2**2)) / 2, ((2 * 1 * 3.0 - 1**2) + 0.1**2) / 2]
    assert float(got) == pytest.approx(np.mean(rows))
    same = joint_score_mse(score_hat, joint, y, huber_delta=[2.0, 2.0])
    assert float(same) == pytest.approx(
        float(joint_score_mse(score_hat, joint, y, huber_delta=2.0))
    )


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("huber_delta", [None, 0.7, [0.5, 2.0]])
def test_criterion_gradients_equal_those_of_the_composed_losses(weighted, huber_delta):
    # RatioCrossEntropy's ALICES loss: its value and gradients are those of
    # ratio_cross_entropy + joint_score_mse (the packed target holds the
    # numerator-class label 1 - label)
    gen = torch.Generator().manual_seed(3)
    n, k = 40, 2
    packed = torch.column_stack(
        [
            torch.rand(n, generator=gen),
            torch.rand(n, generator=gen),
            torch.rand(n, generator=gen) * 2 if weighted else torch.ones(n),
            3 * torch.randn(n, k, generator=gen),
        ]
    ).double()
    f = torch.randn(n, generator=gen, dtype=torch.float64, requires_grad=True)
    s = torch.randn(n, k, generator=gen, dtype=torch.float64, requires_grad=True)
    crit = RatioCrossEntropy(alpha=0.3, huber_delta=huber_delta, weighted=weighted)
    loss = crit(f, packed, s)
    grads = torch.autograd.grad(loss, (f, s))
    w = packed[:, 2] if weighted else None
    ref = (
        ratio_cross_entropy(f, 1.0 - packed[:, 1]) * (w if weighted else 1.0)
    ).sum() / (w.sum() if weighted else n) + 0.3 * joint_score_mse(
        s, packed[:, 3:], packed[:, 0], w, huber_delta=huber_delta
    )
    ref_grads = torch.autograd.grad(ref, (f, s))
    assert loss.item() == pytest.approx(ref.item(), rel=1e-13)
    for got, want in zip(grads, ref_grads):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-15)
    # and the float64 finite-difference check of its gradients
    assert torch.autograd.gradcheck(lambda a, b: crit(a, packed, b), (f, s))
