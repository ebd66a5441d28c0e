"""BayesianRegressor's σ_syst against a known σ(x) at several training lengths.

Toys: ``1d`` (:func:`~skhep_ml.datasets.make_heteroscedastic`, ``x ~ U(-3, 3)``,
training seed 0, scored on 2,001 grid points over the whole range) and integer
seeds of :func:`~skhep_ml.datasets.make_heteroscedastic_family` (training seed
``1000 + seed``, 5,000 test points of seed ``2000 + seed``). Each fit uses the
defaults except ``max_epochs``: ``--lengths`` are multiples of the default
training length (the epochs of the default step budget at that size; 1 is the
default itself). Per fit: the share of test points with σ_syst within 20 % of
the true σ(x) (``within_20``), the median σ_syst/σ and σ_stat/σ, and the same
share for the σ_syst formula of commit d50f606 (arithmetic mean of the drawn
widths less σ_stat², ``within_20_d50f606``), computed from the same weight
draws. One JSON line per fit on stdout.

    python benchmarks/regression_syst.py --toys 1d --lengths 1 5 --n-train 2000

(``--smoke``: 200 points, 2 epochs.)
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from skhep_ml import BayesianRegressor
from skhep_ml.datasets import (
    heteroscedastic_sigma,
    make_heteroscedastic,
    make_heteroscedastic_family,
)


def toy_data(name, n_train):
    """``X, y`` to fit, test inputs and their true σ."""
    if name == "1d":
        X, y, _ = make_heteroscedastic(n_train, random_state=0)
        Xt = np.linspace(-3.0, 3.0, 2001)[:, None]
        return X, y, Xt, heteroscedastic_sigma(Xt[:, 0])
    toy = make_heteroscedastic_family(int(name))
    X, y = toy.make(n_train, random_state=1000 + int(name))
    Xt, _ = toy.make(5000, random_state=2000 + int(name))
    return X, y, Xt, toy.sigma(Xt)


def _share_within_20(ratio):
    return float(np.mean(np.abs(ratio - 1.0) < 0.2))


def _d50f606_syst(reg, Xt):
    """σ_syst by d50f606's formula: sqrt(E_k σ_k² - Var_k μ_k), floored."""
    mu, sigma = reg._draws(reg._check_X(Xt), reg.n_predict_samples, reg._predict_seed)
    arith = (sigma**2).mean(axis=0)
    var_mu = mu.var(axis=0, ddof=1)
    out = np.sqrt(np.maximum(arith - var_mu, 0.01 * arith)) * reg._y_scale
    return out[:, 0]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--toys", nargs="+", default=["1d", "0", "1", "2"])
    p.add_argument("--lengths", type=float, nargs="+", default=[1.0, 5.0])
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--smoke", action="store_true", help="200 points, 2 epochs")
    args = p.parse_args(argv)
    if args.smoke:
        args.n_train, args.toys, args.lengths = 200, ["1d", "0"], [1.0]
    for name in args.toys:
        X, y, Xt, sigma = toy_data(name, args.n_train)
        # the epochs of the default step budget (the estimator's own rule)
        default_epochs = BayesianRegressor()._n_epochs(len(X))
        for length in args.lengths:
            epochs = 2 if args.smoke else max(1, round(length * default_epochs))
            reg = BayesianRegressor(max_epochs=epochs, random_state=0)
            t = time.process_time()
            reg.fit(X, y)
            cpu_s = time.process_time() - t
            _, s_stat, s_syst = reg.predict_uncertainty(Xt)
            ratio = s_syst / sigma
            record = dict(
                toy=name,
                n_train=args.n_train,
                length=length,
                epochs=epochs,
                epochs_run=reg.n_iter_,
                within_20=_share_within_20(ratio),
                syst_ratio=float(np.median(ratio)),
                stat_ratio=float(np.median(s_stat / sigma)),
                within_20_d50f606=_share_within_20(_d50f606_syst(reg, Xt) / sigma),
                cpu_s=cpu_s,
            )
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
