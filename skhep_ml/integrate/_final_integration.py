"""Final integration of :class:`~skhep_ml.NeuralImportanceIntegrator`.

With the trained proposal fixed, the integral is estimated from fresh calls:
stratified in the flow's latent cube where fine strata are affordable (low
dimensions), else by adaptive stratified sampling in passes (as VEGAS+ does),
which moves points to the latent cells where ``f/g`` varies most.
"""

from __future__ import annotations

import math

import numpy as np

from ._unweighting import IntegrationResult, stratified_estimate, unweighting_efficiency

__all__ = ["FinalIntegrationMixin", "split_counts"]


def split_counts(n, fractions):
    """Integer counts summing to ``n`` in proportion to ``fractions``."""
    raw = np.asarray(fractions, float) * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    order = np.argsort(-(raw - counts))
    counts[order[:rest]] += 1
    return counts


class FinalIntegrationMixin:
    """``_integrate(n, rng)`` for the integrator (needs its sampling helpers).

    Uses ``_draw``, ``_evaluate``, ``_weights``, ``_from_latent_parts``,
    ``_log_alpha_of_channel``, ``_module`` and the fitted
    ``channel_fractions_``, ``n_channels_``, ``n_features_in_`` and
    ``stratified`` of the estimator it is mixed into.
    """

    def _integrate(self, n, rng):
        """Final integration with ``n`` calls (adaptive stratification if it pays)."""
        plan = self._strata_plan(n) if self.stratified else None
        if plan is None:
            draw = self._draw(n, rng, stratify=self.stratified, mixture_density=False)
            f = self._evaluate(draw["u"])
            h = self._weights(draw, f)
            value, error, w = stratified_estimate(
                h, draw["stratum"], draw["stratum_weight"]
            )
        else:
            value, error, w = self._integrate_adaptive(n, plan, rng)
        mean_w = w.mean()
        rel = float(w.std() / mean_w) if mean_w > 0 else np.nan
        self._max_weight_share = float(w.max() / w.sum()) if mean_w > 0 else 0.0
        return IntegrationResult(
            value,
            error,
            n,
            rel,
            unweighting_efficiency(w) if mean_w > 0 else 0.0,
            unweighting_efficiency(w, 0.999) if mean_w > 0 else 0.0,
        )

    #: adaptive stratified integration: passes, share of the first (even)
    #: pass, damping of the allocation (VEGAS+'s beta), mean points per cell
    #: of a pass, and the largest fine-strata k per axis at which it is used
    _n_passes = 5
    _first_pass_share = 0.2
    _alloc_beta = 0.75
    _points_per_cell = 4.0
    _adaptive_max_k = 8

    def _strata_plan(self, n):
        """Strata of the final integration: ``(channel, component, k, W)`` parts.

        Every (channel, component) of the proposal is one part, its latent
        space cut into ``k^d`` cells of mass ``W`` each (the component share
        over the cells; channels each sum to one). ``None`` when a pass is too
        small for adaptive allocation.
        """
        d = self.n_features_in_
        n_pass = n // self._n_passes
        if n_pass < 500:
            return None
        if math.floor((n / 2.0) ** (1.0 / d) + 1e-9) > self._adaptive_max_k:
            # fine enough uniform strata: their error falls faster than 1/sqrt(n)
            return None
        module = self._module()
        counts = split_counts(n_pass, self.channel_fractions_)
        plan = []
        for i, n_i in enumerate(counts):
            shares = np.array(module.channels[i].component_shares())
            active = np.flatnonzero(shares > 0)
            if n_i < 4 * len(active):
                return None
            n_comp = split_counts(n_i, shares[active] / shares[active].sum())
            for comp, n_c in zip(active, n_comp):
                k = int(math.floor((n_c / self._points_per_cell) ** (1.0 / d) + 1e-9))
                k = max(k, 1)
                plan.append((i, int(comp), k, float(shares[comp]) / k**d))
        return plan

    def _draw_cells(self, plan, cell_counts, rng):
        """Draw ``cell_counts[p][c]`` points in cell ``c`` of part ``p`` of ``plan``."""
        d = self.n_features_in_
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
            out = self._from_latent_parts(i, [(z, comp) for z, comp, _ in parts])
            for (x, lg), (z, _, cell) in zip(out, [p for p in parts if len(p[0])]):
                us.append(np.clip(x, 0.0, 1.0))
                logg.append(lg)
                chs.append(np.full(len(z), i))
                cells.append(cell)
        u = np.concatenate(us)
        ch = np.concatenate(chs)
        draw = dict(u=u, ch=ch, log_g=np.concatenate(logg), cell=np.concatenate(cells))
        draw["log_alpha"] = self._log_alpha_of_channel(u, ch, log_g=draw["log_g"])
        return draw

    def _integrate_adaptive(self, n, plan, rng):
        """Adaptive stratified sampling (VEGAS+-like) over the proposal's latent cells.

        ``n`` calls in passes; the first spreads its points evenly over the
        cells of every part, later ones allocate them ∝ ``(W_c σ_c)^β``
        (``σ_c`` pooled over the earlier passes, at least two points per
        cell). Each pass is an unbiased stratified estimate; the passes are
        combined with weights ∝ the inverse of their variance predicted from
        the pooled cell variances (not their own, which would correlate with
        their values).
        """
        d = self.n_features_in_
        sizes = [k**d for _, _, k, _ in plan]
        W = np.concatenate([np.full(s, w) for s, (_, _, _, w) in zip(sizes, plan)])
        n_cells = len(W)
        bounds = np.cumsum([0] + sizes)
        first = self._first_pass_share
        rest = np.full(self._n_passes - 1, (1.0 - first) / (self._n_passes - 1))
        passes = split_counts(n, np.concatenate([[first], rest]))
        s0 = np.zeros(n_cells)
        s1 = np.zeros(n_cells)
        s2 = np.zeros(n_cells)
        records = []
        for t, n_t in enumerate(passes):
            if t == 0 or not np.any(s0 > 1):
                # even split per part, then per cell
                part_n = split_counts(
                    n_t,
                    np.array([w * s for w, s in zip([p[3] for p in plan], sizes)])
                    / sum(p[3] * s for p, s in zip(plan, sizes)),
                )
                alloc = np.concatenate(
                    [
                        split_counts(m, np.full(s, 1.0 / s))
                        for m, s in zip(part_n, sizes)
                    ]
                )
            else:
                mean = s1 / np.maximum(s0, 1)
                var = np.maximum(s2 / np.maximum(s0, 1) - mean**2, 0.0)
                var *= s0 / np.maximum(s0 - 1, 1)
                score = (W * np.sqrt(var)) ** self._alloc_beta
                rest = n_t - 2 * n_cells
                if rest < 0 or score.sum() <= 0 or not np.all(np.isfinite(score)):
                    alloc = split_counts(n_t, np.full(n_cells, 1.0 / n_cells))
                else:
                    alloc = 2 + split_counts(rest, score / score.sum())
            cell_counts = [alloc[bounds[p] : bounds[p + 1]] for p in range(len(plan))]
            draw = self._draw_cells(plan, cell_counts, rng)
            f = self._evaluate(draw["u"])
            h = self._weights(draw, f)
            cell = draw["cell"]
            c0 = np.bincount(cell, minlength=n_cells).astype(float)
            c1 = np.bincount(cell, h, minlength=n_cells)
            c2 = np.bincount(cell, h * h, minlength=n_cells)
            s0 += c0
            s1 += c1
            s2 += c2
            records.append((cell, h, c0, c1, c2))
        # combine the passes
        mean = s1 / np.maximum(s0, 1)
        pooled = np.maximum(s2 / np.maximum(s0, 1) - mean**2, 0.0)
        pooled *= s0 / np.maximum(s0 - 1, 1)
        values, variances, predicted = [], [], []
        for _, _, c0, c1, c2 in records:
            used = c0 > 0
            m = np.zeros(n_cells)
            m[used] = c1[used] / c0[used]
            many = c0 > 1
            v = np.zeros(n_cells)
            v[many] = np.maximum(c2[many] - c0[many] * m[many] ** 2, 0.0) / (
                c0[many] - 1
            )
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
