"""The per-iteration record (``history_``) of :class:`~skhep_ml.ActiveScanner`."""

from __future__ import annotations

import numpy as np

__all__ = ["history_from_store", "iteration_record", "surrogate_accuracy"]


def _record(iteration, n_calls, n_in, n_failed, prev, accuracy, t_obj, t_sur):
    return {
        "iteration": int(iteration),
        "n_calls": n_calls,
        "n_in_target": n_in,
        "efficiency": n_in / n_calls if n_calls else float("nan"),
        "surrogate_accuracy": accuracy,
        "n_calls_total": (prev["n_calls_total"] if prev else 0) + n_calls,
        "n_in_target_total": (prev["n_in_target_total"] if prev else 0) + n_in,
        "n_failed": n_failed,
        "objective_time": t_obj,
        "surrogate_time": t_sur,
    }


def history_from_store(data, label):
    """One record per iteration the store holds (accuracy and times unknown: NaN).

    Parameters
    ----------
    data : dict
        :meth:`EvaluationStore.load` output.
    label : callable
        ``label(values) -> in-target mask``.

    Returns
    -------
    history : list of dict
    """
    ok = ~data["failed"]
    inside = np.zeros(len(ok), dtype=bool)
    inside[ok] = label(data["value"][ok])
    history = []
    for it in np.unique(data["iteration"]):
        m = data["iteration"] == it
        prev = history[-1] if history else None
        nan = float("nan")
        n_failed = int(data["failed"][m].sum())
        n_in, n_calls = int(inside[m].sum()), int(data["calls"][m].sum())
        history.append(_record(it, n_calls, n_in, n_failed, prev, nan, nan, nan))
    return history


def surrogate_accuracy(predicted, inside, failed):
    """In/out accuracy of the surrogate's predictions on the evaluated points."""
    if not (~failed).any():
        return float("nan")
    return float((predicted[~failed] == inside[~failed]).mean())


def iteration_record(
    history, iteration, inside, failed, accuracy, t_obj, t_sur, n_calls=None
):
    """The record of one scan iteration, with totals continuing ``history``.

    Parameters
    ----------
    history : list of dict
        Records so far.
    iteration : int
        This iteration.
    inside, failed : ndarray of bool of shape (n_calls,)
        In-target and failed masks of the iteration's calls.
    accuracy : float
        :func:`surrogate_accuracy` of the iteration.
    t_obj, t_sur : float
        Seconds in the objective and in the surrogate.
    n_calls : int, optional
        Objective calls of the iteration (more than its points when a chunk
        was re-run point by point); ``len(failed)`` when None.

    Returns
    -------
    record : dict
    """
    prev = history[-1] if history else None
    n_calls = int(len(failed)) if n_calls is None else int(n_calls)
    n_in = int(inside.sum())
    n_failed = int(failed.sum())
    return _record(iteration, n_calls, n_in, n_failed, prev, accuracy, t_obj, t_sur)
