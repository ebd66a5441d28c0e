"""
==============================================
Bayesian surrogate of an amplitude-like target
==============================================

A :class:`~skhep_ml.BayesianRegressor` learns a noise-free amplitude-like function
of five kinematic-like inputs whose values span four orders of magnitude (soft and
collinear enhancements). With ``target_transform="log"`` it regresses ``log A``
and returns ``A`` with a statistical error (spread over sampled weights) and a
systematic one (learned width), both in the units of ``A`` (``σ_A = A σ_log A``).
We look at the relative error Δ = (pred − true)/true and at the pulls
(pred − true)/σ_tot.
"""

# %%
# Data and model
# --------------
import matplotlib.pyplot as plt
import numpy as np

from skhep_ml import BayesianRegressor
from skhep_ml.datasets import make_amplitude_like
from skhep_ml.plotting import plot_histogram, plot_pulls, weighted_histogram

X, y = make_amplitude_like(4000, random_state=0)
X_test, y_test = make_amplitude_like(5000, random_state=1)
print(f"targets span {y.min():.3g} .. {y.max():.3g}")

# a fixed, short training keeps the example quick; without ``max_epochs`` the
# length follows the data (a step budget growing as sqrt(n), best held-out epoch)
model = BayesianRegressor(
    target_transform="log",
    max_epochs=80,
    lr=3e-3,
    calibration_fraction=0.1,
    random_state=0,
)
model.fit(X, y)

# %%
# Relative errors and pulls
# -------------------------
# Predictions and both errors come back in the units of A.
A, sigma_stat, sigma_syst = model.predict_uncertainty(X_test)
sigma_tot = np.hypot(sigma_stat, sigma_syst)
delta = A / y_test - 1
pull = (A - y_test) / sigma_tot
lo, hi = np.percentile(delta, [16, 84])
print(f"68% half-width of delta: {(hi - lo) / 2:.4f}")
print(f"|delta| < 1%: {np.mean(np.abs(delta) < 0.01):.2%}")
print(
    f"relative errors: sigma_stat/A {np.median(sigma_stat / A):.4f}, "
    f"sigma_syst/A {np.median(sigma_syst / A):.4f} (medians)"
)
print(f"pulls: mean {pull.mean():.2f}, std {pull.std():.2f}")

# %%
# Left: the relative deviations with their Poisson errors. Right: the pulls
# against the N(0, 1) that calibrated uncertainties follow.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
h_delta = weighted_histogram(
    np.clip(delta, -0.1, 0.1), bins=80, range=(-0.1, 0.1), label=r"$\Delta$"
)
plot_histogram(h_delta, ax=ax1, color="C0")
ax1.set(xlabel=r"$\Delta = (A_{NN} - A)/A$", ylabel="test points", yscale="log")
plot_pulls(y_test, A, sigma_tot, bins=50, ax=ax2)
ax2.set(xlabel=r"$(A_{NN} - A)/\sigma_{tot}$", ylabel="density")
fig.tight_layout()
plt.show()
