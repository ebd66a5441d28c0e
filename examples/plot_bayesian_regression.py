"""
==============================================
Bayesian surrogate of an amplitude-like target
==============================================

A :class:`~skhep_ml.BayesianRegressor` learns a noise-free amplitude-like function
of five kinematic-like inputs whose values span four orders of magnitude (soft and
collinear enhancements). It is trained on log targets through
:class:`~sklearn.compose.TransformedTargetRegressor` and reports, for every
prediction, a statistical error (spread over sampled weights) and a systematic one
(learned width). We look at the relative error Δ = (pred − true)/true and at the
pulls (log pred − log true)/σ_tot.
"""

# %%
# Data and model
# --------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhep_ml import BayesianRegressor
from skhep_ml.datasets import make_amplitude_like
from skhep_ml.plotting import plot_histogram, plot_pulls, weighted_histogram

X, y = make_amplitude_like(4000, random_state=0)
X_test, y_test = make_amplitude_like(5000, random_state=1)
print(f"targets span {y.min():.3g} .. {y.max():.3g}")

bnn = BayesianRegressor(
    max_epochs=80, lr=3e-3, calibration_fraction=0.1, random_state=0
)
model = TransformedTargetRegressor(
    make_pipeline(StandardScaler(), bnn), func=np.log, inverse_func=np.exp
)
model.fit(X, y)

# %%
# Relative errors and pulls
# -------------------------
# The fitted Bayesian network lives inside the target transformer and the pipeline;
# it predicts log targets, so its σ are errors on the log, i.e. relative errors.
fitted = model.regressor_
mean_log, sigma_stat, sigma_syst = fitted[-1].predict_uncertainty(
    fitted[:-1].transform(X_test)
)
sigma_tot = np.hypot(sigma_stat, sigma_syst)
delta = np.exp(mean_log) / y_test - 1
pull = (mean_log - np.log(y_test)) / sigma_tot
lo, hi = np.percentile(delta, [16, 84])
print(f"68% half-width of delta: {(hi - lo) / 2:.4f}")
print(f"|delta| < 1%: {np.mean(np.abs(delta) < 0.01):.2%}")
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
plot_pulls(np.log(y_test), mean_log, sigma_tot, bins=50, ax=ax2)
ax2.set(xlabel=r"$(\log A_{NN} - \log A)/\sigma_{tot}$", ylabel="density")
fig.tight_layout()
plt.show()
