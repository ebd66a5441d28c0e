"""Where ActiveScanner looks next: the design, oversampling, the selection."""

import numpy as np
import pytest

from skhep_ml.scan._proposal import (
    ProposalSettings,
    initial_design,
    oversample,
    propose,
    sample_region,
    select_points,
)


@pytest.mark.parametrize("kind", ["random", "lhs"])
def test_initial_design_fills_the_cube_reproducibly(kind):
    U = initial_design(200, 3, kind, base_seed=7)
    assert U.shape == (200, 3) and ((U >= 0) & (U < 1)).all()
    np.testing.assert_array_equal(U, initial_design(200, 3, kind, base_seed=7))
    if kind == "lhs":  # one point per stratum in every dimension
        for j in range(3):
            assert len(np.unique(np.floor(U[:, j] * 200))) == 200


def test_propose_makes_the_selection_of_the_documented_shares():
    rng = np.random.default_rng(0)
    U = rng.uniform(size=(300, 2))
    inside = U[:, 0] > 0.7
    settings = ProposalSettings(
        n_per_iteration=100,
        n_candidates=2000,
        oversampler="smote",
        oversample_fraction=0.5,
        random_fraction=0.1,
        rectify_fraction=0.05,
        diversity=2.0,
    )
    U_new, origin = propose(
        settings, U, inside, lambda V: V[:, 0], 0.7, np.random.default_rng(1), 0
    )
    assert U_new.shape == (100, 2)
    counts = {o: int((origin == o).sum()) for o in ("select", "rectify", "random")}
    assert counts == {"select": 85, "rectify": 5, "random": 10}
    # the selected points are the candidates predicted in target
    assert (U_new[origin == "select", 0] >= 0.7).all()


def test_sample_region_keeps_only_points_above_the_threshold():
    rng = np.random.default_rng(0)
    U = sample_region(lambda V: V[:, 0], 0.9, 2, 500, rng, max_candidates=10**6)
    assert U.shape == (500, 2) and (U[:, 0] >= 0.9).all()
    with pytest.raises(ValueError, match="only 0 of"):
        sample_region(lambda V: V[:, 0], 2.0, 2, 1, rng, max_candidates=10)


@pytest.mark.parametrize("n_pos", [0, 1, 2, 3, 10])
def test_oversampling_with_few_positives(n_pos):
    rng = np.random.default_rng(0)
    U = rng.uniform(size=(50, 3))
    inside = np.zeros(50, dtype=bool)
    inside[:n_pos] = True
    new = oversample("smote", U, inside, 40, seed=0)  # the default oversampler
    if n_pos < 2:
        assert new.shape == (0, 3)
    else:
        assert new.shape == (40, 3)
        # SMOTE points lie on segments between in-target points: in their hull
        lo, hi = U[:n_pos].min(axis=0), U[:n_pos].max(axis=0)
        assert np.all((new >= lo - 1e-12) & (new <= hi + 1e-12))


def test_select_points_fills_up_and_rectifies_at_the_boundary():
    rng = np.random.default_rng(0)
    cand = rng.uniform(size=(200, 2))
    score = cand[:, 0]  # predicted inside where x > 0.9: 20-odd candidates
    inside = np.flatnonzero(score >= 0.9)
    chosen, rect = select_points(
        cand, score, 0.9, cand[:0], n_select=40, n_rectify=5, diversity=2.0, rng=rng
    )
    # every predicted-inside candidate, then the best-scored others
    assert set(inside) <= set(chosen) and len(chosen) == 40
    assert score[chosen].min() >= np.sort(score)[-40]
    # rectifying points: not chosen, among the 15 free ones nearest the threshold
    free = np.setdiff1d(np.arange(200), chosen)
    nearest = free[np.argsort(np.abs(score[free] - 0.9))[:15]]
    assert len(rect) == 5 and set(rect) <= set(nearest)


def test_select_points_prefers_candidates_far_from_known_inside_points():
    rng = np.random.default_rng(1)
    cand = rng.uniform(size=(5000, 2))
    score = np.ones(len(cand))
    known = np.array([[0.1, 0.1]])
    kwargs = dict(n_select=200, n_rectify=0, rng=np.random.default_rng(2))
    near_known = np.linalg.norm(cand - known, axis=1) < 0.3
    flat, _ = select_points(cand, score, 0.5, known, diversity=0.0, **kwargs)
    spread, _ = select_points(cand, score, 0.5, known, diversity=4.0, **kwargs)
    assert near_known[spread].mean() < 0.5 * near_known[flat].mean()
