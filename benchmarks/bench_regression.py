"""BayesianRegressor beside an MLP ensemble and bayesian-torch on amplitude-like data.

Three surrogates of the noise-free amplitude-like function (5 inputs, dynamic range
~1e4), all trained on log targets with standardised inputs:

* ``skhep_ml``: :class:`~skhep_ml.BayesianRegressor` (σ_tot = σ_stat ⊕ σ_syst,
  recalibrated on a 10% hold-out);
* ``ensemble``: 5 :class:`~sklearn.neural_network.MLPRegressor` plus a residual-variance
  MLP on log squared residuals (σ² = ensemble variance + residual variance);
* ``bayesian-torch``: the same heteroscedastic network built from bayesian-torch's
  ``LinearReparameterization`` layers, trained with its own plain torch loop.

Compared at equal optimiser steps per network and at equal wall time (the peers get
the wall time skhep_ml needed). Metrics on 20k test points: the 68% half-width of
Δ = (pred − true)/true, the fraction with |Δ| < 1% and < 0.1%, pull mean/std and fit
seconds.

Run ``python benchmarks/bench_regression.py`` (full, ~15 min on 2 cores) or with
``--quick``; ``--smoke`` checks the script end to end in seconds.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import runner
import torch
from _common import rst_table, setup_threads, write_page
from runner import Method, Problem, Ratio
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skhep_ml import BayesianRegressor
from skhep_ml.datasets import make_amplitude_like

HIDDEN = (64, 64, 64)
BATCH = 256


def metrics(pred, sigma, y_true, log_true, seconds):
    delta = pred / y_true - 1.0
    lo, hi = np.percentile(delta, [16, 84])
    pull = (np.log(pred) - log_true) / sigma
    return {
        "delta_68": (hi - lo) / 2,
        "frac_1%": float(np.mean(np.abs(delta) < 1e-2)),
        "frac_0.1%": float(np.mean(np.abs(delta) < 1e-3)),
        "pull_mean": float(pull.mean()),
        "pull_std": float(pull.std()),
        "fit_s": seconds,
    }


def fit_skhep(X, ly, epochs, seed):
    reg = BayesianRegressor(
        hidden_layer_sizes=HIDDEN,
        max_epochs=epochs,
        batch_size=BATCH,
        lr=3e-3,
        calibration_fraction=0.1,
        random_state=seed,
    )
    t = time.perf_counter()
    reg.fit(X, ly)
    seconds = time.perf_counter() - t
    return seconds, lambda Xt: reg.predict(Xt, return_std=True)


def fit_ensemble(X, ly, epochs, seed):
    t = time.perf_counter()
    members = [
        MLPRegressor(
            hidden_layer_sizes=HIDDEN,
            batch_size=BATCH,
            learning_rate_init=1e-3,
            max_iter=epochs,
            tol=0.0,
            n_iter_no_change=epochs + 1,
            random_state=seed + k,
        ).fit(X, ly)
        for k in range(5)
    ]
    mean = np.mean([m.predict(X) for m in members], axis=0)
    log_r2 = np.log((ly - mean) ** 2 + 1e-12)
    resid = MLPRegressor(
        hidden_layer_sizes=(32, 32), max_iter=max(20, epochs // 5), random_state=seed
    ).fit(X, log_r2)
    seconds = time.perf_counter() - t

    def predict(Xt):
        preds = np.array([m.predict(Xt) for m in members])
        # E[log chi2_1] = -1.2704: undo the bias of fitting log squared residuals
        var = preds.var(axis=0, ddof=1) + np.exp(resid.predict(Xt) + 1.2704)
        return preds.mean(axis=0), np.sqrt(var)

    return seconds, predict


def fit_bayesian_torch(X, ly, epochs, seed):
    from bayesian_torch.layers import LinearReparameterization

    torch.manual_seed(seed)
    widths = [X.shape[1], *HIDDEN, 2]
    layers = torch.nn.ModuleList(
        LinearReparameterization(a, b) for a, b in zip(widths[:-1], widths[1:])
    )

    def forward(x):
        kl = 0.0
        for i, layer in enumerate(layers):
            x, k = layer(x)
            kl = kl + k
            if i < len(layers) - 1:
                x = torch.nn.functional.silu(x)
        return x, kl

    Xt_ = torch.as_tensor(X, dtype=torch.float32)
    yt_ = torch.as_tensor(ly, dtype=torch.float32)
    opt = torch.optim.Adam(layers.parameters(), lr=1e-3)
    n = len(X)
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for s in range(0, n, BATCH):
            idx = perm[s : s + BATCH]
            out, kl = forward(Xt_[idx])
            mu, log_s = out[:, 0], out[:, 1]
            nll = (0.5 * ((yt_[idx] - mu) * torch.exp(-log_s)) ** 2 + log_s).mean()
            loss = nll + kl / n
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t

    def predict(Xt):
        with torch.no_grad():
            x = torch.as_tensor(Xt, dtype=torch.float32)
            outs = torch.stack([forward(x)[0] for _ in range(30)])
        mu, sig = outs[..., 0], torch.exp(outs[..., 1])
        var = mu.var(0) + (sig**2).mean(0)
        return mu.mean(0).numpy().astype(float), var.sqrt().numpy().astype(float)

    return seconds, predict


def amplitude_task(n_train, n_test):
    """Amplitude-like points, inputs standardised on the training set, log targets."""
    X, y = make_amplitude_like(n_train, random_state=0)
    Xt, yt = make_amplitude_like(n_test, random_state=1)
    scaler = StandardScaler().fit(X)
    return Problem(
        "amplitude_like",
        data=dict(X=scaler.transform(X), ly=np.log(y), Xt=scaler.transform(Xt)),
        truth=dict(y=yt, log_y=np.log(yt)),
    )


SKHEP = "skhep_ml BayesianRegressor"
PEERS = {
    "ensemble (5 MLP + residual model)": fit_ensemble,
    "bayesian-torch": fit_bayesian_torch,
}


def methods(warmup_data):
    """skhep_ml, then each peer at equal steps and at equal time.

    Equal time: the peer's epochs scaled by skhep_ml's fit seconds over the
    peer's at equal steps, both of the same draw (run just before).
    """
    seconds = {}

    def method(name, fit, equal_time=False, warmup=None):
        label = name + (", equal time" if equal_time else "")

        def fn(problem, epochs, seed):
            d, t = problem.data, problem.truth
            ep = epochs
            if equal_time:
                ours, peer = (
                    seconds[m, problem.name, epochs, seed] for m in (SKHEP, name)
                )
                ep = max(1, int(round(epochs * ours / peer)))
            secs, pred = fit(d["X"], d["ly"], ep, seed)
            seconds[label, problem.name, epochs, seed] = secs
            m, s = pred(d["Xt"])
            kind = " (equal time)" if equal_time else " (equal steps)"
            return dict(
                label=name,
                budget_label=f"{ep} ep" + ("" if name == SKHEP else kind),
                **metrics(np.exp(m), s, t["y"], t["log_y"], secs),
            )

        return Method(label, fn, warmup=warmup)

    # the warm-up pays the first-fit overheads
    out = [method(SKHEP, fit_skhep, warmup=lambda: fit_skhep(*warmup_data, 2, 0))]
    for name, fit in PEERS.items():
        out += [method(name, fit), method(name, fit, equal_time=True)]
    return out


#: every row's delta_68 over skhep_ml's
RATIOS = [Ratio(m, "delta_68", m, SKHEP) for m in [SKHEP, *PEERS]] + [
    Ratio(f"{m}, equal time", "delta_68", f"{m}, equal time", SKHEP) for m in PEERS
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs")
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None, help="override epochs")
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    setup_threads(args.threads)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if args.smoke:
        args.n_train, args.epochs = 500, 2
    epochs = args.epochs or (60 if args.quick else 300)
    out_dir = runner.output_dir(args.smoke)

    problem = amplitude_task(args.n_train, 2000 if args.smoke else 20_000)
    warm = (problem.data["X"][:500], problem.data["ly"][:500])
    records = runner.run(
        [problem], methods(warm), [epochs], out=out_dir / "regression.json"
    )
    ratio = {r["method"]: r["value"] for s in RATIOS for r in runner.ratios(records, s)}
    rows = [
        dict(r, method=r["label"], budget=r["budget_label"])
        | {"delta_68 / skhep": ratio[r["method"]]}
        for r in records
    ]
    cols = [
        "method",
        "budget",
        "delta_68",
        "delta_68 / skhep",
        "frac_1%",
        "frac_0.1%",
        "pull_mean",
        "pull_std",
        "fit_s",
    ]
    table = rst_table(rows, cols)
    print(table)
    cmd = "python benchmarks/bench_regression.py" + (" --quick" if args.quick else "")
    cmd += " --smoke" if args.smoke else f" --n-train {args.n_train} --epochs {epochs}"
    write_page(
        "regression",
        "BayesianRegressor: amplitude-like surrogate",
        f"{args.n_train} training points of ``make_amplitude_like`` (log targets), "
        f"{len(problem.truth['y']):,} test points, {args.threads} CPU threads, "
        f"hidden layers {HIDDEN}, batch {BATCH}. "
        "``delta_68`` is the 68% half-width of (pred - true)/true; pulls are "
        "(log pred - log true)/σ_tot. The ensemble's steps are per member (5x the "
        "total); equal time gives each peer skhep_ml's fit seconds.",
        [("Results", table)],
        cmd,
        out_dir,
    )


if __name__ == "__main__":
    main()
