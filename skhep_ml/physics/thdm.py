"""The softly broken Z2-symmetric two-Higgs-doublet model: theory constraints.

Potential and conventions of G. C. Branco, P. M. Ferreira, L. Lavoura,
M. N. Rebelo, M. Sher and J. P. Silva, Phys. Rept. 516 (2012) 1, eq. (2.1)
(real parameters, CP conserved):

.. math::

    V = m_{11}^2 Φ_1^†Φ_1 + m_{22}^2 Φ_2^†Φ_2
        - m_{12}^2 (Φ_1^†Φ_2 + Φ_2^†Φ_1)
        + \\frac{λ_1}{2}(Φ_1^†Φ_1)^2 + \\frac{λ_2}{2}(Φ_2^†Φ_2)^2
        + λ_3 (Φ_1^†Φ_1)(Φ_2^†Φ_2) + λ_4 (Φ_1^†Φ_2)(Φ_2^†Φ_1)
        + \\frac{λ_5}{2}\\big[(Φ_1^†Φ_2)^2 + (Φ_2^†Φ_1)^2\\big],

so ``m12^2 > 0`` raises the heavy masses (``M^2 = m12^2 / (s_β c_β)``) and
``m12^2 < 0`` lowers them. Tree-level masses (Branco et al., section 5.2;
``v = 246.22 GeV``): ``m_A^2 = M^2 - λ5 v^2``, ``m_H±^2 = M^2 - (λ4 + λ5) v^2 / 2``
and the CP-even mass matrix

.. math::

    \\mathcal M^2 = \\begin{pmatrix}
      m_{12}^2 t_β + λ_1 v^2 c_β^2 & -m_{12}^2 + λ_{345} v^2 s_β c_β \\\\
      -m_{12}^2 + λ_{345} v^2 s_β c_β & m_{12}^2 / t_β + λ_2 v^2 s_β^2
    \\end{pmatrix}, \\qquad λ_{345} = λ_3 + λ_4 + λ_5 .

Boundedness from below (N. G. Deshpande and E. Ma, Phys. Rev. D 18 (1978)
2574): ``λ1 > 0``, ``λ2 > 0``, ``λ3 > -√(λ1 λ2)``,
``λ3 + λ4 - |λ5| > -√(λ1 λ2)``. Tree-level perturbative unitarity: the
eigenvalues of the s-wave scattering matrices of the scalars (S. Kanemura,
T. Kubota and E. Takasugi, Phys. Lett. B 313 (1993) 155; A. G. Akeroyd,
A. Arhrib and E.-M. Naimi, Phys. Lett. B 490 (2000) 119; I. F. Ginzburg and
I. P. Ivanov, Phys. Rev. D 72 (2005) 115010) below ``8π`` in magnitude.
Perturbativity: ``|λ_i| ≤ 4π``.

The lighter CP-even state stays below 125 GeV at tree level in the seed's box
(``0 ≤ λ2 ≤ 0.2``, ``tan β ≥ 5``, ``m12^2 ≤ 0``): the lighter eigenvalue is at
most the ``(2,2)`` element, ``λ2 v^2 s_β^2 + m12^2/t_β ≤ 0.2 v^2``, so
``m_h ≤ 110.1 GeV``. The heavier one, ``H``, reaches the 125 GeV window with
a lighter ``h`` below it: 6.5e-6 of the box (13 of 2e6 uniform points) has
every constraint and ``120 ≤ m_H ≤ 130 GeV``, 1.7e-4 has the constraints alone.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "THDM_BOUNDS",
    "THDM_PARAMETERS",
    "make_thdm_scan_problem",
    "thdm_allowed",
    "thdm_bounded_below",
    "thdm_margin",
    "thdm_perturbative",
    "thdm_spectrum",
    "thdm_unitarity_eigenvalues",
]

#: Higgs vacuum expectation value (G_F, PDG): v = (√2 G_F)^(-1/2) [GeV]
V_EW = 246.21965

#: the scan's parameters, in the column order of every array
THDM_PARAMETERS = (
    "lambda1",
    "lambda2",
    "lambda3",
    "lambda4",
    "lambda5",
    "tan_beta",
    "m12_sq",
)

#: the seed's box: 0 ≤ λ1 ≤ 10, 0 ≤ λ2 ≤ 0.2, -10 ≤ λ3,4,5 ≤ 10, 5 ≤ tanβ ≤ 45,
#: -3000 ≤ m12^2 / GeV^2 ≤ 0
THDM_BOUNDS = np.array(
    [
        [0.0, 10.0],
        [0.0, 0.2],
        [-10.0, 10.0],
        [-10.0, 10.0],
        [-10.0, 10.0],
        [5.0, 45.0],
        [-3000.0, 0.0],
    ]
)


def _columns(X):
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 7:
        raise ValueError(
            f"2HDM points need 7 columns {THDM_PARAMETERS}, got shape {X.shape}."
        )
    if np.any(X[:, 5] <= 0):
        raise ValueError("tan_beta must be positive.")
    return X.T


def thdm_bounded_below(X):
    """Whether the potential is bounded from below (Deshpande-Ma conditions).

    Parameters
    ----------
    X : array-like of shape (n, 7)
        Points in the column order of :data:`THDM_PARAMETERS`.

    Returns
    -------
    ok : ndarray of bool of shape (n,)
    """
    l1, l2, l3, l4, l5, _, _ = _columns(X)
    root = np.sqrt(np.clip(l1 * l2, 0.0, None))
    return (l1 > 0) & (l2 > 0) & (l3 > -root) & (l3 + l4 - np.abs(l5) > -root)


def thdm_unitarity_eigenvalues(X):
    """The twelve eigenvalues of the tree-level s-wave scattering matrices.

    ``a± = 3(λ1+λ2)/2 ± √(9(λ1-λ2)²/4 + (2λ3+λ4)²)``,
    ``b± = (λ1+λ2)/2 ± √((λ1-λ2)² + 4λ4²)/2``,
    ``c± = (λ1+λ2)/2 ± √((λ1-λ2)² + 4λ5²)/2``,
    ``e1 = λ3 + 2λ4 - 3λ5``, ``e2 = λ3 - λ5``, ``f+ = λ3 + 2λ4 + 3λ5``,
    ``f- = λ3 + λ5``, ``f1 = λ3 + λ4``, ``p1 = λ3 - λ4``
    (Akeroyd, Arhrib and Naimi 2000; unitarity is ``|e| < 8π`` for all).

    Parameters
    ----------
    X : array-like of shape (n, 7)
        Points.

    Returns
    -------
    eigenvalues : ndarray of shape (n, 12)
    """
    l1, l2, l3, l4, l5, _, _ = _columns(X)
    mean = 0.5 * (l1 + l2)
    diff = l1 - l2
    ra = np.sqrt(2.25 * diff**2 + (2 * l3 + l4) ** 2)
    rb = 0.5 * np.sqrt(diff**2 + 4 * l4**2)
    rc = 0.5 * np.sqrt(diff**2 + 4 * l5**2)
    return np.stack(
        [
            3 * mean + ra,
            3 * mean - ra,
            mean + rb,
            mean - rb,
            mean + rc,
            mean - rc,
            l3 + 2 * l4 - 3 * l5,
            l3 - l5,
            l3 + 2 * l4 + 3 * l5,
            l3 + l5,
            l3 + l4,
            l3 - l4,
        ],
        axis=1,
    )


def thdm_perturbative(X, *, limit=4 * np.pi):
    """Whether every ``|λ_i| ≤ limit`` (``4π``).

    Parameters
    ----------
    X : array-like of shape (n, 7)
        Points.
    limit : float, default=4π
        Bound on the quartic couplings.

    Returns
    -------
    ok : ndarray of bool of shape (n,)
    """
    lam = np.stack(_columns(X)[:5], 1)
    return np.all(np.abs(lam) <= limit, axis=1)


def thdm_spectrum(X, *, v=V_EW):
    """Tree-level masses squared and the CP-even mixing angle.

    Parameters
    ----------
    X : array-like of shape (n, 7)
        Points.
    v : float, default=246.22
        Vacuum expectation value [GeV].

    Returns
    -------
    spectrum : dict of ndarray
        ``mh2``, ``mH2`` (CP-even, ``mh2 ≤ mH2``), ``mA2``, ``mHc2`` [GeV^2],
        ``alpha`` (Branco et al.'s CP-even mixing angle, ``h = -s_α ρ1 + c_α ρ2``)
        and ``sin_beta_minus_alpha``.
    """
    l1, l2, l3, l4, l5, tb, m12 = _columns(X)
    beta = np.arctan(tb)
    sb, cb = np.sin(beta), np.cos(beta)
    v2 = v**2
    big_m2 = m12 / (sb * cb)
    m11 = m12 * tb + l1 * v2 * cb**2
    m22 = m12 / tb + l2 * v2 * sb**2
    m21 = -m12 + (l3 + l4 + l5) * v2 * sb * cb
    mean, half = 0.5 * (m11 + m22), 0.5 * np.hypot(m11 - m22, 2 * m21)
    alpha = 0.5 * np.arctan2(2 * m21, m11 - m22)  # H = c_α ρ1 + s_α ρ2
    return {
        "mh2": mean - half,
        "mH2": mean + half,
        "mA2": big_m2 - l5 * v2,
        "mHc2": big_m2 - 0.5 * (l4 + l5) * v2,
        "alpha": alpha,
        "sin_beta_minus_alpha": np.sin(beta - alpha),
    }


def _mass_matrix_entries(X):
    spec = thdm_spectrum(X)
    return np.stack([spec[k] for k in ("mh2", "mH2", "mA2", "mHc2")], 1)


def _window_ok(X, higgs_window):
    if higgs_window is None:
        return np.ones(len(X), dtype=bool)
    low, high = higgs_window
    spec = thdm_spectrum(X)
    ok = np.zeros(len(X), dtype=bool)
    for key in ("mh2", "mH2"):
        m = np.sqrt(np.clip(spec[key], 0.0, None))
        ok |= (m >= low) & (m <= high)
    return ok


def thdm_allowed(X, *, higgs_window=None):
    """1 where every theory constraint holds, else 0.

    Bounded from below, unitary (``|e| < 8π``), perturbative
    (``|λ| ≤ 4π``), all tree-level masses squared positive, and, with
    ``higgs_window``, a CP-even mass in the window.

    Parameters
    ----------
    X : array-like of shape (n, 7)
        Points.
    higgs_window : tuple of float, default=None
        ``(low, high)`` [GeV] for ``m_h`` or ``m_H``.

    Returns
    -------
    allowed : ndarray of float of shape (n,)
    """
    ok = (
        thdm_bounded_below(X)
        & np.all(np.abs(thdm_unitarity_eigenvalues(X)) < 8 * np.pi, axis=1)
        & thdm_perturbative(X)
        & np.all(_mass_matrix_entries(X) > 0, axis=1)
        & _window_ok(X, higgs_window)
    )
    return ok.astype(float)


def thdm_margin(X, *, higgs_window=None, v=V_EW):
    """A continuous theory margin: positive exactly where :func:`thdm_allowed` is 1.

    The smallest of the constraints' slacks, each on its natural scale:
    ``λ1/10``, ``λ2/0.2`` (the box widths), ``(λ3 + √(λ1λ2))/10`` and
    ``(λ3 + λ4 - |λ5| + √(λ1λ2))/10``, ``1 - max|e|/8π``,
    ``1 - max|λ|/4π`` and ``min m^2 / v^2``, clipped to ``[-10, 1]``. A
    regression surrogate learns how far a point is from the region, which a
    1/0 label does not tell when only ~2e-4 of the box is allowed. With
    ``higgs_window = (low, high)`` the slack ``(h - |m - c|) / c`` of the
    CP-even mass nearer the window's centre ``c`` (half-width ``h``) joins
    the minimum (relative to ``c``, so a mass far from the window does not
    drown the other constraints' slacks).

    Parameters
    ----------
    X : array-like of shape (n, 7)
        Points.
    higgs_window : tuple of float, default=None
        ``(low, high)`` [GeV] for ``m_h`` or ``m_H``.
    v : float, default=246.22
        Vacuum expectation value [GeV].

    Returns
    -------
    margin : ndarray of shape (n,)
    """
    l1, l2, l3, l4, l5, _, _ = _columns(X)
    root = np.sqrt(np.clip(l1 * l2, 0.0, None))
    lam = np.abs(np.stack([l1, l2, l3, l4, l5], 1))
    slacks = [
        l1 / 10.0,
        l2 / 0.2,
        (l3 + root) / 10.0,
        (l3 + l4 - np.abs(l5) + root) / 10.0,
        1.0 - np.abs(thdm_unitarity_eigenvalues(X)).max(axis=1) / (8 * np.pi),
        1.0 - lam.max(axis=1) / (4 * np.pi) + 1e-15,
        _mass_matrix_entries(X).min(axis=1) / v**2,
    ]
    if higgs_window is not None:
        low, high = higgs_window
        centre, half = 0.5 * (low + high), 0.5 * (high - low)
        spec = thdm_spectrum(X)
        distance = np.min(
            [
                np.abs(np.sqrt(np.clip(spec[k], 0.0, None)) - centre)
                for k in ("mh2", "mH2")
            ],
            axis=0,
        )
        slacks.append((half - distance) / centre)
    return np.clip(np.min(slacks, axis=0), -10.0, 1.0)


#: allowed shares of the box (uniform points, seed 0; see make_thdm_scan_problem)
_FRACTIONS = {None: 1.68e-4, (120.0, 130.0): 6.5e-6}


def make_thdm_scan_problem(*, higgs_window=None, kind="margin"):
    """The seed's 2HDM scan as an :class:`~skhep_ml.ActiveScanner` problem.

    Parameters
    ----------
    higgs_window : tuple of float, default=None
        Also demand a CP-even state in ``(low, high)`` GeV (only the heavier
        one, ``H``, reaches 125 GeV in this box: see the module notes).
    kind : {"margin", "allowed"}, default="margin"
        ``"margin"``: the objective is :func:`thdm_margin` and the target band
        ``(0, 1)`` (regression mode); ``"allowed"``: the objective is
        :func:`thdm_allowed` (1/0) and ``target="classification"``.

    Returns
    -------
    problem : sklearn.utils.Bunch
        ``objective``, ``bounds`` (:data:`THDM_BOUNDS`), ``target``,
        ``n_dim``, ``feature_names`` and ``in_target_fraction`` (the allowed
        share of the box from uniform points, seed 0: 1.68e-4 without a
        window (1e6 points, relative error 8 %), 6.5e-6 with (120, 130)
        (2e6 points, 28 %); ``None`` for other windows).
    """
    from functools import partial

    from sklearn.utils import Bunch

    if kind == "margin":
        objective, target = partial(thdm_margin, higgs_window=higgs_window), (0.0, 1.0)
    elif kind == "allowed":
        objective = partial(thdm_allowed, higgs_window=higgs_window)
        target = "classification"
    else:
        raise ValueError(f"kind={kind!r} is not 'margin' or 'allowed'.")
    return Bunch(
        objective=objective,
        bounds=THDM_BOUNDS.copy(),
        target=target,
        n_dim=7,
        feature_names=THDM_PARAMETERS,
        in_target_fraction=_FRACTIONS.get(
            None if higgs_window is None else tuple(higgs_window)
        ),
    )
