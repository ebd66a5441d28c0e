"""
=================================================
Likelihood-free inference with ALICE and ALICES
=================================================

A simulator whose events carry their latent history can report, for free, the
*joint* likelihood ratio ``r(x,z|θ,θ_1)`` and the joint score ``t(x,z|θ)``.
:class:`~skhep_ml.ALICERatioEstimator` turns them into an estimate of the
intractable ratio ``r(x|θ,θ_1)`` of the observed events. This example trains
CARL (labels only), ALICE (joint ratio) and ALICES (joint ratio and score) on
the toy of :func:`~skhep_ml.datasets.make_alice_toy`, whose exact ratio is
known, compares the learned and true log ratios, and infers θ from 100
observed events with the −2Δlog L curve and its 68 % / 95 % intervals.
"""

# %%
# Training data: ``X = [x, θ]`` with θ uniform in [-1, 1], ``y = 0`` for
# events simulated at θ, ``y = 1`` for events at the reference θ_1 = 0.
import matplotlib.pyplot as plt
import numpy as np

from skhep_ml import ALICERatioEstimator
from skhep_ml.datasets import alice_toy_log_ratio, make_alice_toy, sample_alice_toy
from skhep_ml.plotting import plot_likelihood_profile
from skhep_ml.ratio import likelihood_profile

X, y, joint_ratio, joint_score = make_alice_toy(10_000, random_state=0)

# %%
# Three losses, one network.
estimators = {}
for loss in ("carl", "alice", "alices"):
    est = ALICERatioEstimator(n_theta=1, loss=loss, max_epochs=40, random_state=0)
    # ALICE and CARL are trained without the score (loss="alice" would warn
    # that it ignores one; the default loss="auto" picks ALICES when given it)
    score = joint_score if loss == "alices" else None
    estimators[loss] = est.fit(X, y, joint_ratio=joint_ratio, joint_score=score)

X_test, _, _, _ = make_alice_toy(20_000, random_state=1)
log_r_test = alice_toy_log_ratio(X_test)
for loss, est in estimators.items():
    mse = np.mean((est.predict_log_ratio(X_test) - log_r_test) ** 2)
    print(f"{loss:6s}  MSE(log r) = {mse:.4f}")

# %%
# Inference: 100 events observed at θ = 0.3, profile over a θ grid.
theta_true = 0.3
grid = np.linspace(-1, 1, 201)
x_obs = sample_alice_toy(theta_true, 100, random_state=2)
exact = likelihood_profile(
    np.stack(
        [alice_toy_log_ratio(np.column_stack([x_obs, np.full(100, g)])) for g in grid]
    ),
    grid,
)
profiles = {
    loss: est.profile_likelihood(x_obs, grid) for loss, est in estimators.items()
}
for loss, prof in profiles.items():
    lo, hi = prof.intervals[0.68]
    print(f"{loss:6s}  MLE = {prof.mle[0]:+.3f}, 68% [{lo:+.3f}, {hi:+.3f}]")
lo, hi = exact.intervals[0.68]
print(f"exact   MLE = {exact.mle[0]:+.3f}, 68% [{lo:+.3f}, {hi:+.3f}]")

# %%
# Left: the learned log ratio along ``x_0`` (``x_1 = 0``) at three θ, against
# the exact one. Right: the −2Δlog L curves with the Wilks thresholds.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))
x0 = np.linspace(-3, 3, 200)
colors = {"carl": "tab:green", "alice": "tab:blue", "alices": "tab:orange"}
for theta, style in zip((-0.8, 0.3, 0.8), (":", "--", "-")):
    Xq = np.column_stack([x0, np.zeros_like(x0), np.full_like(x0, theta)])
    ax0.plot(
        x0,
        alice_toy_log_ratio(Xq),
        "k",
        ls=style,
        lw=2.5,
        alpha=0.4,
        label=f"exact, θ = {theta}",
    )
    for loss in ("carl", "alices"):
        ax0.plot(
            x0,
            estimators[loss].predict_log_ratio(Xq),
            color=colors[loss],
            ls=style,
            label=f"{loss}, θ = {theta}" if theta == 0.8 else None,
        )
ax0.set(
    xlabel="$x_0$",
    ylabel=r"$\log r(x|\theta, \theta_1)$",
    title="learned vs exact log ratio",
)
ax0.legend(fontsize=7, ncol=2)

plot_likelihood_profile(exact, truth=theta_true, ax=ax1, label="exact", color="k")
for loss, prof in profiles.items():
    ax1.plot(grid, prof.q, color=colors[loss], label=loss)
ax1.set(
    xlabel=r"$\theta$",
    ylabel=r"$-2\Delta\log L$",
    ylim=(0, 10),
    title="100 events at θ = 0.3",
)
ax1.legend(fontsize=8)
fig.tight_layout()
plt.show()
