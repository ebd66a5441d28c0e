"""
================================
Working with ROOT and LHE files
================================

Events in, events out, in the formats of particle physics: a toy Drell-Yan
cross section ``dσ/dm dcosθ ∝ BW(m; m_Z, Γ_Z) (1 + cos²θ)`` is integrated by
:class:`~skhep_ml.NeuralImportanceIntegrator`; its weighted events go to a ROOT
tree (uproot), come back as ``X, sample_weight`` and train a
:class:`~skhep_ml.FlowDensity` on named branches; its unweighted events become
four-momenta in a Les Houches file (pylhe), read back as awkward arrays with
vector behaviour. Every histogram carries its statistical errors
(sum of w² per bin).

Needs the ``hep`` extra: ``pip install 'skhep_ml[hep]'``.
"""

# %%
# Integrate and write weighted events to ROOT
# -------------------------------------------
# :func:`~skhep_ml.io.write_samples` draws ``integrator.sample`` chunk by chunk
# and streams each chunk into the tree (one basket per chunk: memory stays
# that of a chunk for any number of events). The integral, its error, the
# settings and the seed are stored beside the tree as metadata.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pylhe

from skhep_ml import FlowDensity, NeuralImportanceIntegrator
from skhep_ml.io import (
    iterate_root,
    read_metadata,
    read_root,
    write_lhe,
    write_samples,
)
from skhep_ml.plotting import compare_samples

M_Z, GAMMA_Z = 91.19, 2.50


def drell_yan(X):
    """dσ/dm dcosθ (arbitrary units) of X = (m, cos θ)."""
    m, cos = X[:, 0], X[:, 1]
    breit_wigner = 1.0 / ((m**2 - M_Z**2) ** 2 + (M_Z * GAMMA_Z) ** 2)
    return 1e4 * breit_wigner * (1 + cos**2)


nis = NeuralImportanceIntegrator(
    integrand=drell_yan,
    bounds=[[70.0, 110.0], [-1.0, 1.0]],
    max_evaluations=30_000,
    random_state=0,
).fit()
print(f"cross section: {nis.integral_:.5f} ± {nis.integral_error_:.5f}")

workdir = Path(tempfile.mkdtemp())
n = write_samples(
    workdir / "drell_yan.root",
    nis,
    100_000,
    random_state=1,
    chunk_size=25_000,
    feature_names=["m_ll", "cos_theta"],
)
meta = read_metadata(workdir / "drell_yan.root")
print(f"{n} weighted events written; metadata: {sorted(meta)}")
print(f"stored integral {meta['integral']:.5f}, seed {meta['seed']}")

# %%
# Read branches back as ``X, sample_weight``
# ------------------------------------------
# :func:`~skhep_ml.io.read_root` reads chosen branches of one file or a list of
# files; :func:`~skhep_ml.io.iterate_root` does it lazily, chunk by chunk, for
# data larger than memory. With ``library="ak"`` the columns keep their branch
# names, and an estimator stores them in ``feature_names_in_``.
branches = ["m_ll", "cos_theta"]
X, w = read_root(workdir / "drell_yan.root", branches, weight="weight")
print(f"read {len(X)} events; sum of weights / N = {np.sum(w) / len(X):.5f}")

chunks = iterate_root(
    workdir / "drell_yan.root",
    branches,
    weight="weight",
    step_size=10_000,
    library="ak",
)
X_chunk, w_chunk = next(chunks)  # the first 10 000 events, as an awkward array
flow = FlowDensity(hidden_layer_sizes=(16,), max_epochs=3, random_state=0)
flow.fit(X_chunk, sample_weight=w_chunk)
print("flow feature names:", list(flow.feature_names_in_))

# its samples go to ROOT under the same branch names
write_samples(workdir / "flow.root", flow, 50_000, random_state=2)
X_flow, _ = read_root(workdir / "flow.root", branches)
print(f"{len(X_flow)} flow samples read back from branches {branches}")

# %%
# Unweighted events with four-momenta to LHE
# ------------------------------------------
# :func:`~skhep_ml.io.write_lhe` asks for a function from one event's features
# to its particles (PDG id, status, four-momentum, mass): here u ū → e⁻ e⁺ in
# the centre-of-mass frame. The ``<init>`` block gets the integrator's cross
# section and error.
X_unw, _ = nis.sample(10_000, unweighted=True, random_state=3)


def particles(x):
    m, cos = x
    p, sin = m / 2, np.sqrt(1 - cos**2)
    beam = dict(status=-1, px=0.0, py=0.0, e=p, m=0.0)
    lepton = dict(status=1, e=p, m=0.0, mother1=1, mother2=2)
    return [
        dict(id=2, pz=p, **beam),
        dict(id=-2, pz=-p, **beam),
        dict(id=11, px=p * sin, py=0.0, pz=p * cos, **lepton),
        dict(id=-11, px=-p * sin, py=0.0, pz=-p * cos, **lepton),
    ]


write_lhe(workdir / "drell_yan.lhe.gz", X_unw, particles, integrator=nis)
lhe = pylhe.LHEFile.fromfile(workdir / "drell_yan.lhe.gz")
print(f"LHE cross section: {lhe.init.procInfo[0].xSection:.5f}")

# back as awkward arrays of four-vectors: the dilepton mass from the leptons
events = pylhe.to_awkward(lhe.events)
leptons = events.particles.vector
m_ll = (leptons[:, 2] + leptons[:, 3]).mass
deviation = np.max(np.abs(m_ll - X_unw[:, 0]))
print(f"{len(events)} LHE events; max |m_ll - m| = {deviation:.1e} GeV")

# %%
# The unweighted LHE events against the weighted ROOT events: the same
# distribution, within the statistical errors of both.
cmp = compare_samples(
    np.asarray(m_ll),
    X[:, 0],
    reference_weights=w,
    bins=40,
    range=(70, 110),
    labels=("LHE", "ROOT"),
    xlabel=r"$m_{\ell\ell}$ [GeV]",
)
print(f"LHE vs ROOT events: chi2/ndf = {cmp.chi2:.1f}/{cmp.ndf}")
plt.show()
