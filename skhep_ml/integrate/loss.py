"""Losses of neural importance sampling: variance and KL, one or several channels."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "ImportanceSamplingLoss",
    "kl_loss",
    "multichannel_kl_loss",
    "multichannel_variance_loss",
    "variance_loss",
]

_TINY = 1e-30


def variance_loss(
    f: torch.Tensor, q_test: torch.Tensor, q_sample: torch.Tensor | None = None
) -> torch.Tensor:
    """Relative variance of the importance weights ``f / q_test``.

    Estimated with points drawn from ``q_sample`` (a buffer of earlier
    proposals): ``Var_q[f/q] = E_{q_sample}[(f/q - I)^2 q/q_sample]`` with
    ``I = E_{q_sample}[f/q_sample]``, divided by ``I^2`` (detached) so the scale
    of ``f`` does not set the learning rate. Its gradient with respect to
    ``q_test`` is the one of the integration variance (arXiv:2001.05486).

    Parameters
    ----------
    f : Tensor of shape (n,)
        Integrand values (non-negative).
    q_test : Tensor of shape (n,)
        Proposal density being trained, at the same points (with gradient).
    q_sample : Tensor of shape (n,), default=None
        Density the points were drawn from; ``None`` means ``q_test`` (detached).

    Returns
    -------
    loss : Tensor, scalar
    """
    if q_sample is None:
        q_sample = q_test.detach()
    w_sample = f / q_sample
    integral = w_sample.mean()
    sq = (f / q_test.clamp_min(_TINY) - integral) ** 2 * (q_test / q_sample)
    return sq.mean() / integral.detach().square().clamp_min(_TINY)


def kl_loss(
    f: torch.Tensor, q_test: torch.Tensor, q_sample: torch.Tensor | None = None
) -> torch.Tensor:
    """Kullback-Leibler divergence ``KL(f/I || q_test)``, importance-sampled.

    ``E_{q_sample}[(f/I)/q_sample · (log(f/I) - log q_test)]``; only the
    ``-log q_test`` term carries a gradient (arXiv:2001.05486, 2212.06172).

    Parameters
    ----------
    f : Tensor of shape (n,)
        Integrand values (non-negative).
    q_test : Tensor of shape (n,)
        Proposal density being trained (with gradient).
    q_sample : Tensor of shape (n,), default=None
        Density the points were drawn from; ``None`` means ``q_test`` (detached).

    Returns
    -------
    loss : Tensor, scalar
    """
    if q_sample is None:
        q_sample = q_test.detach()
    w = f / q_sample
    integral = w.mean().clamp_min(_TINY)
    p = f / integral
    log_p = torch.log(p.clamp_min(_TINY))
    return (w / integral * (log_p - torch.log(q_test.clamp_min(_TINY)))).mean()


def _channel_columns(f, q_test, alpha, own):
    """``(α_i f, g_i)`` columns; ``α_i f`` is 0 where a row does not serve channel i."""
    if q_test.ndim == 1:
        q_test = q_test[:, None]
    if alpha is None:
        alpha = torch.ones_like(q_test)
    fa = f[:, None] * alpha
    return (fa if own is None else fa * own), q_test


def _total(f, w, q_sample, own):
    """The integral ``I = Σ_i I_i`` from the points (``w = α_i f / q_sample``)."""
    return (f / q_sample).mean() if own is None else w.sum(1).mean()


def multichannel_variance_loss(
    f: torch.Tensor,
    q_test: torch.Tensor,
    alpha: torch.Tensor | None = None,
    q_sample: torch.Tensor | None = None,
    own: torch.Tensor | None = None,
) -> torch.Tensor:
    """Stratified multi-channel variance ``(Σ_i σ_i)^2 / I^2``.

    Channel ``i`` integrates ``α_i f`` with its proposal ``g_i``; with samples
    allocated in proportion to ``σ_i`` the total variance is
    ``(Σ_i σ_i)^2 / N`` (arXiv:2311.01548). Every point of the buffer serves
    every channel through the importance ratio ``g_i/q_sample``.

    Parameters
    ----------
    f : Tensor of shape (n,)
        Integrand values.
    q_test : Tensor of shape (n, n_channels)
        Channel densities ``g_i`` at the points (with gradient).
    alpha : Tensor of shape (n, n_channels), default=None
        Channel weights (rows sum to 1, with gradient); ``None`` means 1.
    q_sample : Tensor of shape (n,), default=None
        Density the points were drawn from: the mixture of the channels, or
        with ``own`` the joint density ``p_c g_c(x)`` of the point and the
        channel ``c`` it was drawn from (``p_c``: the channel's share).
    own : Tensor of shape (n, n_channels), default=None
        One-hot channel each point was drawn from: a point then serves only
        its own channel (training on own samples, as MadNIS does), and the
        other columns of ``q_test`` are ignored. ``None``: every point serves
        every channel.

    Returns
    -------
    loss : Tensor, scalar
    """
    fa, q_test = _channel_columns(f, q_test, alpha, own)
    if q_sample is None:
        q_sample = q_test.detach().mean(1)
    q_sample = q_sample[:, None]
    w = fa / q_sample
    integrals = w.mean(0)
    ratio = q_test / q_sample if own is None else own * q_test / q_sample
    var = ((fa / q_test.clamp_min(_TINY) - integrals) ** 2 * ratio).mean(0)
    total = _total(f, w, q_sample[:, 0], own).detach()
    return torch.sqrt(var + _TINY).sum().square() / total.square().clamp_min(_TINY)


def multichannel_kl_loss(
    f: torch.Tensor,
    q_test: torch.Tensor,
    alpha: torch.Tensor | None = None,
    q_sample: torch.Tensor | None = None,
    own: torch.Tensor | None = None,
) -> torch.Tensor:
    """Multi-channel KL loss: ``Σ_i KL(α_i f / I_i || g_i)`` weighted by ``I_i / I``.

    Parameters
    ----------
    f : Tensor of shape (n,)
        Integrand values.
    q_test : Tensor of shape (n, n_channels)
        Channel densities (with gradient).
    alpha : Tensor of shape (n, n_channels), default=None
        Channel weights; ``None`` means 1.
    q_sample : Tensor of shape (n,), default=None
        Density the points were drawn from (with ``own``, jointly with their
        channel; see :func:`multichannel_variance_loss`).
    own : Tensor of shape (n, n_channels), default=None
        One-hot channel each point was drawn from, which it alone serves;
        ``None``: every point serves every channel.

    Returns
    -------
    loss : Tensor, scalar
    """
    fa, q_test = _channel_columns(f, q_test, alpha, own)
    if q_sample is None:
        q_sample = q_test.detach().mean(1)
    w = fa / q_sample[:, None]
    total = _total(f, w, q_sample, own).detach().clamp_min(_TINY)
    log_fa = torch.log(fa.clamp_min(_TINY))
    log_q = torch.log(q_test.clamp_min(_TINY))
    return (w / total * (log_fa - log_q)).mean(0).sum()


class ImportanceSamplingLoss(nn.Module):
    """skorch criterion for a proposal module that returns ``(log g, log α)``.

    The module output is a tuple of ``(n, n_channels)`` tensors: the log
    densities of the channel proposals and the log channel weights. The target
    packs ``[f, log q_sample]`` (the integrand value and the log density the
    point was drawn from), so skorch batches and shuffles them with the points;
    a third column, the channel each point was drawn from, trains every
    channel on its own points only (``log q_sample`` is then the joint density
    of the point and its channel, see :func:`multichannel_variance_loss`).

    Parameters
    ----------
    loss : {"variance", "kl"}, default="variance"
        Which objective.
    """

    def __init__(self, loss: str = "variance"):
        super().__init__()
        self.loss = loss

    def forward(self, output, packed: torch.Tensor) -> torch.Tensor:
        # in float64: the squared weights of a heavy-tailed round overflow
        # float32 (the variance loss), which would poison the flow with NaNs
        log_q, log_alpha = (t.double() for t in output)
        packed = packed.double()
        f = packed[:, 0]
        log_q_sample = packed[:, 1]
        # rescale by the batch maximum of log q_sample: ratios are unchanged
        shift = log_q_sample.max().detach()
        q_sample = torch.exp(log_q_sample - shift)
        q_test = torch.exp(log_q - shift)
        alpha = torch.exp(log_alpha)
        own = None
        if packed.shape[1] > 2:
            own = F.one_hot(packed[:, 2].long(), log_q.shape[1]).to(log_q.dtype)
            # other channels' columns are not evaluated: any finite value
            q_test = torch.where(own > 0, q_test, q_sample[:, None])
        if self.loss == "variance":
            fn = multichannel_variance_loss
        else:
            fn = multichannel_kl_loss
        return fn(f, q_test, alpha, q_sample, own)
