"""
=====================================================
Scan a parameter space, then generate more points
=====================================================

A common chain in BSM phenomenology: an :class:`~skhep_ml.ActiveScanner` spends a
limited budget of expensive model calls to find points inside the allowed band of an
observable; a :class:`~skhep_ml.FlowDensity` then learns the distribution of the
found points and generates as many new candidates as needed at no model cost. We
check, with the (here cheap) true objective, how many generated points really fall
in the band, against uniform sampling of the box.
"""

# %%
# Scan with a budget of expensive calls
# --------------------------------------
import matplotlib.pyplot as plt

from skhep_ml import ActiveScanner, FlowDensity
from skhep_ml.datasets import make_scan_problem
from skhep_ml.plotting import compare_samples

problem = make_scan_problem("cosine3d")
low, high = problem.target
scanner = ActiveScanner(
    objective=problem.objective,
    bounds=problem.bounds,
    target=problem.target,
    n_initial=1000,
    n_per_iteration=1000,
    max_evaluations=6000,
    random_state=0,
)
scanner.fit()
found = scanner.points_[scanner.in_target_]
print(f"{len(scanner.points_)} calls, {len(found)} points in the band")

# %%
# Learn the found points with a flow on the box, then generate
# ------------------------------------------------------------
flow = FlowDensity(bounds=problem.bounds, max_epochs=60, random_state=0).fit(found)
generated = flow.sample(20_000, random_state=1)
values = problem.objective(generated)
in_band = (values >= low) & (values <= high)
print(f"generated points in the band: {in_band.mean():.1%}")
print(f"uniform points in the band:   {problem.in_target_fraction:.1%}")

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True)
axes[0].scatter(*found[:, :2].T, s=2, alpha=0.4)
axes[0].set(title=f"scan: {len(found)} in-band points", xlabel="$x_1$", ylabel="$x_2$")
axes[1].scatter(
    *generated[:3000, :2].T, s=2, alpha=0.4, c=in_band[:3000], cmap="coolwarm_r"
)
axes[1].set(title=f"flow samples: {in_band.mean():.0%} in band", xlabel="$x_1$")
fig.tight_layout()

# %%
# The flow reproduces the scan's distribution: its ``x_1`` marginal against the
# in-band points it learned, with the ratio and χ²/ndf.
cmp = compare_samples(
    generated[:, 0],
    found[:, 0],
    bins=25,
    range=problem.bounds[0],
    labels=("flow", "scan"),
    xlabel="$x_1$",
)
print(f"flow vs scan points: chi2/ndf = {cmp.chi2:.1f}/{cmp.ndf}")
plt.show()
