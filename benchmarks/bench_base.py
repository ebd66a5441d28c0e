"""Training-loop overhead of the shared skorch machinery, and the dtype policy.

One epoch over 200k rows x 4 features, MLP(64, 64), batch 1024, Adam, MSE, timed as:

* ``plain torch``: a hand-written loop over a shuffled index tensor (the floor);
* ``skhep_ml base``: skorch ``NeuralNet`` with :class:`skhep_ml.base.ArrayDataset`
  and :class:`skhep_ml.base.BatchLoader` (what every estimator uses);
* ``skorch default``: skorch's per-row ``Dataset`` + ``DataLoader`` collate;

plus the cost of float64 against float32 training (the reason for the dtype policy:
train in float32, infer in float64 on the CPU). Goal: base ≤ 1.3x plain torch.

Run ``python benchmarks/bench_base.py``.
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import rst_table, setup_threads, write_page
from skorch import NeuralNet

from skhep_ml.base import ArrayDataset, BatchLoader
from skhep_ml.nn import MLP

N, D, BATCH = 200_000, 4, 1024


def make_data(dtype):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(N, D, generator=g, dtype=dtype)
    y = (X.sin().sum(1, keepdim=True)).to(dtype)
    return X, y


def module(dtype):
    torch.manual_seed(0)
    return MLP(D, 1, (64, 64)).to(dtype)


def plain_loop(X, y, epochs, dtype):
    m = module(dtype)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    t = time.perf_counter()
    n = len(X)
    for _ in range(epochs):
        perm = torch.randperm(n)
        for s in range(0, n, BATCH):
            idx = perm[s : s + BATCH]
            opt.zero_grad()
            loss = loss_fn(m(X[idx]), y[idx])
            loss.backward()
            opt.step()
    return (time.perf_counter() - t) / epochs


def skorch_net(X, y, epochs, dtype, fast):
    kwargs = dict(
        module=module(dtype),
        criterion=torch.nn.MSELoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=epochs,
        batch_size=BATCH,
        train_split=None,
        verbose=0,
        iterator_train__shuffle=True,
    )
    if fast:
        kwargs.update(
            dataset=ArrayDataset, iterator_train=BatchLoader, iterator_valid=BatchLoader
        )
    net = NeuralNet(**kwargs)
    t = time.perf_counter()
    net.fit(X, y)
    return (time.perf_counter() - t) / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    setup_threads(args.threads)
    rows = []
    for dtype in (torch.float32, torch.float64):
        X, y = make_data(dtype)
        plain_loop(X[:20_000], y[:20_000], 1, dtype)  # warm-up
        plain = plain_loop(X, y, args.epochs, dtype)
        base = skorch_net(X, y, args.epochs, dtype, fast=True)
        default = skorch_net(X, y, 1, dtype, fast=False)
        name = str(dtype).replace("torch.", "")
        for label, sec in (
            ("plain torch", plain),
            ("skhep_ml base", base),
            ("skorch default", default),
        ):
            rows.append(
                {
                    "loop": label,
                    "dtype": name,
                    "s_per_epoch": sec,
                    "x_plain": sec / plain,
                }
            )
    f32 = {r["loop"]: r["s_per_epoch"] for r in rows if r["dtype"] == "float32"}
    for r in rows:
        r["x_float32"] = r["s_per_epoch"] / f32[r["loop"]]
    table = rst_table(
        rows, ["loop", "dtype", "s_per_epoch", "x_plain", "x_float32"], ".3g"
    )
    print(table)
    write_page(
        "base",
        "Training-loop overhead and dtype",
        f"One epoch over {N:,} rows x {D} features, MLP(64, 64), batch {BATCH}, Adam, "
        f"{args.threads} CPU threads. ``x_plain``: seconds per epoch over the plain "
        "torch loop of the same dtype; ``x_float32``: over the same loop in float32.",
        [("Results", table)],
        "python benchmarks/bench_base.py",
    )


if __name__ == "__main__":
    main()
