"""The binned contact-interaction χ² against direct quadrature."""

import numpy as np
import pytest

from skhep_ml.physics import ContactFit, isr_cross_section, isr_dsigma_dcos


@pytest.fixture(scope="module")
def fit():
    return ContactFit(cos_edges=[-1.0, 0.0, 1.0], mass_edges=[50.0, 170.0, 200.0])


def test_bins_add_up_to_the_cross_section(fit):
    np.testing.assert_allclose(fit.sm.sum(), isr_cross_section(200.0, sqrt_s_min=50.0))
    # forward bin of the exclusive sample, directly
    x, w = np.polynomial.legendre.leggauss(4)
    c = 0.5 * (x + 1)
    forward = 0.5 * np.sum(w * isr_dsigma_dcos(c, 200.0, sqrt_s_min=170.0))
    assert fit.sm[3] == pytest.approx(forward, rel=1e-12)


def test_polynomial_is_exact_at_any_coupling(fit):
    eps = np.array([[0.07, -0.03, 0.2, -0.11]])
    x, w = np.polynomial.legendre.leggauss(4)
    direct = []
    for lo, hi in ((50.0, 170.0), (170.0, 200.0)):
        for sign in (-1, 1):  # backward, forward
            c = sign * 0.5 * (x + 1)
            above = [
                0.5 * np.sum(w * isr_dsigma_dcos(c, 200.0, sqrt_s_min=m, eps=eps[0]))
                if m < 200.0
                else 0.0
                for m in (lo, hi)
            ]
            direct.append(above[0] - above[1])
    np.testing.assert_allclose(fit.predict(eps)[0], direct, rtol=1e-10)


def test_chi2_vanishes_at_the_sm_and_grows(fit):
    eps = np.zeros((3, 4))
    eps[1, 0] = 0.01
    eps[2, 0] = 0.05
    chi2 = fit.chi2(eps)
    assert chi2[0] == 0.0 and 0 < chi2[1] < chi2[2]
    problem = fit.scan_problem()
    assert problem.target == (0.0, pytest.approx(9.4877, abs=1e-4))


def test_bad_inputs():
    with pytest.raises(ValueError, match="luminosity"):
        ContactFit(luminosity=0.0)
    with pytest.raises(ValueError, match="increase"):
        ContactFit(cos_edges=[0.0, -1.0])
    with pytest.raises(ValueError, match="shape"):
        ContactFit(cos_edges=[-1.0, 1.0], mass_edges=[50.0, 200.0]).predict(np.zeros(4))
