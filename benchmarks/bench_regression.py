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
``--quick``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from _common import rst_table, setup_threads, write_page
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skhep_ml import BayesianRegressor
from skhep_ml.datasets import make_amplitude_like

HIDDEN = (64, 64, 64)
BATCH = 256


def metrics(name, pred, sigma, y_true, log_true, seconds, budget):
    delta = pred / y_true - 1.0
    lo, hi = np.percentile(delta, [16, 84])
    pull = (np.log(pred) - log_true) / sigma
    return {
        "method": name,
        "budget": budget,
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs")
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None, help="override epochs")
    args = parser.parse_args()
    setup_threads(args.threads)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    epochs = args.epochs or (60 if args.quick else 300)

    X, y = make_amplitude_like(args.n_train, random_state=0)
    Xt, yt = make_amplitude_like(20_000, random_state=1)
    scaler = StandardScaler().fit(X)
    X, Xt = scaler.transform(X), scaler.transform(Xt)
    ly, lyt = np.log(y), np.log(yt)

    fit_skhep(X[:500], ly[:500], 2, 0)  # warm-up (first-fit overheads)
    rows = []
    sk_s, sk_pred = fit_skhep(X, ly, epochs, 0)
    m, s = sk_pred(Xt)
    rows.append(
        metrics(
            "skhep_ml BayesianRegressor", np.exp(m), s, yt, lyt, sk_s, f"{epochs} ep"
        )
    )
    peers = {
        "ensemble (5 MLP + residual model)": fit_ensemble,
        "bayesian-torch": fit_bayesian_torch,
    }
    for name, fit in peers.items():
        secs, pred = fit(X, ly, epochs, 0)
        m, s = pred(Xt)
        rows.append(
            metrics(name, np.exp(m), s, yt, lyt, secs, f"{epochs} ep (equal steps)")
        )
        # equal wall time: scale the epochs to skhep_ml's fit seconds
        ep_equal = max(1, int(round(epochs * sk_s / secs)))
        secs, pred = fit(X, ly, ep_equal, 0)
        m, s = pred(Xt)
        rows.append(
            metrics(name, np.exp(m), s, yt, lyt, secs, f"{ep_equal} ep (equal time)")
        )

    ref = rows[0]["delta_68"]
    for r in rows:
        r["delta_68 / skhep"] = r["delta_68"] / ref
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
    cmd += f" --n-train {args.n_train} --epochs {epochs}"
    write_page(
        "regression",
        "BayesianRegressor: amplitude-like surrogate",
        f"{args.n_train} training points of ``make_amplitude_like`` (log targets), "
        f"20,000 test points, {args.threads} CPU threads, hidden layers {HIDDEN}, "
        f"batch {BATCH}. "
        "``delta_68`` is the 68% half-width of (pred - true)/true; pulls are "
        "(log pred - log true)/σ_tot. The ensemble's steps are per member (5x the "
        "total); equal time gives each peer skhep_ml's fit seconds.",
        [("Results", table)],
        cmd,
    )


if __name__ == "__main__":
    main()
