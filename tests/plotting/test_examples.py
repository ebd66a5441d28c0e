"""Every example shows its figures when run as a script; the files example runs."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("plot_*.py")), ids=str)
def test_example_ends_by_showing_its_figures(path):
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    assert lines[-1] == "plt.show()", f"{path.name} must end with plt.show()"


def test_missing_hist_names_the_extra(monkeypatch):
    from skhep_ml.plotting import weighted_histogram

    monkeypatch.setitem(sys.modules, "hist", None)
    with pytest.raises(ImportError, match=r"pip install 'skhep_ml\[hep\]'"):
        weighted_histogram([1.0])


@pytest.mark.slow
def test_root_and_lhe_example_runs(monkeypatch):
    for name in ("uproot", "pylhe", "hist", "mplhep", "matplotlib"):
        pytest.importorskip(name)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    ns = runpy.run_path(
        str(EXAMPLES / "plot_root_and_lhe_files.py"), run_name="__main__"
    )
    plt.close("all")
    # what the example shows is true: the LHE file carries the integrator's
    # cross section, and its four-momenta give back every event's mass
    xsec = ns["lhe"].init.procInfo[0].xSection
    assert xsec == pytest.approx(ns["nis"].integral_, rel=1e-8)
    assert ns["deviation"] < 1e-3 * float(np.max(ns["X_unw"][:, 0]))
    assert len(ns["events"]) == len(ns["X_unw"])
