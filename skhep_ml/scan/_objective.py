"""Objective calls of :class:`~skhep_ml.ActiveScanner`: chunks, joblib, the store.

Module-level functions so that joblib and dask workers can pickle them.
"""

from __future__ import annotations

import time

import numpy as np
from joblib import Parallel, delayed

__all__ = ["Evaluator", "run_objective"]


def errors_of(values):
    """Per value: ``None`` when it is finite, else the failure's message."""
    return [None if np.isfinite(v) else "value is not finite" for v in values]


def _call_chunk(objective, X, start):
    """Evaluate one chunk; isolate failing points by calling them one by one.

    Returns ``(start, values, errors, seconds)``; ``errors[i]`` is ``None`` for
    a good point. A wrong output shape is reported as ``("shape", ...)``.
    """
    t0 = time.perf_counter()
    try:
        values = np.asarray(objective(X), dtype=np.float64)
    except Exception:  # noqa: BLE001 - isolate the failing points below
        values = None
    else:
        if values.shape not in ((len(X),), (len(X), 1)):
            return start, "shape", str(values.shape), time.perf_counter() - t0
        values = values.reshape(-1)
        return start, values, errors_of(values), time.perf_counter() - t0
    values = np.full(len(X), np.nan)
    errors = []
    for i in range(len(X)):
        try:
            v = np.asarray(objective(X[i : i + 1]), dtype=np.float64).reshape(-1)
            if v.shape != (1,):
                raise ValueError(f"objective returned shape {v.shape} for one point")
            values[i] = v[0]
            errors += errors_of(v)
        except Exception as exc:  # noqa: BLE001 - recorded as a failed point
            errors.append(f"{type(exc).__name__}: {exc}"[:500])
    return start, values, errors, time.perf_counter() - t0


def run_objective(objective, store, X, seq, iteration, origin, *, batch_size, n_jobs):
    """Call ``objective`` on ``X`` in chunks through joblib; store each chunk.

    Parameters
    ----------
    objective : callable
        ``objective(X_chunk) -> values`` of shape ``(len(X_chunk),)``.
    store : EvaluationStore
        Receives every evaluated chunk as soon as it is back (failed points with
        their error message), so an exception later keeps what was computed.
    X : ndarray of shape (n_points, d)
        Points to evaluate, already proposed in ``store`` as ``seq``.
    seq : ndarray of int of shape (n_points,)
        Sequence numbers from :meth:`EvaluationStore.propose`.
    iteration : int or array-like of shape (n_points,)
        Scan iteration of each point.
    origin : array-like of str of shape (n_points,)
        Why each point was proposed.
    batch_size : int
        Points per objective call.
    n_jobs : int or None
        joblib workers.

    Returns
    -------
    seconds : float
        Time spent inside the objective, summed over chunks.

    Raises
    ------
    ValueError
        If the objective returns a wrong shape (the chunks stored before are kept).
    """
    if not len(X):
        return 0.0
    iteration = np.broadcast_to(np.asarray(iteration), (len(X),))
    bs = batch_size
    tasks = [
        delayed(_call_chunk)(objective, X[s : s + bs], s) for s in range(0, len(X), bs)
    ]
    total = 0.0

    def handle(result):
        nonlocal total
        start, values, errors, seconds = result
        total += seconds
        n = len(X[start : start + bs])
        if isinstance(values, str):
            raise ValueError(
                f"objective must return shape ({n},) for {n} points, got "
                f"{errors}; the points evaluated before are kept in the store."
            )
        its = iteration[start : start + n]
        for it in np.unique(its):
            m = np.flatnonzero(its == it) + start
            store.add(
                seq[m],
                X[m],
                values[m - start],
                [errors[i - start] for i in m],
                int(it),
                origin[m],
            )

    try:
        results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks)
    except ValueError:  # backend without result generators
        results = None
    if results is None:
        for group in range(0, len(tasks), 64):
            for r in Parallel(n_jobs=n_jobs)(tasks[group : group + 64]):
                handle(r)
    else:
        for r in results:
            handle(r)
    return total


class Evaluator:
    """Evaluation bookkeeping: points go through the store, then the objective.

    A point is written to the store as proposed before the objective sees it, and
    only points new to the store are evaluated. :attr:`objective_time` sums the
    seconds spent inside the objective.

    Parameters
    ----------
    objective : callable
        ``objective(X) -> values``.
    store : EvaluationStore
        The scan's store.
    batch_size : int
        Points per objective call.
    n_jobs : int or None
        joblib workers.
    """

    def __init__(self, objective, store, *, batch_size, n_jobs):
        self.objective = objective
        self.store = store
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.objective_time = 0.0

    def run(self, X, seq, iteration, origin):
        """Evaluate ``X``, already proposed in the store as ``seq``."""
        self.objective_time += run_objective(
            self.objective,
            self.store,
            X,
            seq,
            iteration,
            origin,
            batch_size=self.batch_size,
            n_jobs=self.n_jobs,
        )

    def evaluate(self, X, iteration, origin):
        """Propose ``X`` in the store, then evaluate its new points."""
        X = np.asarray(X, dtype=np.float64)
        origin = np.broadcast_to(np.asarray(origin, dtype=object), (len(X),))
        seq = self.store.propose(X, iteration, origin)
        new = seq >= 0
        self.run(X[new], seq[new], iteration, origin[new])

    def finish_pending(self):
        """Evaluate a batch that an interrupted fit proposed but did not evaluate."""
        seq, X, iteration, origin = self.store.pending()
        self.run(X, seq, iteration, origin)

    def add_given(self, X, y):
        """Record points with known values ``y`` (origin "given", iteration 0).

        Raises
        ------
        ValueError
            If ``X`` has NaN or infinite rows.
        """
        check = np.isfinite(X).all(axis=1)
        if not check.all():
            raise ValueError(f"X contains {int((~check).sum())} row(s) with NaN/inf.")
        seq = self.store.propose(X, 0, ["given"] * len(X))
        new = seq >= 0
        if new.any():
            n_new = int(new.sum())
            errors = errors_of(y[new])
            self.store.add(seq[new], X[new], y[new], errors, 0, ["given"] * n_new)
