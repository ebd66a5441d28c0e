"""The iterations of :class:`~skhep_ml.ActiveScanner` after the initial design.

Each iteration: train the surrogate on every successful evaluation, stop if a
limit is reached, propose the selection K, evaluate it through the store, and
record the iteration. Iteration ``it`` draws from ``(base_seed, it)``, so a
resumed scan continues deterministically from what its store holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..base import report
from ._history import iteration_record, surrogate_accuracy
from ._proposal import initial_design, propose
from ._store import point_keys

__all__ = [
    "StopRule",
    "Surrogate",
    "evaluate_initial_design",
    "iteration_line",
    "run_iterations",
]


@dataclass(frozen=True)
class StopRule:
    """The scan's limits; each counts what the store holds from earlier fits too."""

    n_target: int | None
    max_evaluations: int | None
    n_iterations: int | None

    def reached(self, n_in, n_calls, n_iter_done):
        """Whether ``n_in`` in-target points of ``n_calls`` after ``n_iter_done``
        iterations meet a limit."""
        if self.n_target is not None and n_in >= self.n_target:
            return True
        if self.max_evaluations is not None and n_calls >= self.max_evaluations:
            return True
        return self.n_iterations is not None and n_iter_done >= self.n_iterations


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


def evaluate_initial_design(evaluator, X, y, n_initial, kind, space, base_seed):
    """Iteration 0: the given points, an interrupted batch, and the design L0.

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

    Returns
    -------
    data : dict
        The store's content.

    Raises
    ------
    ValueError
        If no point could be evaluated.
    """
    store = evaluator.store
    X0 = X if y is None else None
    if y is not None:
        evaluator.add_given(X, y)
    evaluator.finish_pending()
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
            "evaluations of the initial design failed."
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
    return data, inside, failed, pred


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
    while True:
        it = n_iter_done + 1
        seeds = np.random.SeedSequence([base_seed, it]).generate_state(4)
        rng = np.random.default_rng(seeds[0])
        t_sur = surrogate.fit(data, int(seeds[1] % 2**31), first)
        first = False
        ok = ~data["failed"]
        inside = surrogate.rule.label(data["value"][ok])
        if stop.reached(int(inside.sum()), len(data["X"]), n_iter_done):
            break
        t0 = time.perf_counter()
        U_ok = surrogate.space.to_unit(data["X"][ok])
        rule = surrogate.rule
        seed = int(seeds[2] % 2**31)
        U, origin = propose(
            proposal, U_ok, inside, surrogate.score, rule.threshold, rng, seed
        )
        if stop.max_evaluations is not None:
            room = stop.max_evaluations - len(data["X"])
            U, origin = U[:room], origin[:room]
        t_sur += time.perf_counter() - t0
        t_obj = evaluator.objective_time
        data, inside, failed, pred = _evaluate_iteration(
            evaluator, surrogate, U, origin, it, len(data["X"])
        )
        acc = surrogate_accuracy(pred, inside, failed)
        t_obj = evaluator.objective_time - t_obj
        history.append(iteration_record(history, it, inside, failed, acc, t_obj, t_sur))
        report(verbose, iteration_line(history[-1]))
        n_iter_done = it
        if len(failed) == 0:  # every proposal was already known: nothing left
            break
    return data
