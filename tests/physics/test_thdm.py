"""2HDM theory constraints against closed forms and the inverse mass relations."""

import numpy as np
import pytest

from skhep_ml.physics import (
    THDM_BOUNDS,
    make_thdm_scan_problem,
    thdm_allowed,
    thdm_bounded_below,
    thdm_margin,
    thdm_perturbative,
    thdm_spectrum,
    thdm_unitarity_eigenvalues,
)
from skhep_ml.physics.thdm import V_EW


def lambdas_from_masses(mh, mH, mA, mHc, alpha, tan_beta, m12):
    """The inverse relations in Branco et al.'s convention (S. Kanemura,
    Y. Okada, E. Senaha and C.-P. Yuan, Phys. Rev. D 70 (2004) 115002, eq. (6)
    with M^2 = m12^2 / (s_β c_β))."""
    b = np.arctan(tan_beta)
    sb, cb, sa, ca = np.sin(b), np.cos(b), np.sin(alpha), np.cos(alpha)
    v2 = V_EW**2
    l1 = (mH**2 * ca**2 + mh**2 * sa**2 - m12 * tan_beta) / (v2 * cb**2)
    l2 = (mH**2 * sa**2 + mh**2 * ca**2 - m12 / tan_beta) / (v2 * sb**2)
    l3 = ((mH**2 - mh**2) * sa * ca + 2 * mHc**2 * sb * cb - m12) / (v2 * sb * cb)
    l4 = ((mA**2 - 2 * mHc**2) * sb * cb + m12) / (v2 * sb * cb)
    l5 = (m12 - mA**2 * sb * cb) / (v2 * sb * cb)
    return np.array([[l1, l2, l3, l4, l5, tan_beta, m12]])


@pytest.mark.parametrize(
    "point",
    [
        # alignment limit, sin(β-α) = 1: a 125 GeV h with heavy degenerate partners
        dict(mh=125.0, mH=500.0, mA=500.0, mHc=500.0, tan_beta=2.0, m12=500.0**2 * 0.4),
        # away from alignment, negative m12^2 (the seed's sign)
        dict(mh=90.0, mH=300.0, mA=200.0, mHc=250.0, tan_beta=10.0, m12=-2000.0),
    ],
)
def test_spectrum_inverts_the_mass_relations(point):
    tan_beta = point["tan_beta"]
    alpha = np.arctan(tan_beta) - np.pi / 2 + (0.0 if point["mh"] == 125.0 else 0.1)
    X = lambdas_from_masses(
        point["mh"],
        point["mH"],
        point["mA"],
        point["mHc"],
        alpha,
        tan_beta,
        point["m12"],
    )
    spec = thdm_spectrum(X)
    for key, mass in [("mh2", "mh"), ("mH2", "mH"), ("mA2", "mA"), ("mHc2", "mHc")]:
        np.testing.assert_allclose(np.sqrt(spec[key]), point[mass], rtol=1e-10)
    np.testing.assert_allclose(
        np.cos(spec["alpha"] - alpha) ** 2, 1.0, atol=1e-12
    )  # α is defined modulo π


def test_alignment_identity():
    # sin(β-α) = 1: m_h^2 = v^2 (λ1 c^4 + λ2 s^4 + 2 λ345 s^2 c^2) (the Higgs-basis Z1)
    tan_beta = 3.0
    X = lambdas_from_masses(
        125.0, 700.0, 650.0, 680.0, np.arctan(tan_beta) - np.pi / 2, tan_beta, 1.2e5
    )
    l1, l2, l3, l4, l5 = X[0, :5]
    b = np.arctan(tan_beta)
    z1 = (
        l1 * np.cos(b) ** 4
        + l2 * np.sin(b) ** 4
        + 2 * (l3 + l4 + l5) * (np.sin(b) * np.cos(b)) ** 2
    )
    np.testing.assert_allclose(V_EW**2 * z1, 125.0**2, rtol=1e-10)
    np.testing.assert_allclose(
        thdm_spectrum(X)["sin_beta_minus_alpha"] ** 2, 1.0, atol=1e-12
    )


def test_unitarity_eigenvalues_of_the_o8_symmetric_potential():
    # λ1 = λ2 = λ3 = λ, λ4 = λ5 = 0: V = λ/2 (Φ1†Φ1 + Φ2†Φ2)^2, an O(8) model of
    # 8 real fields whose largest s-wave eigenvalue is (N + 2) λ / 2 = 5λ
    lam = 1.3
    X = np.array([[lam, lam, lam, 0.0, 0.0, 5.0, 0.0]])
    e = thdm_unitarity_eigenvalues(X)[0]
    assert e.max() == pytest.approx(5 * lam)
    assert e.shape == (12,)


def test_bounded_below_edges():
    base = np.array([1.0, 0.16, 0.0, 0.0, 0.0, 10.0, -100.0])  # √(λ1 λ2) = 0.4
    rows = []
    for l3, l4, l5 in [
        (-0.39, 0, 0),
        (-0.41, 0, 0),
        (0.0, -0.3, 0.09),
        (0.0, -0.3, 0.11),
    ]:
        rows.append(base.copy())
        rows[-1][2:5] = l3, l4, l5
    np.testing.assert_array_equal(
        thdm_bounded_below(np.array(rows)), [True, False, True, False]
    )


def test_perturbativity():
    X = np.tile([1.0, 0.1, 0.0, 0.0, 0.0, 10.0, -100.0], (2, 1))
    X[1, 2] = 4 * np.pi + 0.01
    np.testing.assert_array_equal(thdm_perturbative(X), [True, False])


def test_margin_sign_is_the_allowed_flag():
    rng = np.random.default_rng(0)
    X = rng.uniform(THDM_BOUNDS[:, 0], THDM_BOUNDS[:, 1], size=(200_000, 7))
    allowed = thdm_allowed(X)
    np.testing.assert_array_equal(thdm_margin(X) > 0, allowed > 0)
    assert 0 < allowed.mean() < 1e-3


def test_light_cp_even_state_stays_below_the_tree_level_bound():
    # m_h^2 ≤ (2,2) element ≤ 0.2 v^2 in the seed's box (module notes)
    rng = np.random.default_rng(1)
    X = rng.uniform(THDM_BOUNDS[:, 0], THDM_BOUNDS[:, 1], size=(100_000, 7))
    assert np.all(thdm_spectrum(X)["mh2"] <= 0.2 * V_EW**2)


def test_higgs_window_margin_and_flag_agree():
    rng = np.random.default_rng(2)
    X = rng.uniform(THDM_BOUNDS[:, 0], THDM_BOUNDS[:, 1], size=(200_000, 7))
    margin = make_thdm_scan_problem(higgs_window=(120.0, 130.0))
    flag = make_thdm_scan_problem(kind="allowed", higgs_window=(120.0, 130.0))
    np.testing.assert_array_equal(margin.objective(X) > 0, flag.objective(X) > 0)
    # the mass slack alone: m_H = 125 GeV exactly gives 1
    X = lambdas_from_masses(60.0, 125.0, 150.0, 140.0, 0.3, 10.0, -1000.0)
    assert thdm_margin(X, higgs_window=(120.0, 130.0)) == pytest.approx(
        thdm_margin(X), rel=1e-12
    )


def test_problem_and_bad_input():
    problem = make_thdm_scan_problem()
    assert problem.bounds.shape == (7, 2) and problem.target == (0.0, 1.0)
    with pytest.raises(ValueError, match="7 columns"):
        thdm_allowed(np.zeros((3, 6)))
    with pytest.raises(ValueError, match="kind"):
        make_thdm_scan_problem(kind="other")


@pytest.mark.parametrize("m_heavy, m_pseudo", [(200.0, 400.0), (300.0, 500.0)])
def test_published_phase_transition_benchmarks_pass_the_theory_constraints(
    m_heavy, m_pseudo
):
    # the strong-phase-transition benchmarks of G. C. Dorsch, S. J. Huber,
    # K. Mimasu and J. M. No (as listed in PTPlot's "2HDM benchmark points", Set 1:
    # allowed points): alignment, m_H± = m_A, μ²(tan β + 1/tan β) = m_H0²,
    # m_H0 in [180, 450] GeV, m_A in [m_H0 + 150, m_H0 + 350] GeV; tan β = 2
    tan_beta = 2.0
    m12 = m_heavy**2 / (tan_beta + 1 / tan_beta)
    alpha = np.arctan(tan_beta) - np.pi / 2
    X = lambdas_from_masses(125.0, m_heavy, m_pseudo, m_pseudo, alpha, tan_beta, m12)
    # M = m_H0 in alignment makes λ1 = λ2 = m_h²/v² (the SM value)
    np.testing.assert_allclose(X[0, :2], 125.0**2 / V_EW**2, rtol=1e-10)
    assert thdm_bounded_below(X)[0] and thdm_perturbative(X)[0]
    assert np.all(np.abs(thdm_unitarity_eigenvalues(X)) < 8 * np.pi)
    assert (
        thdm_allowed(X)[0] == 1.0
    )  # (outside the seed's box, which it does not check)
