"""The stages of an online integrator fit, each with explicit inputs and outputs.

1. :func:`vegas_stage`: one VEGAS grid per channel, adapted to its share of the
   integrand, and an independent estimate from the last iteration;
2. :func:`first_training_rows`: the last VEGAS iteration's points as the first
   training buffer;
3. :func:`training_rounds`: online training of the flows on fresh draws and
   reused buffered points;
4. the final integration (:func:`._final_integration.final_integration`).

All calls, schedules and switches come from the fit's :class:`~.plan.Plan`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.special import logsumexp

from ..base import derive_seed, report
from ._unweighting import split_counts
from ._vegas_init import adapt_vegas_grid, adapt_vegas_integrator

__all__ = [
    "SeenPoints",
    "VegasStage",
    "first_training_rows",
    "remaining_calls",
    "training_rounds",
    "training_rows",
    "update_fractions",
    "vegas_stage",
]


@dataclass
class VegasStage:
    """What the VEGAS stage hands on.

    Attributes
    ----------
    grids : list of ndarray or None
        Reduced VEGAS grid per channel (``None``: no VEGAS stage).
    records : dict
        Channel -> ``(u, f, log_q or log_jac)`` of its last iteration's points.
    value, error : float
        Estimate of the last iterations (``nan`` without a VEGAS stage).
    log_q : dict
        Channel -> exact log density its last iteration's points were drawn
        from.
    exact_log_q : bool
        The first training rows take ``log_q`` (the points came from one
        VEGAS channel, to which other channels were added).
    """

    grids: list
    records: dict = field(default_factory=dict)
    value: float = np.nan
    error: float = np.nan
    log_q: dict = field(default_factory=dict)
    exact_log_q: bool = False


class SeenPoints:
    """The evaluated points of largest ``f / q`` of every stage, kept for checks.

    ``q`` is the density a point was drawn from (the mixture of the
    channels), so ``sum(f / q) / n`` over all ``n`` points seen is an
    importance-sampling estimate of the integral; the ``capacity`` points of
    largest ``f / q`` carry it where the proposals were thin. Used by the
    coverage diagnostic (:func:`._diagnostics.missed_mass`).
    """

    #: points kept (a memory bound, not a tuned value)
    capacity = 4096

    def __init__(self, n_dims):
        self.u = np.empty((0, n_dims))
        self.f = np.empty(0)
        self.c = np.empty(0)
        self.n = 0

    def add(self, u, f, log_q):
        """Add points ``u`` with values ``f`` drawn from density ``exp(log_q)``."""
        with np.errstate(over="ignore"):
            c = np.where(f > 0, f * np.exp(-np.asarray(log_q, np.float64)), 0.0)
        self.n += len(f)
        u = np.concatenate([self.u, u])
        f = np.concatenate([self.f, f])
        c = np.concatenate([self.c, c])
        if len(c) > self.capacity:
            keep = np.argpartition(c, len(c) - self.capacity)[-self.capacity :]
            u, f, c = u[keep], f[keep], c[keep]
        self.u, self.f, self.c = u, f, c

    def as_dict(self):
        """``{"u", "f", "c", "n"}``."""
        return dict(u=self.u, f=self.f, c=self.c, n=self.n)


def _tail(chunks, n):
    """The last ``n`` rows of recorded ``(x, f, log_jac)`` chunks, concatenated."""
    x = np.concatenate([c[0] for c in chunks])[-n:]
    f = np.concatenate([c[1] for c in chunks])[-n:]
    lj = [np.broadcast_to(c[2], (len(c[0]),)) for c in chunks]
    return x, f, np.concatenate(lj)[-n:]


def _channel_integrand(i, mapping, evaluate, log_prior, records):
    """``h(u)`` whose grid channel ``i`` adapts to: ``f`` of its share, mapped."""

    def h(u):
        if mapping is not None:
            with torch.no_grad():
                xt, lj = mapping(torch.as_tensor(u, dtype=torch.float64))
            x_unit, jac = np.clip(xt.numpy(), 0.0, 1.0), np.exp(lj.numpy())
        else:
            x_unit, jac = u, 1.0
        f = evaluate(x_unit)
        records.setdefault(i, []).append((x_unit, f, np.log(jac)))
        if log_prior is not None:
            lp = log_prior(x_unit)
            share = np.exp(lp[:, i] - logsumexp(lp, axis=-1))
        else:
            share = 1.0
        return f * jac * share

    return h


def vegas_stage(plan, mappings, evaluate, log_prior, rng):
    """Adapt one VEGAS grid per channel (``plan.vegas_*``).

    Parameters
    ----------
    plan : Plan
        The fit's plan.
    mappings : list of nn.Module or None
        Channel mappings.
    evaluate : callable
        ``evaluate(u) -> f`` at unit-cube points (counted and buffered).
    log_prior : callable or None
        Log prior channel weights at unit-cube points; each channel's grid
        then adapts to its prior share of ``f``.
    rng : numpy RandomState

    Returns
    -------
    stage : VegasStage
    """
    C = plan.n_channels
    if not plan.vegas_iter:
        return VegasStage(grids=[None] * C)
    stage = VegasStage(grids=[])
    records, parts = stage.records, []
    counts = split_counts(plan.vegas_calls_per_iter, np.full(C, 1.0 / C))
    for i, mapping in enumerate(mappings):
        h = _channel_integrand(i, mapping, evaluate, log_prior, records)
        adapt = dict(
            n_iter=plan.vegas_iter,
            n_per_iter=counts[i],
            n_bins=plan.vegas_bins,
            reduced_bins=plan.grid_bins,
            rng=rng,
        )
        if plan.vegas_integrator:
            grid, (mean, var, u_last, _, log_q_last) = adapt_vegas_integrator(
                h, plan.n_dims, **adapt
            )
            records[i] = _tail(records[i], len(u_last))
            records[i] = (*records[i][:2], log_q_last - records[i][2])
            stage.log_q[i] = records[i][2]
            parts.append((mean, var))
        else:
            grid, (_, h_last, neg_log_jac) = adapt_vegas_grid(h, plan.n_dims, **adapt)
            records[i] = _tail(records[i], len(h_last))
            stage.log_q[i] = neg_log_jac - records[i][2]
            w = h_last * np.exp(-neg_log_jac)
            parts.append((w.mean(), w.var(ddof=1) / len(w)))
        stage.grids.append(grid)
    means, variances = np.array(parts).T
    c = 1.0 if log_prior is not None else 1.0 / C
    stage.value = float(c * means.sum())
    stage.error = float(c * np.sqrt(variances.sum()))
    return stage


def training_rows(u, ch, f, log_q, log_prior, *, own_samples, channel_fractions):
    """``(X, Y)`` rows of the training buffer (the criterion's layout).

    ``X = [u, log prior]`` and ``Y = [f, log q_sample]``; training on own
    samples appends the channel to both, ``log q`` being the own channel's
    density, and ``q_sample`` becomes the joint density ``p_c g_c(u)`` of
    the point and its channel (``p_c``: the channel's share of the draw).
    """
    if not own_samples:
        return [np.hstack([u, log_prior]), np.column_stack([f, log_q])]
    log_q = log_q + np.log(channel_fractions)[ch]
    return [
        np.hstack([u, log_prior, ch[:, None]]),
        np.column_stack([f, log_q, ch]),
    ]


def first_training_rows(plan, stage, sampler):
    """The last VEGAS iteration's points as training rows, and the loss scale.

    ``q_sample`` is the exact density of vegas's stratified last pass where
    known (``vegas.Integrator`` with one channel or own samples), else the
    final maps (the own channel's, or their mixture): an approximation of the
    map these points came from, which only reweights the first rounds' loss.
    Returns ``(None, None)`` without a VEGAS stage.
    """
    records = stage.records
    if not records:
        return None, None
    keys = sorted(records)
    u = np.concatenate([records[i][0] for i in keys])
    f = np.concatenate([records[i][1] for i in keys])
    ch = np.concatenate([np.full(len(records[i][0]), i) for i in keys])
    if stage.exact_log_q:
        log_q = np.concatenate([stage.log_q[i] for i in keys])
    elif plan.vegas_integrator and (plan.n_channels == 1 or plan.own_samples):
        log_q = np.concatenate([records[i][2] for i in keys])
    else:
        lq_v = sampler.forward(
            lambda m, xb: torch.stack([c.log_prob_vegas(xb) for c in m.channels], -1),
            u,
        )
        if plan.own_samples:
            log_q = lq_v[np.arange(len(u)), ch]
        else:
            log_q = sampler.mixture_log_density(lq_v)
    scale = float(f.mean()) if f.mean() > 0 else 1.0
    rows = training_rows(
        u,
        ch,
        f,
        log_q,
        sampler.log_prior(u),
        own_samples=plan.own_samples,
        channel_fractions=sampler.channel_fractions,
    )
    return rows, scale


def _round_data(buffer, new, rng, n_reuse, cap):
    """Fresh rows plus ``n_reuse`` drawn from the buffer; the updated buffer."""
    if buffer is None:
        return new, new
    n_old = len(buffer[0])
    k = min(n_old, n_reuse)
    pick = rng.choice(n_old, size=k, replace=False) if k else np.empty(0, int)
    train = [np.concatenate([new[j], buffer[j][pick]]) for j in range(2)]
    buffer = [np.concatenate([buffer[j], new[j]])[-cap:] for j in range(2)]
    return train, buffer


def training_rounds(
    plan,
    net,
    sampler,
    evaluate,
    buffer,
    scale,
    rng,
    train_round,
    *,
    verbose=0,
    seen=None,
):
    """Train for ``plan.rounds`` rounds on fresh draws and reused buffered rows.

    Parameters
    ----------
    plan : Plan
        Rounds, calls per round, reuse, buffer size, learning rate, losses.
    net : skorch net
        Its learning rate and (parameter-free) criterion are switched in
        place every round, so the optimizer keeps its state.
    sampler : ProposalSampler
        Draws the fresh points.
    evaluate : callable
        ``evaluate(u) -> f`` (counted and buffered).
    buffer : list of ndarray or None
        Training rows ``[X, Y]`` so far.
    scale : float or None
        Loss scale (the mean of ``f``; ``None``: from the first round).
    rng : numpy RandomState
    train_round : callable
        ``train_round(X, Y, seed=...)``: one round of gradient steps.
    verbose : int, default=0
        2 prints one line per round (fresh calls, training rows, loss, lr).
    seen : SeenPoints, default=None
        Collects every round's points (with the density of the mixture they
        were drawn from); ``None``: not kept.

    Returns
    -------
    buffer : list of ndarray
    scale : float
    """
    n_reuse = int(round(plan.buffer_reuse * plan.calls_per_round))
    for r in range(plan.rounds):
        net.set_params(lr=plan.round_lr(r))
        net.criterion__loss = plan.round_loss(r)
        net.criterion_.loss = net.criterion__loss
        draw = sampler.draw(
            plan.calls_per_round,
            rng,
            stratify=False,
            mixture_density=not plan.own_samples,
            channel_weights=False,
        )
        f = evaluate(draw["u"])
        if seen is not None:
            seen.add(draw["u"], f, draw.get("log_q_sample", draw["log_g"]))
        new = training_rows(
            draw["u"],
            draw["ch"],
            f,
            draw.get("log_q_sample", draw["log_g"]),
            draw["log_prior"],
            own_samples=plan.own_samples,
            channel_fractions=sampler.channel_fractions,
        )
        (train_X, train_Y), buffer = _round_data(
            buffer, new, rng, n_reuse, plan.buffer_size
        )
        Y = train_Y.copy()
        # the losses are scale-free; a per-round scale keeps the float32 rows
        # finite when a round finds values far above the earlier ones
        scale = _round_scale(Y[:, 0], scale)
        Y[:, 0] /= scale
        train_round(train_X, Y, seed=derive_seed(rng))
        report(
            verbose,
            f"round {r + 1}/{plan.rounds}: {len(f)} calls, {len(Y)} training rows, "
            f"{net.criterion__loss} loss {net.history[-1, 'train_loss']:.4g}, "
            f"lr {net.lr:.3g}",
            level=2,
        )
    return buffer, scale


def _round_scale(f, scale):
    """The scale of a round's values: their mean, or the previous scale."""
    mean = float(f.mean())
    return mean if mean > 0 and np.isfinite(mean) else (scale or 1.0)


def update_fractions(buffer, forward, n_channels):
    """Channel shares ∝ σ_i estimated on the buffer (floored); ``None`` if unknown."""
    Xb, Yb = buffer
    lq, la = forward(lambda m, xb: m(xb), Xb)
    f, lqs = Yb[:, 0], Yb[:, 1]
    # the points that serve each channel (own samples: their channel's)
    serves = f[:, None] > 0
    if Yb.shape[1] > 2:
        serves = serves & (Yb[:, 2:3] == np.arange(n_channels))
    log_f = np.log(np.clip(f, 1e-300, None))[:, None]
    with np.errstate(over="ignore", under="ignore"):
        ratio = np.where(serves, np.exp(la + log_f - lqs[:, None]), 0.0)
        integ = ratio.mean(0)
        sec = np.where(serves, ratio * np.exp(la + log_f - lq), 0.0).mean(0)
    sigma = np.sqrt(np.clip(sec - integ**2, 0.0, None))
    if not np.all(np.isfinite(sigma)) or sigma.sum() <= 0:
        return None
    frac = sigma / sigma.sum()
    frac = np.maximum(frac, 0.1 / n_channels)
    return frac / frac.sum()


def remaining_calls(plan, spent):
    """Calls of the final integration: the budget's rest (VEGAS may spend less)."""
    if plan.max_evaluations is None:
        return plan.final_calls
    return plan.max_evaluations - spent
