"""The SQLite evaluation store of ActiveScanner."""

import numpy as np
import pytest

from skhep_ml.scan._store import EvaluationStore, point_keys


def test_round_trip_and_order(tmp_path):
    path = tmp_path / "s.sqlite"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 2))
    with EvaluationStore(path, 2) as st:
        seq = st.propose(X, 1, ["select"] * 7)
        np.testing.assert_array_equal(seq, np.arange(7))
        # chunks may come back in any order; the store keeps proposal order
        st.add(
            seq[4:], X[4:], [1.0, np.nan, 3.0], [None, None, "boom"], 1, ["select"] * 3
        )
        st.add(seq[:4], X[:4], [0.0, 1.0, 2.0, 3.0], [None] * 4, 1, ["select"] * 4)
    with EvaluationStore(path, 2) as st:
        data = st.load()
        assert len(st) == 7
        assert st.pending()[0].size == 0
    np.testing.assert_array_equal(data["X"], X)
    np.testing.assert_array_equal(data["failed"], [0, 0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(data["value"][:5], [0, 1, 2, 3, 1])
    assert np.isnan(data["value"][5:]).all()
    assert data["error"][5:] == ["value is not finite", "boom"]
    np.testing.assert_array_equal(data["iteration"], np.ones(7))


def test_pending_known_and_duplicates(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    with EvaluationStore(tmp_path / "s.sqlite", 2) as st:
        seq = st.propose(np.vstack([X, X[:2]]), 0, ["initial"] * 8)
        np.testing.assert_array_equal(seq, [0, 1, 2, 3, 4, 5, -1, -1])
        st.add(seq[:2], X[:2], [1.0, 2.0], [None, None], 0, ["initial"] * 2)
        pseq, pX, pit, porig = st.pending()
        np.testing.assert_array_equal(pseq, [2, 3, 4, 5])
        np.testing.assert_array_equal(pX, X[2:])
        assert st.known(point_keys(X)) == set(point_keys(X[:2]))
        # proposing again gives nothing new
        assert (st.propose(X, 1, ["select"] * 6) == -1).all()
        assert st.next_seq() == 6


def test_dimension_mismatch_and_memory_store(tmp_path):
    path = tmp_path / "s.sqlite"
    EvaluationStore(path, 3).close()
    with pytest.raises(ValueError, match="3-dimensional points"):
        EvaluationStore(path, 2)
    with EvaluationStore(None, 2) as st:
        assert len(st) == 0 and st.next_seq() == 0


def test_point_keys_identify_float64_bytes():
    X = np.array([[0.1, 0.2], [0.1, 0.2 + 1e-16], [0.1, 0.2]])
    keys = point_keys(X)
    assert keys[0] == keys[2] and keys[0] != keys[1]
