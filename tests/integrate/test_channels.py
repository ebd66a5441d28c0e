"""Channel mappings: exact Jacobians, inverses, and the ridges they flatten."""

import math

import numpy as np
import pytest
import torch

from skhep_ml import NeuralImportanceIntegrator
from skhep_ml.datasets import make_integrand_family
from skhep_ml.integrate import BreitWignerMapping, CombinationBreitWignerMapping

#: (coefficients, mass, width, squared): directions of mixed signs, a zero
#: entry, an axis, and a squared mass of a sum of inputs
CASES = [
    ([0.6, -0.8, 0.0], 0.1, 0.02, False),
    ([0.3, 0.5, -0.4, 0.7], 0.55, 0.005, False),
    ([0.0, 1.0], 0.3, 0.01, False),
    ([1.0, 1.0, 0.0], 0.8, 0.05, True),
    ([0.5, 1.0, 0.25, 0.7], 1.2, 0.02, True),
]


def _mapping(case):
    a, mass, width, squared = case
    return CombinationBreitWignerMapping(a, mass, width, squared=squared)


@pytest.mark.parametrize("case", CASES)
def test_log_jacobian_is_the_numerical_determinant(case):
    m = _mapping(case)
    d = len(case[0])
    u = torch.rand(
        25, d, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    u = 0.02 + 0.96 * u  # away from the clamped faces
    _, logj = m(u)
    for row, lj in zip(u, logj):
        J = torch.autograd.functional.jacobian(lambda v: m(v[None])[0][0], row)
        assert lj.item() == pytest.approx(math.log(abs(torch.linalg.det(J))), abs=1e-7)


@pytest.mark.parametrize("case", CASES)
def test_inverse_undoes_forward_with_the_inverse_jacobian(case):
    m = _mapping(case)
    u = torch.rand(1000, len(case[0]), dtype=torch.float64)
    x, logj = m(u)
    assert torch.all((x >= 0) & (x <= 1))
    back, logj_inv = m.inverse(x)
    torch.testing.assert_close(back, u, atol=1e-9, rtol=0)
    torch.testing.assert_close(logj_inv, -logj, atol=1e-7, rtol=1e-9)
    # float32 in, float32 out (computed in float64 inside)
    x32, logj32 = m(u.float())
    assert x32.dtype == logj32.dtype == torch.float32


@pytest.mark.parametrize("case", CASES)
def test_mapped_density_integrates_to_one(case):
    # the density of x = M(u), u uniform, is |du/dx|: its mean over uniform
    # points of the box is its integral
    m = _mapping(case)
    x = torch.rand(400_000, len(case[0]), dtype=torch.float64,
                   generator=torch.Generator().manual_seed(1))  # fmt: skip
    q = torch.exp(m.inverse(x)[1]).numpy()
    assert abs(q.mean() - 1) < 5 * q.std() / math.sqrt(len(q))


def test_an_axis_is_the_one_coordinate_breit_wigner():
    u = torch.rand(500, 3, dtype=torch.float64)
    axis = BreitWignerMapping(3, axis=1, mass=0.4, width=0.03)
    comb = CombinationBreitWignerMapping([0, 2.0, 0], mass=0.8, width=0.06)
    for a, b in zip(axis(u), comb(u)):
        torch.testing.assert_close(a, b)


def test_resonance_times_jacobian_is_flat_along_the_pivot():
    # f = 1 / ((s - m²)² + m²Γ²) in s = t², t = a·x: f |dx/du| 2t (the
    # resonance in ds = 2t dt) does not depend on u_k at fixed other inputs
    a = torch.tensor([0.5, 1.0, 0.25], dtype=torch.float64)
    m = CombinationBreitWignerMapping(a, mass=1.0, width=0.01, squared=True)
    u = torch.rand(200, 3, dtype=torch.float64)

    def flat(u):
        x, logj = m(u)
        t = x @ a
        return torch.exp(logj) * 2 * t / ((t**2 - 1.0) ** 2 + 0.01**2)

    u2 = u.clone()
    u2[:, m.pivot] = torch.rand(200, dtype=torch.float64)
    torch.testing.assert_close(flat(u), flat(u2), rtol=1e-8, atol=0)


def test_bad_coefficients_raise():
    with pytest.raises(ValueError, match="not all zero"):
        CombinationBreitWignerMapping([0.0, 0.0], 0.5, 0.01)
    with pytest.raises(ValueError, match="width"):
        CombinationBreitWignerMapping([1.0, 0.0], 0.5, 0.0)
    with pytest.raises(ValueError, match="non-negative"):
        CombinationBreitWignerMapping([1.0, -1.0], 0.5, 0.01, squared=True)


def _ridge(seed, d):
    f = make_integrand_family(seed, n_dims=d, n_components=1, kinds=["ridge"])
    c = f.components[0]
    return f, CombinationBreitWignerMapping(c["direction"], c["offset"], c["scale"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mapping_alone_integrates_a_random_ridge(seed):
    # a Breit-Wigner ridge along a random direction in 5-d, exact integral 1:
    # through the mapping the weights are f |dx/du|, smooth (they vary only
    # with how much of the ridge the other inputs leave in reach); uniform
    # points see the ridge only by chance
    f, m = _ridge(seed, 5)
    u = torch.rand(
        20_000, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )
    x, logj = m(u)
    w = f(x.numpy()) * np.exp(logj.numpy())
    plain = f(u.numpy())
    assert abs(w.mean() - 1) < 4 * w.std() / math.sqrt(len(w))
    assert w.std() < 0.2 * plain.std()


def test_integrator_with_the_mapping_integrates_a_random_ridge():
    f, m = _ridge(3, 6)
    kw = dict(max_evaluations=20_000, n_iter=4, random_state=0)
    with_map = NeuralImportanceIntegrator(integrand=f, channels=[m], **kw).fit()
    value, error = with_map.result_
    assert abs(value - 1) < 4 * error and error < 0.01
    without = NeuralImportanceIntegrator(integrand=f, **kw).fit()
    assert error < 0.3 * without.result_.error
