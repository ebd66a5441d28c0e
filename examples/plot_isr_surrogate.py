"""
==========================================================================
A Bayesian surrogate of the ISR-corrected muon-pair cross section
==========================================================================

The ISR-corrected fully differential cross section of e+e- → μ+μ-(γ) at
√s = 200 GeV, as a function of the μμ mass ``√s'``, the angle ``cos θ*`` in
the μμ frame and a contact coupling ``η = η_LL/Λ²`` [TeV⁻²],

.. math::

    \\frac{d^2\\sigma}{d\\sqrt{s'}\\, d\\cos\\theta^*}(\\eta)
      = \\frac{2\\sqrt{s'}}{s} H(s'/s)\\,
        \\frac{d\\sigma_{Born}}{d\\cos\\theta^*}(s', \\cos\\theta^*; \\eta),

(:mod:`skhep_ml.physics`: the two-beam structure-function flux ``H`` and the
Born cross section through γ, Z and the contact term) spans three decades
between the Z return and the continuum. A :class:`~skhep_ml.BayesianRegressor`
with ``target_transform="log"`` learns it from 4000 exact values and
returns predictions with error bars; their pulls against the exact values
on fresh points test the error bars. A
:class:`~skhep_ml.NeuralImportanceIntegrator` then integrates the
*surrogate* over ``50 < √s' < 195 GeV``, all angles and
``-0.5 < η < 0.5``; the exact integral is the quadrature of the
structure-function convolution, a quadratic in ``η``. The surrogate's error
on the integral is the spread of the integrals of its posterior draws.
"""

# %%
# Exact values at design points
# -----------------------------
# Half of the masses uniform, half from a Breit-Wigner around the Z pole
# (where the cross section changes fastest); angles and couplings uniform.
import matplotlib.pyplot as plt
import numpy as np

from skhep_ml import BayesianRegressor, NeuralImportanceIntegrator
from skhep_ml.physics import PDG_2024, born_dsigma_dcos, isr_cross_section, isr_flux
from skhep_ml.plotting import plot_pulls

SQRT_S, S = 200.0, 200.0**2
LOW = np.array([50.0, -1.0, -0.5])  # √s' [GeV], cos θ*, η [TeV^-2]
HIGH = np.array([195.0, 1.0, 0.5])
rng = np.random.default_rng(0)


def exact(X):
    """``d²σ/(d√s' dcos θ*)`` [pb/GeV] at rows ``(√s', cos θ*, η)``."""
    m, cos, eta = X.T
    eps = np.zeros((len(X), 4))
    eps[:, 0] = eta
    return 2 * m / S * isr_flux(m**2 / S, S) * born_dsigma_dcos(m**2, cos, eps)


def design(n, rng):
    """Rows (√s', cos θ*, η) with half the masses near the Z pole."""
    X = rng.uniform(LOW, HIGH, size=(n, 3))
    near = rng.uniform(size=n) < 0.5
    lo, hi = (
        np.arctan((LOW[0] - PDG_2024.m_z) / 3),
        np.arctan((HIGH[0] - PDG_2024.m_z) / 3),
    )
    X[near, 0] = PDG_2024.m_z + 3 * np.tan(rng.uniform(lo, hi, near.sum()))
    return X


X_train, X_test = design(4000, rng), design(2000, rng)
y_train, y_test = exact(X_train), exact(X_test)
print(f"targets span {y_train.min():.2e} .. {y_train.max():.2e} pb/GeV")

# %%
# The surrogate, in log space
# ---------------------------
surrogate = BayesianRegressor(
    target_transform="log",
    hidden_layer_sizes=(64, 64, 64),
    max_epochs=150,
    lr=3e-3,
    calibration_fraction=0.1,
    random_state=0,
).fit(X_train, y_train)
mean, std = surrogate.predict(X_test, return_std=True)
rel = np.abs(mean / y_test - 1)
print(f"relative deviation on fresh points: median {np.median(rel):.2%}")

# %%
# The surrogate integrated by the integrator
# ------------------------------------------
# The integrand on the unit cube is the surrogate's mean times the volume
# of the box. The exact integral: ``σ(η)`` between the two mass cuts is a
# quadratic, fixed by three quadratures; its mean over ``η`` is
# ``S₀ + S₂/12``.
volume = np.prod(HIGH - LOW)


def box(U):
    return LOW + (HIGH - LOW) * U


nis = NeuralImportanceIntegrator(
    integrand=lambda U: volume * surrogate.predict(box(U)),
    n_dims=3,
    max_evaluations=20_000,
    random_state=0,
).fit()


def sigma_window(eta):
    eps = [eta, 0, 0, 0]
    return isr_cross_section(SQRT_S, sqrt_s_min=LOW[0], eps=eps) - isr_cross_section(
        SQRT_S, sqrt_s_min=HIGH[0], eps=eps
    )


s_m, s_0, s_p = (sigma_window(e) for e in (-1.0, 0.0, 1.0))
true_integral = s_0 + (0.5 * (s_p + s_m) - s_0) / 12

# the surrogate's error: the same proposal points through posterior draws
U, g_weight = nis.sample(20_000, random_state=1)
ratio = g_weight / surrogate.predict(box(U))  # volume / g(U)
draws = surrogate.sample_predictions(box(U), n_samples=50, random_state=2)
integrals = np.mean(draws * ratio, axis=1)
surrogate_error = integrals.std(ddof=1)
total_error = np.hypot(surrogate_error, nis.integral_error_)
pull_integral = (nis.integral_ - true_integral) / total_error
print(
    f"integral of the surrogate {nis.integral_:.4f} ± {nis.integral_error_:.4f} "
    f"(MC) ± {surrogate_error:.4f} (surrogate) pb·TeV^-2; exact "
    f"{true_integral:.4f}; pull {pull_integral:+.2f}"
)

# %%
# The surrogate against the exact cross section, and its pulls
# -------------------------------------------------------------
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
grid = np.linspace(LOW[0], HIGH[0], 400)
for eta, color in ((-0.5, "C0"), (0.0, "k"), (0.5, "C3")):
    X_line = np.column_stack([grid, np.full_like(grid, 0.5), np.full_like(grid, eta)])
    m_line, s_line = surrogate.predict(X_line, return_std=True)
    axes[0].plot(grid, exact(X_line), color=color, lw=1, label=f"exact, η = {eta:+.1f}")
    axes[0].fill_between(
        grid, m_line - 2 * s_line, m_line + 2 * s_line, color=color, alpha=0.3
    )
axes[0].set(
    yscale="log",
    xlabel=r"$\sqrt{s'}$ [GeV]",
    ylabel=r"d$^2\sigma$/d$\sqrt{s'}$d$\cos\theta^*$ [pb/GeV]",
    title=r"$\cos\theta^* = 0.5$; bands: surrogate ±2σ",
)
axes[0].legend(fontsize=8)
pulls = plot_pulls(y_test, mean, std, ax=axes[1])
axes[1].set_title("pulls on 2000 fresh points")
axes[2].errorbar(
    [0], [nis.integral_], yerr=[total_error], fmt="o", label="NIS on the surrogate"
)
axes[2].axhline(true_integral, color="k", ls="--", label="exact (quadrature)")
axes[2].set(
    xticks=[],
    xlim=(-1, 1),
    ylabel=r"$\int d\sqrt{s'}\, d\cos\theta^*\, d\eta$ [pb TeV$^{-2}$]",
    title=f"pull {pull_integral:+.2f}",
)
axes[2].legend()
fig.tight_layout()
print(f"pulls: mean {pulls.mean:+.2f}, std {pulls.std:.2f}")
plt.show()
