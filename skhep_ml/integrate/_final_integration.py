"""Final integration of :class:`~skhep_ml.NeuralImportanceIntegrator`.

With the trained proposal fixed, the integral is estimated from fresh calls:
stratified in the flow's latent cube where fine strata are affordable (low
dimensions), else by adaptive stratified sampling in passes (as VEGAS+ does),
which moves points to the latent cells where ``f/g`` varies most. The functions
work on any object of the :class:`Sampler` interface.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from ._diagnostics import weight_tail
from ._sampling import weights
from ._unweighting import (
    IntegrationResult,
    split_counts,
    stratified_estimate,
    unweighting_efficiency,
)

__all__ = ["Sampler", "final_integration", "split_counts", "strata_plan"]

#: adaptive stratified integration: passes, share of the first (even)
#: pass, damping of the allocation (VEGAS+'s beta), mean points per cell
#: of a pass, and the largest fine-strata k per axis at which it is used
N_PASSES = 5
FIRST_PASS_SHARE = 0.2
ALLOC_BETA = 0.75
POINTS_PER_CELL = 4.0
ADAPTIVE_MAX_K = 8


class Sampler(Protocol):
    """What the final integration needs of a proposal (see ``ProposalSampler``)."""

    n_dims: int
    channel_fractions: np.ndarray

    def component_shares(self, i: int) -> np.ndarray:
        """Mixture weights of the components of channel ``i``."""

    def draw(self, n, rng, *, stratify, mixture_density) -> dict:
        """``n`` points: ``u``, ``log_g``, ``log_alpha``, ``stratum``, ..."""

    def from_latent_parts(self, i, parts) -> list:
        """``(x, log g)`` of channel ``i`` for ``(z, component)`` parts."""

    def log_alpha_of_channel(self, u, ch, log_prior=None, log_q=None, log_g=None):
        """Log channel weight of each point's own channel."""

    def evaluate(self, u) -> np.ndarray:
        """Integrand values at unit-cube points (counted calls)."""


def final_integration(sampler, n, rng, *, stratified):
    """Estimate the integral with ``n`` calls (adaptive stratification if it pays).

    Returns
    -------
    result : IntegrationResult
    tail : dict
        :func:`._diagnostics.weight_tail` of the event weights: the largest
        weight's share of the sum and the Pareto tail index (lost-mode signals).
    """
    plan = strata_plan(sampler, n) if stratified else None
    if plan is None:
        draw = sampler.draw(n, rng, stratify=stratified, mixture_density=False)
        h = weights(draw, sampler.evaluate(draw["u"]))
        value, error, w = stratified_estimate(
            h, draw["stratum"], draw["stratum_weight"]
        )
    else:
        value, error, w = _integrate_adaptive(sampler, n, plan, rng)
    mean_w = w.mean()
    rel = float(w.std() / mean_w) if mean_w > 0 else np.nan
    result = IntegrationResult(
        value,
        error,
        n,
        rel,
        unweighting_efficiency(w) if mean_w > 0 else 0.0,
        unweighting_efficiency(w, 0.999) if mean_w > 0 else 0.0,
    )
    return result, weight_tail(w)


def strata_plan(sampler, n):
    """Strata of the final integration: ``(channel, component, k, W)`` parts.

    Every (channel, component) of the proposal is one part, its latent
    space cut into ``k^d`` cells of mass ``W`` each (the component share
    over the cells; channels each sum to one). ``None`` when a pass is too
    small for adaptive allocation, or fine uniform strata are affordable.
    """
    d = sampler.n_dims
    n_pass = n // N_PASSES
    if n_pass < 500:
        return None
    if math.floor((n / 2.0) ** (1.0 / d) + 1e-9) > ADAPTIVE_MAX_K:
        # fine enough uniform strata: their error falls faster than 1/sqrt(n)
        return None
    counts = split_counts(n_pass, sampler.channel_fractions)
    plan = []
    for i, n_i in enumerate(counts):
        shares = sampler.component_shares(i)
        active = np.flatnonzero(shares > 0)
        if n_i < 4 * len(active):
            return None
        n_comp = split_counts(n_i, shares[active] / shares[active].sum())
        for comp, n_c in zip(active, n_comp):
            k = int(math.floor((n_c / POINTS_PER_CELL) ** (1.0 / d) + 1e-9))
            k = max(k, 1)
            plan.append((i, int(comp), k, float(shares[comp]) / k**d))
    return plan


def _draw_cells(sampler, plan, cell_counts, rng):
    """Draw ``cell_counts[p][c]`` points in cell ``c`` of part ``p`` of ``plan``."""
    d = sampler.n_dims
    us, chs, logg, cells = [], [], [], []
    offset = 0
    by_channel = {}
    for p, (i, comp, k, _) in enumerate(plan):
        counts = cell_counts[p]
        cell = np.repeat(np.arange(len(counts)), counts)
        if k > 1:
            digits = np.stack(np.unravel_index(cell, (k,) * d), axis=1)
            z = (digits + rng.uniform(size=(len(cell), d))) / k
        else:
            z = rng.uniform(size=(len(cell), d))
        by_channel.setdefault(i, []).append((z, comp, cell + offset))
        offset += len(counts)
    for i, parts in by_channel.items():
        out = sampler.from_latent_parts(i, [(z, comp) for z, comp, _ in parts])
        for (x, lg), (z, _, cell) in zip(out, [p for p in parts if len(p[0])]):
            us.append(np.clip(x, 0.0, 1.0))
            logg.append(lg)
            chs.append(np.full(len(z), i))
            cells.append(cell)
    u = np.concatenate(us)
    ch = np.concatenate(chs)
    draw = dict(u=u, ch=ch, log_g=np.concatenate(logg), cell=np.concatenate(cells))
    draw["log_alpha"] = sampler.log_alpha_of_channel(u, ch, log_g=draw["log_g"])
    return draw


def _pooled_variance(s0, s1, s2):
    """Unbiased per-cell variances from the sums of 1, h and h²."""
    mean = s1 / np.maximum(s0, 1)
    var = np.maximum(s2 / np.maximum(s0, 1) - mean**2, 0.0)
    return var * (s0 / np.maximum(s0 - 1, 1))


def _allocate(n_t, first, plan, sizes, W, sums):
    """Points per cell of a pass: even on the first, ∝ ``(W_c σ_c)^β`` after."""
    s0, s1, s2 = sums
    n_cells = len(W)
    if first or not np.any(s0 > 1):
        # even split per part, then per cell
        part_n = split_counts(
            n_t,
            np.array([w * s for w, s in zip([p[3] for p in plan], sizes)])
            / sum(p[3] * s for p, s in zip(plan, sizes)),
        )
        return np.concatenate(
            [split_counts(m, np.full(s, 1.0 / s)) for m, s in zip(part_n, sizes)]
        )
    score = (W * np.sqrt(_pooled_variance(s0, s1, s2))) ** ALLOC_BETA
    rest = n_t - 2 * n_cells
    if rest < 0 or score.sum() <= 0 or not np.all(np.isfinite(score)):
        return split_counts(n_t, np.full(n_cells, 1.0 / n_cells))
    return 2 + split_counts(rest, score / score.sum())


def _combine_passes(n, W, records, pooled):
    """Value, error and event weights of the passes, weighted ∝ 1 / predicted var."""
    n_cells = len(W)
    values, variances, predicted = [], [], []
    for _, _, c0, c1, c2 in records:
        used = c0 > 0
        m = np.zeros(n_cells)
        m[used] = c1[used] / c0[used]
        many = c0 > 1
        v = np.zeros(n_cells)
        v[many] = np.maximum(c2[many] - c0[many] * m[many] ** 2, 0.0) / (c0[many] - 1)
        values.append(float(np.sum(W[used] * m[used])))
        variances.append(float(np.sum(W[many] ** 2 * v[many] / c0[many])))
        predicted.append(float(np.sum(W[used] ** 2 * pooled[used] / c0[used])))
    values, variances = np.array(values), np.array(variances)
    predicted = np.array(predicted)
    if np.all(predicted > 0):
        lam = 1.0 / predicted
    else:
        lam = np.array([float(len(r[1])) for r in records])
    lam /= lam.sum()
    value = float(np.sum(lam * values))
    error = float(np.sqrt(np.sum(lam**2 * variances)))
    w = np.concatenate(
        [
            n * lam_t * W[cell] * h / c0[cell]
            for lam_t, (cell, h, c0, _, _) in zip(lam, records)
        ]
    )
    return value, error, w


def _integrate_adaptive(sampler, n, plan, rng):
    """Adaptive stratified sampling (VEGAS+-like) over the proposal's latent cells.

    ``n`` calls in passes; the first spreads its points evenly over the
    cells of every part, later ones allocate them ∝ ``(W_c σ_c)^β``
    (``σ_c`` pooled over the earlier passes, at least two points per
    cell). Each pass is an unbiased stratified estimate; the passes are
    combined with weights ∝ the inverse of their variance predicted from
    the pooled cell variances (not their own, which would correlate with
    their values).
    """
    d = sampler.n_dims
    sizes = [k**d for _, _, k, _ in plan]
    W = np.concatenate([np.full(s, w) for s, (_, _, _, w) in zip(sizes, plan)])
    n_cells = len(W)
    bounds = np.cumsum([0] + sizes)
    rest = np.full(N_PASSES - 1, (1.0 - FIRST_PASS_SHARE) / (N_PASSES - 1))
    passes = split_counts(n, np.concatenate([[FIRST_PASS_SHARE], rest]))
    s0, s1, s2 = np.zeros(n_cells), np.zeros(n_cells), np.zeros(n_cells)
    records = []
    for t, n_t in enumerate(passes):
        alloc = _allocate(n_t, t == 0, plan, sizes, W, (s0, s1, s2))
        cell_counts = [alloc[bounds[p] : bounds[p + 1]] for p in range(len(plan))]
        draw = _draw_cells(sampler, plan, cell_counts, rng)
        h = weights(draw, sampler.evaluate(draw["u"]))
        cell = draw["cell"]
        c0 = np.bincount(cell, minlength=n_cells).astype(float)
        c1 = np.bincount(cell, h, minlength=n_cells)
        c2 = np.bincount(cell, h * h, minlength=n_cells)
        s0 += c0
        s1 += c1
        s2 += c2
        records.append((cell, h, c0, c1, c2))
    return _combine_passes(n, W, records, _pooled_variance(s0, s1, s2))
