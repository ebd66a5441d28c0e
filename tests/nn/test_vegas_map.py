"""The VEGAS-grid map: exactness against the vegas package, inverse, Jacobian."""

import numpy as np
import pytest
import torch
import vegas

from skhep_ml.nn.vegas import VegasMap, reduce_grid


def _adapted_map(d=2, ninc=16, seed=0):
    rng = np.random.default_rng(seed)
    amap = vegas.AdaptiveMap([[0.0, 1.0]] * d, ninc=ninc)
    for _ in range(3):
        y = rng.uniform(size=(2000, d))
        x, jac = np.empty_like(y), np.empty(len(y))
        amap.map(y, x, jac)
        f = np.exp(-((x - 0.3) ** 2).sum(1) / 0.01)
        amap.add_training_data(y, (f * jac) ** 2)
        amap.adapt(alpha=0.5)
    return amap


def test_matches_vegas_adaptive_map_exactly():
    amap = _adapted_map()
    grid = np.asarray(amap.grid)
    m = VegasMap(grid)
    y = np.random.default_rng(1).uniform(size=(500, 2))
    x_ref, jac_ref = np.empty_like(y), np.empty(len(y))
    amap.map(y, x_ref, jac_ref)
    x, logj = m(torch.as_tensor(y))
    np.testing.assert_allclose(x.numpy(), x_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.exp(logj.numpy()), jac_ref, rtol=1e-10)


def test_inverse_and_jacobian_against_autograd():
    m = VegasMap(np.asarray(_adapted_map(d=3, ninc=8).grid))
    y = torch.rand(20, 3, dtype=torch.float64)
    x, logj = m(y)
    y_back, logj_inv = m.inverse(x)
    torch.testing.assert_close(y_back, y)
    torch.testing.assert_close(logj + logj_inv, torch.zeros(20, dtype=torch.float64))
    for i in range(3):
        J = torch.autograd.functional.jacobian(lambda t: m(t[None])[0][0], y[i])
        assert torch.logdet(J).item() == pytest.approx(logj[i].item(), abs=1e-10)


def test_density_integrates_to_one():
    m = VegasMap(np.asarray(_adapted_map().grid))
    # density of the map on a fine grid of x, integrated by the midpoint rule
    t = (np.arange(400) + 0.5) / 400
    X = np.stack(np.meshgrid(t, t), -1).reshape(-1, 2)
    dens = np.exp(m.log_density(torch.as_tensor(X)).numpy())
    assert dens.mean() == pytest.approx(1.0, abs=5e-3)


def test_reduce_grid_keeps_equal_probability_nodes():
    grid = np.asarray(_adapted_map(ninc=16).grid)
    reduced = reduce_grid(grid, 4)
    np.testing.assert_allclose(reduced, grid[:, ::4])
    # a non-divisor interpolates the piecewise-linear map exactly
    m = VegasMap(grid)
    reduced = reduce_grid(grid, 5)
    y = torch.as_tensor(np.tile(np.linspace(0, 1, 6), (2, 1)).T)
    np.testing.assert_allclose(m(y)[0].numpy().T, reduced, atol=1e-12)
    with pytest.raises(ValueError, match="n_bins"):
        reduce_grid(grid, 17)


def test_identity_and_bad_grids():
    m = VegasMap(n_dims=2)
    y = torch.rand(5, 2, dtype=torch.float64)
    x, logj = m(y)
    torch.testing.assert_close(x, y)
    assert torch.all(logj == 0)
    with pytest.raises(ValueError, match="increasing"):
        VegasMap([[0.0, 0.5, 0.5, 1.0]])
    with pytest.raises(ValueError, match="grid or n_dims"):
        VegasMap()
