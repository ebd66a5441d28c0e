"""Shared settings and objectives of the ActiveScanner tests (the 3-d cosine toy)."""

import numpy as np

from skhep_ml.datasets import cosine_toy, make_scan_problem

PROBLEM = make_scan_problem("cosine3d")

#: a cheap scan of the 3-d toy (about 10 s on one thread)
FAST = {
    "objective": cosine_toy,
    "bounds": PROBLEM.bounds,
    "target": PROBLEM.target,
    "n_initial": 500,
    "n_per_iteration": 500,
    "n_candidates": 20_000,
    "n_iterations": 4,
    "hidden_layer_sizes": (32, 32),
    "max_epochs": 150,
    "epochs_per_iteration": 10,
    "batch_size": 128,
    "lr": 5e-3,
    "eval_batch_size": 100,
    "random_state": 0,
}


def truly_in(X):
    low, high = PROBLEM.target
    values = cosine_toy(X)
    return (values >= low) & (values <= high)


class Recorder:
    """Objective that records every point it is called on (same process)."""

    def __init__(self, fail_after=None, exc=KeyboardInterrupt):
        self.calls = []
        self.n_chunks = 0
        self.fail_after = fail_after
        self.exc = exc

    def __call__(self, X):
        if self.fail_after is not None and self.n_chunks >= self.fail_after:
            raise self.exc("stop")
        self.n_chunks += 1
        self.calls.append(np.array(X, copy=True))
        return cosine_toy(X)

    def points(self):
        return np.vstack(self.calls) if self.calls else np.empty((0, 3))


def flaky(X):
    """NaN for x0 > 28, raises for any chunk holding a point with x1 > 29."""
    X = np.asarray(X)
    if (X[:, 1] > 29.0).any():
        raise RuntimeError("solver did not converge")
    values = cosine_toy(X)
    values[X[:, 0] > 28.0] = np.nan
    return values


#: a smaller, faster scan for the durability and reliability tests
SMALL = dict(
    FAST,
    n_initial=200,
    n_per_iteration=100,
    n_candidates=3000,
    max_epochs=20,
    epochs_per_iteration=3,
    eval_batch_size=50,
)
