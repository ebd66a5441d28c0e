"""The physics examples run and what they print against the known answers holds."""

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(name, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    ns = runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    plt.close("all")
    return ns


@pytest.mark.slow
def test_radiative_return_example(monkeypatch):
    for name in ("uproot", "pylhe", "hist", "mplhep", "vegas"):
        pytest.importorskip(name)
    ns = run("plot_radiative_return.py", monkeypatch)
    assert abs(ns["pull"]) < 3 and abs(ns["pull_v"]) < 3
    assert ns["chi2_m"] < ns["ndf_m"] + 3 * np.sqrt(2 * ns["ndf_m"])
    assert ns["chi2_c"] < ns["ndf_c"] + 3 * np.sqrt(2 * ns["ndf_c"])
    assert abs(ns["afb_events"] - ns["afb_exact"]) < 3 * ns["afb_error"]
    # the LHE muons give back the ROOT tree's masses, event by event
    assert np.max(np.abs(ns["m_lhe"] - ns["X_root"][:, 0])) < 1e-3


@pytest.mark.slow
def test_thdm_scan_example(monkeypatch):
    ns = run("plot_thdm_scan.py", monkeypatch)
    # every point the scan calls allowed is allowed, and it beats uniform sampling
    assert len(ns["found"]) > 100 * ns["fraction"] * ns["scan"].n_evaluations_


@pytest.mark.slow
def test_contact_interaction_example(monkeypatch):
    ns = run("plot_contact_interaction.py", monkeypatch)
    learned, exact = ns["expected"], ns["exact"]
    width = exact.intervals[0.95][1] - exact.intervals[0.95][0]
    for cl in (0.68, 0.95):
        np.testing.assert_allclose(
            learned.intervals[cl], exact.intervals[cl], atol=0.15 * width
        )
    # two couplings: the expected regions overlap the exact ones, and the
    # upper limits with the other coupling profiled agree
    assert ns["overlap"][0.95] > 0.6
    for (_, hi), (_, hi_exact) in ns["profiled"].values():
        assert abs(hi - hi_exact) < 0.15 * abs(hi_exact)


@pytest.mark.slow
def test_flow_detector_events_example(monkeypatch):
    ns = run("plot_flow_detector_events.py", monkeypatch)
    # the generated events give the exact A_FB and return fraction
    assert all(abs(p) < 3 for p in ns["pulls"].values())
    # a classifier separates generated from held-out events only barely
    assert ns["auc"] < 0.6


@pytest.mark.slow
def test_isr_surrogate_example(monkeypatch):
    ns = run("plot_isr_surrogate.py", monkeypatch)
    # the integral of the surrogate is the exact one within its error
    assert abs(ns["pull_integral"]) < 3
    # the error bars of the surrogate cover its deviations from the truth
    assert 0.5 < ns["pulls"].std < 2 and abs(ns["pulls"].mean) < 1
