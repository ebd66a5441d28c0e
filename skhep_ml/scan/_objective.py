"""Objective calls of :class:`~skhep_ml.ActiveScanner`: chunks, joblib, the store.

Module-level functions so that joblib and dask workers can pickle them.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from joblib import Parallel, delayed

__all__ = ["TIMEOUT", "Evaluator", "run_objective"]


#: the failure reason of points whose call ran past ``timeout``
TIMEOUT = "timeout"


def errors_of(values):
    """Per value: ``None`` when it is finite, else the failure's message."""
    return [None if np.isfinite(v) else "value is not finite" for v in values]


class _TimedOut(Exception):
    """The objective did not return before the deadline."""


def _call(objective, X, deadline):
    """``objective(X)`` as float64, abandoned at ``deadline`` (monotonic seconds).

    Without a deadline the objective runs in this thread. With one it runs in a
    daemon thread that is abandoned (left to finish on its own: Python cannot
    stop a thread) when it has not returned by the deadline; the exceptions it
    raises, ``KeyboardInterrupt`` and ``SystemExit`` included, are re-raised here.

    Raises
    ------
    _TimedOut
        When the deadline passes first.
    """
    if deadline is None:
        return np.asarray(objective(X), dtype=np.float64)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _TimedOut
    out = {}

    def target():
        try:
            out["values"] = objective(X)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="skhep-ml-objective")
    thread.start()
    thread.join(remaining)
    if thread.is_alive():
        raise _TimedOut
    if "error" in out:
        raise out["error"]
    return np.asarray(out["values"], dtype=np.float64)


def _call_chunk(objective, X, start, timeout=None):
    """Evaluate one chunk; isolate failing points by calling them one by one.

    Returns ``(start, values, errors, calls, seconds)``; ``errors[i]`` is
    ``None`` for a good point, ``calls[i]`` the objective calls spent on point
    ``i`` (2 for a point re-run alone after its chunk raised). A chunk still
    running after ``timeout`` seconds is abandoned, and so are the one-by-one
    calls once that time is spent: those points fail with the reason
    ``"timeout"``. A wrong output shape is reported as ``("shape", ...)``.
    """
    t0 = time.perf_counter()
    deadline = None if timeout is None else time.monotonic() + timeout
    calls = np.ones(len(X), dtype=np.int64)
    try:
        values = _call(objective, X, deadline)
    except _TimedOut:
        errors = [TIMEOUT] * len(X)
        return start, np.full(len(X), np.nan), errors, calls, time.perf_counter() - t0
    except Exception:  # noqa: BLE001 - isolate the failing points below
        values = None
    else:
        if values.shape not in ((len(X),), (len(X), 1)):
            return start, "shape", str(values.shape), calls, time.perf_counter() - t0
        values = values.reshape(-1)
        return start, values, errors_of(values), calls, time.perf_counter() - t0
    values = np.full(len(X), np.nan)
    errors = []
    for i in range(len(X)):
        calls[i] += 1
        try:
            v = _call(objective, X[i : i + 1], deadline).reshape(-1)
        except _TimedOut:
            errors += [TIMEOUT] * (len(X) - i)
            break
        except Exception as exc:  # noqa: BLE001 - recorded as a failed point
            errors.append(f"{type(exc).__name__}: {exc}"[:500])
        else:
            if v.shape != (1,):
                errors.append(f"ValueError: objective returned shape {v.shape}")
            else:
                values[i] = v[0]
                errors += errors_of(v)
    return start, values, errors, calls, time.perf_counter() - t0


def run_objective(objective, X, write, *, batch_size, n_jobs, timeout=None):
    """Call ``objective`` on ``X`` in chunks through joblib; write each chunk.

    Parameters
    ----------
    objective : callable
        ``objective(X_chunk) -> values`` of shape ``(len(X_chunk),)``.
    X : ndarray of shape (n_points, d)
        Points to evaluate.
    write : callable
        ``write(index, values, errors, calls)`` receives every evaluated chunk
        (``index`` into ``X``) as soon as it is back, so an exception later
        keeps what was computed.
    batch_size : int
        Points per objective call.
    n_jobs : int or None
        joblib workers.
    timeout : float or None, default=None
        Seconds after which a chunk's call is abandoned (its points fail with
        the reason ``"timeout"``).

    Returns
    -------
    seconds : float
        Time spent inside the objective, summed over chunks.

    Raises
    ------
    ValueError
        If the objective returns a wrong shape (the chunks written before are kept).
    """
    if not len(X):
        return 0.0
    bs = batch_size
    tasks = [
        delayed(_call_chunk)(objective, X[s : s + bs], s, timeout)
        for s in range(0, len(X), bs)
    ]
    total = 0.0

    def handle(result):
        nonlocal total
        start, values, errors, calls, seconds = result
        total += seconds
        n = len(X[start : start + bs])
        if isinstance(values, str):
            raise ValueError(
                f"objective must return shape ({n},) for {n} points, got "
                f"{errors}; the points evaluated before are kept in the store."
            )
        write(np.arange(start, start + n), values, errors, calls)

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
    only points new to the store are evaluated (failed ones again only through
    :meth:`retry_failed`). :attr:`objective_time` sums the seconds spent inside
    the objective.

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
    timeout : float or None, default=None
        Seconds after which an objective call is abandoned.
    """

    def __init__(self, objective, store, *, batch_size, n_jobs, timeout=None):
        self.objective = objective
        self.store = store
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.timeout = timeout
        self.objective_time = 0.0

    def _run(self, X, write):
        self.objective_time += run_objective(
            self.objective,
            X,
            write,
            batch_size=self.batch_size,
            n_jobs=self.n_jobs,
            timeout=self.timeout,
        )

    def run(self, X, seq, iteration, origin):
        """Evaluate ``X``, already proposed in the store as ``seq``."""
        iteration = np.broadcast_to(np.asarray(iteration), (len(X),))

        def write(index, values, errors, calls):
            its = iteration[index]
            for it in np.unique(its):
                m = its == it
                i = index[m]
                err = [e for e, keep in zip(errors, m) if keep]
                self.store.add(
                    seq[i], X[i], values[m], err, int(it), origin[i], calls[m]
                )

        self._run(X, write)

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

    def retry_failed(self):
        """Evaluate again every point the store holds as failed.

        Returns
        -------
        n_retried : int
            Points re-evaluated (their calls are added to their rows).
        """
        data = self.store.load()
        X = data["X"][data["failed"]]

        def write(index, values, errors, calls):
            self.store.update(X[index], values, errors, calls)

        self._run(X, write)
        return len(X)

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
