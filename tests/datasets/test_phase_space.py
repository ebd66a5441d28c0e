"""Massless phase space: the unit-box map and RAMBO against exact results."""

import itertools
import math

import numpy as np
import pytest

from skhep_ml.datasets import (
    pair_invariants,
    phase_space_points,
    phase_space_volume,
    rambo,
)

SQRT_S = 91.2


def _uniform(n, d, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, d))


def _assert_physical(momenta, sqrt_s, tol=1e-12):
    total = momenta.sum(axis=1)
    np.testing.assert_allclose(total[:, 0], sqrt_s, rtol=tol)
    np.testing.assert_allclose(total[:, 1:], 0.0, atol=tol * sqrt_s)
    mass2 = momenta[..., 0] ** 2 - np.sum(momenta[..., 1:] ** 2, axis=-1)
    np.testing.assert_allclose(mass2, 0.0, atol=tol * sqrt_s**2)
    assert np.all(momenta[..., 0] >= 0)


def test_volume_formula_known_values():
    # Φ_2 = 1/(8π), Φ_3 = s/(256 π^3), Φ_4 = s^2/(24576 π^5)
    assert phase_space_volume(2) == pytest.approx(1 / (8 * math.pi), rel=1e-14)
    assert phase_space_volume(3, 2.0) == pytest.approx(4 / (256 * math.pi**3))
    assert phase_space_volume(4, 2.0) == pytest.approx(16 / (24576 * math.pi**5))


@pytest.mark.parametrize("n_final", [3, 4])
def test_map_conserves_momentum_and_is_massless(n_final):
    X = _uniform(20_000, 3 * n_final - 4)
    momenta, weight = phase_space_points(X, n_final, SQRT_S)
    assert momenta.shape == (20_000, n_final, 4) and weight.shape == (20_000,)
    _assert_physical(momenta, SQRT_S)
    assert np.all(weight >= 0)


@pytest.mark.parametrize("n_final", [3, 4])
def test_map_is_finite_on_the_corners_of_the_box(n_final):
    corners = np.array(list(itertools.product([0.0, 1.0], repeat=3 * n_final - 4)))
    momenta, weight = phase_space_points(corners, n_final)
    assert np.all(np.isfinite(momenta)) and np.all(np.isfinite(weight))
    _assert_physical(momenta, 1.0)


@pytest.mark.parametrize("n_final", [2, 3, 4, 5])
def test_rambo_conserves_momentum_and_is_massless(n_final):
    momenta, weight = rambo(_uniform(5000, 4 * n_final), SQRT_S)
    # RAMBO's boost of the sum to rest loses a few digits
    _assert_physical(momenta, SQRT_S, tol=1e-10)
    np.testing.assert_allclose(weight, phase_space_volume(n_final, SQRT_S))


@pytest.mark.parametrize(("n_final", "y_cut"), [(3, 0.0), (3, 0.05), (4, 0.0)])
def test_map_weight_integrates_to_the_exact_volume(n_final, y_cut):
    X = _uniform(200_000, 3 * n_final - 4, seed=1)
    _, weight = phase_space_points(X, n_final, SQRT_S, y_cut=y_cut)
    # the cut n = 3 region is the simplex shrunk by (1 - 3 y_cut) per side
    exact = phase_space_volume(n_final, SQRT_S) * (1 - 3 * y_cut) ** 2
    error = weight.std() / np.sqrt(len(weight))
    assert abs(weight.mean() - exact) < 5 * error


@pytest.mark.parametrize("n_final", [3, 4])
def test_map_and_rambo_agree_on_an_asymmetric_observable(n_final):
    # ∫ f dΦ of an observable that is not symmetric in the partons: checks the
    # shape of the weight, not just its integral
    def observable(momenta):
        y = pair_invariants(momenta) / SQRT_S**2
        return y[:, 0, 1] ** 2 * y[:, 0, 2] + momenta[:, 0, 3] ** 2 / SQRT_S**2

    n = 200_000
    p_map, w_map = phase_space_points(_uniform(n, 3 * n_final - 4, 2), n_final, SQRT_S)
    p_rambo, w_rambo = rambo(_uniform(n, 4 * n_final, 3), SQRT_S)
    f_map, f_rambo = observable(p_map) * w_map, observable(p_rambo) * w_rambo
    error = np.hypot(f_map.std(), f_rambo.std()) / np.sqrt(n)
    assert abs(f_map.mean() - f_rambo.mean()) < 5 * error


def test_three_body_map_gives_the_dalitz_variables_and_the_cut():
    X = _uniform(10_000, 5, seed=4)
    y_cut = 0.02
    momenta, _ = phase_space_points(X, 3, SQRT_S, y_cut=y_cut)
    y = pair_invariants(momenta) / SQRT_S**2
    x = 2 * momenta[..., 0] / SQRT_S
    # massless 3-body: y_jk = 1 - x_i
    np.testing.assert_allclose(y[:, 1, 2], 1 - x[:, 0], atol=1e-12)
    np.testing.assert_allclose(y[:, 0, 2], 1 - x[:, 1], atol=1e-12)
    np.testing.assert_allclose(y[:, 0, 1], 1 - x[:, 2], atol=1e-12)
    np.testing.assert_allclose(y[:, 1, 2], y_cut + (1 - 3 * y_cut) * (1 - X[:, 0]))
    pairs = y[:, [0, 0, 1], [1, 2, 2]]
    assert pairs.min() >= y_cut - 1e-12
    # the Euler angle cos β is the polar angle of p1
    cos_p1 = momenta[:, 0, 3] / np.linalg.norm(momenta[:, 0, 1:], axis=1)
    np.testing.assert_allclose(cos_p1, 2 * X[:, 3] - 1, atol=1e-10)


def test_four_body_map_gives_the_cluster_masses():
    X = _uniform(10_000, 8, seed=5)
    momenta, _ = phase_space_points(X, 4, SQRT_S)
    s = pair_invariants(momenta)
    mu12, mu34 = X[:, 0] * (1 - X[:, 1]), X[:, 0] * X[:, 1]
    np.testing.assert_allclose(s[:, 0, 1], (mu12 * SQRT_S) ** 2, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(s[:, 2, 3], (mu34 * SQRT_S) ** 2, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n_final", [3, 4])
def test_pair_invariants_are_the_pair_masses(n_final):
    momenta, _ = rambo(_uniform(1000, 4 * n_final, 6), SQRT_S)
    s = pair_invariants(momenta)
    metric = np.array([1.0, -1.0, -1.0, -1.0])
    for i, j in itertools.combinations(range(n_final), 2):
        pair = momenta[:, i] + momenta[:, j]
        mass2 = np.sum(pair**2 * metric, axis=-1)
        np.testing.assert_allclose(s[:, i, j], mass2, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(s[:, i, j], s[:, j, i])
    # massless: the pair invariants add up to s
    i, j = np.triu_indices(n_final, k=1)
    np.testing.assert_allclose(s[:, i, j].sum(axis=1), SQRT_S**2, rtol=1e-10)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: phase_space_points(np.full((2, 5), 0.5), 5), "n_final must be 3 or 4"),
        (lambda: phase_space_points(np.full((2, 4), 0.5), 3), r"shape \(n, 5\)"),
        (lambda: phase_space_points(np.full((2, 5), 1.5), 3), "unit box"),
        (lambda: phase_space_points(np.full((2, 5), 0.5), 3, -1.0), "sqrt_s"),
        (lambda: phase_space_points(np.full((2, 5), 0.5), 3, y_cut=0.4), "y_cut"),
        (lambda: phase_space_points(np.full((2, 8), 0.5), 4, y_cut=0.01), "y_cut"),
        (lambda: rambo(np.full((2, 7), 0.5)), "4 \\* n_final"),
        (lambda: rambo(np.zeros((2, 8))), r"\(0, 1\]"),
        (lambda: phase_space_volume(1), "n_final"),
        (lambda: pair_invariants(np.zeros((2, 3, 3))), "shape"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
