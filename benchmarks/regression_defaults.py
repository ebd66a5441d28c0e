"""BayesianRegressor's training-length defaults before and after session 11.

Configurations (everything else at the current defaults, ``target_transform="log"``):

* ``new``: ``max_epochs=None`` (``round(5000 sqrt(n_train / 1000))`` optimizer
  steps, cosine decay) and ``early_stopping=True`` (10 % held out, best weights);
* ``new_noES``: the same step budget on all rows, ``early_stopping=False``;
* ``old``: ``max_epochs=200, early_stopping=False`` (the defaults of e494617);
* ``boost``: ``new_noES`` with three pull-boosting rounds inside the same
  schedule (``n_boost_rounds=3``, the rows of the 10 % largest pulls counted
  twice from half-way, then at 60 % and 70 % of the epochs): the same optimizer
  steps as ``new_noES``.

Cases: ``fixed`` (``make_amplitude_like``, training seed 0, test seed 1, as the old
page) and ``make_amplitude_family`` draws; metrics as ``bench_regression.py``,
plus, on the 1 % largest amplitudes, ``tail_abs68`` (the 68 % quantile of
``|Δ|``, which unlike ``tail_w68`` counts a common bias) and ``tail_bias``
(the median ``Δ``).
One JSON line per (case, configuration) on stdout.

    python benchmarks/regression_defaults.py --n-train 10000 --cases fixed 0 1

(``--smoke``: 200 points, 2 epochs, end to end in seconds.)
"""

from __future__ import annotations

import argparse
import json
import time

import bench_regression as br
import numpy as np

from skhep_ml import BayesianRegressor
from skhep_ml.datasets import make_amplitude_like

CONFIGS = {
    "new": {},
    "old": dict(max_epochs=200, early_stopping=False),
    "new_noES": dict(early_stopping=False),
    "boost": dict(
        early_stopping=False,
        n_boost_rounds=3,
        boost_start=0.5,
        boost_fraction=0.1,
        boost_strength=1.0,
    ),
}


class _Recorded(BayesianRegressor):
    """BayesianRegressor that keeps the last fitted instance (for its history)."""

    last = None

    def fit(self, X, y, sample_weight=None):
        type(self).last = self
        return super().fit(X, y, sample_weight)


br.BayesianRegressor = _Recorded


def _history(reg):
    """Epochs planned and run, and the epoch of the restored weights."""
    h = reg.net_.history
    out = dict(epochs_planned=reg.net_.max_epochs, epochs_run=len(h))
    if "valid_loss" in h[0]:
        valid = h[:, "valid_loss"]
        out["best_epoch"] = int(min(range(len(valid)), key=valid.__getitem__)) + 1
    return out


def _tail_bias(problem, log_mean):
    """``tail_abs68`` and ``tail_bias`` on the 1 % largest amplitudes."""
    y = problem.truth["y"]
    delta = np.exp(log_mean) / y - 1.0
    tail = delta[y >= np.quantile(y, 0.99)]
    return dict(
        tail_abs68=float(np.quantile(np.abs(tail), 0.68)),
        tail_bias=float(np.median(tail)),
    )


def fixed_problem(n_train, n_test):
    X, y = make_amplitude_like(n_train, random_state=0)
    Xt, yt = make_amplitude_like(n_test, random_state=1)
    return br._problem("fixed", 0, X, y, Xt, yt, log=True)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--n-train", type=int, default=10_000)
    p.add_argument("--n-test", type=int, default=20_000)
    p.add_argument("--cases", nargs="+", default=["fixed", "0", "1"])
    p.add_argument("--configs", nargs="+", default=list(CONFIGS))
    p.add_argument("--fit-seed", type=int, default=0, help="the fits' random_state")
    p.add_argument("--smoke", action="store_true", help="200 points, 2 epochs")
    args = p.parse_args(argv)
    if args.smoke:
        args.n_train, args.n_test, args.cases = 200, 500, ["fixed", "0"]
    warm = fixed_problem(64, 64).data  # first fit's one-off start-up, untimed
    BayesianRegressor(max_epochs=1).fit(warm["X"], warm["y"])
    for case in args.cases:
        if case == "fixed":
            problem = fixed_problem(args.n_train, args.n_test)
        else:
            problem = br.amplitude_problem(int(case), args.n_train, args.n_test)
        for name in args.configs:
            br.SKHEP_PARAMS.clear()
            br.SKHEP_PARAMS.update(CONFIGS[name])
            if args.smoke:
                br.SKHEP_PARAMS["max_epochs"] = 2
            t = time.perf_counter()
            out = br.fit_skhep(problem, None, args.fit_seed)
            m = br.metrics(problem, *out)
            m.update(_tail_bias(problem, out[0]))
            m.update(_history(_Recorded.last))
            m.update(
                case=case,
                fit_seed=args.fit_seed,
                config=name,
                n_train=args.n_train,
                wall_s=time.perf_counter() - t,
            )
            print(json.dumps(m), flush=True)


if __name__ == "__main__":
    main()
