"""The benchmark runner: its loop, records and ratio statistics, on known values."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import runner  # noqa: E402
from runner import Method, Problem, Ratio  # noqa: E402


def family(seed):
    """A toy family: the exact answer is the seed itself."""
    return Problem("toy", data=seed, draw=seed, truth={"answer": float(seed)})


def guess(offset, calls):
    """A method whose error is ``offset`` on every draw; it logs its calls."""

    def fn(problem, budget, seed):
        calls.append((problem.draw, budget, offset))
        return {"error": offset, "value": problem.truth["answer"] + offset}

    return fn


# ---------------------------------------------------------------- statistics
def test_distribution_lower_is_better():
    d = runner.distribution(np.arange(1.0, 11.0), higher_is_better=False, goal=3)
    assert d["n"] == 10
    assert d["median"] == pytest.approx(5.5)
    assert d["worst_decile"] == pytest.approx(9.1)  # the 90 % quantile
    assert d["worst"] == 10
    assert d["met"] == 3  # 1, 2, 3 <= 3


def test_distribution_higher_is_better():
    d = runner.distribution(np.arange(1.0, 11.0), higher_is_better=True, goal=8)
    assert d["median"] == pytest.approx(5.5)
    assert d["worst_decile"] == pytest.approx(1.9)  # the 10 % quantile
    assert d["worst"] == 1
    assert d["met"] == 3  # 8, 9, 10 >= 8


def test_distribution_drops_nan_and_handles_empty():
    d = runner.distribution([2.0, math.nan, 4.0], higher_is_better=False)
    assert d["n"] == 2 and d["median"] == 3 and d["met"] == 0
    empty = runner.distribution([math.nan], higher_is_better=True, goal=1)
    assert empty["n"] == 0 and math.isnan(empty["median"])


def test_ratio_goal_direction():
    lower = Ratio("r", "error", "a", "b", goal=1.0)
    higher = Ratio("r", "eff", "a", "b", higher_is_better=True, goal=1.0)
    assert lower.met(0.5) and lower.met(1.0) and not lower.met(1.5)
    assert higher.met(1.5) and not higher.met(0.5)
    assert not lower.met(math.nan)
    assert not Ratio("r", "error", "a", "b").met(0.1)  # no goal


# ---------------------------------------------------------------------- loop
def test_run_interleaves_methods_per_draw_and_budget():
    calls, warm = [], []
    methods = [
        Method("a", guess(1.0, calls), warmup=lambda: warm.append(len(calls))),
        Method("b", guess(2.0, calls)),
        Method("c", guess(3.0, calls), applies=lambda p: p.draw != 1),
    ]
    records = runner.run(runner.draw(family, [0, 1]), methods, [10, 20], log=None)
    assert warm == [0]  # once, before the first draw
    assert [(r["draw"], r["budget"], r["method"]) for r in records] == [
        (0, 10, "a"), (0, 10, "b"), (0, 10, "c"),
        (0, 20, "a"), (0, 20, "b"), (0, 20, "c"),
        (1, 10, "a"), (1, 10, "b"),
        (1, 20, "a"), (1, 20, "b"),
    ]  # fmt: skip
    assert len(calls) == len(records)
    assert all(r["run_s"] >= 0 and r["seed"] == 0 for r in records)
    assert records[0]["value"] == 1.0 and records[-1]["value"] == 3.0  # draw 1 + 2


def test_fixed_task_is_a_family_of_one():
    task = Problem("fixed", data=1)
    assert runner.draw(runner.fixed(task), [0, 5, 7]) == [task] * 3


def test_run_rejects_duplicate_method_names():
    m = Method("a", guess(1.0, []))
    with pytest.raises(ValueError, match="unique"):
        runner.run([family(0)], [m, m], log=None)


# -------------------------------------------------------------------- ratios
def records_of(errors_by_method, draws=(0, 1, 2, 3)):
    """Records of given errors: ``{method: [error of draw 0, 1, ...]}``."""
    return [
        dict(seed=0, problem="toy", draw=d, budget=None, method=m, error=e[i])
        for i, d in enumerate(draws)
        for m, e in errors_by_method.items()
    ]


def test_ratios_against_the_best_of_several_peers():
    records = records_of(
        {
            "ours": [1.0, 2.0, 3.0, 4.0],
            "p1": [2.0, 2.0, 1.0, 8.0],
            "p2": [4.0, 1.0, 6.0, 2.0],
        }
    )
    rows = runner.ratios(records, Ratio("r", "error", "ours", ("p1", "p2")))
    assert [r["value"] for r in rows] == [0.5, 2.0, 3.0, 2.0]
    assert [r["reference"] for r in rows] == ["p1", "p2", "p1", "p2"]
    # higher is better: the best peer is the largest
    rows = runner.ratios(
        records, Ratio("r", "error", "ours", ("p1", "p2"), higher_is_better=True)
    )
    assert [r["value"] for r in rows] == [0.25, 1.0, 0.5, 0.5]


def test_ratio_picks_the_variant_by_another_metric():
    records = [
        dict(seed=0, problem="t", draw=0, budget=1, method=m, error=e, eff=f)
        for m, e, f in [("v1", 1.0, 0.1), ("v2", 2.0, 0.9), ("peer", 1.0, 0.2)]
    ]
    spec = Ratio("eff", "eff", ("v1", "v2"), "peer", True, pick_by="error")
    (row,) = runner.ratios(records, spec)
    assert row["method"] == "v1"  # the most accurate variant, not the most efficient
    assert row["value"] == pytest.approx(0.5)


def test_ratios_take_numpy_scalars():
    """In-memory records hold numpy counts (np.int64), JSON ones plain ints."""
    records = [
        dict(seed=0, problem="t", draw=0, budget=None, method=m, calls=np.int64(c))
        for m, c in [("ours", 100), ("peer", 400)]
    ]
    (row,) = runner.ratios(records, Ratio("r", "calls", "ours", "peer"))
    assert row["value"] == pytest.approx(0.25)


def test_ratios_skip_draws_without_the_reference():
    records = records_of({"ours": [1.0, 2.0]}, draws=(0, 1))
    records += records_of({"peer": [2.0]}, draws=(0,))
    rows = runner.ratios(records, Ratio("r", "error", "ours", "peer"))
    assert [(r["draw"], r["value"]) for r in rows] == [(0, 0.5)]


def test_tables_of_draws_and_distribution():
    records = records_of({"ours": [1.0, 2.0, 3.0, 4.0], "peer": [2.0, 2.0, 2.0, 2.0]})
    specs = [
        Ratio("error", "error", "ours", "peer", goal=1.0),
        Ratio("inverse", "error", "peer", "ours", higher_is_better=True, goal=1.0),
    ]
    rows = runner.draw_rows(records, specs)
    assert [r["draw"] for r in rows] == [0, 1, 2, 3]
    assert [r["error"] for r in rows] == [0.5, 1.0, 1.5, 2.0]
    assert [r["inverse"] for r in rows] == [2.0, 1.0, 2 / 3, 0.5]
    error, inverse = runner.distribution_rows(records, specs)
    assert error["better"] == "lower" and error["met"] == "2/4"
    assert error["median"] == pytest.approx(1.25)
    assert error["worst_decile"] == pytest.approx(np.quantile([0.5, 1, 1.5, 2], 0.9))
    assert inverse["better"] == "higher" and inverse["met"] == "2/4"
    assert inverse["worst_decile"] == pytest.approx(
        np.quantile([2, 1, 2 / 3, 0.5], 0.1)
    )
    assert inverse["worst"] == 0.5


# ---------------------------------------------------------------------- JSON
def test_records_round_trip_through_json(tmp_path):
    out = tmp_path / "records.json"

    def fn(problem, budget, seed):
        return {"mse": np.float64(0.25), "ci": (1, 2), "_array": np.ones(3)}

    records = runner.run(
        runner.draw(family, [3]), [Method("m", fn)], [5], out=out, log=None
    )
    assert records[0]["_array"].shape == (3,)  # kept in the process
    env, loaded = runner.load(out)
    assert env["torch"] and env["numpy"] == np.__version__
    assert "torch_threads" in env and "machine" in env
    (rec,) = loaded
    assert rec["mse"] == 0.25 and rec["ci"] == [1, 2] and "_array" not in rec
    assert runner.key(rec) == (0, "toy", 3, 5, "m")
    assert json.loads(out.read_text())["records"] == loaded


def test_merge_keeps_the_other_records(tmp_path):
    out = tmp_path / "records.json"
    m = Method("m", lambda p, b, s: {"value": b})
    runner.run([family(0)], [m], [1, 2], out=out, log=None)
    runner.run([family(0)], [Method("m", lambda p, b, s: {"value": 10 * b})], [2],
               out=out, merge=True, log=None)  # fmt: skip
    values = {r["budget"]: r["value"] for r in runner.load(out)[1]}
    assert values == {1: 1, 2: 20}


def test_load_rejects_other_json(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"a|1|b": {"x": 1}}))
    with pytest.raises(ValueError, match="no runner records"):
        runner.load(path)


def test_smoke_output_is_not_the_docs():
    assert runner.output_dir(False) == runner.DOCS_BENCH
    smoke = runner.output_dir(True)
    assert smoke.is_dir() and smoke != runner.DOCS_BENCH


# --------------------------------------------------------------------- smoke
@pytest.mark.slow
def test_integration_benchmark_smoke_run(bench_smoke):
    pytest.importorskip("vegas")
    pytest.importorskip("madnis")
    run = bench_smoke("bench_integration.py", timeout=600)
    records, out = run("integration.json"), run.out
    assert {r["method"] for r in records} == {
        "vegas",
        "madnis",
        "madnis-mc",
        "skhep_ml",
        "skhep_ml-mc",
    }
    # one family draw and one fixed task, every run with its exact pull
    assert {r["problem"] for r in records} == {"family_d2-4", "resonances_d3"}
    assert all(r["calls"] <= 5000 for r in records)
    page = (out / "integration.rst").read_text()
    assert "Distribution of the ratios" in page and "Pulls and warnings" in page
