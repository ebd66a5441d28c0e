"""The benchmark runner: problems, methods side by side, JSON records, ratio statistics.

A benchmark is its *problems*, its *methods* (skhep_ml and its peers) and its
*metrics*; this module is the loop, the records and the statistics they share.

* A :class:`Problem` is one draw: a name, the seed that drew it, the data the
  methods need and its exact answers (``truth``). A *family* is a callable
  ``seed -> Problem``; :func:`draw` draws problems from one by seed, and a fixed
  task is a family of one (:func:`fixed`).
* A :class:`Method` is a name and a callable ``(problem, budget, seed) -> dict``
  of metrics (JSON scalars, lists, strings; keys starting with ``_`` hold
  in-process artefacts such as arrays, kept in the record but never written);
  an optional ``warmup`` runs once before the first draw, and ``applies``
  leaves problems out.
* :func:`run` runs every method on every draw and budget in one process,
  interleaving the methods per draw, times each call (``run_s``, wall seconds
  after the warm-ups) and writes one JSON record per (seed, draw, budget,
  method) together with the :func:`environment` (:func:`save`, :func:`load`).
* :class:`Ratio` names a metric of a method (or the best of several) over the
  same metric of a reference (or the best of several peers), with the metric's
  direction explicit; :func:`ratios` gives it per draw, :func:`distribution`
  its median, worst decile and goal count over the draws, and
  :func:`draw_rows` / :func:`distribution_rows` the rows of the two tables
  (``_common.rst_table``, ``_common.write_page``).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _common import DOCS_BENCH

#: the keys that identify a record; the rest are the method's metrics
KEYS = ("seed", "problem", "draw", "budget", "method")


# ------------------------------------------------------------------ problems
@dataclass(frozen=True)
class Problem:
    """One draw of a family: what the methods see and its exact answers.

    Parameters
    ----------
    name : str
        The task or family name (``"camel_d2"``); draws of one family share it.
    data : object
        Whatever the methods need (an integrand, arrays, a simulator).
    draw : int
        The seed that drew it from its family (0 for a fixed task).
    truth : dict
        Exact answers (integral, log-density of the test events, ...).
    """

    name: str
    data: Any = None
    draw: int = 0
    truth: dict = field(default_factory=dict)


Family = Callable[[int], Problem]


def draw(family: Family, seeds: Iterable[int]) -> list[Problem]:
    """The problems a family draws for each seed, in order."""
    return [family(int(seed)) for seed in seeds]


def fixed(problem: Problem) -> Family:
    """A fixed task as a family of one: every seed gives the same problem."""
    return lambda seed: problem


# ------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    """A method under test: a name and ``fn(problem, budget, seed) -> metrics``.

    Parameters
    ----------
    name : str
        Row label, unique in a run.
    fn : callable
        ``fn(problem, budget, seed)`` returns a dict of metrics.
    warmup : callable, optional
        Called once (no arguments) before the first draw, so that one-off costs
        (first torch calls, imports) fall outside every timing.
    applies : callable, optional
        ``applies(problem) -> bool``; a method is not run (and has no record)
        on a problem it does not apply to.
    """

    name: str
    fn: Callable[[Problem, Any, int], dict]
    warmup: Callable[[], object] | None = None
    applies: Callable[[Problem], bool] | None = None


def environment() -> dict:
    """Versions, threads and machine of this process, stored with the records."""
    env = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return env


def run(
    problems: Sequence[Problem],
    methods: Sequence[Method],
    budgets: Sequence = (None,),
    seeds: Sequence[int] = (0,),
    out: str | Path | None = None,
    merge: bool = False,
    log: Callable[[dict], object] | None = print,
) -> list[dict]:
    """Run every method on every problem, budget and seed, side by side.

    The loop is seed, then problem, then budget, then method: the methods of a
    draw run one after the other in this process, at the same budget. Each
    record holds the keys ``seed``, ``problem``, ``draw``, ``budget``,
    ``method``, the method's metrics and ``run_s`` (wall seconds of the call,
    measured here after every method's warm-up).

    Parameters
    ----------
    problems, methods : sequences of Problem and Method
    budgets : sequence, default=(None,)
        Passed to every method (calls, events, epochs: the benchmark's unit).
    seeds : sequence of int, default=(0,)
        The methods' seeds (not the problems' draws).
    out : path, optional
        JSON file of the records, rewritten after every record (:func:`save`).
    merge : bool, default=False
        Keep the records already in ``out`` whose keys this run does not
        produce (so tasks run one at a time add up in one file).
    log : callable or None, default=print
        Called with the JSON part of every new record.

    Returns
    -------
    records : list of dict
        This run's records (with their in-process ``_`` artefacts).
    """
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ValueError(f"method names must be unique, got {names}")
    kept = load(out)[1] if (out and merge and Path(out).exists()) else []
    for method in methods:
        if method.warmup is not None:
            method.warmup()
    records = []
    for seed in seeds:
        for problem in problems:
            for budget in budgets:
                for method in methods:
                    if method.applies is not None and not method.applies(problem):
                        continue
                    start = time.perf_counter()
                    metrics = method.fn(problem, budget, seed)
                    run_s = time.perf_counter() - start
                    record = dict(
                        seed=seed,
                        problem=problem.name,
                        draw=problem.draw,
                        budget=budget,
                        method=method.name,
                        **metrics,
                        run_s=run_s,
                    )
                    records.append(record)
                    if log is not None:
                        log(_jsonable(record))
                    if out:
                        new = {key(r) for r in records}
                        save(out, [r for r in kept if key(r) not in new] + records)
    return records


def key(record: dict) -> tuple:
    """The identity of a record: seed, problem, draw, budget, method."""
    return tuple(record.get(k) for k in KEYS)


def _jsonable(value):
    """``value`` with numpy scalars as Python numbers, without ``_`` keys."""
    if isinstance(value, dict):
        return {
            k: _jsonable(v)
            for k, v in value.items()
            if not (isinstance(k, str) and k.startswith("_"))
        }
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def save(path: str | Path, records: Sequence[dict], env: dict | None = None) -> None:
    """Write ``{"environment": ..., "records": [...]}`` (the JSON part) to ``path``."""
    doc = {"environment": env or environment(), "records": _jsonable(list(records))}
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")


def load(path: str | Path) -> tuple[dict, list[dict]]:
    """The environment and the records of a file written by :func:`save`."""
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict) or "records" not in doc:
        raise ValueError(f"{path} holds no runner records (rerun its benchmark)")
    return doc.get("environment", {}), doc["records"]


def select(records: Iterable[dict], **match) -> list[dict]:
    """The records whose fields equal ``match`` (e.g. ``seed=0``)."""
    return [r for r in records if all(r.get(k) == v for k, v in match.items())]


# -------------------------------------------------------------------- ratios
@dataclass(frozen=True)
class Ratio:
    """``metric`` of ``method`` over ``metric`` of ``reference``, per draw.

    Parameters
    ----------
    name : str
        Column name (``"error_ratio"``).
    metric : str
        The metric compared.
    method, reference : str or tuple of str
        One method, or several: then the best of those present in the draw.
    higher_is_better : bool, default=False
        Direction of ``metric`` and so of the ratio (an efficiency: True; an
        error or a time: False). It decides the best of several methods, the
        worst decile and the goal.
    goal : float, optional
        The ratio is good when ``<= goal`` (lower is better) or ``>= goal``.
    pick_by : str, optional
        Choose the best of several ``method`` by this metric instead (lower is
        better when ``pick_higher`` is False), e.g. the most accurate variant's
        efficiency.
    pick_higher : bool, default=False
        Direction of ``pick_by``.
    """

    name: str
    metric: str
    method: str | tuple[str, ...]
    reference: str | tuple[str, ...]
    higher_is_better: bool = False
    goal: float | None = None
    pick_by: str | None = None
    pick_higher: bool = False

    def met(self, value: float) -> bool:
        """Whether ``value`` meets the goal (False for NaN or no goal)."""
        if self.goal is None or not math.isfinite(value):
            return False
        return value >= self.goal if self.higher_is_better else value <= self.goal


def best(
    records: Iterable[dict], methods: str | Sequence[str], metric: str, higher: bool
) -> dict | None:
    """The record of the best of ``methods`` by ``metric`` (None if none ran)."""
    names = (methods,) if isinstance(methods, str) else tuple(methods)
    rows = [r for r in records if r["method"] in names and _finite(r.get(metric))]
    if not rows:
        return None
    return (max if higher else min)(rows, key=lambda r: r[metric])


def _finite(value) -> bool:
    # numbers.Real: numpy scalars (np.int64 call counts, np.float64) count too
    return isinstance(value, numbers.Real) and math.isfinite(value)


def draws(records: Iterable[dict]) -> dict[tuple, list[dict]]:
    """Records grouped by draw: ``(seed, problem, draw, budget) -> records``."""
    out: dict[tuple, list[dict]] = {}
    for r in records:
        out.setdefault(key(r)[:-1], []).append(r)
    return out


def ratios(records: Iterable[dict], ratio: Ratio) -> list[dict]:
    """Per draw: ``{seed, problem, draw, budget, method, reference, value}``.

    Draws without the method or the reference are left out.
    """
    out = []
    for group_key, group in draws(records).items():
        num = best(
            group,
            ratio.method,
            ratio.pick_by or ratio.metric,
            ratio.pick_higher if ratio.pick_by else ratio.higher_is_better,
        )
        den = best(group, ratio.reference, ratio.metric, ratio.higher_is_better)
        if num is None or den is None or not _finite(num.get(ratio.metric)):
            continue
        value = num[ratio.metric] / den[ratio.metric] if den[ratio.metric] else math.nan
        out.append(
            dict(
                zip(KEYS[:-1], group_key),
                method=num["method"],
                reference=den["method"],
                value=value,
            )
        )
    return out


#: the columns of a distribution row (``distribution`` / ``metric_distribution``)
DISTRIBUTION_COLUMNS = ("median", "worst_decile", "worst", "goal", "met")


def distribution(
    values: Sequence[float], higher_is_better: bool, goal: float | None = None
) -> dict:
    """Median, worst decile and goal count of ratios over draws.

    The worst decile is the 10 % quantile when higher is better, the 90 %
    quantile when lower is better (linear interpolation, NaN dropped);
    ``met`` counts the values meeting ``goal`` (``>= goal`` resp. ``<= goal``).
    """
    v = np.asarray([x for x in values if _finite(x)], dtype=float)
    if not len(v):
        return dict(n=0, median=math.nan, worst_decile=math.nan, worst=math.nan, met=0)
    worst = v.min() if higher_is_better else v.max()
    met = 0
    if goal is not None:
        met = int(np.sum(v >= goal) if higher_is_better else np.sum(v <= goal))
    return dict(
        n=len(v),
        median=float(np.median(v)),
        worst_decile=float(np.quantile(v, 0.1 if higher_is_better else 0.9)),
        worst=float(worst),
        met=met,
    )


def draw_rows(records: Iterable[dict], specs: Sequence[Ratio]) -> list[dict]:
    """One row per draw: its keys and one column per ratio (table of draws)."""
    rows: dict[tuple, dict] = {}
    for spec in specs:
        for r in ratios(records, spec):
            k = tuple(r[c] for c in KEYS[:-1])
            rows.setdefault(k, {c: r[c] for c in KEYS[:-1]})[spec.name] = r["value"]
    return list(rows.values())


def distribution_rows(records: Iterable[dict], specs: Sequence[Ratio]) -> list[dict]:
    """One row per ratio: direction, draws, median, worst decile, worst, goal met."""
    records = list(records)
    rows = []
    for spec in specs:
        d = distribution(
            [r["value"] for r in ratios(records, spec)],
            spec.higher_is_better,
            spec.goal,
        )
        goal = (
            ""
            if spec.goal is None
            else f"{'>=' if spec.higher_is_better else '<='} {spec.goal:.3g}"
        )
        rows.append(
            dict(
                ratio=spec.name,
                better="higher" if spec.higher_is_better else "lower",
                draws=d["n"],
                median=d["median"],
                worst_decile=d["worst_decile"],
                worst=d["worst"],
                goal=goal,
                met=f"{d['met']}/{d['n']}" if spec.goal is not None else "",
            )
        )
    return rows


# ------------------------------------------------------------ smoke and pages
def add_smoke_flag(parser) -> None:
    """``--smoke``: tiny budgets, one draw, pages and records to a temp folder."""
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="end-to-end check: tiny budgets, one draw, output to a temp folder",
    )


def output_dir(smoke: bool) -> Path:
    """``docs/benchmarks`` or, for a smoke run, a fresh temporary folder."""
    if smoke:
        path = Path(tempfile.mkdtemp(prefix="skhep_bench_smoke_"))
        print(f"smoke run: output in {path}", flush=True)
        return path
    return DOCS_BENCH
