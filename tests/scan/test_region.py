"""Candidates over the predicted region (hit-and-run), steps along a thin piece,
the selection's streams and the warm start's learning-rate decay."""

import numpy as np
import pytest

from skhep_ml.scan._explore import find_pieces, local_candidates
from skhep_ml.scan._proposal import STREAMS, allocate
from skhep_ml.scan._region import chord, region_candidates
from skhep_ml.scan._surrogate import IterationCosine

CENTRE, RADIUS, HALF = np.array([0.5, 0.5, 0.5]), 0.3, 0.004


def shell_score(U):
    """1 inside a thin spherical shell (the 'surrogate' knows it exactly)."""
    r = np.linalg.norm(U - CENTRE, axis=1)
    return (np.abs(r - RADIUS) <= HALF).astype(float)


def test_chord_ends_on_the_faces_of_the_cube():
    rng = np.random.default_rng(0)
    U = rng.random((500, 4))
    v = rng.standard_normal((500, 4))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    lo, hi = chord(U, v)
    assert (lo <= 0).all() and (hi >= 0).all()
    for t in (lo, hi):
        end = U + t[:, None] * v
        assert (end >= -1e-12).all() and (end <= 1 + 1e-12).all()
        # each end lies on a face
        on_face = np.isclose(end, 0, atol=1e-9) | np.isclose(end, 1, atol=1e-9)
        assert on_face.any(axis=1).all()


def test_region_candidates_cover_a_thin_shell_from_one_cap():
    rng = np.random.default_rng(1)
    # 30 known points in a cap of 15 degrees around +x (0.1 % of the shell)
    g = np.column_stack([np.ones(30), 0.1 * rng.standard_normal((30, 2))])
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    starts = CENTRE + RADIUS * g
    cand = region_candidates(shell_score, 0.5, starts, 6000, rng)
    # (a chain that stays adds none: on a thin shell about 40 % of the steps move)
    assert 0.25 * 6000 < len(cand) <= 6000 and cand.shape[1] == 3
    # every candidate is in the predicted region, none repeats
    assert (shell_score(cand) == 1).all()
    assert len(np.unique(cand, axis=0)) == len(cand)
    # uniform on the shell: each octant around the centre holds an eighth
    octant = ((cand - CENTRE) > 0) @ np.array([1, 2, 4])
    share = np.bincount(octant, minlength=8) / len(cand)
    assert share.min() > 0.125 / 2 and share.max() < 0.125 * 2
    # the far hemisphere holds half, as a uniform draw of the shell would
    assert abs(np.mean(cand[:, 0] < 0.5) - 0.5) < 0.1


def test_region_candidates_without_starts_or_budget():
    rng = np.random.default_rng(2)
    assert region_candidates(shell_score, 0.5, np.empty((0, 3)), 10, rng).shape == (
        0,
        3,
    )
    assert region_candidates(shell_score, 0.5, CENTRE[None], 0, rng).shape == (0, 3)


def test_local_steps_follow_a_thin_piece():
    rng = np.random.default_rng(3)
    # a thin segment along (1, 1, 0): 1000 points within 1e-4 of its axis
    axis = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)
    s = rng.uniform(0.1, 0.9, 1000)
    U = 0.05 + s[:, None] * axis * 0.9 + 1e-4 * rng.standard_normal((1000, 3))
    pieces = find_pieces(U, rng)
    cand = local_candidates(pieces, 3000, rng)
    base = 0.05 + np.outer((cand - 0.05) @ axis, axis)
    across = np.linalg.norm(cand - base, axis=1)
    # as thin across as the piece (isotropic steps of its linking radius,
    # ~4e-3 here, would not be), spread over all of its length
    assert np.quantile(across, 0.9) < 5e-4
    t, t_known = (cand - 0.05) @ axis, (U - 0.05) @ axis
    assert np.ptp(t) > 0.95 * np.ptp(t_known)
    assert np.quantile(np.abs(t - np.median(t)), 0.9) > 0.25


def test_allocate_explores_as_far_as_the_efficiency_floor_allows():
    measured = {"select": 1.0, "extend": 0.9, "explore": 0.5, "random": 0.0}
    avail = dict.fromkeys(STREAMS, 1000)
    counts = allocate(90, avail, measured, 0.8, {"random": 10}, 100)
    assert sum(counts.values()) == 90
    expected = sum(counts[st] * measured[st] for st in STREAMS)
    assert expected >= 80 - 1e-9  # 0.8 of the 100 points
    # one more exploring point in place of a filling one would break the floor
    assert expected - (measured["select"] - measured["explore"]) < 80
    assert counts["explore"] > counts["extend"]
    # no floor to keep: every point explores that may (as many as there are)
    # (each other stream keeps K / 50 = 2 points, so its efficiency stays measured)
    assert allocate(90, avail, measured, 0.0, {"random": 10}, 100)["explore"] == 86
    few = dict(avail, explore=7)
    assert allocate(90, few, measured, 0.0, {"random": 10}, 100)["explore"] == 7
    # an impossible floor: each stream keeps K / 50, the rest fills in
    strict = allocate(90, avail, measured, 1.0, {"random": 10}, 100)
    assert strict == {"explore": 2, "extend": 2, "select": 86}


class _Net:
    def __init__(self, lr):
        self.optimizer_ = type("O", (), {"param_groups": [{"lr": lr}]})()


@pytest.mark.parametrize("floor", [0.0, 0.1, 0.5])
def test_iteration_cosine_decays_each_training_call_from_lr_to_its_floor(floor):
    net, cb = _Net(0.0), IterationCosine(1e-3, 10, floor=floor)
    for _ in range(2):  # every fit / partial_fit restarts at lr
        cb.on_train_begin(net)
        lrs = []
        for _ in range(10):
            cb.on_epoch_begin(net)
            lrs.append(net.optimizer_.param_groups[0]["lr"])
        lrs = np.array(lrs)
        assert lrs[0] == pytest.approx(1e-3)
        assert np.all(np.diff(lrs) < 0) and np.all(lrs >= floor * 1e-3)
        # the last epoch is within 3 % of lr's range above the floor
        assert lrs[-1] - floor * 1e-3 < 0.03 * (1 - floor) * 1e-3
        # a cosine between lr and the floor
        shape = 0.5 * (1 + np.cos(np.pi * np.arange(10) / 10))
        np.testing.assert_allclose(lrs, 1e-3 * (floor + (1 - floor) * shape))


def test_iteration_cosine_keeps_the_default_learning_rate_above_zero():
    net, cb = _Net(0.0), IterationCosine(1e-3, 10)
    cb.on_train_begin(net)
    for _ in range(20):  # past its epochs too
        cb.on_epoch_begin(net)
        assert net.optimizer_.param_groups[0]["lr"] > 0.05e-3


def test_min_efficiency_labels_the_streams_and_is_validated(tmp_path):
    from scan_settings import SMALL

    from skhep_ml import ActiveScanner
    from skhep_ml.scan._store import EvaluationStore

    store = tmp_path / "scan.sqlite"
    scan = ActiveScanner(**dict(SMALL, n_iterations=3), min_efficiency=0.9, store=store)
    scan.fit()
    with EvaluationStore(store, 3) as st:
        data = st.load()
    later = data["origin"][data["iteration"] >= 2]
    # every stream keeps its K / 50 points once the floor applies
    for stream in STREAMS:
        assert (later == stream).sum() >= 2
    assert scan.n_evaluations_ == 200 + 3 * 100
    with pytest.raises(ValueError, match="min_efficiency"):
        ActiveScanner(**SMALL, min_efficiency=1.5).fit()
