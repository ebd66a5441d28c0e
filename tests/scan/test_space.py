"""The parameter box of ActiveScanner and its unit-cube map."""

import numpy as np
import pytest

from skhep_ml.scan._space import ParameterSpace, check_bounds, data_bounds


def test_unit_map_is_linear_or_log_linear_and_inverts():
    bounds, log = check_bounds([[0.0, 10.0], [1e-3, 1e3]], [False, True])
    space = ParameterSpace(bounds, log)
    X = np.array([[0.0, 1e-3], [5.0, 1.0], [10.0, 1e3]])
    np.testing.assert_allclose(
        space.to_unit(X), [[0, 0], [0.5, 0.5], [1, 1]], atol=1e-15
    )
    np.testing.assert_allclose(space.features(X)[:, 0], [-1, 0, 1])
    U = np.random.default_rng(0).uniform(size=(50, 2))
    np.testing.assert_allclose(space.to_unit(space.from_unit(U)), U, atol=1e-12)


def test_data_bounds_hold_the_data_with_margins():
    X = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 8.0]])
    bounds, log = data_bounds(X, [False, True])
    np.testing.assert_allclose(bounds[0], [0.9, 3.1])
    assert bounds[1, 0] == pytest.approx(0.95 * 2.0) and bounds[1, 1] > 8.0
    np.testing.assert_array_equal(log, [False, True])


@pytest.mark.parametrize(
    "bounds, log_scale, match",
    [
        ([0.0, 1.0], False, "shape"),
        ([[0.0, 1.0], [2.0, 1.0]], False, "low < high"),
        ([[0.0, np.inf]], False, "finite"),
        ([[-1.0, 1.0]], True, "positive bounds"),
        ([[1.0, 2.0]], [True, False], "one entry per dimension"),
    ],
)
def test_bad_bounds_are_named(bounds, log_scale, match):
    with pytest.raises(ValueError, match=match):
        check_bounds(bounds, log_scale)
