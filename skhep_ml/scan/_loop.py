"""The iterations of :class:`~skhep_ml.ActiveScanner` after the initial design.

Each iteration: train the surrogate on every successful evaluation, stop if a
limit is reached, propose the selection K, evaluate it through the store, and
record the iteration. Iteration ``it`` draws from ``(base_seed, it)``, so a
resumed scan continues deterministically from what its store holds.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..base import report
from ._history import iteration_record, surrogate_accuracy
from ._proposal import initial_design, propose
from ._store import point_keys

__all__ = [
    "ScanStoppedWarning",
    "StopRule",
    "Surrogate",
    "evaluate_initial_design",
    "iteration_line",
    "run_iterations",
]


class ScanStoppedWarning(UserWarning):
    """A limit other than ``n_target`` ended the scan before ``n_target``."""


@dataclass(frozen=True)
class StopRule:
    """The scan's limits; each counts what the store holds from earlier fits too."""

    n_target: int | None
    max_evaluations: int | None
    n_iterations: int | None

    def limit(self, n_in, n_calls, n_iter_done):
        """The limit that ``n_in`` in-target points of ``n_calls`` calls after
        ``n_iter_done`` iterations meet (its parameter's name), or None."""
        if self.n_target is not None and n_in >= self.n_target:
            return "n_target"
        if self.max_evaluations is not None and n_calls >= self.max_evaluations:
            return "max_evaluations"
        if self.n_iterations is not None and n_iter_done >= self.n_iterations:
            return "n_iterations"
        return None

    def reached(self, n_in, n_calls, n_iter_done):
        """Whether a limit is met (:meth:`limit` is not None)."""
        return self.limit(n_in, n_calls, n_iter_done) is not None

    def warn_short(self, why, n_in, n_calls, n_iter_done):
        """Warn when ``why`` (a limit's name or a sentence) stopped the scan
        before ``n_target`` in-target points."""
        if self.n_target is None or n_in >= self.n_target:
            return
        if why == "max_evaluations":
            why = f"max_evaluations={self.max_evaluations} was reached"
        elif why == "n_iterations":
            why = f"n_iterations={self.n_iterations} was reached"
        warnings.warn(
            f"the scan stopped at {n_in} of n_target={self.n_target} in-target "
            f"points after {n_calls} calls and {n_iter_done} iterations: {why}. "
            "Raise that limit and fit again with the same store to continue.",
            ScanStoppedWarning,
            stacklevel=4,
        )


@dataclass(frozen=True)
class Surrogate:
    """What the loop needs of the scanner's surrogate and of its spaces.

    ``train(F, target, seed, first)`` fits on features ``F`` (``[-1, 1]^d``),
    ``predict(F)`` returns the raw output (value or probability); ``space`` is
    the :class:`~._space.ParameterSpace`, ``rule`` the
    :class:`~._target.TargetRule`.
    """

    train: object
    predict: object
    space: object
    rule: object

    def score(self, U):
        """Selection score of unit-cube points."""
        return self.rule.score(self.predict(2.0 * U - 1.0))

    def fit(self, data, seed, first):
        """Train on the successful evaluations of ``data``; returns the seconds."""
        ok = ~data["failed"]
        F = self.space.features(data["X"][ok])
        target = self.rule.training_target(data["value"][ok])
        t0 = time.perf_counter()
        self.train(F, target, seed, first)
        return time.perf_counter() - t0


def _failure_summary(data):
    """The most common failure reasons of the store, one clause."""
    errors = [e for e, f in zip(data["error"], data["failed"]) if f]
    common = Counter(errors).most_common(3)
    return "; ".join(f"{n} x {reason!r}" for reason, n in common)


def evaluate_initial_design(
    evaluator, X, y, n_initial, kind, space, base_seed, retry_failed=False
):
    """Iteration 0: the given points, an interrupted batch, failed points to
    retry, and the design L0.

    Parameters
    ----------
    evaluator : Evaluator
        The store and the objective.
    X : ndarray of shape (n, d) or None
        Points to start from: recorded with their values ``y``, or evaluated as
        the initial design when ``y`` is None.
    y : ndarray of shape (n,) or None
        Values of ``X``.
    n_initial : int
        Size of L0, given points included (topped up with new design points).
    kind : {"random", "lhs"}
        The design (:func:`~._proposal.initial_design`).
    space : ParameterSpace
        Unit cube → parameters.
    base_seed : int
        Seed of the scan.
    retry_failed : bool, default=False
        Evaluate again the points the store holds as failed.

    Returns
    -------
    data : dict
        The store's content.

    Raises
    ------
    ValueError
        If no point could be evaluated (the message gives the failure reasons).
    """
    store = evaluator.store
    X0 = X if y is None else None
    if y is not None:
        evaluator.add_given(X, y)
    evaluator.finish_pending()
    if retry_failed:
        evaluator.retry_failed()
    if X0 is None:
        data = store.load()
        n_given = int((data["origin"] == "given").sum())
        n_have = n_given + int((data["origin"] == "initial").sum())
        if n_have < n_initial:  # else L0 is complete (resumed fit)
            d = len(space.t_low)
            X0 = space.from_unit(
                initial_design(n_initial - n_given, d, kind, base_seed)
            )
    if X0 is not None and len(X0):
        evaluator.evaluate(X0, iteration=0, origin="initial")
    data = store.load()
    if not (~data["failed"]).any():
        raise ValueError(
            f"no point could be evaluated: all {len(data['failed'])} "
            f"evaluations of the initial design failed ({_failure_summary(data)}). "
            "Fix the objective, then fit again with retry_failed=True (and the "
            "same store) to evaluate these points again."
        )
    return data


def _evaluate_iteration(evaluator, surrogate, U, origin, it, n_before):
    """Evaluate the proposal ``U`` after ``n_before`` stored points.

    Returns the store's data and the in-target, failed and predicted-in-target
    masks of the calls made (proposals the store already knows are skipped).
    """
    X_new = surrogate.space.from_unit(U)
    predicted = surrogate.score(U) >= surrogate.rule.threshold
    evaluator.evaluate(X_new, iteration=it, origin=origin)
    data = evaluator.store.load()
    new = slice(n_before, None)
    failed = data["failed"][new]
    inside = np.zeros(len(failed), dtype=bool)
    inside[~failed] = surrogate.rule.label(data["value"][new][~failed])
    pos = {k: i for i, k in enumerate(point_keys(X_new))}
    keys_new = point_keys(data["X"][new])
    pred = np.array([predicted[pos[k]] for k in keys_new], dtype=bool)
    return data, inside, failed, pred, int(data["calls"][new].sum())


def origin_efficiency(data, label, iteration):
    """In-target share of each origin's successful points of ``iteration``,
    Laplace-smoothed (``(n_in + 1) / (n + 2)``); None for the initial design."""
    if iteration < 1:
        return None
    ok = ~data["failed"] & (data["iteration"] == iteration)
    origins = data["origin"][ok]
    inside = label(data["value"][ok])
    return {
        str(o): (float(inside[origins == o].sum()) + 1.0) / ((origins == o).sum() + 2.0)
        for o in np.unique(origins)
    }


def iteration_line(record):
    """One plain line of progress for an iteration's ``history_`` record.

    The calls of the iteration and so far, its in-target points and so far, its
    efficiency and (when known) the surrogate's accuracy on its points.
    """
    it = record["iteration"]
    line = (
        f"iteration {it}{' (initial design)' if it == 0 else ''}: "
        f"{record['n_calls']} calls ({record['n_calls_total']} so far), "
        f"{record['n_in_target']} in target ({record['n_in_target_total']} so far), "
        f"efficiency {record['efficiency']:.3f}"
    )
    if np.isfinite(record["surrogate_accuracy"]):
        line += f", surrogate accuracy {record['surrogate_accuracy']:.3f}"
    return line


def run_iterations(
    evaluator, data, surrogate, *, base_seed, proposal, stop, history, verbose=0
):
    """Iterate until a limit of ``stop`` (or until nothing new is proposed).

    Parameters
    ----------
    evaluator : Evaluator
        The store and the objective.
    data : dict
        The store's content before the first iteration.
    surrogate : Surrogate
        The scanner's surrogate and maps.
    base_seed : int
        Seed of the scan.
    proposal : ProposalSettings
        Sizes of the selection.
    stop : StopRule
        The limits.
    history : list of dict
        The records so far; one is appended per iteration.
    verbose : int, default=0
        1 prints one line per iteration (:func:`iteration_line`), first those
        of ``history``.

    Returns
    -------
    data : dict
        The store's content at the end.
    """
    n_iter_done = int(data["iteration"].max()) if len(data["iteration"]) else 0
    for record in history:
        report(verbose, iteration_line(record))
    first = True
    why = None
    while True:
        it = n_iter_done + 1
        seeds = np.random.SeedSequence([base_seed, it]).generate_state(4)
        rng = np.random.default_rng(seeds[0])
        t_sur = surrogate.fit(data, int(seeds[1] % 2**31), first)
        first = False
        ok = ~data["failed"]
        inside = surrogate.rule.label(data["value"][ok])
        n_calls = int(data["calls"].sum())
        why = stop.limit(int(inside.sum()), n_calls, n_iter_done)
        if why is not None:
            break
        t0 = time.perf_counter()
        U_ok = surrogate.space.to_unit(data["X"][ok])
        rule = surrogate.rule
        seed = int(seeds[2] % 2**31)
        measured = origin_efficiency(data, rule.label, n_iter_done)
        U, origin = propose(
            proposal,
            U_ok,
            inside,
            surrogate.score,
            rule.threshold,
            rng,
            seed,
            measured=measured,
        )
        if stop.max_evaluations is not None:
            room = max(0, stop.max_evaluations - n_calls)
            U, origin = U[:room], origin[:room]
        t_sur += time.perf_counter() - t0
        t_obj = evaluator.objective_time
        data, inside, failed, pred, n_new = _evaluate_iteration(
            evaluator, surrogate, U, origin, it, len(data["X"])
        )
        acc = surrogate_accuracy(pred, inside, failed)
        t_obj = evaluator.objective_time - t_obj
        record = iteration_record(
            history, it, inside, failed, acc, t_obj, t_sur, n_calls=n_new
        )
        history.append(record)
        report(verbose, iteration_line(history[-1]))
        n_iter_done = it
        if len(failed) == 0:  # every proposal was already known: nothing left
            why = "every point it proposed was already evaluated"
            break
    ok = ~data["failed"]
    n_in = int(surrogate.rule.label(data["value"][ok]).sum())
    stop.warn_short(why, n_in, int(data["calls"].sum()), n_iter_done)
    return data
