"""CalibratedRatio: a monotone distortion of the exact ratio is undone."""

import numpy as np
import pytest

from skhep_ml.datasets import make_simulator_family
from skhep_ml.ratio import CalibratedRatio


@pytest.fixture(scope="module")
def draw():
    sim = make_simulator_family(3, kinds=("interference", "squared"))
    x, _ = sim.sample(4000, [0.5, 0.5], random_state=5)
    grid = np.array([[0.5, 0.5], [-0.3, -0.3]])
    return sim, x, grid, sim.log_ratio_grid(x, grid)


def _simulate(sim):
    return lambda theta, n, rng: sim.sample(n, theta, random_state=rng)[0]


@pytest.mark.parametrize("method, bound", [("histogram", 0.02), ("isotonic", 0.015)])
def test_calibration_undoes_a_monotone_distortion(draw, method, bound):
    sim, x, grid, exact = draw

    def distorted(xq, g):  # a monotone function of the exact log ratio
        return np.tanh(sim.log_ratio_grid(xq, g))

    before = np.mean((distorted(x, grid) - exact) ** 2, axis=1)
    cal = CalibratedRatio(
        distorted,
        _simulate(sim),
        theta_ref=sim.theta_ref,
        n_calibration=10_000,
        method=method,
        random_state=0,
    )
    after = np.mean((cal.log_ratio_grid(x, grid) - exact) ** 2, axis=1)
    # measured: 0.77 / 0.29 -> 0.010 / 0.011 (histogram), 0.008 / 0.007
    assert np.all(after < bound) and np.all(after < 0.3 * before)
    assert len(cal.maps_) == 2
    cal.log_ratio_grid(x[:10], grid[:1])  # cached: no new map
    assert len(cal.maps_) == 2


def test_calibrating_the_exact_ratio_keeps_it(draw):
    sim, x, grid, exact = draw
    cal = CalibratedRatio(
        sim.log_ratio_grid, _simulate(sim), theta_ref=sim.theta_ref, random_state=0
    )
    assert np.mean((cal.log_ratio_grid(x, grid) - exact) ** 2) < 0.03


def test_calibration_errors(draw):
    sim = draw[0]
    with pytest.raises(ValueError, match="method must be"):
        CalibratedRatio(sim.log_ratio_grid, None, theta_ref=[0, 0], method="beta")
    with pytest.raises(ValueError, match="n_calibration must be"):
        CalibratedRatio(sim.log_ratio_grid, None, theta_ref=[0, 0], n_calibration=3)
