"""Born e+e- → μ+μ- against closed forms and the LEP Z-pole results."""

import dataclasses

import numpy as np
import pytest

from skhep_ml.physics import (
    GEV2_TO_PB,
    PDG_2024,
    born_afb,
    born_cross_section,
    born_dsigma_dcos,
    contact_coefficients,
    helicity_amplitudes,
)

M_Z = PDG_2024.m_z


def textbook(s, inputs=PDG_2024):
    """σ and A_FB in the vector/axial form (e.g. Peskin-Schroeder, PDG review).

    σ = 4πα²/(3s) [Q² - 2 Q v² Re χ + (v² + a²)² |χ|²],
    A_FB = 3/4 [-2 Q a² Re χ + 4 v² a² |χ|²] / [...], with
    χ = s / (s - M² + i s Γ/M) · √2 G_F M² / (16πα), Q = -1, v = 2 g_V,
    a = 2 g_A.
    """
    p = inputs
    alpha = p.alpha(s)
    chi = (
        s
        / (s - p.m_z**2 + 1j * s * p.gamma_z / p.m_z)
        * np.sqrt(2)
        * p.g_fermi
        * p.m_z**2
        / (16 * np.pi * alpha)
    )
    v, a = 2 * p.g_v, 2 * p.g_a  # g_V, g_A in the normalisation v = -1 + 4 s_W^2
    q = -1.0
    denom = q**2 - 2 * q * v * v * chi.real + (v**2 + a**2) ** 2 * abs(chi) ** 2
    numer = -2 * q * a * a * chi.real + 4 * v * v * a * a * abs(chi) ** 2
    sigma = 4 * np.pi * alpha**2 / (3 * s) * denom * GEV2_TO_PB
    return sigma, 0.75 * numer / denom


@pytest.mark.parametrize("sqrt_s", [M_Z, 130.0, 200.0])
def test_born_matches_vector_axial_textbook_formula(sqrt_s):
    s = sqrt_s**2
    sigma, afb = textbook(s)
    np.testing.assert_allclose(born_cross_section(s), sigma, rtol=1e-12)
    np.testing.assert_allclose(born_afb(s), afb, rtol=1e-12)


def test_born_z_pole_cross_section():
    sigma = born_cross_section(M_Z**2)
    # closed form: the Z peak 12π Γ_ee Γ_μμ / (M² Γ²) plus the photon (no
    # γ-Z interference at s = M_Z² with the running width)
    p = PDG_2024
    peak = 12 * np.pi * p.gamma_ll**2 / (M_Z**2 * p.gamma_z**2) * GEV2_TO_PB
    photon = 4 * np.pi * p.alpha(M_Z**2) ** 2 / (3 * M_Z**2) * GEV2_TO_PB
    np.testing.assert_allclose(sigma, peak + photon, rtol=1e-12)
    # LEP: σ_ℓ^0 = σ_had^0 / R_ℓ^0 = 41.541 nb / 20.767 (PDG 2024); the Born
    # lacks the final-state QED factor 1 + 3α/4π of Γ_μμ (-0.17 %) and the
    # LEP number has no photon (+0.6 %): agreement to better than 1 %
    assert sigma / 1e3 == pytest.approx(41.541 / 20.767, rel=0.01)


def test_born_z_pole_asymmetry():
    p = PDG_2024
    a_l = 2 * p.g_v * p.g_a / (p.g_v**2 + p.g_a**2)
    s = M_Z**2
    z_share = 12 * np.pi * p.gamma_ll**2 / (M_Z**2 * p.gamma_z**2) * GEV2_TO_PB
    expected = 0.75 * a_l**2 * z_share / born_cross_section(s)
    np.testing.assert_allclose(born_afb(s), expected, rtol=1e-12)
    # PDG 2024 fit: A_FB^(0,μ) = 0.0169 ± 0.0013
    assert abs(born_afb(s) - 0.0169) / 0.0013 < 1.0


def test_pure_qed_limit():
    qed = dataclasses.replace(PDG_2024, g_fermi=0.0)
    s = 200.0**2
    alpha = qed.alpha(s)
    np.testing.assert_allclose(
        born_cross_section(s, inputs=qed), 4 * np.pi * alpha**2 / (3 * s) * GEV2_TO_PB
    )
    cos = np.linspace(-1, 1, 7)
    np.testing.assert_allclose(
        born_dsigma_dcos(s, cos, inputs=qed),
        np.pi * alpha**2 / (2 * s) * (1 + cos**2) * GEV2_TO_PB,
    )
    assert born_afb(s, inputs=qed) == pytest.approx(0.0, abs=1e-15)


def test_dsigma_integrates_to_sigma_and_afb():
    s = 200.0**2
    eps = np.array([0.3, -0.2, 0.1, 0.5])
    x, w = np.polynomial.legendre.leggauss(8)  # exact for quadratics in cos θ
    d = born_dsigma_dcos(s, x, eps)
    np.testing.assert_allclose(np.sum(w * d), born_cross_section(s, eps), rtol=1e-13)
    xf, wf = 0.5 * x + 0.5, 0.5 * w
    forward = np.sum(wf * born_dsigma_dcos(s, xf, eps))
    backward = np.sum(wf * born_dsigma_dcos(s, -xf, eps))
    np.testing.assert_allclose(
        (forward - backward) / (forward + backward), born_afb(s, eps), rtol=1e-12
    )


def test_contact_term_in_lep_form():
    # LEP: A_ij = Q_e Q_f + ... + η_ij s / (α Λ²); the reduced a_ij = α A_ij
    s, eta, lam = 200.0**2, 1.0, 10.0  # Λ = 10 TeV, η_LL = +1
    eps = np.array([eta / lam**2, 0, 0, 0])
    diff = helicity_amplitudes(s, eps) - helicity_amplitudes(s)
    np.testing.assert_allclose(diff, [eta * s / (lam * 1e3) ** 2, 0, 0, 0], atol=1e-15)


def test_contact_polynomial_and_score_are_exact():
    rng = np.random.default_rng(0)
    s = rng.uniform(50, 200, 20) ** 2
    cos = rng.uniform(-1, 1, 20)
    eps = rng.normal(0, 0.5, (20, 4))
    c0, c1, c2 = contact_coefficients(s, cos)
    np.testing.assert_allclose(
        c0 + np.sum(c1 * eps + c2 * eps**2, axis=1),
        born_dsigma_dcos(s, cos, eps),
        rtol=1e-12,
    )
    score = (c1 + 2 * c2 * eps) / born_dsigma_dcos(s, cos, eps)[:, None]
    h = 1e-6
    for k in range(4):
        step = np.zeros(4)
        step[k] = h
        numeric = (
            np.log(born_dsigma_dcos(s, cos, eps + step))
            - np.log(born_dsigma_dcos(s, cos, eps - step))
        ) / (2 * h)
        np.testing.assert_allclose(score[:, k], numeric, rtol=1e-5, atol=1e-7)


def test_bad_inputs():
    with pytest.raises(ValueError, match="four contact couplings"):
        born_cross_section(200.0**2, eps=[1.0, 2.0])
    with pytest.raises(ValueError, match="s must be positive"):
        born_cross_section(-1.0)
