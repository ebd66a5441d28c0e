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

from ._diagnostics import tail_size, weight_tail
from ._sampling import weights
from ._unweighting import IntegrationResult, split_counts, stratified_estimate

__all__ = ["Sampler", "WeightStats", "final_integration", "split_counts", "strata_plan"]

#: adaptive stratified integration: passes, share of the first (even)
#: pass, damping of the allocation (VEGAS+'s beta), mean points per cell
#: of a pass, and the largest fine-strata k per axis at which it is used
N_PASSES = 5
FIRST_PASS_SHARE = 0.2
ALLOC_BETA = 0.75
POINTS_PER_CELL = 4.0
ADAPTIVE_MAX_K = 8
#: points drawn, evaluated and reduced at once: the memory of the final
#: integration is that of one chunk, whatever the calls; and the most cells
#: of one adaptive part (their sums are kept over the passes), reached only
#: above ~5e6 calls
CHUNK = 262_144
MAX_CELLS = 262_144


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


class WeightStats:
    """Streamed statistics of event weights: count, sums, maximum, top tail.

    Keeps the ``m - floor(0.999 (m - 1)) + 1`` largest weights, enough for
    the 0.999 quantile (as ``numpy.quantile`` interpolates it) of ``m``
    weights added in any number of batches: ``m`` is ``n_total``, or
    ``tail_of`` for the statistics of one part of ``m`` weights that
    :meth:`combine` merges.
    """

    def __init__(self, n_total, tail_of=None):
        self.n_total = int(n_total)
        m = self.n_total if tail_of is None else int(tail_of)
        self.keep = max(m - math.floor(0.999 * (m - 1)) + 1, tail_size(m))
        self.count, self.n_positive, self.total, self.total_sq = 0, 0, 0.0, 0.0
        self.top = np.empty(0)

    def add(self, w):
        """Add the weights ``w`` (an array)."""
        w = np.asarray(w, dtype=float)
        self.count += len(w)
        self.n_positive += int(np.count_nonzero(w > 0))
        self.total += float(np.sum(w))
        self.total_sq += float(np.dot(w, w))
        top = np.concatenate([self.top, w])
        if len(top) > self.keep:
            top = np.partition(top, len(top) - self.keep)[len(top) - self.keep :]
        self.top = top
        return self

    @classmethod
    def combine(cls, parts, scales):
        """The statistics of ``scale * w`` over the weights of every part."""
        out = cls(sum(p.n_total for p in parts))
        for p, c in zip(parts, scales):
            out.count += p.count
            out.n_positive += p.n_positive
            out.total += c * p.total
            out.total_sq += c * c * p.total_sq
            out.top = np.concatenate([out.top, c * p.top])
        if len(out.top) > out.keep:
            out.top = np.partition(out.top, len(out.top) - out.keep)[-out.keep :]
        return out

    def quantile(self, q):
        """The ``q`` quantile of the weights (``q >= 0.999``), interpolated."""
        pos = q * (self.count - 1)
        lo = math.floor(pos)
        top = np.sort(self.top)
        # index i of the sorted weights is index i - (count - len(top)) of top
        i = lo - (self.count - len(top))
        j = min(i + 1, len(top) - 1)
        return float(top[i] + (pos - lo) * (top[j] - top[i]))

    def result(self, value, error, n):
        """The :class:`IntegrationResult` and the weights' tail diagnostics.

        The second item is :func:`._diagnostics.weight_tail` of the weights:
        the largest weight's share of the sum and the Pareto tail index.
        ``error`` (the stratified estimate's) is widened in quadrature by the
        part of the weights' tail the sample does not show
        (:func:`._diagnostics.tail_excess` over the calls, at most ``value``):
        nothing for a light tail, the dominant term for a heavy one.
        """
        mean = self.total / self.count if self.count else 0.0
        if not mean > 0:
            empty = {
                "max_share": 0.0,
                "max_share_allowed": 1.0,
                "pareto_k": float("nan"),
                "excess_share": 0.0,
            }
            return IntegrationResult(value, error, n, np.nan, 0.0, 0.0), empty
        std = math.sqrt(max(self.total_sq / self.count - mean * mean, 0.0))
        top = float(self.top.max())
        tail = weight_tail(self.top, self.total, self.n_positive)
        error = math.hypot(error, abs(value) * min(tail["excess_share"], 1.0))
        result = IntegrationResult(
            value, error, n, std / mean, mean / top, mean / self.quantile(0.999)
        )
        return result, tail


def final_integration(sampler, n, rng, *, stratified):
    """Estimate the integral with ``n`` calls (adaptive stratification if it pays).

    The points are drawn, evaluated and reduced in chunks of at most
    ``CHUNK`` (above ``CHUNK`` calls), so the memory does not grow with ``n``.

    Returns
    -------
    result : IntegrationResult
    tail : dict
        :func:`._diagnostics.weight_tail` of the event weights: the largest
        weight's share of the sum and the Pareto tail index (lost-mode signals).
    """
    plan = strata_plan(sampler, n) if stratified else None
    parts = (
        None if plan is not None or n <= CHUNK else fine_parts(sampler, n, stratified)
    )
    if plan is not None:
        value, error, stats = _integrate_adaptive(sampler, n, plan, rng)
    elif parts is not None:
        value, error, stats = _integrate_streamed(sampler, n, parts, rng)
    else:
        draw = sampler.draw(n, rng, stratify=stratified, mixture_density=False)
        h = weights(draw, sampler.evaluate(draw["u"]))
        value, error, w = stratified_estimate(
            h, draw["stratum"], draw["stratum_weight"]
        )
        stats = WeightStats(n).add(w)
    return stats.result(value, error, n)


def fine_parts(sampler, n, stratify):
    """The strata of ``sampler.draw(n, stratify=...)``: ``(i, comp, k, W, n_c)``.

    Per channel and component ``n_c`` points in ``k^d`` cells of mass ``W``
    each, spread as evenly as :func:`~._sampling.latent_points` does. ``None``
    when a channel has too few points for fixed components (then ``draw``
    picks them at random).
    """
    d = sampler.n_dims
    parts = []
    for i, n_i in enumerate(split_counts(n, sampler.channel_fractions)):
        shares = sampler.component_shares(i)
        active = np.flatnonzero(shares > 0)
        if n_i < 2 * len(active):
            return None
        n_comp = 2 + split_counts(
            n_i - 2 * len(active), shares[active] / shares[active].sum()
        )
        for comp, n_c in zip(active, n_comp):
            k = 1
            if stratify and n_c >= 4:
                k = max(1, int(math.floor((n_c / 2.0) ** (1.0 / d) + 1e-9)))
            parts.append((i, int(comp), k, float(shares[comp]) / k**d, int(n_c)))
    return parts


def _stream_part(sampler, i, comp, k, cell_of, n_points, rng):
    """``(cell, h)`` of the points of one part, in chunks of ``CHUNK``.

    ``cell_of(a, b)``: the cells of the part's points ``a .. b - 1``.
    """
    d = sampler.n_dims
    for a in range(0, n_points, CHUNK):
        cell = cell_of(a, min(a + CHUNK, n_points))
        z = rng.uniform(size=(len(cell), d))
        if k > 1:
            z = (np.stack(np.unravel_index(cell, (k,) * d), axis=1) + z) / k
        ((x, log_g),) = sampler.from_latent_parts(i, [(z, comp)])
        u = np.clip(x, 0.0, 1.0)
        ch = np.full(len(u), i)
        log_alpha = sampler.log_alpha_of_channel(u, ch, log_g=log_g)
        draw = dict(log_alpha=log_alpha, log_g=log_g)
        yield cell, weights(draw, sampler.evaluate(u))


def _even_cells(n_points, n_cells):
    """``cell_of`` of ``n_points`` spread evenly over ``n_cells`` (first ones +1)."""
    per, rest = divmod(n_points, n_cells)
    big = rest * (per + 1)

    def cell_of(a, b):
        j = np.arange(a, b)
        return np.where(j < big, j // (per + 1), rest + (j - big) // max(per, 1))

    return cell_of, per, rest


def _integrate_streamed(sampler, n, parts, rng):
    """The stratified estimate of ``parts`` (``fine_parts``), chunk by chunk.

    Each cell's mean and variance enter the value and the error once the
    cell is complete (a cell cut by a chunk carries its sums to the next).
    """
    d = sampler.n_dims
    value, variance = 0.0, 0.0
    stats = WeightStats(n)
    for i, comp, k, W, n_c in parts:
        cell_of, per, rest = _even_cells(n_c, k**d)
        open_cell = None
        for cell, h in _stream_part(sampler, i, comp, k, cell_of, n_c, rng):
            first = int(cell[0])
            local = cell - first
            s0 = np.bincount(local).astype(float)
            s1 = np.bincount(local, h)
            s2 = np.bincount(local, h * h)
            if open_cell is not None and open_cell[0] == first:
                s0[0] += open_cell[1]
                s1[0] += open_cell[2]
                s2[0] += open_cell[3]
            n_s = np.where(cell < rest, per + 1, per)
            stats.add(n * W * h / n_s)
            # the chunk's last cell is complete, or carried to the next chunk
            done = len(s0) if s0[-1] == n_s[-1] else len(s0) - 1
            open_cell = None if done == len(s0) else (cell[-1], s0[-1], s1[-1], s2[-1])
            s0, s1, s2 = s0[:done], s1[:done], s2[:done]
            mean = s1 / s0
            value += W * float(np.sum(mean))
            many = s0 > 1
            var = np.maximum(s2[many] - s0[many] * mean[many] ** 2, 0.0)
            variance += W * W * float(np.sum(var / (s0[many] - 1) / s0[many]))
    return value, math.sqrt(variance), stats


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
            k = max(min(k, int(math.floor(MAX_CELLS ** (1.0 / d) + 1e-9))), 1)
            plan.append((i, int(comp), k, float(shares[comp]) / k**d))
    return plan


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
    """Value, error and weight statistics of the passes, weighted ∝ 1 / predicted var.

    ``records``: per pass the :class:`WeightStats` of ``W_c h / n_c`` and the
    cell sums ``c0, c1, c2``.
    """
    n_cells = len(W)
    values, variances, predicted = [], [], []
    for _, c0, c1, c2 in records:
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
        lam = np.array([float(r[0].count) for r in records])
    lam /= lam.sum()
    value = float(np.sum(lam * values))
    error = float(np.sqrt(np.sum(lam**2 * variances)))
    stats = WeightStats.combine([r[0] for r in records], n * lam)
    return value, error, stats


def _integrate_adaptive(sampler, n, plan, rng):
    """Adaptive stratified sampling (VEGAS+-like) over the proposal's latent cells.

    ``n`` calls in passes; the first spreads its points evenly over the
    cells of every part, later ones allocate them ∝ ``(W_c σ_c)^β``
    (``σ_c`` pooled over the earlier passes, at least two points per
    cell). Each pass is an unbiased stratified estimate; the passes are
    combined with weights ∝ the inverse of their variance predicted from
    the pooled cell variances (not their own, which would correlate with
    their values). A pass is drawn and evaluated in chunks of ``CHUNK``
    points; only the cell sums are kept.
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
        c0 = alloc.astype(float)
        c1, c2 = np.zeros(n_cells), np.zeros(n_cells)
        stats = WeightStats(n_t, tail_of=n)
        for p, (i, comp, k, _) in enumerate(plan):
            cum = np.cumsum(alloc[bounds[p] : bounds[p + 1]])
            n_p = int(cum[-1]) if len(cum) else 0

            def cell_of(a, b, cum=cum):
                return np.searchsorted(cum, np.arange(a, b), side="right")

            for cell, h in _stream_part(sampler, i, comp, k, cell_of, n_p, rng):
                g = cell + bounds[p]
                c1 += np.bincount(g, h, minlength=n_cells)
                c2 += np.bincount(g, h * h, minlength=n_cells)
                stats.add(W[g] * h / c0[g])
        s0 += c0
        s1 += c1
        s2 += c2
        records.append((stats, c0, c1, c2))
    return _combine_passes(n, W, records, _pooled_variance(s0, s1, s2))
