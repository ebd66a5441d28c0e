"""In-target labels and the selection score of ActiveScanner."""

import numpy as np
import pytest

from skhep_ml.scan._target import TargetRule, check_band, encode_binary_labels


def test_band_score_is_the_likelihood_and_its_edge_the_threshold():
    rule = TargetRule((80.0, 120.0))
    values = np.array([79.0, 80.0, 100.0, 120.0, 121.0])
    np.testing.assert_array_equal(rule.label(values), [0, 1, 1, 1, 0])
    score = rule.score(values)
    assert score[2] == 1.0  # the centre of the band
    # chi2 = ((O - 100) / 20)^2: exp(-1/2) at the edges, where the threshold is
    np.testing.assert_allclose(score[[1, 3]], np.exp(-0.5))
    np.testing.assert_array_equal(score >= rule.threshold, rule.label(values))
    np.testing.assert_array_equal(rule.training_target(values), values)


def test_classification_scores_the_probability():
    rule = TargetRule(None)
    p = np.array([0.2, 0.5, 0.9])
    np.testing.assert_array_equal(rule.score(p), p)
    np.testing.assert_array_equal(rule.label([0.0, 1.0]), [False, True])
    np.testing.assert_array_equal(rule.training_target([0.0, 1.0]), [0.0, 1.0])
    assert rule.threshold == 0.5


def test_target_validation():
    assert check_band(None) is None and check_band("classification") is None
    assert check_band([1, 2]) == (1.0, 2.0)
    with pytest.raises(ValueError, match="low < high"):
        check_band((2.0, 1.0))
    with pytest.raises(ValueError, match="must be"):
        check_band("band")
    classes, y = encode_binary_labels(np.array(["out", "in", "in"]))
    np.testing.assert_array_equal(classes, ["in", "out"])
    np.testing.assert_array_equal(y, [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="Only binary"):
        encode_binary_labels(np.array([0, 1, 2]))
