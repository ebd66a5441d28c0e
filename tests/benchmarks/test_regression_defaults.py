"""The defaults-comparison and σ_syst scripts run end to end (--smoke)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))


@pytest.mark.slow
def test_regression_defaults_smoke_run(capsys):
    import regression_defaults

    regression_defaults.main(["--smoke"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(r["case"], r["config"]) for r in rows} == {
        (case, config)
        for case in ("fixed", "0")
        for config in regression_defaults.CONFIGS
    }
    for r in rows:
        assert r["w68"] > 0 and r["tail_w68"] > 0 and r["pull_sd"] > 0
        assert 1 <= r["epochs_run"] <= r["epochs_planned"]
        # only the early-stopping setting has a validation loss to restore from
        assert ("best_epoch" in r) == (r["config"] == "new")


@pytest.mark.slow
def test_regression_syst_smoke_run(capsys):
    import regression_syst

    regression_syst.main(["--smoke"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["toy"] for r in rows] == ["1d", "0"]
    for r in rows:
        assert 0.0 <= r["within_20"] <= 1.0 and r["syst_ratio"] > 0
        assert r["epochs_run"] == r["epochs"] == 2
