"""The scan benchmark runs end to end (--smoke) and its toy has exact truth."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))


@pytest.mark.slow
def test_cosine_toy_has_13_equal_pieces():
    from bench_scan import CosineToy

    toy = CosineToy()
    assert toy.n_pieces == 13
    np.testing.assert_allclose(toy.piece_shares, 1 / 13, rtol=0.02)
    X = toy.sample_truth(2000, random_state=0)
    assert toy.contains(X).all()
    counts = np.bincount(toy.piece_of(X), minlength=13)
    assert counts.min() > 0.5 * 2000 / 13
    # about 7.4 % of the box is in the band
    U = np.random.default_rng(1).random((200_000, 3))
    frac = toy.contains(toy.from_unit(U)).mean()
    assert abs(frac - toy.volume_fraction) < 5 * np.sqrt(frac / 200_000)


@pytest.mark.slow
def test_scan_benchmark_smoke_run(bench_smoke):
    pytest.importorskip("emcee")
    pytest.importorskip("dynesty")
    run = bench_smoke("bench_scan.py", timeout=600)
    records, out = run("scan.json"), run.out
    assert {r["method"] for r in records} == {
        "random",
        "emcee",
        "dynesty",
        "MLscanner-GBM",
        "ActiveScanner",
    }
    for r in records:
        assert 0 <= r["coverage"] <= 1
    assert "Median / worst decile" in (out / "scan.rst").read_text()
