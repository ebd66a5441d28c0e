"""The exploration aids of ActiveScanner: pieces, local candidates, tree votes."""

import numpy as np

from skhep_ml.scan._explore import (
    disagreement,
    find_pieces,
    local_candidates,
    reflect_into_cube,
    tree_votes,
)
from skhep_ml.scan._proposal import (
    ProposalSettings,
    _shares,
    propose,
    select_points,
)


def two_blobs(rng, n=(300, 60)):
    """Points in two balls of radius 0.05 at (0.2, 0.2) and (0.8, 0.7)."""
    out = []
    for centre, m in zip(([0.2, 0.2], [0.8, 0.7]), n):
        g = rng.standard_normal((m, 2))
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        out.append(centre + g * 0.05 * np.sqrt(rng.random((m, 1))))
    return np.vstack(out), np.repeat([0, 1], n)


def test_find_pieces_tells_separate_blobs_apart():
    rng = np.random.default_rng(0)
    U, truth = two_blobs(rng)
    pieces = find_pieces(U, rng)
    assert pieces.n_pieces == 2
    # the labels are the blobs (up to naming)
    assert len(np.unique(pieces.labels[truth == 0])) == 1
    assert len(np.unique(pieces.labels[truth == 1])) == 1
    assert pieces.labels[0] != pieces.labels[-1]
    assert pieces.radii.max() < 0.5  # the gap between the blobs is not bridged
    # a blob sampled 25 times more sparsely is still one piece, apart
    U2, truth2 = two_blobs(rng, n=(500, 20))
    sparse = find_pieces(U2, rng)
    assert sparse.n_pieces == 2
    assert sparse.radii[sparse.labels[-1]] > sparse.radii[sparse.labels[0]]
    # one blob is one piece; fewer than two points are none
    assert find_pieces(U[truth == 0], rng).n_pieces == 1
    assert find_pieces(U[:1], rng) is None
    # the radius is capped by the spacing of all the calls
    assert find_pieces(U, rng, n_evaluated=10**6).radii.max() <= 10**-3


def test_local_candidates_share_equally_among_pieces():
    rng = np.random.default_rng(1)
    U, _ = two_blobs(rng, n=(600, 60))
    pieces = find_pieces(U, rng)
    assert pieces.n_pieces == 2
    cand = local_candidates(pieces, 4000, rng)
    assert cand.shape == (4000, 2) and ((cand >= 0) & (cand <= 1)).all()
    piece, dist = pieces.assign(cand)
    counts = np.bincount(piece, minlength=2)
    # the small blob gets half the candidates although it holds 9 % of the points
    assert abs(counts[0] - 2000) < 5 * np.sqrt(1000)
    assert np.median(dist) < 2 * pieces.radii.max()
    assert local_candidates(None, 10, rng).shape[0] == 0


def test_tree_votes_and_disagreement():
    rng = np.random.default_rng(2)
    U = rng.random((2000, 2))
    inside = U[:, 0] > 0.5
    cand = np.array([[0.05, 0.5], [0.95, 0.5], [0.5, 0.5]])
    p = tree_votes(U, inside, cand, seed=0)
    assert p[0] < 0.1 and p[1] > 0.9
    u = disagreement(p)
    assert u[2] > u[0] and u[2] > u[1]
    np.testing.assert_allclose(disagreement(np.array([0.0, 0.5, 1.0])), [0, 1, 0])
    # one label only: no disagreement
    np.testing.assert_array_equal(tree_votes(U, np.zeros(2000, bool), cand, 0), 0)


def test_shares_split_exactly():
    out = _shares(10, [1.0, 1.0, 1.0])
    assert out.sum() == 10 and out.max() - out.min() <= 1
    np.testing.assert_array_equal(_shares(7, [0.0, 1.0]), [0, 7])


def test_balanced_selection_serves_a_piece_the_surrogate_misses():
    rng = np.random.default_rng(3)
    U_in, truth = two_blobs(rng, n=(400, 60))
    pieces = find_pieces(U_in, rng)
    assert pieces.n_pieces == 2
    cand = np.vstack([rng.random((3000, 2)), local_candidates(pieces, 3000, rng)])
    # the surrogate knows the big blob (and a wide region around it) only
    score = np.exp(-np.sum((cand - [0.2, 0.2]) ** 2, axis=1) / 0.02)
    threshold = np.exp(-0.5)
    chosen, rect = select_points(
        cand,
        score,
        threshold,
        U_in,
        n_select=100,
        n_rectify=0,
        diversity=2.0,
        rng=rng,
        pieces=pieces,
    )
    assert len(chosen) + len(rect) == 100
    assert len(np.intersect1d(chosen, rect)) == 0
    small = pieces.labels[truth == 1][0]
    piece, dist = pieces.assign(cand[rect])
    # the small blob's share went to its candidates nearest its known points
    # (half of 100 split equally among the two pieces and the far region)
    assert len(rect) >= 100 // 6 and (piece == small).all()
    assert (dist <= 2 * pieces.radii[small]).all()
    # without balancing, every point goes to the predicted region
    plain, rect0 = select_points(
        cand, score, threshold, U_in, n_select=100, n_rectify=0, diversity=2.0, rng=rng
    )
    assert len(rect0) == 0 and (score[plain] >= threshold).all()


def test_propose_adds_unsure_points_where_labels_are_mixed():
    rng = np.random.default_rng(4)
    U = rng.random((400, 2))
    inside = U[:, 0] > 0.7
    settings = ProposalSettings(
        n_per_iteration=100,
        n_candidates=2000,
        oversampler="smote",
        oversample_fraction=0.5,
        random_fraction=0.1,
        rectify_fraction=0.05,
        diversity=2.0,
        unsure_fraction=0.4,
        balance_pieces=True,
    )
    U_new, origin = propose(
        settings, U, inside, lambda V: V[:, 0], 0.7, np.random.default_rng(1), 0
    )
    counts = {o: int((origin == o).sum()) for o in ("unsure", "random")}
    assert counts == {"unsure": 40, "random": 10}
    assert len(U_new) == 100
    # the disputed points are where the trees disagree: near x0 = 0.7
    u_unsure = disagreement(tree_votes(U, inside, U_new[origin == "unsure"], 0))
    u_uniform = disagreement(tree_votes(U, inside, rng.random((2000, 2)), 0))
    assert u_unsure.mean() > 1.5 * u_uniform.mean()
    distance = np.abs(U_new[origin == "unsure", 0] - 0.7)
    assert np.median(distance) < 0.5 * np.median(np.abs(rng.random(2000) - 0.7))


def test_local_candidates_of_a_piece_on_a_face_stay_strictly_inside():
    rng = np.random.default_rng(4)
    # a piece touching the faces x0 = 0 and x1 = 1: half its steps leave the cube
    U = np.c_[0.02 * rng.random(400), 1.0 - 0.02 * rng.random(400)]
    pieces = find_pieces(U, rng)
    cand = local_candidates(pieces, 4000, rng)
    assert ((cand > 0) & (cand < 1)).all()  # none on the bounds
    # reflected, not piled up: the candidates near the face are spread out
    assert len(np.unique(cand[:, 0])) == len(cand)
    np.testing.assert_allclose(
        reflect_into_cube(np.array([-0.1, 1.2, 0.3])), [0.1, 0.8, 0.3]
    )
