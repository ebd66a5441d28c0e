"""
==========================================================
Neural importance sampling of a peaked integrand
==========================================================

A two-peaked "camel" integrand on the unit square is integrated with
:class:`~skhep_ml.NeuralImportanceIntegrator`. The proposal starts as an
adapted VEGAS grid and a normalizing flow learns the correlations a
separable grid cannot (VEGAS also puts mass on the two "phantom" peaks at
(1/3, 2/3) and (2/3, 1/3)). We look at the learned proposal density, the
weight distributions of VEGAS and of the trained flow, and unweighted events.
"""

# %%
# The integrand and its exact integral
# ------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import vegas

from skhep_ml import NeuralImportanceIntegrator
from skhep_ml.datasets import Camel
from skhep_ml.plotting import compare_samples, plot_histogram, weighted_histogram

f = Camel(2)
print(f"exact integral: {f.integral:.6f}")

# %%
# Train with a budget of 60 000 integrand calls
# ---------------------------------------------
# 10 % go to the VEGAS adaptation, 20 % to training (50 rounds of three
# gradient steps), the rest to the final (stratified) integration.
nis = NeuralImportanceIntegrator(integrand=f, max_evaluations=60_000, random_state=0)
nis.fit()
value, error = nis.result_
print(f"NIS: {value:.6f} ± {error:.2g}  (pull {(value - f.integral) / error:+.2f})")
print(nis.result_)

# %%
# VEGAS with the same adaptation (the ``vegas`` package)
# ------------------------------------------------------
rng = np.random.default_rng(0)
amap = vegas.AdaptiveMap([[0, 1]] * 2, ninc=64)
for _ in range(10):
    y = rng.uniform(size=(5_000, 2))
    x, jac = np.empty_like(y), np.empty(len(y))
    amap.map(y, x, jac)
    amap.add_training_data(y, (f(x) * jac) ** 2)
    amap.adapt(alpha=0.5)
y = rng.uniform(size=(50_000, 2))
x, jac = np.empty_like(y), np.empty(len(y))
amap.map(y, x, jac)
w_vegas = f(x) * jac
X_nis, w_nis = nis.sample(50_000, random_state=1)
for name, w in (("VEGAS", w_vegas), ("NIS", w_nis)):
    print(
        f"{name:6s} std(w)/mean(w) = {w.std() / w.mean():.3f}, "
        f"unweighting efficiency = {w.mean() / w.max():.3f}"
    )

# %%
# Proposal density, weights and unweighted events
# -----------------------------------------------
t = np.linspace(0.0, 1.0, 200)
grid = np.stack(np.meshgrid(t, t), -1).reshape(-1, 2)
density = np.exp(nis.score_samples(grid)).reshape(200, 200)
X_unw, _ = nis.sample(20_000, unweighted=True, random_state=2)

fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
axes[0].contourf(t, t, f(grid).reshape(200, 200), levels=30)
axes[0].set_title("integrand f")
axes[1].contourf(t, t, density, levels=30)
axes[1].set_title("learned proposal g")
bins = np.linspace(-3, 1.5, 60)
for name, w in (("VEGAS", w_vegas), ("NIS", w_nis)):
    h_w = weighted_histogram(np.log10(w[w > 0] / w.mean()), bins=bins)
    plot_histogram(h_w, ax=axes[2], label=name)
axes[2].set_yscale("log")
axes[2].set_xlabel("log10(w / <w>)")
axes[2].legend()
axes[2].set_title("weight distributions")
axes[3].plot(X_unw[:, 0], X_unw[:, 1], ",", alpha=0.5)
axes[3].set_title(f"{len(X_unw)} unweighted events")
for ax in axes[[0, 1, 3]]:
    ax.set_aspect("equal")
fig.tight_layout()

# %%
# Unweighted against weighted events
# ----------------------------------
# Both describe the integrand: the unweighted events' histogram of ``x_1``
# agrees with the weighted one within the statistical errors (sum of w² per
# bin), χ²/ndf ≈ 1.
cmp = compare_samples(
    X_unw[:, 0],
    X_nis[:, 0],
    reference_weights=w_nis,
    bins=30,
    range=(0, 1),
    labels=("unweighted", "weighted"),
    xlabel="$x_1$",
)
print(f"unweighted vs weighted events: chi2/ndf = {cmp.chi2:.1f}/{cmp.ndf}")
plt.show()
