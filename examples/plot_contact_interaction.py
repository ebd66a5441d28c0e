"""
==========================================================================
A contact interaction from detector-level muon pairs with ALICES
==========================================================================

Could LEP2's muon pairs reveal a four-fermion contact interaction
``η_LL/Λ²`` (:mod:`skhep_ml.physics`, the form of the LEP fits)? The event
generator knows, for every event, its parton-level history ``z`` (the μμ
mass, the true angle ``cos θ*``, the ISR photons): the *joint* likelihood
ratio and score follow exactly from the matrix element, which is a quadratic
polynomial in the coupling (:func:`~skhep_ml.physics.contact_coefficients`).
:class:`~skhep_ml.ALICERatioEstimator` (loss ``"alices"``) learns from them
the likelihood ratio of the *observed* events: here the angle is smeared by
the detector, ``cos θ*_obs = cos θ* + 0.05 ε`` (ε standard normal, the
stated resolution; the mass resolution is neglected). The exact likelihood
integrates over ``z``: with the mass measured, that is a one-dimensional
convolution in the angle, done here by quadrature. We compare the expected
−2Δlog L curves, the 68/95 % intervals and the limits on Λ.

Gallery settings: 2·10⁴ training rows and 40 epochs (the full study: 2·10⁵
rows, 100 epochs, and the two-coupling fit ``(η_LL, η_RR)``).
"""

# %%
# Events at parton level and their detector smearing
# --------------------------------------------------
# A VEGAS map adapted to the Standard-Model integrand gives a weighted pool
# of parton-level events; events at a coupling ε are drawn from it by
# resampling (SM) and rejection against the exact ratio to the SM.
import matplotlib.pyplot as plt
import numpy as np
import vegas

from skhep_ml import ALICERatioEstimator
from skhep_ml.physics import RadiativeReturn, contact_coefficients, isr_cross_section
from skhep_ml.plotting import plot_likelihood_profile
from skhep_ml.ratio import likelihood_profile

SQRT_S, S, SIGMA_COS = 200.0, 200.0**2, 0.05
EPS_RANGE = (-0.1, 0.1)  # η_LL/Λ² in TeV^-2
f = RadiativeReturn(SQRT_S, sqrt_s_min=50.0)
rng = np.random.default_rng(0)

amap = vegas.AdaptiveMap([[0, 1]] * 4, ninc=64)
for _ in range(8):
    y = rng.uniform(size=(20_000, 4))
    u, jac = np.empty_like(y), np.empty(len(y))
    amap.map(y, u, jac)
    amap.add_training_data(y, (f(u) * jac) ** 2)
    amap.adapt(alpha=0.5)
y = rng.uniform(size=(400_000, 4))
pool_u, pool_jac = np.empty_like(y), np.empty(len(y))
amap.map(y, pool_u, pool_jac)
kin = f.kinematics(pool_u)
c0, c1, c2 = contact_coefficients(S * kin["tau"], kin["cos"])
c1, c2 = c1[:, 0], c2[:, 0]  # the LL coupling
pool_weight = f(pool_u) * pool_jac
print(f"pool: σ = {pool_weight.mean():.4f} pb (exact {f.integral:.4f})")

# σ(ε) is an exact quadratic: three quadratures fix it
sig = [isr_cross_section(SQRT_S, sqrt_s_min=50.0, eps=[e, 0, 0, 0]) for e in (-1, 0, 1)]
S0, S1, S2 = sig[1], 0.5 * (sig[2] - sig[0]), 0.5 * (sig[2] + sig[0]) - sig[1]


def sigma(eps):
    return S0 + S1 * eps + S2 * eps**2


def joint_ratio_score(index, eps):
    """r(x,z|ε, 0) and t(x,z|ε) of pool events; the smearing cancels."""
    amp = c0[index] + c1[index] * eps + c2[index] * eps**2
    ratio = amp / c0[index] * S0 / sigma(eps)
    score = (c1[index] + 2 * c2[index] * eps) / amp - (S1 + 2 * S2 * eps) / sigma(eps)
    return ratio, score


def draw(eps, rng):
    """Pool indices of events at couplings ``eps`` (one per entry), exactly."""
    eps = np.asarray(eps, dtype=float)
    bound = 1 + np.abs(c1 / c0).max() * np.abs(eps) + (c2 / c0).max() * eps**2
    out = np.empty(len(eps), dtype=int)
    todo = np.arange(len(eps))
    p = pool_weight / pool_weight.sum()
    while todo.size:
        idx = rng.choice(len(p), size=todo.size, p=p)
        ratio = (c0[idx] + c1[idx] * eps[todo] + c2[idx] * eps[todo] ** 2) / c0[idx]
        accept = rng.uniform(size=todo.size) * bound[todo] < ratio
        out[todo[accept]] = idx[accept]
        todo = todo[~accept]
    return out


def observe(index, rng):
    """Detector-level observables: the mass and the smeared angle."""
    cos = kin["cos"][index] + SIGMA_COS * rng.standard_normal(len(index))
    return np.column_stack([kin["mass"][index], cos])


# %%
# Training rows as madminer's ``sample_train_ratio`` makes them
# -------------------------------------------------------------
# Half at their ε (uniform in the range), half at the SM with the joint
# ratio and score evaluated at the row's ε.
n_train = 20_000
eps_rows = rng.uniform(*EPS_RANGE, n_train)
label = np.repeat([0, 1], n_train // 2)
index = np.where(label == 0, draw(eps_rows, rng), draw(np.zeros(n_train), rng))
ratio, score = joint_ratio_score(index, eps_rows)
X = np.column_stack([observe(index, rng), eps_rows])
alices = ALICERatioEstimator(loss="alices", max_epochs=40, random_state=0)
alices.fit(X, label, joint_ratio=ratio, joint_score=score[:, None])

# %%
# The exact likelihood: integrate the latent angle out
# ----------------------------------------------------
# ``p(x|ε) ∝ H(m²/s) (2m/s) Σ_k ε^k ∫ dcos K(cos_obs - cos) C_k(m², cos) / σ(ε)``:
# the mass factors cancel in the ratio to the SM.
nodes, weights = np.polynomial.legendre.leggauss(400)


def exact_log_ratio(x_obs, grid):
    m2 = x_obs[:, :1] ** 2
    kernel = np.exp(-0.5 * ((x_obs[:, 1:] - nodes) / SIGMA_COS) ** 2)
    k0, k1, k2 = contact_coefficients(np.broadcast_to(m2, kernel.shape), nodes)
    i0 = np.sum(kernel * k0 * weights, axis=1)
    i1 = np.sum(kernel * k1[..., 0] * weights, axis=1)
    i2 = np.sum(kernel * k2[..., 0] * weights, axis=1)
    grid = np.asarray(grid)[:, None]
    return np.log((i0 + i1 * grid + i2 * grid**2) / i0) - np.log(sigma(grid) / S0)


# %%
# Expected curves for 3000 Standard-Model events
# ----------------------------------------------
# (a LEP2 experiment's muon-pair sample): 20 000 events at ε = 0 scaled to
# 3000, for ALICES and for the exact likelihood.
N_EVENTS = 3000
grid = np.linspace(*EPS_RANGE, 201)
x_sm = observe(draw(np.zeros(20_000), rng), rng)
expected = alices.profile_likelihood(x_sm, grid, n_events=N_EVENTS)
exact = likelihood_profile(exact_log_ratio(x_sm, grid), grid, n_events=N_EVENTS)
for name, prof in (("ALICES", expected), ("exact", exact)):
    lo68, hi68 = prof.intervals[0.68]
    lo95, hi95 = prof.intervals[0.95]
    print(
        f"{name:6s} 68% [{lo68:+.4f}, {hi68:+.4f}]  "
        f"95% [{lo95:+.4f}, {hi95:+.4f}] TeV^-2; "
        f"Λ(η=+1) > {1 / np.sqrt(hi95):.1f} TeV, "
        f"Λ(η=-1) > {1 / np.sqrt(-lo95):.1f} TeV"
    )

# %%
# The expected −2Δlog L
# ---------------------
fig, ax = plt.subplots(figsize=(6, 4.2))
plot_likelihood_profile(
    exact, truth=0.0, ax=ax, label="exact (integrated over z)", color="k"
)
ax.plot(grid, expected.q, color="C1", label="ALICES")
ax.set(
    xlabel=r"$\eta_{LL}/\Lambda^2$ [TeV$^{-2}$]",
    ylabel=r"expected $-2\Delta\log L$",
    ylim=(0, 8),
    title=f"{N_EVENTS} μμ events at √s = {SQRT_S:.0f} GeV",
)
ax.legend()
fig.tight_layout()
plt.show()
