"""Drawing points from the integrator's trained proposal.

:class:`ProposalSampler` wraps the fitted :class:`~._channels.Proposal` with
what a draw needs (the inference helper, the channel fractions, the prior
channel weights and the integrand calls); it is the sampler the training
rounds, the final integration and ``sample`` work with.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import logsumexp

from ._unweighting import split_counts

__all__ = ["ProposalSampler", "latent_points", "weights"]


def latent_points(n, d, rng, stratify):
    """Uniform latent points; stratified in ``k^d`` cells when it pays.

    Returns ``(z, cell, n_cells)``; every cell holds at least two points.
    """
    k = int(math.floor((n / 2.0) ** (1.0 / d) + 1e-9)) if stratify and n >= 4 else 1
    if k < 2:
        return rng.uniform(size=(n, d)), np.zeros(n, dtype=np.int64), 1
    n_cells = k**d
    per, rest = divmod(n, n_cells)
    counts = np.full(n_cells, per)
    counts[:rest] += 1
    cell = np.repeat(np.arange(n_cells), counts)
    digits = np.stack(np.unravel_index(cell, (k,) * d), axis=1)
    z = (digits + rng.uniform(size=(n, d))) / k
    return z, cell, n_cells


def weights(draw, f):
    """``h = α_i f / g_i`` of every drawn point (0 where ``f`` is 0)."""
    with np.errstate(over="ignore", divide="ignore"):
        h = f * np.exp(draw["log_alpha"] - draw["log_g"])
    return np.where(f > 0, h, 0.0)


class ProposalSampler:
    """Draws from a fitted proposal and evaluates its densities (numpy in, out).

    Parameters
    ----------
    module : Proposal
        The trained proposal (in its inference dtype, on ``device``).
    forward : callable
        ``forward(fn, X)``: ``fn(module, xb)`` over batches of ``X`` without
        gradients, numpy out (the estimator's ``_forward_batches``).
    n_dims : int
        Dimension.
    channel_fractions : ndarray of shape (n_channels,)
        Share of the points drawn from each channel.
    log_prior : callable
        ``log_prior(u) -> (n, n_channels)`` log prior channel weights at
        unit-cube points.
    evaluate : callable or None
        ``evaluate(u) -> f`` integrand values at unit-cube points.
    batch_size : int
        Rows of one forward pass.
    device : str
        Device of ``module``.
    """

    def __init__(
        self,
        module,
        forward,
        *,
        n_dims,
        channel_fractions,
        log_prior,
        evaluate,
        batch_size,
        device,
    ):
        self.module = module
        self.forward = forward
        self.n_dims = int(n_dims)
        self.channel_fractions = channel_fractions
        self.n_channels = len(channel_fractions)
        self.log_prior = log_prior
        self.evaluate = evaluate
        self.batch_size = batch_size
        self.device = device

    def component_shares(self, i):
        """Mixture weights of (flow, VEGAS only, mapping only) of channel ``i``."""
        return np.array(self.module.channels[i].component_shares())

    def _channel_parts(self, i, n_i, rng, stratify, fixed_components, offset):
        """Latent parts of channel ``i``: ``(zs, n_points, strata, weights)``."""
        d = self.n_dims
        shares = self.component_shares(i)
        active = np.flatnonzero(shares > 0)
        if fixed_components and n_i >= 2 * len(active):
            # fixed counts per component (stratified mixture sampling)
            n_comp = np.zeros(3, dtype=int)
            n_comp[active] = 2 + split_counts(
                n_i - 2 * len(active), shares[active] / shares[active].sum()
            )
            parts = [(c, n_comp[c], shares[c]) for c in active]
        else:
            # too few points: draw the components at random, one stratum
            parts = [(None, n_i, 1.0)]
        zs, sizes, strata, sweights = [], [], [], []
        for comp, n_c, share in parts:
            z, cell, n_cells = latent_points(n_c, d, rng, stratify and comp is not None)
            if comp is None:
                labels = rng.choice(3, size=n_c, p=shares)
                order = np.argsort(labels, kind="stable")
                z = z[order]
                zs += [(z[labels[order] == c], int(c)) for c in range(3)]
            else:
                zs.append((z, int(comp)))
            sizes.append(n_c)
            strata.append(cell + offset)
            sweights.append(np.full(n_cells, share / n_cells))
            offset += n_cells
        return zs, sizes, strata, sweights, offset

    def draw(
        self,
        n,
        rng,
        *,
        stratify,
        mixture_density,
        fixed_components=True,
        channel_weights=True,
    ):
        """Draw ``n`` points from the channels (fixed counts per channel).

        Returns a dict with unit-cube points ``u``, channel ``ch``, the log
        density of the own channel ``log_g``, ``log_alpha`` (own channel),
        strata ``stratum``/``stratum_weight``, ``log_prior`` and, if asked,
        the log density of the sampling mixture ``log_q_sample``.
        ``channel_weights=False`` skips ``log_alpha`` (training draws do not
        use it).
        """
        counts = split_counts(n, self.channel_fractions)
        us, chs, logg, strata, sweights = [], [], [], [], []
        offset = 0
        with torch.no_grad():
            for i, n_i in enumerate(counts):
                if n_i == 0:
                    continue
                zs, sizes, cells, sw, offset = self._channel_parts(
                    i, n_i, rng, stratify, fixed_components, offset
                )
                chs += [np.full(n_c, i) for n_c in sizes]
                strata += cells
                sweights += sw
                for x, lg in self.from_latent_parts(i, zs):
                    us.append(np.clip(x, 0.0, 1.0))
                    logg.append(lg)
        u = np.concatenate(us)
        ch = np.concatenate(chs)
        out = dict(
            u=u,
            ch=ch,
            log_g=np.concatenate(logg),
            stratum=np.concatenate(strata),
            stratum_weight=np.concatenate(sweights),
        )
        log_prior = self.log_prior(u)
        log_q = None
        if mixture_density and self.n_channels > 1:
            log_q = self.channel_log_probs(u, ch, out["log_g"])
        if channel_weights:
            out["log_alpha"] = self.log_alpha_of_channel(
                u, ch, log_prior, log_q=log_q, log_g=out["log_g"]
            )
        out["log_prior"] = log_prior
        if mixture_density:
            if self.n_channels == 1:
                out["log_q_sample"] = out["log_g"]
            else:
                out["log_q_sample"] = self.mixture_log_density(log_q)
        return out

    def mixture_log_density(self, log_q):
        """``log Σ_i p_i g_i`` from the ``(n, n_channels)`` channel log densities."""
        return logsumexp(log_q + np.log(self.channel_fractions), axis=-1)

    def channel_log_probs(self, u, ch, log_g):
        """``(n, n_channels)`` log densities of every channel at drawn points.

        A point's own channel's density is its ``log_g`` from the draw, so only
        the other channels are evaluated (one flow pass per point fewer).
        """
        lq = np.empty((len(u), self.n_channels))
        for j in range(self.n_channels):
            own = ch == j
            lq[own, j] = log_g[own]
            if not own.all():
                lq[~own, j] = self.forward(
                    lambda m, xb, j=j: m.channels[j].log_prob(xb), u[~own]
                )
        return lq

    def log_alpha_of_channel(self, u, ch, log_prior=None, log_q=None, log_g=None):
        """log channel weight ``α_ch(u)`` of each point's own channel (0 if one).

        Identical channels weigh by the channels' densities: ``log_q`` when
        already known, else from the points' own densities ``log_g`` (see
        :meth:`channel_log_probs`), else evaluated here.
        """
        if self.n_channels == 1:
            return np.zeros(len(u))
        if log_prior is None:
            log_prior = self.log_prior(u)
        d, C = self.n_dims, self.n_channels
        if not self.module.flow_prior:
            log_q = None  # not used by the channel weights
        elif log_q is None and log_g is not None:
            log_q = self.channel_log_probs(u, ch, log_g)
        if log_q is None:
            la = self.forward(
                lambda m, xb: m.log_alpha(xb[:, :d], xb[:, d:]),
                np.hstack([u, log_prior]),
            )
        else:
            la = self.forward(
                lambda m, xb: m.log_alpha(xb[:, :d], xb[:, d : d + C], xb[:, d + C :]),
                np.hstack([u, log_prior, log_q]),
            )
        return la[np.arange(len(u)), ch]

    def from_latent_parts(self, i, parts):
        """``(x, log g)`` (numpy) of channel ``i`` for ``(z, component)`` parts."""
        parts = [(z, c) for z, c in parts if len(z)]
        if sum(len(z) for z, _ in parts) > self.batch_size:
            return [
                self.forward(lambda m, zb, c=c: m.channels[i].from_latent(zb, c), z)
                for z, c in parts
            ]
        dtype = next(self.module.parameters()).dtype
        device = self.device
        with torch.no_grad():
            out = self.module.channels[i].from_latent_parts(
                [(torch.as_tensor(z, device=device).to(dtype), c) for z, c in parts]
            )
            return [
                tuple(t.to("cpu", torch.float64).numpy() for t in pair) for pair in out
            ]
