"""Les Houches event files, written by :mod:`pylhe`.

The events of an integrator become particles through a function the user gives:
``particles(x)`` maps one event's features (a row of ``X``) to its particles, each a
mapping with the LHE particle fields (``id``, ``status``, ``px``, ``py``, ``pz``,
``e``, ``m``; optional ``mother1``, ``mother2``, ``color1``, ``color2``,
``lifetime``, ``spin``) or a :class:`pylhe.LHEParticle`. pylhe writes the
``<init>`` block and one ``<event>`` block per event, streaming the events.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from ._optional import require

#: LHE fields a particle mapping may leave out, with their defaults
PARTICLE_DEFAULTS = {
    "mother1": 0,
    "mother2": 0,
    "color1": 0,
    "color2": 0,
    "lifetime": 0.0,
    "spin": 9.0,
}
#: the fields a particle mapping must give
PARTICLE_REQUIRED = ("id", "status", "px", "py", "pz", "e", "m")
#: LHE weighting strategy 3: unweighted events of weight +XWGTUP
UNWEIGHTED_STRATEGY = 3


def _pylhe():
    return require("pylhe", purpose="writing LHE files")


def _particle(pylhe, p, event):
    if isinstance(p, pylhe.LHEParticle):
        return p
    if not isinstance(p, Mapping):
        raise ValueError(
            f"particles(x) of event {event} returned a {type(p).__name__}; give "
            "mappings with the LHE fields or pylhe.LHEParticle objects."
        )
    missing = [k for k in PARTICLE_REQUIRED if k not in p]
    unknown = sorted(set(p) - set(PARTICLE_REQUIRED) - set(PARTICLE_DEFAULTS))
    if missing or unknown:
        raise ValueError(
            f"particle of event {event}: missing fields {missing}, unknown fields "
            f"{unknown} (required {list(PARTICLE_REQUIRED)}, optional "
            f"{list(PARTICLE_DEFAULTS)})."
        )
    fields = {**PARTICLE_DEFAULTS, **p}
    ints = ("id", "status", "mother1", "mother2", "color1", "color2")
    return pylhe.LHEParticle(
        **{k: int(v) if k in ints else float(v) for k, v in fields.items()}
    )


def _cross_section(integrator, cross_section, cross_section_error):
    if integrator is not None:
        if cross_section is not None or cross_section_error is not None:
            raise ValueError("give an integrator or a cross section, not both.")
        cross_section = integrator.integral_
        cross_section_error = integrator.integral_error_
    if cross_section is None:
        raise ValueError(
            "the <init> block needs the cross section: give integrator= (a fitted "
            "NeuralImportanceIntegrator) or cross_section= and cross_section_error=."
        )
    values = float(cross_section), float(cross_section_error or 0.0)
    if not all(math.isfinite(v) for v in values) or values[0] <= 0 or values[1] < 0:
        raise ValueError(
            f"cross section {values[0]} ± {values[1]} must be positive and finite."
        )
    return values


def write_lhe(
    path,
    X,
    particles: Callable,
    *,
    integrator=None,
    cross_section=None,
    cross_section_error=None,
    beams=((2212, 6500.0), (2212, 6500.0)),
    process_id=1,
    scale=-1.0,
    alpha_qed=-1.0,
    alpha_qcd=-1.0,
) -> int:
    """Write unweighted events with their particles to a Les Houches file.

    Parameters
    ----------
    path : str or path
        The file; ``.gz`` compresses (pylhe chooses by the suffix).
    X : array-like of shape (n_events, n_features)
        Unweighted events, e.g. ``integrator.sample(n, unweighted=True)[0]``.
    particles : callable
        ``particles(x) -> list`` for one row ``x`` of ``X``: the event's
        particles, each a mapping with the keys ``id`` (PDG id), ``status``
        (-1 incoming, 1 outgoing, 2 intermediate), ``px``, ``py``, ``pz``,
        ``e``, ``m`` (GeV) and optionally ``mother1``, ``mother2`` (1-based
        indices of the mothers), ``color1``, ``color2``, ``lifetime``, ``spin``;
        or :class:`pylhe.LHEParticle` objects.
    integrator : NeuralImportanceIntegrator, default=None
        Fitted; its ``integral_ ± integral_error_`` is the cross section.
    cross_section, cross_section_error : float, default=None
        The cross section and its error (pb), instead of ``integrator``.
    beams : ((int, float), (int, float)), default=((2212, 6500.0), (2212, 6500.0))
        PDG id and energy (GeV) of the two beams.
    process_id : int, default=1
        LHE process id (``LPRUP``/``IDPRUP``).
    scale, alpha_qed, alpha_qcd : float, default=-1.0
        Per-event scale and couplings (-1: not given).

    Returns
    -------
    n_events : int

    Raises
    ------
    ValueError
        Without a cross section, or on a malformed particle.

    Notes
    -----
    The events are unweighted (LHE weighting strategy 3): every event has the
    weight ``XWGTUP`` = the cross section, so the mean event weight is the cross
    section.

    Examples
    --------
    A Drell-Yan-like 2 -> 2 event from the features ``(sqrt_s, cos_theta)``:

    >>> import numpy as np
    >>> def particles(x):
    ...     sqrt_s, cos = x
    ...     p, sin = sqrt_s / 2, np.sqrt(1 - cos**2)
    ...     beam = dict(status=-1, px=0, py=0, m=0, e=p)
    ...     out = dict(status=1, m=0, e=p, mother1=1, mother2=2)
    ...     return [
    ...         dict(id=2, pz=p, **beam),
    ...         dict(id=-2, pz=-p, **beam),
    ...         dict(id=11, px=p * sin, py=0, pz=p * cos, **out),
    ...         dict(id=-11, px=-p * sin, py=0, pz=-p * cos, **out),
    ...     ]
    >>> write_lhe("events.lhe", X, particles, integrator=nis)  # doctest: +SKIP
    """
    pylhe = _pylhe()
    from skhep_ml import __version__

    xsec, error = _cross_section(integrator, cross_section, cross_section_error)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"X must be a non-empty 2-d array, got shape {X.shape}.")
    (beam_a, energy_a), (beam_b, energy_b) = beams
    init = pylhe.LHEInit(
        initInfo=pylhe.LHEInitInfo(
            beamA=int(beam_a),
            beamB=int(beam_b),
            energyA=float(energy_a),
            energyB=float(energy_b),
            PDFgroupA=0,
            PDFgroupB=0,
            PDFsetA=0,
            PDFsetB=0,
            weightingStrategy=UNWEIGHTED_STRATEGY,
            numProcesses=1,
        ),
        procInfo=[
            pylhe.LHEProcInfo(
                xSection=xsec, error=error, unitWeight=xsec, procId=int(process_id)
            )
        ],
        generators=[
            pylhe.LHEGenerator(name="skhep_ml", version=__version__, description="")
        ],
    )

    def events():
        for i, x in enumerate(X):
            parts = [_particle(pylhe, p, i) for p in particles(x)]
            yield pylhe.LHEEvent(
                eventinfo=pylhe.LHEEventInfo(
                    nparticles=len(parts),
                    pid=int(process_id),
                    weight=xsec,
                    scale=float(scale),
                    aqed=float(alpha_qed),
                    aqcd=float(alpha_qcd),
                ),
                particles=parts,
            )

    pylhe.LHEFile(init=init, events=events()).tofile(path)
    return len(X)
