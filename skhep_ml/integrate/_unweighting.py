"""Integration results, stratified estimates and unweighting of weighted events."""

from __future__ import annotations

import numpy as np

__all__ = [
    "IntegrationResult",
    "split_counts",
    "stratified_estimate",
    "unweight",
    "unweighting_efficiency",
]


class IntegrationResult(tuple):
    """Monte-Carlo integral with its diagnostics; unpacks as ``(value, error)``.

    Parameters
    ----------
    value : float
        Estimate of the integral.
    error : float
        Its standard error.
    n_evaluations : int
        Integrand calls spent on this estimate.
    rel_std : float
        ``std(w) / mean(w)`` of the event weights.
    unweighting_efficiency : float
        ``mean(w) / max(w)``: acceptance of hit-or-miss unweighting.
    unweighting_efficiency_q : float
        ``mean(w) / quantile_0.999(w)``: acceptance of partial unweighting.

    Examples
    --------
    >>> from skhep_ml.integrate import IntegrationResult
    >>> value, error = IntegrationResult(1.0, 0.01, 100, 0.1, 0.5, 0.6)
    >>> value, error
    (1.0, 0.01)
    """

    def __new__(
        cls,
        value,
        error,
        n_evaluations=0,
        rel_std=np.nan,
        unweighting_efficiency=np.nan,
        unweighting_efficiency_q=np.nan,
    ):
        self = super().__new__(cls, (float(value), float(error)))
        self.n_evaluations = int(n_evaluations)
        self.rel_std = float(rel_std)
        self.unweighting_efficiency = float(unweighting_efficiency)
        self.unweighting_efficiency_q = float(unweighting_efficiency_q)
        return self

    def __reduce__(self):
        return (
            type(self),
            (
                self.value,
                self.error,
                self.n_evaluations,
                self.rel_std,
                self.unweighting_efficiency,
                self.unweighting_efficiency_q,
            ),
        )

    @property
    def value(self) -> float:
        """The estimate."""
        return self[0]

    @property
    def error(self) -> float:
        """Its standard error."""
        return self[1]

    def __repr__(self):
        return (
            f"IntegrationResult(value={self.value:.6g}, error={self.error:.3g}, "
            f"n_evaluations={self.n_evaluations}, rel_std={self.rel_std:.3g}, "
            f"unweighting_efficiency={self.unweighting_efficiency:.3g})"
        )


def unweighting_efficiency(weights, quantile=None) -> float:
    """``mean(w) / max(w)``, or ``mean(w) / quantile(w)`` for partial unweighting.

    Parameters
    ----------
    weights : array-like of shape (n,)
        Non-negative event weights.
    quantile : float, default=None
        E.g. 0.999; ``None`` uses the maximum.

    Returns
    -------
    efficiency : float
    """
    w = np.asarray(weights, dtype=float)
    top = w.max() if quantile is None else np.quantile(w, quantile)
    return float(w.mean() / top) if top > 0 else 0.0


def unweight(weights, *, quantile=None, random_state=None):
    """Hit-or-miss unweighting against the maximum weight or a quantile.

    An event of weight ``w`` is kept with probability ``min(1, w / w_ref)``;
    kept events get weight ``max(w, w_ref)``, so ``sum(kept) / n`` still
    estimates the integral. With ``quantile=None`` ``w_ref = max(w)`` and every
    kept weight is ``w_ref`` (fully unweighted); with a quantile the kept
    events above it stay overweight, and their fraction is reported.

    Parameters
    ----------
    weights : array-like of shape (n,)
        Non-negative event weights.
    quantile : float in (0, 1], default=None
        Reference quantile for partial unweighting.
    random_state : int, RandomState instance or None, default=None
        Seed of the accept/reject draws.

    Returns
    -------
    keep : ndarray of bool, shape (n,)
        Accepted events.
    new_weights : ndarray of shape (n_kept,)
        Weights of the accepted events.
    info : dict
        ``efficiency`` (kept fraction), ``reference_weight`` and
        ``overweight_fraction`` (kept events with ``w > w_ref``).

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.integrate import unweight
    >>> keep, w, info = unweight(np.array([1.0, 2.0, 4.0]), random_state=0)
    >>> bool(np.all(w == 4.0))
    True
    """
    from sklearn.utils import check_random_state

    w = np.asarray(weights, dtype=float)
    rng = check_random_state(random_state)
    ref = w.max() if quantile is None else float(np.quantile(w, quantile))
    if ref <= 0:
        return (
            np.zeros(len(w), bool),
            np.empty(0),
            dict(efficiency=0.0, reference_weight=ref, overweight_fraction=0.0),
        )
    keep = rng.uniform(size=len(w)) * ref < w
    new = np.maximum(w[keep], ref)
    over = float(np.mean(w[keep] > ref)) if keep.any() else 0.0
    return (
        keep,
        new,
        dict(
            efficiency=float(keep.mean()),
            reference_weight=ref,
            overweight_fraction=over,
        ),
    )


def split_counts(n, fractions):
    """Integer counts summing to ``n`` in proportion to ``fractions``."""
    raw = np.asarray(fractions, float) * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    order = np.argsort(-(raw - counts))
    counts[order[:rest]] += 1
    return counts


def stratified_estimate(h, stratum, stratum_weight):
    """Combine per-stratum means: value, error and event weights.

    Parameters
    ----------
    h : ndarray of shape (n,)
        Weights ``f / g`` of the points.
    stratum : ndarray of int, shape (n,)
        Stratum of each point (every stratum with at least 2 points).
    stratum_weight : ndarray of shape (n_strata,)
        Probability mass ``W_s`` of each stratum.

    Returns
    -------
    value, error : float
        ``Σ W_s mean_s(h)`` and ``sqrt(Σ W_s² var_s / n_s)``.
    event_weights : ndarray of shape (n,)
        ``n W_s h / n_s``, whose mean is ``value``.
    """
    n_strata = len(stratum_weight)
    counts = np.bincount(stratum, minlength=n_strata).astype(float)
    s1 = np.bincount(stratum, h, minlength=n_strata)
    s2 = np.bincount(stratum, h * h, minlength=n_strata)
    used = counts > 0
    mean = np.zeros(n_strata)
    mean[used] = s1[used] / counts[used]
    var = np.zeros(n_strata)
    many = counts > 1
    var[many] = np.maximum(s2[many] - counts[many] * mean[many] ** 2, 0.0) / (
        counts[many] - 1
    )
    W = np.asarray(stratum_weight, dtype=float)
    value = float(np.sum(W[used] * mean[used]))
    error = float(np.sqrt(np.sum(W[many] ** 2 * var[many] / counts[many])))
    event_w = len(h) * W[stratum] * h / counts[stratum]
    return value, error, event_w
