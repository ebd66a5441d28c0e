"""
==============================================================
Importance sampling with a Bayesian surrogate of the integrand
==============================================================

When every integrand call is expensive (a loop amplitude, a parton shower), the
proposal of neural importance sampling can be trained on a cheap surrogate instead:
a :class:`~skhep_ml.BayesianRegressor` learns the integrand from a few thousand
calls, a :class:`~skhep_ml.NeuralImportanceIntegrator` trains its flow on the
surrogate with as many calls as it likes, and the final, unbiased estimate spends
only a small number of true calls with that proposal. We compare with plain Monte
Carlo at the same number of true calls.
"""

# %%
# A few thousand expensive calls train the surrogate
# --------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skhep_ml import BayesianRegressor, NeuralImportanceIntegrator
from skhep_ml.datasets import Camel

expensive = Camel(2, width=0.15)  # stands in for a slow calculation
rng = np.random.default_rng(0)
X_train = rng.uniform(size=(3000, 2))
surrogate = BayesianRegressor(
    hidden_layer_sizes=(32, 32), max_epochs=60, lr=1e-2, random_state=0
)
# learn log f: the peaks span orders of magnitude
surrogate.fit(X_train, np.log(expensive(X_train) + 1e-3))


def cheap(X):
    """The surrogate integrand (non-negative by construction)."""
    return np.clip(np.exp(surrogate.predict(X)) - 1e-3, 0.0, None)


# %%
# Train the proposal on the surrogate only
# ----------------------------------------
nis = NeuralImportanceIntegrator(integrand=cheap, n_dims=2, n_iter=20, random_state=0)
nis.fit()
print(f"surrogate integral: {nis.integral_:.4f} ± {nis.integral_error_:.4f}")

# %%
# The final estimate spends 5000 true calls
# -----------------------------------------
n_true = 5000
X, _ = nis.sample(n_true, random_state=1)
weights = expensive(X) / np.exp(nis.score_samples(X))  # f / g with the true f
value, error = weights.mean(), weights.std(ddof=1) / np.sqrt(n_true)
U = rng.uniform(size=(n_true, 2))
plain = expensive(U)
table = [
    ("exact", expensive.integral, 0.0),
    ("surrogate-trained proposal", value, error),
    ("plain Monte Carlo", plain.mean(), plain.std(ddof=1) / np.sqrt(n_true)),
]
for name, v, e in table:
    print(f"{name:28s} {v:.5f} ± {e:.5f}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.errorbar(
    [1, 2], [table[1][1], table[2][1]], yerr=[table[1][2], table[2][2]], fmt="o"
)
ax.axhline(expensive.integral, color="k", ls="--", label="exact")
ax.set(
    xticks=[1, 2],
    xticklabels=["surrogate proposal", "plain MC"],
    xlim=(0.5, 2.5),
    ylabel=f"integral estimate ({n_true} true calls)",
)
ax.legend()
fig.tight_layout()
plt.show()
