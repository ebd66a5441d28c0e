"""ROOT trees: reading branches, streaming writes, exact round trips."""

import json
import math
import sys

import numpy as np
import pytest

from skhep_ml import FlowDensity
from skhep_ml.io import (
    estimator_metadata,
    iterate_root,
    read_metadata,
    read_root,
    write_root,
    write_samples,
    write_scan,
)

uproot = pytest.importorskip("uproot")


@pytest.fixture(scope="module")
def hzz():
    """The real HZZ file of scikit-hep-testdata (downloaded once if missing)."""
    skhep_testdata = pytest.importorskip("skhep_testdata")
    try:
        return skhep_testdata.data_path("uproot-HZZ.root")
    except Exception as exc:  # no network and not cached
        pytest.skip(f"uproot-HZZ.root unavailable: {exc}")


BRANCHES = ["MET_px", "MET_py"]


def test_read_root_real_file_matches_uproot(hzz):
    X, w = read_root(hzz, BRANCHES, weight="EventWeight")
    with uproot.open(hzz) as f:
        truth = f["events"].arrays([*BRANCHES, "EventWeight"], library="np")
    assert X.shape == (2421, 2) and X.dtype == np.float64
    for j, b in enumerate(BRANCHES):
        np.testing.assert_array_equal(X[:, j], truth[b])
    np.testing.assert_array_equal(w, truth["EventWeight"])


def test_read_root_list_of_files_cut_and_libraries(hzz):
    X, w = read_root([hzz, hzz], BRANCHES, tree="events")
    X1, _ = read_root(hzz, BRANCHES)
    np.testing.assert_array_equal(X, np.vstack([X1, X1]))
    assert w is None
    Xc, _ = read_root(hzz, BRANCHES, cut="MET_px > 0")
    np.testing.assert_array_equal(Xc, X1[X1[:, 0] > 0])
    ak_X, _ = read_root(hzz, BRANCHES, library="ak")
    assert ak_X.fields == BRANCHES
    pytest.importorskip("pandas")
    df, _ = read_root(hzz, BRANCHES, library="pd")
    assert list(df.columns) == BRANCHES
    np.testing.assert_array_equal(df.to_numpy(), X1)


def test_estimator_fits_on_branches_and_keeps_their_names(hzz):
    X, w = read_root(hzz, BRANCHES, weight="EventWeight", library="ak")
    flow = FlowDensity(
        n_transforms=1, bins=4, hidden_layer_sizes=(8,), max_epochs=1, random_state=0
    ).fit(X, sample_weight=w)
    assert list(flow.feature_names_in_) == BRANCHES
    assert np.isfinite(flow.score_samples(X)).all()


def test_iterate_root_chunks_concatenate_to_read_root(hzz):
    chunks = list(
        iterate_root([hzz, hzz], BRANCHES, weight="EventWeight", step_size=1000)
    )
    X, w = read_root([hzz, hzz], BRANCHES, weight="EventWeight")
    assert len(chunks) >= math.ceil(2 * 2421 / 1000)
    assert all(len(c[0]) <= 1000 for c in chunks)
    np.testing.assert_array_equal(np.vstack([c[0] for c in chunks]), X)
    np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), w)


def test_jagged_branch_and_bad_arguments_are_clear_errors(hzz):
    with pytest.raises(ValueError, match="jagged"):
        read_root(hzz, ["Jet_Px"])
    with pytest.raises(ValueError, match="list of names"):
        read_root(hzz, "MET_px")
    with pytest.raises(ValueError, match="library"):
        read_root(hzz, BRANCHES, library="polars")
    with pytest.raises(ValueError, match="empty"):
        read_root([], BRANCHES)


def test_write_root_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(1)
    X, w = rng.normal(size=(1003, 3)), rng.exponential(size=1003)
    flags = rng.random(1003) < 0.5
    meta = {"integral": 0.1 + 0.2, "seed": 7, "note": "ä ± 1", "nested": {"a": [1, 2]}}
    path = tmp_path / "x.root"
    n = write_root(
        path,
        X,
        sample_weight=w,
        branches={"flag": flags},
        feature_names=["a", "b", "c"],
        metadata=meta,
        chunk_size=100,
    )
    assert n == 1003
    Xr, wr = read_root(path, ["a", "b", "c"], weight="weight")
    np.testing.assert_array_equal(Xr, X)
    np.testing.assert_array_equal(wr, w)
    with uproot.open(path) as f:
        tree = f["events"]
        assert tree["a"].num_baskets == 11  # streamed in chunks of 100
        np.testing.assert_array_equal(tree["flag"].array(library="np"), flags)
    assert read_metadata(path) == meta


def test_write_root_default_names_float32_and_errors(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    write_root(tmp_path / "f.root", X, compression=None)
    with uproot.open(tmp_path / "f.root") as f:
        assert set(f["events"].keys()) == {"x0", "x1"}
        assert f["events"]["x0"].array(library="np").dtype == np.float32
    assert read_metadata(tmp_path / "f.root") == {}
    with pytest.raises(ValueError, match="distinct names"):
        write_root(tmp_path / "g.root", X, feature_names=["a", "a"])
    with pytest.raises(ValueError, match="shape"):
        write_root(tmp_path / "g.root", X, sample_weight=np.ones(5))
    with pytest.raises(ValueError, match="chunk_size"):
        write_root(tmp_path / "g.root", X, chunk_size=0)
    with pytest.raises(ValueError, match="compression"):
        write_root(tmp_path / "g.root", X, compression="snappy")


def test_write_samples_of_a_density_streams_the_same_draws(tmp_path, density):
    path = tmp_path / "flow.root"
    n = write_samples(path, density, 250, random_state=3, chunk_size=100)
    assert n == 250
    rng = np.random.RandomState(3)
    expected = np.vstack([density.sample(m, random_state=rng) for m in (100, 100, 50)])
    X, w = read_root(path, ["pt", "eta"])
    np.testing.assert_array_equal(X, expected)
    meta = read_metadata(path)
    assert meta["seed"] == 3 and meta["estimator"] == "FlowDensity"
    assert meta["params"] == json.loads(json.dumps(density.get_params(deep=False)))


@pytest.mark.parametrize("unweighted", [False, True])
def test_write_samples_of_an_integrator_keeps_weights_and_integral(
    tmp_path, integrator, unweighted
):
    path = tmp_path / "nis.root"
    n = write_samples(
        path, integrator, 400, random_state=0, chunk_size=150, unweighted=unweighted
    )
    rng = np.random.RandomState(0)
    draws = [
        integrator.sample(m, random_state=rng, unweighted=unweighted)
        for m in (150, 150, 100)
    ]
    X, w = read_root(path, ["x0", "x1"], weight="weight")
    assert n == len(X)
    np.testing.assert_array_equal(X, np.vstack([d[0] for d in draws]))
    np.testing.assert_array_equal(w, np.concatenate([d[1] for d in draws]))
    meta = read_metadata(path)
    assert meta["integral"] == integrator.integral_
    assert meta["integral_error"] == integrator.integral_error_
    assert meta["sample_kwargs"] == {"unweighted": unweighted}
    assert meta["params"]["integrand"].endswith("gaussian_bump")


def test_write_scan_round_trip(tmp_path, scanner):
    path = tmp_path / "scan.root"
    assert write_scan(path, scanner) == len(scanner.points_)
    X, _ = read_root(path, ["x0", "x1"])
    np.testing.assert_array_equal(X, scanner.points_)
    with uproot.open(path) as f:
        arrays = f["scan"].arrays(["value", "in_target"], library="np")
    np.testing.assert_array_equal(arrays["value"], scanner.values_)
    np.testing.assert_array_equal(arrays["in_target"], scanner.in_target_)
    assert read_metadata(path) == json.loads(json.dumps(estimator_metadata(scanner)))


def test_missing_extra_names_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "uproot", None)
    with pytest.raises(ImportError, match=r"pip install 'skhep_ml\[hep\]'"):
        write_root(tmp_path / "x.root", np.zeros((2, 1)))
