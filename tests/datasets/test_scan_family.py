"""The procedural scan-problem family and the coverage metric against exact truth."""

import pickle
import time

import numpy as np
import pytest
from scipy import stats
from scipy.sparse.csgraph import connected_components
from sklearn.neighbors import kneighbors_graph

from skhep_ml import ActiveScanner
from skhep_ml.datasets import (
    SCAN_FAMILY_KINDS,
    EllipsoidRegion,
    PeriodicRegion,
    ShellRegion,
    TruthClusters,
    ideal_coverage,
    make_scan_family,
    piece_coverage,
    scan_coverage,
    surrogate_recall_precision,
)


def first_problem(kind, *, dims=(2, 3), min_fraction=2e-3, min_pieces=1):
    """The first seed's problem of ``kind`` with a fraction a plain MC resolves."""
    for seed in range(200):
        problem = make_scan_family(seed, kind=kind, dims=dims)
        if problem.volume_fraction >= min_fraction and problem.n_pieces >= min_pieces:
            return problem
    raise AssertionError(f"no {kind} problem found")


LOW_D = {kind: first_problem(kind) for kind in SCAN_FAMILY_KINDS}
MULTI = {
    kind: first_problem(kind, min_pieces=2)
    for kind in ("periodic", "ellipsoids", "shells", "relic")
}


def in_band(problem, X):
    low, high = problem.target
    values = problem.objective(X)
    return (values >= low) & (values <= high)


def uniform(problem, n, seed):
    return problem.from_unit(np.random.default_rng(seed).random((n, problem.n_dim)))


# ----------------------------------------------------------------- truth
@pytest.mark.parametrize("kind", SCAN_FAMILY_KINDS)
def test_contains_is_the_objective_in_its_band(kind):
    problem = LOW_D[kind]
    X = np.vstack([uniform(problem, 20_000, 0), problem.sample_truth(2000, 1)])
    assert np.array_equal(problem.contains(X), in_band(problem, X))
    assert problem.objective(X).shape == (len(X),)
    # outside the box nothing is in the region, whatever the formula gives
    outside = X + (problem.bounds[:, 1] - problem.bounds[:, 0])
    assert not problem.contains(outside).any()


@pytest.mark.parametrize("kind", SCAN_FAMILY_KINDS)
@pytest.mark.parametrize("n_dims", [2, 6, 10])
def test_sample_truth_is_inside_and_labelled(kind, n_dims):
    problem = make_scan_family(7, kind=kind, n_dims=n_dims)
    X = problem.sample_truth(5000, random_state=0)
    assert X.shape == (5000, n_dims)
    assert problem.contains(X).all()
    piece = problem.piece_of(X)
    assert piece.min() >= 0 and piece.max() < problem.n_pieces
    assert (
        problem.piece_of(uniform(problem, 2000, 3))[
            ~problem.contains(uniform(problem, 2000, 3))
        ]
        == -1
    ).all()


@pytest.mark.parametrize("kind", ["periodic", "ellipsoids", "shells", "relic"])
def test_piece_shares_match_exact_volumes(kind):
    problem = MULTI[kind]
    n = 40_000
    counts = np.bincount(
        problem.piece_of(problem.sample_truth(n, 2)), minlength=problem.n_pieces
    )
    expected = n * np.asarray(problem.piece_shares)
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, problem.n_pieces - 1) > 1e-4
    assert np.isclose(np.sum(problem.piece_shares), 1.0)
    assert np.isclose(problem.piece_volumes.sum(), problem.volume_fraction)


@pytest.mark.parametrize("kind", SCAN_FAMILY_KINDS)
def test_sample_truth_is_uniform_like_plain_rejection(kind):
    # the same distribution as uniform box points that fall in the region
    problem = LOW_D[kind]
    X_box = uniform(problem, 400_000, 4)
    X_box = X_box[problem.contains(X_box)][:3000]
    X_truth = problem.sample_truth(len(X_box), 5)
    U_box, U_truth = problem.to_unit(X_box), problem.to_unit(X_truth)
    p_values = [
        stats.ks_2samp(U_box[:, i], U_truth[:, i]).pvalue for i in range(problem.n_dim)
    ]
    p_values.append(
        stats.ks_2samp(problem.objective(X_box), problem.objective(X_truth)).pvalue
    )
    assert min(p_values) > 1e-3 / len(p_values)


def test_uniform_inside_an_ellipsoid_and_a_shell():
    # Mahalanobis radius r of a uniform ball point: r^d ~ U(0, 1)
    ell = make_scan_family(3, kind="ellipsoids", n_dims=5)
    U = ell.to_unit(ell.sample_truth(20_000, 0))
    r = ell._radii(U).min(axis=1)
    assert stats.kstest(r**5, "uniform").pvalue > 1e-3
    shell = make_scan_family(3, kind="shells", n_dims=4)
    U = shell.to_unit(shell.sample_truth(20_000, 0))
    ratio = shell._ratios(U).min(axis=1)
    low, high = shell.target
    assert (
        stats.kstest((ratio**4 - low**4) / (high**4 - low**4), "uniform").pvalue > 1e-3
    )


@pytest.mark.parametrize("kind", SCAN_FAMILY_KINDS)
def test_volume_fraction_matches_plain_monte_carlo(kind):
    problem = LOW_D[kind]
    n = 400_000
    hits = problem.contains(uniform(problem, n, 6)).mean()
    sigma = np.hypot(np.sqrt(hits * (1 - hits) / n), problem.volume_fraction_error)
    assert abs(hits - problem.volume_fraction) < 5 * sigma
    assert problem.volume_fraction_error < 0.01 * problem.volume_fraction


def test_periodic_pieces_by_hand():
    # phases in [0, 2π]^2: quarter rings at the four corners, a full ring in the middle
    problem = PeriodicRegion([[0.0, 1.0], [0.0, 1.0]], [0, 0], [4, 4], (0.4, 0.6), "p")
    assert problem.n_pieces == 5
    assert np.allclose(np.sort(problem.piece_shares), [0.125] * 4 + [0.5])
    # the cosine toy's band of arXiv:2207.09959
    assert np.allclose(problem.target, [(2.4) ** 5, (2.6) ** 5])
    # aligned on whole cells: two full rings on the diagonal
    problem = PeriodicRegion(
        [[0.0, 1.0], [0.0, 1.0]], [-1, -1], [4, 4], (0.4, 0.6), "p"
    )
    assert problem.n_pieces == 2
    assert np.allclose(problem.piece_shares, [0.5, 0.5])


@pytest.mark.parametrize("kind", ["periodic", "ellipsoids", "shells", "relic"])
def test_pieces_are_the_connected_components(kind):
    # components of a nearest-neighbour graph of a dense 2-d truth sample
    problem = first_problem(kind, dims=(2, 2), min_pieces=2)
    X = problem.sample_truth(6000, 7)
    graph = kneighbors_graph(problem.to_unit(X), 8, include_self=False)
    n_comp, labels = connected_components(graph, directed=False)
    assert n_comp == problem.n_pieces
    piece = problem.piece_of(X)
    for c in range(n_comp):
        assert len(np.unique(piece[labels == c])) == 1


def test_ellipsoids_are_disjoint():
    for seed in range(6):
        problem = make_scan_family(seed, kind="ellipsoids")
        radii = problem._radii(problem.to_unit(problem.sample_truth(5000, seed)))
        assert ((radii <= 1.0).sum(axis=1) == 1).all()


def test_exact_shell_and_ellipsoid_volumes():
    unit = [[0.0, 1.0], [0.0, 1.0]]
    disc = EllipsoidRegion(unit, [[0.5, 0.5]], [np.eye(2)], [[0.2, 0.1]], "e")
    assert np.isclose(disc.volume_fraction, np.pi * 0.02)
    ring = ShellRegion(unit, [[0.5, 0.5]], [0.3], 0.1, "s")
    assert np.isclose(ring.volume_fraction, np.pi * (0.33**2 - 0.27**2))


# -------------------------------------------------------------- the draw
def test_reproducible_by_seed_and_picklable():
    X = np.random.default_rng(0).random((50, 4))
    for kind in SCAN_FAMILY_KINDS:
        a = make_scan_family(11, kind=kind, n_dims=4)
        b = pickle.loads(pickle.dumps(make_scan_family(11, kind=kind, n_dims=4)))
        c = make_scan_family(12, kind=kind, n_dims=4)
        Xa = a.from_unit(X)
        assert a.name == b.name == f"{kind}-4d-seed11"
        assert np.array_equal(a.objective(Xa), b.objective(Xa))
        assert np.array_equal(a.bounds, b.bounds)
        assert np.array_equal(a.sample_truth(20, 1), b.sample_truth(20, 1))
        assert not np.array_equal(a.bounds, c.bounds)
        assert pickle.loads(pickle.dumps(a.objective))(Xa).shape == (50,)


def test_draws_span_the_family():
    problems = [make_scan_family(seed) for seed in range(15)]
    assert len({p.kind for p in problems}) >= 4
    for p in problems:
        assert 2 <= p.n_dim <= 10 and p.bounds.shape == (p.n_dim, 2)
        assert 1 <= p.n_pieces <= 30 and 0 < p.volume_fraction < 0.5
        if p.kind == "periodic":
            assert 2 <= p.n_pieces
    assert make_scan_family(3, dims=(5, 5)).n_dim == 5


def test_bad_input_is_a_clear_value_error():
    with pytest.raises(ValueError, match="kind"):
        make_scan_family(0, kind="torus")
    with pytest.raises(ValueError, match="dimension"):
        make_scan_family(0, n_dims=11)
    problem = make_scan_family(0, n_dims=3)
    with pytest.raises(ValueError, match="shape"):
        problem.contains(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        problem.sample_truth(-1)
    with pytest.raises(ValueError, match="n_clusters"):
        TruthClusters(problem, n_clusters=0)
    with pytest.raises(ValueError, match="p_band"):
        PeriodicRegion([[0, 1], [0, 1]], [0, 0], [2, 2], (0.0, 0.5), "p")


# -------------------------------------------------------------- coverage
@pytest.fixture(scope="module")
def periodic():
    problem = MULTI["periodic"]
    return problem, TruthClusters(problem, n_clusters=128, random_state=0)


def test_coverage_of_truth_points_is_ideal(periodic):
    problem, clusters = periodic
    found = problem.sample_truth(1000, 99)
    ideal = ideal_coverage(problem, 1000, clusters=clusters)
    assert abs(scan_coverage(found, problem, clusters=clusters) - ideal) < 0.03
    assert ideal_coverage(problem, 20_000, clusters=clusters) > 0.99
    assert (
        scan_coverage(np.empty((0, problem.n_dim)), problem, clusters=clusters) == 0.0
    )
    outside = uniform(problem, 5000, 8)
    outside = outside[~problem.contains(outside)]
    assert scan_coverage(outside, problem, clusters=clusters) == 0.0


def test_coverage_of_one_piece_is_its_share(periodic):
    problem, clusters = periodic
    X = problem.sample_truth(20_000, 3)
    one = X[problem.piece_of(X) == 1]
    share = problem.piece_shares[1]
    assert abs(scan_coverage(one, problem, clusters=clusters) - share) < 0.01
    per_piece = piece_coverage(one, problem, clusters=clusters)
    assert per_piece[1] > 0.99 and np.all(np.delete(per_piece, 1) == 0)


def test_coverage_does_not_depend_on_the_number_of_clusters():
    problem = MULTI["ellipsoids"]
    X = problem.sample_truth(20_000, 3)
    piece = problem.piece_of(X)
    some = X[piece != 0]
    # half of the largest piece, cut through its median
    big = int(np.argmax(problem.piece_shares))
    U = problem.to_unit(X)
    in_big = piece == big
    half = X[in_big & (U[:, 0] < np.median(U[in_big, 0]))]
    values = []
    for k in (64, 128, 256):
        cells = TruthClusters(problem, n_clusters=k, random_state=1)
        n = 5 * k
        ratio = cells.coverage(X[:n]) / ideal_coverage(
            problem, n, clusters=cells, n_draws=3
        )
        values.append([cells.coverage(some), ratio, cells.coverage(half)])
    values = np.array(values)
    assert np.allclose(values[:, 0], 1 - problem.piece_shares[0], atol=0.01)
    assert np.allclose(values[:, 1], 1.0, atol=0.03)
    assert np.ptp(values[:, 2]) < 0.05


def test_recall_and_precision_against_the_truth():
    problem = LOW_D["shells"]
    recall, precision = surrogate_recall_precision(
        problem.contains, problem, n_points=2000
    )
    assert recall == 1.0 and precision == 1.0
    recall, precision = surrogate_recall_precision(
        lambda X: np.ones(len(X), bool), problem, n_points=2000
    )
    assert recall == 1.0
    assert abs(precision - (1 + problem.volume_fraction) / 2) < 0.03
    recall, precision = surrogate_recall_precision(
        lambda X: np.zeros(len(X), bool), problem, n_points=100
    )
    assert recall == 0.0 and np.isnan(precision)


# --------------------------------------------------------- ActiveScanner
def test_plugs_into_active_scanner():
    problem = make_scan_family(3, kind="periodic", n_dims=3)
    scan = ActiveScanner(
        objective=problem.objective,
        bounds=problem.bounds,
        target=problem.target,
        n_initial=200,
        n_per_iteration=100,
        n_candidates=2000,
        n_iterations=2,
        hidden_layer_sizes=(16,),
        max_epochs=20,
        epochs_per_iteration=5,
        random_state=0,
    ).fit()
    assert np.array_equal(scan.in_target_, problem.contains(scan.points_))
    assert scan_coverage(scan.points_[scan.in_target_], problem, n_clusters=32) > 0


# ------------------------------------------------------------------ slow
@pytest.mark.slow
def test_sampling_a_tiny_region_in_ten_dimensions_is_fast():
    for kind in SCAN_FAMILY_KINDS:
        problem = make_scan_family(5, kind=kind, n_dims=10)
        problem.piece_shares, problem.volume_fraction  # noqa: B018 (estimates done)
        start = time.perf_counter()
        X = problem.sample_truth(100_000, 0)
        assert time.perf_counter() - start < 2.0, kind
        assert problem.contains(X).all()


@pytest.mark.slow
def test_fifty_draws():
    problems = [make_scan_family(seed) for seed in range(50)]
    assert all(1 <= p.n_pieces <= 30 for p in problems)
    fractions = np.array([p.volume_fraction for p in problems])
    assert fractions.min() < 1e-3 and fractions.max() > 0.03


@pytest.mark.slow
def test_objective_through_process_based_joblib():
    from joblib import Parallel, delayed

    problem = make_scan_family(1, n_dims=4)
    X = uniform(problem, 100, 0)
    values = Parallel(n_jobs=2, backend="loky")(
        delayed(problem.objective)(chunk) for chunk in np.array_split(X, 2)
    )
    assert np.array_equal(np.concatenate(values), problem.objective(X))
