"""
==========================================================================
A normalizing flow as a fast simulator of LEP2 muon pairs
==========================================================================

Weighted events of e+e- → μ+μ-(γ) at √s = 200 GeV with initial-state
radiation (:class:`~skhep_ml.physics.RadiativeReturn`) come from a
:class:`~skhep_ml.NeuralImportanceIntegrator` (two channels: the
structure-function singularities and the Z ridge) with their weights
``f/g``. A detector smears the muons with a stated resolution; a
:class:`~skhep_ml.FlowDensity` learns the weighted detector-level events and
generates new, unweighted ones. We compare generated with held-out events in
every observable (ratio panels, χ² p-values and a classifier two-sample test)
and, for two numbers with an exact answer from quadrature, with that answer:
the forward-backward asymmetry and the fraction of radiative-return events.

Detector (stated resolution, no acceptance cut): curvature
``σ(1/p) = 5·10⁻⁴ GeV⁻¹`` (σ_p/p = 5 % at 100 GeV) and polar and azimuthal
angles ``σ_θ = σ_φ = 1 mrad``.

Gallery settings: 2·10⁴ training and 2·10⁴ held-out weighted events, 20
epochs (``N_TRAIN``, ``EPOCHS``).
"""

# %%
# Weighted events from the integrator, through the detector
# ---------------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from skhep_ml import FlowDensity, NeuralImportanceIntegrator
from skhep_ml.physics import RadiativeReturn, isr_cross_section
from skhep_ml.plotting import compare_samples

SQRT_S, M_MIN, M_RETURN = 200.0, 50.0, 150.0
SIGMA_CURV, SIGMA_ANGLE = 5e-4, 1e-3  # GeV^-1, rad
N_TRAIN = N_TEST = 20_000
EPOCHS = 20
f = RadiativeReturn(SQRT_S, sqrt_s_min=M_MIN)
nis = NeuralImportanceIntegrator(
    integrand=f, n_dims=4, channels=f.channels(), max_evaluations=50_000, random_state=0
).fit()
U, weight = nis.sample(N_TRAIN + N_TEST, random_state=1)
print(f"NIS: σ = {nis.integral_:.4f} ± {nis.integral_error_:.4f} pb")


def detector(p4, rng):
    """Smeared (|p|, θ, φ) of the μ- and the μ+ of four-momenta (n, 2, 4)."""
    p = np.linalg.norm(p4[..., 1:], axis=-1)
    theta = np.arccos(p4[..., 3] / p)
    phi = np.arctan2(p4[..., 2], p4[..., 1])
    p = 1.0 / (1.0 / p + SIGMA_CURV * rng.standard_normal(p.shape))
    theta = theta + SIGMA_ANGLE * rng.standard_normal(theta.shape)
    phi = phi + SIGMA_ANGLE * rng.standard_normal(phi.shape)
    return p, np.abs(theta), phi


def observables(p, theta, phi):
    """The flow's features: p-, p+ [GeV], cos θ-, cos θ+, acoplanarity [mrad]."""
    dphi = np.angle(np.exp(1j * (phi[:, 0] - phi[:, 1] - np.pi)))
    return np.column_stack([p, np.cos(theta), 1e3 * dphi])


rng = np.random.default_rng(2)
p_smeared, theta_smeared, phi_smeared = detector(f.momenta(U)[:, :2], rng)
X = observables(p_smeared, theta_smeared, phi_smeared)
names = [
    r"$p_{\mu^-}$ [GeV]",
    r"$p_{\mu^+}$ [GeV]",
    r"$\cos\theta_{\mu^-}$",
    r"$\cos\theta_{\mu^+}$",
    "acoplanarity [mrad]",
]
X_train, w_train = X[:N_TRAIN], weight[:N_TRAIN]
X_test, w_test = X[N_TRAIN:], weight[N_TRAIN:]
n_eff = w_test.sum() ** 2 / np.sum(w_test**2)
print(f"held-out: {N_TEST} weighted events, effective size {n_eff:.0f}")

# %%
# Features in which the flow has little left to learn
# ---------------------------------------------------
# On the raw observables the flow misses the events' thin structures: the
# muons of an event without hard radiation are back to back to 1 mrad
# (``cos θ- ≈ -cos θ+``), and those of the radiative return have the boost of
# a 79 GeV photon along the beam (30 epochs: classifier AUC 0.54 and a return
# fraction 3σ off). So the flow sees, as a bijection of the observables:
# ``η* = (η- - η+)/2`` (the angle in the μμ frame), ``asinh(y / 1 mrad)`` of
# the boost ``y = (η- + η+)/2`` (the soft-photon spike at ``y = 0`` spread
# out), the logarithms of the momenta over those of a single photon along the
# beam (``p- = √s sin θ+ / (sin θ- + sin θ+ + |sin(θ- + θ+)|)``, the LEP
# formula: the resolution and the second photon are left), and the
# acoplanarity; then each feature through its weighted empirical CDF to a
# standard normal, so the narrow peaks of the marginals (the Z return in
# ``y``) are flat and the flow learns the correlations.
Y0 = 1e-3


def one_photon_momenta(cos_m, cos_p):
    """p- and p+ [GeV] for the angles if one photon escaped along a beam."""
    theta_m, theta_p = np.arccos(cos_m), np.arccos(cos_p)
    sin_m, sin_p = np.sin(theta_m), np.sin(theta_p)
    total = sin_m + sin_p + np.abs(np.sin(theta_m + theta_p))
    return SQRT_S * sin_p / total, SQRT_S * sin_m / total


def to_features(X):
    cos = np.clip(X[:, 2:4], -1 + 1e-12, 1 - 1e-12)
    eta_m, eta_p = np.arctanh(cos).T
    p_m, p_p = one_photon_momenta(*cos.T)
    return np.column_stack(
        [
            0.5 * (eta_m - eta_p),
            np.arcsinh(0.5 * (eta_m + eta_p) / Y0),
            np.log(X[:, 0] / p_m),
            np.log(X[:, 1] / p_p),
            X[:, 4],
        ]
    )


def from_features(F):
    boost = Y0 * np.sinh(F[:, 1])
    cos_m, cos_p = np.tanh(boost + F[:, 0]), np.tanh(boost - F[:, 0])
    p_m, p_p = one_photon_momenta(cos_m, cos_p)
    return np.column_stack(
        [p_m * np.exp(F[:, 2]), p_p * np.exp(F[:, 3]), cos_m, cos_p, F[:, 4]]
    )


class WeightedGaussianizer:
    """Each feature through its weighted empirical CDF to a standard normal."""

    def fit(self, F, w):
        order = np.argsort(F, axis=0)
        self.values_ = np.take_along_axis(F, order, axis=0)
        cum = np.cumsum(w[order], axis=0)
        self.cdf_ = (cum - 0.5 * w[order]) / cum[-1]
        return self

    def transform(self, F):
        u = [np.interp(F[:, j], self.values_[:, j], self.cdf_[:, j]) for j in range(5)]
        return stats.norm.ppf(np.clip(np.column_stack(u), 1e-7, 1 - 1e-7))

    def inverse_transform(self, Z):
        u = stats.norm.cdf(Z)
        cols = [
            np.interp(u[:, j], self.cdf_[:, j], self.values_[:, j]) for j in range(5)
        ]
        return np.column_stack(cols)


F_train = to_features(X_train)
roundtrip = np.abs(from_features(F_train) - X_train).max()
print(f"the features give back the events to {roundtrip:.0e}")
gauss = WeightedGaussianizer().fit(F_train, w_train)

# %%
# The flow on the weighted events, and new events from it
# -------------------------------------------------------
flow = FlowDensity(max_epochs=EPOCHS, random_state=0)
flow.fit(gauss.transform(F_train), sample_weight=w_train)
N_GEN = 40_000
X_gen = from_features(gauss.inverse_transform(flow.sample(N_GEN, random_state=3)))


# %%
# Two observables with an exact answer
# ------------------------------------
# For massless muons boosted along the beam the pseudorapidities shift
# together, so ``η* = (η- - η+)/2`` is that of the μ- in the μμ frame and
# the sign of ``η- - η+`` is the sign of ``cos θ*`` (angle smearing moves
# events across ``cos θ* = 0`` at the 10⁻⁴ level). The mass
# ``m² = 2 p- p+ (1 - cos α)`` counts the radiative return below 150 GeV;
# the 7 GeV mass resolution of the 200 GeV peak is far from the cut and the
# continuum around it is flat, so the migration across it is negligible.
# Exact: ``A_FB`` from ``dσ/dcos θ*`` and the fraction from
# ``σ(50 < √s' < 150)/σ(√s' > 50)``, both by quadrature.
def derived(X):
    """(forward, mass) of events: cos θ* > 0 and the μμ invariant mass."""
    cos_m, cos_p, dphi = X[:, 2], X[:, 3], 1e-3 * X[:, 4]
    eta_m, eta_p = np.arctanh(cos_m), np.arctanh(cos_p)
    sin_m, sin_p = np.sqrt(1 - cos_m**2), np.sqrt(1 - cos_p**2)
    cos_alpha = -sin_m * sin_p * np.cos(dphi) + cos_m * cos_p
    mass = np.sqrt(np.clip(2 * X[:, 0] * X[:, 1] * (1 - cos_alpha), 0, None))
    return eta_m > eta_p, mass


def fractions(X, w):
    """A_FB and the return fraction with their errors (weighted events)."""
    forward, mass = derived(X)
    w = w / w.sum()
    out = []
    for indicator, sign in ((forward, 2.0), (mass < M_RETURN, 1.0)):
        share = np.sum(w * indicator)
        error = np.sqrt(np.sum(w**2 * (indicator - share) ** 2))
        out.append((sign * share - (sign - 1), sign * error))
    return out


xf, wf = np.polynomial.legendre.leggauss(8)
xf, wf = 0.5 * (xf + 1), 0.5 * wf
sigma_f, sigma_b = np.sum(wf * f.dsigma_dcos(xf)), np.sum(wf * f.dsigma_dcos(-xf))
exact = [
    (sigma_f - sigma_b) / (sigma_f + sigma_b),
    1 - isr_cross_section(SQRT_S, sqrt_s_min=M_RETURN) / f.integral,
]
held = fractions(X_test, w_test)
train = fractions(X_train, w_train)
gen = fractions(X_gen, np.ones(N_GEN))
pulls = {}
for i, name in enumerate(["A_FB", "return fraction"]):
    # the flow knows its training events only: their error adds to the sample's
    error = np.hypot(gen[i][1], train[i][1])
    pulls[name] = (gen[i][0] - exact[i]) / error
    print(
        f"{name:16s} exact {exact[i]:.4f} | held-out {held[i][0]:.4f} ± "
        f"{held[i][1]:.4f} (pull {(held[i][0] - exact[i]) / held[i][1]:+.2f}) | "
        f"flow {gen[i][0]:.4f} ± {error:.4f} (pull {pulls[name]:+.2f})"
    )


# %%
# A classifier two-sample test
# ----------------------------
# A gradient-boosted classifier learns to tell unweighted events from the
# weighted held-out ones (each class weighted to unit total) on half of them;
# on the other half its weighted ROC AUC is 0.5 when the samples agree, with
# the Mann-Whitney null standard deviation ``√((n₀ + n₁ + 1) / (12 n₀ n₁))``
# for the effective sizes ``n₀, n₁``. As a reference, the same test on exact
# events (unweighted by the integrator, through the same detector) against
# the held-out ones.
def two_sample_test(X_a, X_b, w_b):
    """(AUC, its null standard deviation, p-value): unweighted a vs weighted b."""
    n_a, n_b = len(X_a), len(X_b)
    Z = np.concatenate([X_a, X_b])
    label = np.r_[np.ones(n_a), np.zeros(n_b)]
    cw = np.r_[np.full(n_a, 1 / n_a), w_b / w_b.sum()]
    fit = np.r_[np.arange(n_a // 2), n_a + np.arange(n_b // 2)]
    held = np.setdiff1d(np.arange(len(Z)), fit)
    clf = HistGradientBoostingClassifier(max_iter=100, random_state=0)
    clf.fit(Z[fit], label[fit], sample_weight=cw[fit])
    auc = roc_auc_score(
        label[held], clf.predict_proba(Z[held])[:, 1], sample_weight=cw[held]
    )
    w_held = w_b[n_b // 2 :]
    n0, n1 = w_held.sum() ** 2 / np.sum(w_held**2), n_a - n_a // 2
    sd = np.sqrt((n0 + n1 + 1) / (12 * n0 * n1))
    return auc, sd, 2 * stats.norm.sf(abs(auc - 0.5) / sd)


U_exact, _ = nis.sample(N_GEN, unweighted=True, random_state=4)
X_exact = observables(*detector(f.momenta(U_exact)[:, :2], rng))
auc, auc_sd, auc_p = two_sample_test(X_gen, X_test, w_test)
auc_ref, _, p_ref = two_sample_test(X_exact, X_test, w_test)
print(
    f"classifier two-sample test: flow AUC {auc:.4f} ± {auc_sd:.4f} (p = {auc_p:.2g});"
    f" exact events AUC {auc_ref:.4f} (p = {p_ref:.2f})"
)

# %%
# Generated against held-out events in every observable
# -----------------------------------------------------
# Shapes (each histogram normalised) with the χ² of the weighted
# histograms and its p-value; the sixth panel is the derived μμ mass. The
# two numbers with a known answer agree with it, but the tests are sharper
# than the pulls: at these sample sizes the classifier and the χ² still tell
# the flow's events from the held-out ones (gallery run: AUC 0.517 against
# 0.503 for exact events), at the narrow Z return peak of the mass and in
# the tails of the acoplanarity.
fig = plt.figure(figsize=(15, 9))
panels = fig.subfigures(2, 3)
ranges = [(0, 130), (0, 130), (-1, 1), (-1, 1), (-5, 5), (M_MIN - 10, SQRT_S + 20)]
columns = [*X_gen.T], [*X_test.T]
columns[0].append(derived(X_gen)[1])
columns[1].append(derived(X_test)[1])
p_values = []
for panel, gen_col, test_col, rng_, name in zip(
    panels.ravel(), *columns, ranges, [*names, r"$m_{\mu\mu}$ [GeV]"]
):
    cmp = compare_samples(
        gen_col,
        test_col,
        reference_weights=w_test,
        bins=30,
        range=rng_,
        labels=("flow", "held-out"),
        xlabel=name,
        fig=panel,
    )
    p_values.append(stats.chi2.sf(cmp.chi2, cmp.ndf))
    cmp.ax.set_title(f"p = {p_values[-1]:.2f}", fontsize=10)
print("χ² p-values per observable:", ", ".join(f"{p:.2f}" for p in p_values))
fig.suptitle(
    f"FlowDensity vs held-out detector-level μμ(γ) events at √s = {SQRT_S:.0f} GeV "
    f"(classifier AUC {auc:.3f}, p = {auc_p:.2f})"
)
plt.show()
