"""Integration results, stratified estimates and unweighting of weighted events."""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "IntegrationResult",
    "split_counts",
    "stratified_estimate",
    "unweight",
    "unweight_to_count",
    "unweighting_efficiency",
]

#: the first batch of :func:`unweight_to_count` has at least this many calls
#: (its largest weight, or its quantile, is the first reference weight)
MIN_FIRST_BATCH = 10_000
#: and no batch more (one batch's points, densities and weights stay in memory)
MAX_BATCH = 262_144


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


def unweight_to_count(draw_batch, n, *, quantile=None, efficiency=None, rng):
    """Exactly ``n`` unweighted events, drawing as many batches as needed.

    Full unweighting (``quantile=None``) keeps the largest weight seen so far
    as the reference: when a batch brings a larger one, the events already
    kept are thinned by ``old / new reference``, so every kept event was
    accepted with probability ``w / w_max`` of the final maximum. Partial
    unweighting fixes the reference to the ``quantile`` of the first batch;
    events above it are kept with their own weight (overweight, counted).

    Parameters
    ----------
    draw_batch : callable
        ``draw_batch(m) -> (X, w)``: ``m`` fresh weighted events (``m``
        integrand calls) whose mean weight estimates the integral.
    n : int
        Events to return.
    quantile : float in (0, 1], default=None
        Reference quantile for partial unweighting.
    efficiency : float, default=None
        Expected acceptance, for the size of the first batch (``None``: 0.1).
    rng : numpy.random.RandomState
        Accept/reject draws.

    Returns
    -------
    X : ndarray of shape (n, n_dims)
        The events, in the order drawn.
    w : ndarray of shape (n,)
        Their weights: the reference weight, or their own weight where larger
        (partial unweighting).
    info : dict
        ``efficiency`` (events kept over calls, before the cut to ``n``),
        ``reference_weight``, ``overweight_fraction`` (of the returned events),
        ``n_calls``, ``n_batches`` and ``integral`` (the mean weight of all
        drawn events: an estimate from the same calls).

    Raises
    ------
    ValueError
        If a batch of ``MAX_BATCH`` calls yields no positive weight.
    """
    n = int(n)
    eff = efficiency if efficiency is not None and efficiency > 0 else 0.1
    ref = 0.0
    kept_X, kept_w = [], []
    n_kept = n_calls = n_batches = 0
    total = 0.0
    while n_kept < n:
        rate = n_kept / n_calls if n_kept else eff
        m = math.ceil(1.1 * (n - n_kept) / max(rate, 1e-9))
        if not n_batches:
            m = max(m, MIN_FIRST_BATCH)
        m = int(min(max(m, 100), MAX_BATCH))
        X, w = draw_batch(m)
        n_calls += m
        n_batches += 1
        total += float(np.sum(w))
        if not n_batches - 1 or ref <= 0:
            ref = float(w.max() if quantile is None else np.quantile(w, quantile))
            if ref <= 0:
                if n_calls >= MAX_BATCH:
                    raise ValueError(
                        f"no positive weight in {n_calls} integrand calls: nothing "
                        "to unweight."
                    )
                continue
        elif quantile is None and w.max() > ref:
            # a larger weight: thin what was kept to the new reference
            scale = ref / float(w.max())
            for j, (Xj, wj) in enumerate(zip(kept_X, kept_w)):
                stay = rng.uniform(size=len(wj)) < scale
                kept_X[j], kept_w[j] = Xj[stay], wj[stay]
            ref = float(w.max())
            n_kept = sum(len(wj) for wj in kept_w)
        keep = rng.uniform(size=len(w)) * ref < w
        kept_X.append(X[keep])
        kept_w.append(w[keep])
        n_kept += int(keep.sum())
    X = np.concatenate(kept_X)[:n]
    w_own = np.concatenate(kept_w)[:n]
    w_new = np.maximum(w_own, ref)
    return (
        X,
        w_new,
        dict(
            efficiency=float(n_kept / n_calls),
            reference_weight=ref,
            overweight_fraction=float(np.mean(w_own > ref)) if n else 0.0,
            n_calls=int(n_calls),
            n_batches=int(n_batches),
            integral=total / n_calls,
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
