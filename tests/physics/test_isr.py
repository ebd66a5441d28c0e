"""ISR structure functions against one-dimensional scipy quadrature."""

import numpy as np
import pytest
from scipy.integrate import quad

from skhep_ml.physics import (
    PDG_2024,
    RadiativeReturn,
    born_cross_section,
    electron_structure_function,
    isr_beta,
    isr_cross_section,
    isr_dsigma_dcos,
    isr_dsigma_dmass,
    isr_flux,
)
from skhep_ml.physics.isr import _flux

S = 200.0**2
BETA = isr_beta(S)


def d_of(x):
    return float(electron_structure_function(x, S))


def endpoint_quad(g, lo, hi):
    """∫_lo^hi g(x) D(x) dx with the (1-x)^(β/2-1) singularity at hi = 1 removed.

    Substitution 1 - x = u^(2/β): (β/2)(1-x)^(β/2-1) dx = du (a different map
    from the package's, which works in v = ln x1 / ln τ).
    """
    p = 2.0 / BETA
    u_lo = (1.0 - lo) ** (1.0 / p)
    u_hi = (1.0 - hi) ** (1.0 / p)

    def f(u):
        # D(x) dx/du written out (Kuraev-Fadin at O(β)): the soft term is constant
        y = u**p
        hard = 0.25 * BETA * (2.0 - y) * p * u ** (p - 1)
        return g(1.0 - y) * ((1.0 + 0.375 * BETA) - hard)

    return quad(f, u_hi, u_lo, epsabs=0, epsrel=1e-11, limit=200)[0]


def flux_by_quad(tau):
    """H(τ) = ∫_τ^1 dx/x D(x) D(τ/x), split at √τ; each half has one singular end."""
    root = np.sqrt(tau)
    upper = endpoint_quad(lambda x: d_of(tau / x) / x, root, 1.0)
    # x -> τ/x maps [τ, √τ] onto [√τ, 1] with dx/x invariant: the same integral
    return 2.0 * upper


def test_structure_function_is_normalised():
    assert endpoint_quad(lambda x: 1.0, 0.0, 1.0) == pytest.approx(1.0, abs=1e-10)
    assert np.all(electron_structure_function(np.linspace(0, 0.999, 50), S) > 0)


@pytest.mark.parametrize("tau", [0.01, 0.2079, 0.5, 0.95, 1 - 1e-6])
def test_flux_matches_quadrature(tau):
    np.testing.assert_allclose(isr_flux(tau, S), flux_by_quad(tau), rtol=1e-8)


def test_flux_is_normalised():
    # ∫_0^1 H dτ = 1, in t = (1-τ)^β (the soft end flattened; ln τ kept
    # exact where τ rounds to 1)
    def f(t):
        one_minus = t ** (1 / BETA)
        return float(_flux(np.log1p(-one_minus), BETA)) * one_minus / (BETA * t)

    total = quad(f, 1e-12, 1 - 1e-12, limit=200, epsrel=1e-9)[0]
    assert total == pytest.approx(1.0, abs=2e-6)


def sigma_by_quad(sqrt_s, sqrt_s_min):
    """σ = ∫ dτ H(τ) σ_Born(τ s), outer quad in t = ((1-τ)/(1-τ_min))^β."""
    s = sqrt_s**2
    tau_min = (sqrt_s_min / sqrt_s) ** 2
    beta = isr_beta(s)
    tau_z = PDG_2024.m_z**2 / s

    def f(t):
        one_minus = (1 - tau_min) * t ** (1 / beta)
        tau = 1 - one_minus
        flux = _flux(np.log1p(-one_minus), beta, n_nodes=96)
        return float(flux * born_cross_section(tau * s)) * one_minus / (beta * t)

    points = []
    if tau_min < tau_z < 1:
        points = [((1 - tau_z) / (1 - tau_min)) ** beta]
    return quad(f, 0, 1, points=points, limit=400, epsrel=1e-10)[0]


@pytest.mark.parametrize("sqrt_s_min", [10.0, 50.0, 170.0])
def test_isr_cross_section_matches_quadrature(sqrt_s_min):
    expected = sigma_by_quad(200.0, sqrt_s_min)
    np.testing.assert_allclose(
        isr_cross_section(200.0, sqrt_s_min=sqrt_s_min), expected, rtol=1e-7
    )


@pytest.mark.slow
def test_distributions_integrate_to_the_cross_section():
    sigma = isr_cross_section(200.0, sqrt_s_min=50.0)
    m_z = PDG_2024.m_z
    by_mass = sum(
        quad(lambda m: float(isr_dsigma_dmass(m, 200.0)), lo, hi, limit=200)[0]
        for lo, hi in [(50.0, m_z), (m_z, 199.0), (199.0, 200.0 - 1e-9)]
    )
    assert by_mass == pytest.approx(sigma, rel=2e-6)
    x, w = np.polynomial.legendre.leggauss(8)  # dσ/dcos θ* is quadratic
    np.testing.assert_allclose(
        np.sum(w * isr_dsigma_dcos(x, 200.0, sqrt_s_min=50.0)), sigma, rtol=1e-12
    )


def test_radiative_return_integrand_is_the_convolution():
    f = RadiativeReturn(200.0, sqrt_s_min=50.0)
    # integrate out w, cos θ*, φ by Gauss-Legendre at fixed t: H(τ) |dτ/dt| σ_Born
    t = np.array([0.1, 0.5, 0.9, f.ridge()[0]])
    w, ww = np.polynomial.legendre.leggauss(64)
    w, ww = 0.25 * (w + 1), 0.25 * ww  # [0, 1/2]; the integrand is symmetric in w
    c, wc = np.polynomial.legendre.leggauss(4)
    c, wc = 0.5 * (c + 1), 0.5 * wc
    for ti in t:
        grid = np.stack(np.meshgrid([ti], w, c, [0.3], indexing="ij"), -1).reshape(
            -1, 4
        )
        inner = 2 * np.sum(f(grid) * np.outer(ww, wc).ravel())
        k = f.kinematics(grid[:1])
        tau = k["tau"][0]
        one_minus = 1 - tau
        dtau = one_minus / (f.beta * ti)
        expected = isr_flux(tau, S) * dtau * born_cross_section(tau * S)
        np.testing.assert_allclose(inner, expected, rtol=1e-8)


def test_radiative_return_monte_carlo_mean():
    f = RadiativeReturn(200.0, sqrt_s_min=50.0)
    rng = np.random.default_rng(1)
    u = rng.uniform(size=(400_000, 4))
    # the Z channel's own density makes the plain estimate's error honest
    values = f(u)
    pull = (values.mean() - f.integral) / (values.std() / np.sqrt(len(u)))
    assert abs(pull) < 4


@pytest.mark.parametrize("sqrt_s", [200.0, 202.6])
def test_radiative_return_is_finite_on_the_soft_edge(sqrt_s):
    # t = 0 is the soft end tau = 1, where the flattened integrand has a
    # finite limit: the same value as just inside (it once gave 0 * inf = NaN)
    f = RadiativeReturn(sqrt_s)
    edge = np.array([[0.0, w, 0.3, 0.2] for w in (0.0, 0.3, 0.5, 1.0)])
    inside = edge + [1e-12, 0, 0, 0]
    np.testing.assert_allclose(f(edge), f(inside), rtol=1e-9)
    assert np.all(f(edge) > 0)


def test_momenta_conserve_energy_and_give_the_kinematics():
    f = RadiativeReturn(200.0)
    u = np.random.default_rng(2).uniform(size=(1000, 4))
    p = f.momenta(u)
    np.testing.assert_allclose(
        p.sum(axis=1), np.tile([200.0, 0, 0, 0], (1000, 1)), atol=1e-9
    )
    k = f.kinematics(u)
    pair = p[:, 0] + p[:, 1]
    mass = np.sqrt(pair[:, 0] ** 2 - np.sum(pair[:, 1:] ** 2, axis=1))
    np.testing.assert_allclose(mass, k["mass"], rtol=1e-9)
    # back in the μμ frame, the μ- direction gives cos θ*
    y = 0.5 * np.log(k["x1"] / k["x2"])
    mu = p[:, 0]
    pz_rest = mu[:, 3] * np.cosh(y) - mu[:, 0] * np.sinh(y)
    np.testing.assert_allclose(pz_rest / (0.5 * k["mass"]), k["cos"], atol=1e-9)
    particles = f.lhe_particles(u[0])
    assert [q["id"] for q in particles] == [11, -11, 13, -13, 22, 22]


def test_bad_inputs():
    with pytest.raises(ValueError, match="sqrt_s_min"):
        RadiativeReturn(200.0, sqrt_s_min=250.0)
    with pytest.raises(ValueError, match="shape"):
        RadiativeReturn(200.0)(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="tau"):
        isr_flux(1.5, S)
