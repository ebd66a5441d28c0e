"""Les Houches files: written with pylhe, read back by pylhe."""

import numpy as np
import pytest

from skhep_ml.io import write_lhe

pylhe = pytest.importorskip("pylhe")


def drell_yan(x):
    """u u~ -> e- e+ at fixed sqrt(s), from the features (sqrt_s, cos_theta)."""
    sqrt_s, cos = x
    p, sin = sqrt_s / 2, np.sqrt(1 - cos**2)
    beam = dict(status=-1, px=0.0, py=0.0, m=0.0, e=p)
    out = dict(status=1, m=0.0, e=p, mother1=1, mother2=2)
    return [
        dict(id=2, pz=p, **beam),
        dict(id=-2, pz=-p, **beam),
        dict(id=11, px=p * sin, py=0.0, pz=p * cos, **out),
        dict(id=-11, px=-p * sin, py=0.0, pz=-p * cos, **out),
    ]


@pytest.fixture
def events():
    rng = np.random.default_rng(0)
    return np.column_stack([rng.uniform(80, 100, 50), rng.uniform(-1, 1, 50)])


@pytest.mark.parametrize("suffix", [".lhe", ".lhe.gz"])
def test_lhe_round_trip_with_the_integrators_cross_section(
    tmp_path, events, integrator, suffix
):
    path = tmp_path / f"dy{suffix}"
    assert write_lhe(path, events, drell_yan, integrator=integrator) == 50
    lhe = pylhe.LHEFile.fromfile(path)
    proc = lhe.init.procInfo[0]
    np.testing.assert_allclose(proc.xSection, integrator.integral_, rtol=1e-7)
    np.testing.assert_allclose(proc.error, integrator.integral_error_, rtol=1e-7)
    assert lhe.init.initInfo.weightingStrategy == 3
    read = list(lhe.events)
    assert len(read) == 50 == pylhe.LHEFile.count_events(path)
    for x, event in zip(events, read):
        truth = drell_yan(x)
        assert [p.id for p in event.particles] == [p["id"] for p in truth]
        got = [[p.px, p.py, p.pz, p.e] for p in event.particles]
        want = [[p["px"], p["py"], p["pz"], p["e"]] for p in truth]
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(
            event.eventinfo.weight, integrator.integral_, rtol=1e-10
        )
    # awkward view of the same file (what physicists then histogram)
    arr = pylhe.to_awkward(pylhe.LHEFile.fromfile(path).events)
    np.testing.assert_allclose(
        np.asarray(arr.particles.vector.pz[:, 2]),
        events[:, 0] / 2 * events[:, 1],
        rtol=1e-8,
    )


def test_explicit_cross_section_and_clear_errors(tmp_path, events):
    path = tmp_path / "x.lhe"
    write_lhe(path, events[:3], drell_yan, cross_section=2.5, cross_section_error=0.1)
    lhe = pylhe.LHEFile.fromfile(path)
    assert lhe.init.procInfo[0].xSection == 2.5
    assert len(list(lhe.events)) == 3  # (reading to the end closes the file)
    with pytest.raises(ValueError, match="cross section"):
        write_lhe(path, events, drell_yan)
    with pytest.raises(ValueError, match="missing fields"):
        write_lhe(path, events, lambda x: [dict(id=1)], cross_section=1.0)
    with pytest.raises(ValueError, match="mappings"):
        write_lhe(path, events, lambda x: [1.0], cross_section=1.0)
    with pytest.raises(ValueError, match="positive"):
        write_lhe(path, events, drell_yan, cross_section=-1.0)
