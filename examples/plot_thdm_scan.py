"""
=======================================================
The two-Higgs-doublet model: theory-allowed region scan
=======================================================

The seed's scan of the softly broken Z2-symmetric 2HDM: seven parameters
(λ1 ... λ5, tan β, m12²) in the box ``0 ≤ λ1 ≤ 10``, ``0 ≤ λ2 ≤ 0.2``,
``-10 ≤ λ3, λ4, λ5 ≤ 10``, ``5 ≤ tan β ≤ 45``, ``-3000 ≤ m12²/GeV² ≤ 0``, and
the constraints a physicist checks first: a potential bounded from below,
tree-level perturbative unitarity, perturbative couplings and a physical
tree-level spectrum (:mod:`skhep_ml.physics`, conventions of Branco et al.,
Phys. Rept. 516 (2012) 1). Only 1.7e-4 of the box is allowed: uniform
sampling finds one allowed point per ~6000 calls.

:class:`~skhep_ml.ActiveScanner` scans the continuous theory margin
(:func:`~skhep_ml.physics.thdm_margin`, positive exactly where every
constraint holds) and is compared with uniform sampling at equal calls and
with the true region (uniform points, many more calls).

Gallery settings: 2000 initial points and five iterations of 1000; the full
scan runs more iterations (``n_iterations=20``) for the same efficiency and
denser coverage.
"""

# %%
# The scan
# --------
import matplotlib.pyplot as plt
import numpy as np
from scipy.spatial import cKDTree

from skhep_ml import ActiveScanner
from skhep_ml.physics import (
    THDM_PARAMETERS,
    make_thdm_scan_problem,
    thdm_allowed,
    thdm_spectrum,
)
from skhep_ml.plotting import plot_corner

problem = make_thdm_scan_problem()
scan = ActiveScanner(
    objective=problem.objective,
    bounds=problem.bounds,
    target=problem.target,
    n_initial=2000,
    n_per_iteration=1000,
    n_iterations=5,
    n_candidates=50_000,
    max_epochs=100,
    random_state=0,
).fit()
found = scan.points_[scan.in_target_]
assert np.all(thdm_allowed(found) == 1)  # the margin's sign is the constraints'
print(f"{scan.n_evaluations_} calls, {len(found)} allowed points")

# %%
# Against uniform sampling and the true region
# --------------------------------------------
# Uniform sampling with the same calls, and 4e6 uniform points for the true
# region (a physicist's brute-force scan).
rng = np.random.default_rng(1)
low, high = problem.bounds.T
uniform = rng.uniform(low, high, size=(scan.n_evaluations_, 7))
n_uniform = int(thdm_allowed(uniform).sum())
truth = []
for _ in range(8):
    X = rng.uniform(low, high, size=(500_000, 7))
    truth.append(X[thdm_allowed(X) == 1])
truth = np.concatenate(truth)
fraction = len(truth) / 4e6
print(
    f"uniform sampling, same calls: {n_uniform} allowed "
    f"(expected {fraction * scan.n_evaluations_:.1f}); "
    f"true allowed share {fraction:.2e}"
)
print(f"ActiveScanner: {len(found) / (fraction * scan.n_evaluations_):.0f}x uniform")

# How much of the true region the scan reached: the share of the true
# allowed points with a found point within 0.25 of them (in the unit box)


unit = problem.bounds[:, 1] - problem.bounds[:, 0]
tree = cKDTree((found - low) / unit)
distance, _ = tree.query((truth - low) / unit)
print(
    "share of the true region within 0.25 of a found point: "
    f"{np.mean(distance < 0.25):.2f}"
)

# the spectrum of the allowed points: the lighter CP-even state stays below
# 110 GeV at tree level here; the heavier one reaches 125 GeV
spec = thdm_spectrum(found)
m_h, m_H = np.sqrt(spec["mh2"]), np.sqrt(spec["mH2"])
print(f"m_h up to {m_h.max():.1f} GeV, m_H in [{m_H.min():.1f}, {m_H.max():.1f}] GeV")
print(f"found points with 120 < m_H < 130 GeV: {np.sum((m_H > 120) & (m_H < 130))}")

labels = [r"$\lambda_1$", r"$\lambda_2$", r"$\lambda_3$", r"$\lambda_4$"]
labels += [r"$\lambda_5$", r"$\tan\beta$", r"$m_{12}^2$"]
assert len(labels) == len(THDM_PARAMETERS)
fig = plot_corner(
    found, reference=truth, bounds=problem.bounds, labels=labels, max_points=2000
)
fig.suptitle("2HDM: ActiveScanner's allowed points (blue) over the true region (grey)")

# %%
# Allowed points against calls
# ----------------------------
calls = np.array([h["n_calls_total"] for h in scan.history_])
hits = np.array([h["n_in_target_total"] for h in scan.history_])
fig, ax = plt.subplots(figsize=(5.5, 4))
ax.plot(calls, hits, "o-", label="ActiveScanner")
ax.plot(calls, fraction * calls, "--", label="uniform sampling (expected)")
ax.set_yscale("symlog", linthresh=1)
ax.set_xlabel("objective calls")
ax.set_ylabel("allowed points found")
ax.legend()
plt.tight_layout()
plt.show()
