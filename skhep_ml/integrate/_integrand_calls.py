"""Integrand calls of :class:`~skhep_ml.NeuralImportanceIntegrator`.

One object per fit: it maps unit-cube points to ``bounds``, calls the integrand
(numpy, torch on the device, or in joblib chunks), counts every call against the
budget and rejects NaN, inf and negative values naming the points.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["IntegrandCalls"]


class IntegrandCalls:
    """Counts, chunks, maps to ``bounds`` and validates integrand calls."""

    def __init__(self, est, integrand, low, width, backend, n_jobs, budget):
        self.est = est
        self.integrand = integrand
        self.low = low
        self.width = width
        self.log_volume = float(np.sum(np.log(width)))
        self.backend = backend
        self.n_jobs = n_jobs
        self.budget = budget
        self.device = "cpu"

    def __call__(self, u):
        """Evaluate at unit-cube points ``u`` (tensor or array); return f·volume."""
        n = len(u)
        est = self.est
        finite = torch.isfinite(u).all() if torch.is_tensor(u) else np.isfinite(u).all()
        if not finite:
            raise RuntimeError(
                f"the proposal produced non-finite points ({n} asked for): its "
                "training diverged (NaN parameters); lower lr, raise "
                "defensive_fraction or use channels. The integrand was not called."
            )
        if self.budget is not None and est.n_evaluations_ + n > self.budget:
            raise RuntimeError(  # pragma: no cover - the plan never asks for more
                f"integrand budget of {self.budget} calls would be exceeded."
            )
        if self.backend == "torch":
            ut = torch.as_tensor(u, device=self.device)
            x = ut * torch.as_tensor(self.width, dtype=ut.dtype, device=ut.device)
            x = x + torch.as_tensor(self.low, dtype=ut.dtype, device=ut.device)
            values = self.integrand(x)
            values = values.detach().to("cpu", torch.float64).numpy()
            x = x.detach().cpu().numpy()
        else:
            u_np = u.detach().cpu().numpy() if torch.is_tensor(u) else np.asarray(u)
            x = self.low + self.width * u_np.astype(np.float64)
            if self.n_jobs not in (None, 1) and n > 1:
                from joblib import Parallel, delayed

                parallel = Parallel(n_jobs=self.n_jobs)
                n_chunks = max(
                    1, min(n, 4 * (parallel.n_jobs if parallel.n_jobs > 0 else 1))
                )
                chunks = np.array_split(x, n_chunks)
                values = np.concatenate(
                    [
                        np.asarray(v, float).reshape(-1)
                        for v in parallel(delayed(self.integrand)(c) for c in chunks)
                    ]
                )
            else:
                values = self.integrand(x)
        est.n_evaluations_ += n
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (n,):
            est.failed_X_, est.failed_y_ = x, values
            raise ValueError(
                f"the integrand returned shape {values.shape} for {n} points; "
                f"expected ({n},)."
            )
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            est.failed_X_, est.failed_y_ = x, values
            idx = np.flatnonzero(bad)
            raise ValueError(
                f"the integrand returned {idx.size} NaN, infinite or negative value(s) "
                f"out of {n}; first bad point(s): {x[idx[:5]].tolist()} with values "
                f"{values[idx[:5]].tolist()}. All evaluated points are kept in "
                "failed_X_/failed_y_ (this batch) and buffer_X_/buffer_y_ (earlier "
                "ones)."
            )
        return values * math.exp(self.log_volume)
