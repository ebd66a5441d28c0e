"""Training-loop overhead of the shared skorch machinery, the dtype policy, and
whole fits with each speed kernel against the library it replaces.

One epoch over 200k rows x 4 features, MLP(64, 64), batch 1024, Adam, MSE, timed as:

* ``plain torch``: a hand-written loop over a shuffled index tensor (the floor);
* ``skhep_ml base``: skorch ``NeuralNet`` with :class:`skhep_ml.base.ArrayDataset`
  and :class:`skhep_ml.base.BatchLoader` (what every estimator uses);
* ``skorch default``: skorch's per-row ``Dataset`` + ``DataLoader`` collate;

plus the cost of float64 against float32 training (the reason for the dtype policy:
train in float32, infer in float64 on the CPU). Goal: base ≤ 1.3x plain torch.

Speed kernels: a hand-written replacement of what torch or skorch provide stays
only with a whole-fit gain of at least 1.3x. For each kernel the estimators it
affects are fitted with the kernel and with the library replacement, alternating
(best of ``--repeats`` after a warm-up fit of each, 1 torch thread).

Run ``python benchmarks/bench_base.py``.
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager

import torch
from _common import rst_table, setup_threads, write_page
from skorch import NeuralNet
from skorch.dataset import Dataset

from skhep_ml import ALICERatioEstimator, BayesianRegressor
from skhep_ml.base import ArrayDataset, BatchLoader, TorchEstimatorMixin
from skhep_ml.datasets import make_alice_toy, make_heteroscedastic
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


def loop_overhead(args):
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
    return rst_table(
        rows, ["loop", "dtype", "s_per_epoch", "x_plain", "x_float32"], ".3g"
    )


# -- whole fits ------------------------------------------------------------
_ALICE_TOY = make_alice_toy(10_000, random_state=0)
_HETERO = make_heteroscedastic(2000, random_state=0)


def fit_ratio(loss="alices"):
    X, y, r, t = _ALICE_TOY
    est = ALICERatioEstimator(loss=loss, max_epochs=10, random_state=0)
    score = {"joint_score": t} if loss == "alices" else {}
    return est.fit(X, y, joint_ratio=r, **score)


def fit_regressor():
    X, y = _HETERO[:2]
    return BayesianRegressor(max_epochs=10, random_state=0).fit(X, y)


PROBLEMS = {
    "ALICE fit": lambda: fit_ratio(loss="alice"),
    "BayesianRegressor fit": fit_regressor,
}


@contextmanager
def net_arguments(**overrides):
    """Every estimator's skorch net built with ``overrides`` (e.g. the optimizer)."""
    original = TorchEstimatorMixin._build_net

    def build(self, *args, **kwargs):
        return original(self, *args, **{**kwargs, **overrides})

    TorchEstimatorMixin._build_net = build
    try:
        yield
    finally:
        TorchEstimatorMixin._build_net = original


def skorch_dataset():
    """skorch's per-row dataset and torch's DataLoader instead of BatchLoader."""
    return net_arguments(
        dataset=Dataset,
        iterator_train=torch.utils.data.DataLoader,
        iterator_valid=torch.utils.data.DataLoader,
    )


#: kernel -> (what replaces it, the fits it affects, the library's context)
KERNELS = {
    "ArrayDataset + BatchLoader": (
        "skorch Dataset + DataLoader",
        ("ALICE fit", "BayesianRegressor fit"),
        skorch_dataset,
    ),
}


#: kernels removed by issue 18 for gaining under 1.3x, as measured by this script
#: at commit 88b8b8d (``git checkout 88b8b8d && python benchmarks/bench_base.py
#: --kernels-only``, torch 2.13 CPU, 1 thread): (kernel, library, fit, kernel
#: seconds, library seconds). A rerun on a three times busier machine gave
#: 0.94-1.15x for all but the softmax on the integrator, 1.25x (1.12x best of
#: 9 in a probe); FlowDensity's float32 training at its default 16 bins never
#: ran the softmax kernel (a 1.31x there was noise), so that row is left out.
REMOVED = [
    ("FlatAdam", "torch Adam(fused=True)", "ALICES fit (tanh)", 0.468, 0.544),
    ("FlatAdam", "torch Adam(fused=True)", "integrator fit", 0.555, 0.560),
    ("FlatAdam", "torch Adam(fused=True)", "FlowDensity fit", 0.645, 0.639),
    ("FlatAdam", "torch Adam(fused=True)", "BayesianRegressor fit", 0.241, 0.249),
    ("TorchNet overrides", "skorch NeuralNet", "ALICES fit (tanh)", 0.376, 0.403),
    ("TorchNet overrides", "skorch NeuralNet", "integrator fit", 0.551, 0.558),
    ("TorchNet overrides", "skorch NeuralNet", "FlowDensity fit", 0.651, 0.658),
    ("TorchNet overrides", "skorch NeuralNet", "BayesianRegressor fit", 0.306, 0.298),
    ("ratio step kernels", "autograd", "ALICES fit (tanh)", 0.391, 0.423),
    ("ratio step kernels", "autograd", "ALICES fit (silu)", 0.658, 0.556),
    ("ratio step kernels", "autograd", "ALICE fit", 0.191, 0.206),
    ("spline exp-and-divide softmax", "torch.softmax", "integrator fit", 0.559, 0.639),
]


def _row(kernel, library, fit, kernel_s, library_s, verdict):
    return {
        "kernel": kernel,
        "library": library,
        "fit": fit,
        "kernel_s": kernel_s,
        "library_s": library_s,
        "gain": library_s / kernel_s,
        "verdict": verdict,
    }


def best_of(fn, context, repeats):
    times = []
    for _ in range(repeats):
        with context():
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return min(times)


def kernel_rows(repeats):
    rows = []
    for kernel, (library, problems, context) in KERNELS.items():
        for problem in problems:
            fn = PROBLEMS[problem]
            ours, theirs = [], []
            for rep in range(repeats + 1):  # the first pair warms up
                a = best_of(fn, _nothing, 1)
                b = best_of(fn, context, 1)
                if rep:
                    ours.append(a)
                    theirs.append(b)
            gain = min(theirs) / min(ours)
            rows.append(
                _row(
                    kernel,
                    library,
                    problem,
                    min(ours),
                    min(theirs),
                    ">= 1.3x" if gain >= 1.3 else "under 1.3x",
                )
            )
            print(rows[-1], flush=True)
    return rows


@contextmanager
def _nothing():
    yield


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--kernels-only", action="store_true", help="skip the loop-overhead table"
    )
    args = parser.parse_args()
    tables = []
    if not args.kernels_only:
        setup_threads(args.threads)
        table = loop_overhead(args)
        print(table)
        tables.append(("Training-loop overhead and dtype", table))
    torch.set_num_threads(1)
    rows = kernel_rows(args.repeats)
    table = rst_table(
        rows,
        ["kernel", "library", "fit", "kernel_s", "library_s", "gain", "verdict"],
        ".3g",
    )
    print(table)
    tables.append(("Speed kernels in whole fits", table))
    removed = rst_table(
        [_row(*r, "removed") for r in REMOVED],
        ["kernel", "library", "fit", "kernel_s", "library_s", "gain", "verdict"],
        ".3g",
    )
    tables.append(("Removed kernels (measured at commit 88b8b8d)", removed))
    write_page(
        "base",
        "Training-loop overhead, dtype, and speed kernels",
        f"One epoch over {N:,} rows x {D} features, MLP(64, 64), batch {BATCH}, Adam, "
        f"{args.threads} CPU threads. ``x_plain``: seconds per epoch over the plain "
        "torch loop of the same dtype; ``x_float32``: over the same loop in float32. "
        "Speed kernels: wall seconds of a whole fit (best of "
        f"{args.repeats} alternating repeats after a warm-up, 1 torch thread) with "
        "the kernel and with the library it replaces; ``gain`` = library / kernel. "
        "A kernel stays only with a gain of at least 1.3x on a whole fit it "
        "affects (``ArrayDataset + BatchLoader`` does, on the ALICE fit).",
        tables,
        "python benchmarks/bench_base.py",
    )


if __name__ == "__main__":
    main()
