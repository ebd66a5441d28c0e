"""Monotonic rational-quadratic splines (Durkan et al., arXiv:1906.04032).

Pure functions of tensors. A spline of ``K`` bins is given by unnormalised bin
widths ``(..., K)``, bin heights ``(..., K)`` and knot derivatives: ``(..., K - 1)``
inner derivatives when the spline has linear (identity) tails outside
``[-B, B]`` (:func:`rqs_tails`, boundary derivatives fixed to 1), or
``(..., K + 1)`` when it maps ``[0, 1]`` onto ``[0, 1]`` with no tails
(:func:`rqs_unit`). All-zero parameters give the identity map exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "MIN_BIN_HEIGHT",
    "MIN_BIN_WIDTH",
    "MIN_DERIVATIVE",
    "rqs",
    "rqs_from_knots",
    "rqs_knots",
    "rqs_tails",
    "rqs_tails_from_knots",
    "rqs_unit",
]

MIN_BIN_WIDTH = 1e-3
MIN_BIN_HEIGHT = 1e-3
MIN_DERIVATIVE = 1e-3
#: softplus(_DERIV_SHIFT) + MIN_DERIVATIVE == 1: a zero parameter is slope 1
_DERIV_SHIFT = math.log(math.expm1(1.0 - MIN_DERIVATIVE))


def _knots(unnormalized: torch.Tensor, low: float, high: float, min_size: float):
    """Knot positions: ``(inner (..., K - 1), all (..., K + 1))`` from logits."""
    n_bins = unnormalized.shape[-1]
    width = high - low
    # knot k (1..K-1) = low + width * (k * min_size + (1 - K * min_size) * cumsoftmax)
    offset = low + width * min_size * torch.arange(
        1, n_bins, dtype=unnormalized.dtype, device=unnormalized.device
    )
    cum = torch.cumsum(torch.softmax(unnormalized, dim=-1)[..., :-1], dim=-1)
    inner = torch.add(offset, cum, alpha=width * (1.0 - min_size * n_bins))
    # exact end points whatever the round-off of the cumulative sum (one
    # padded copy: cheaper than joining three pieces)
    knots = F.pad(inner, (1, 1), value=low)
    knots[..., -1] = high
    return inner, knots


def rqs(
    inputs: torch.Tensor,
    unnormalized_widths: torch.Tensor,
    unnormalized_heights: torch.Tensor,
    unnormalized_derivatives: torch.Tensor,
    *,
    inverse: bool = False,
    low: float = 0.0,
    high: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rational-quadratic spline on ``[low, high]`` with all ``K + 1`` derivatives.

    Parameters
    ----------
    inputs : Tensor of shape (...)
        Points, expected inside ``[low, high]`` (clamped there).
    unnormalized_widths, unnormalized_heights : Tensor of shape (..., K)
        Softmax logits of the bin widths and heights; the leading dimensions
        may broadcast against ``inputs`` (e.g. one spline for every row).
    unnormalized_derivatives : Tensor of shape (..., K + 1)
        Knot derivatives before ``softplus``; 0 means slope 1.
    inverse : bool, default=False
        Evaluate the inverse map.
    low, high : float, default=0.0, 1.0
        The interval mapped onto itself.

    Returns
    -------
    outputs : Tensor of shape (...)
        Transformed points.
    logabsdet : Tensor of shape (...)
        ``log |d outputs / d inputs|``.
    """
    knots = rqs_knots(unnormalized_widths, unnormalized_heights, low=low, high=high)
    return rqs_from_knots(
        inputs, knots, unnormalized_derivatives, inverse=inverse, low=low, high=high
    )


def rqs_knots(
    unnormalized_widths: torch.Tensor,
    unnormalized_heights: torch.Tensor,
    *,
    low: float = 0.0,
    high: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Knots of splines on ``[low, high]`` from their width and height logits.

    Splitting the knots from :func:`rqs_from_knots` lets splines whose
    parameters are shared by every row (the marginal maps of a coupling
    block) compute their knots once and join the per-row ones.

    Returns
    -------
    inner_w, cumwidths, inner_h, cumheights : Tensor
        Inner knots ``(..., K - 1)`` and all knots ``(..., K + 1)`` of the
        inputs (widths) and outputs (heights).
    """
    inner_w, cumwidths = _knots(unnormalized_widths, low, high, MIN_BIN_WIDTH)
    inner_h, cumheights = _knots(unnormalized_heights, low, high, MIN_BIN_HEIGHT)
    return inner_w, cumwidths, inner_h, cumheights


def rqs_from_knots(
    inputs: torch.Tensor,
    knots: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    unnormalized_derivatives: torch.Tensor,
    *,
    inverse: bool = False,
    low: float = 0.0,
    high: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`rqs` with the knots from :func:`rqs_knots`."""
    inner_w, cumwidths, inner_h, cumheights = knots
    lead = cumwidths.shape[:-1]
    shared = (
        lead != inputs.shape
        and inputs.ndim >= 1
        and lead[-1:] == inputs.shape[-1:]
        and math.prod(lead[:-1]) == 1
    )
    if shared:
        # parameters shared across rows (broadcast, e.g. (1, c, K + 1) against
        # inputs (n, c)): evaluate with the rows last, (c, n), so that every
        # knot tensor keeps its one copy (no per-row expansion)
        inputs_t = inputs.reshape(-1, inputs.shape[-1]).T.contiguous()
        lead = inputs_t.shape[:1]
        out, lad = _rqs_rows_last(
            inputs_t,
            tuple(k.reshape(*lead, k.shape[-1]) for k in knots),
            unnormalized_derivatives.reshape(*lead, -1),
            inverse,
            low,
            high,
        )
        return out.T.reshape(inputs.shape), lad.T.reshape(inputs.shape)
    if lead != inputs.shape:  # any other broadcast: one spline per point
        shape = inputs.shape
        knots = (
            inner_w.expand(*shape, -1).contiguous(),
            cumwidths.expand(*shape, -1),
            inner_h.expand(*shape, -1).contiguous(),
            cumheights.expand(*shape, -1),
        )
        unnormalized_derivatives = unnormalized_derivatives.expand(*shape, -1)
    out, lad = _rqs_rows_last(
        inputs[..., None], knots, unnormalized_derivatives, inverse, low, high
    )
    return out[..., 0], lad[..., 0]


def _rqs_rows_last(x, knots, unnormalized_derivatives, inverse, low, high):
    """The spline of :func:`rqs_from_knots` on ``x`` of shape ``(..., m)``.

    Every knot tensor has shape ``(..., K ± 1)`` with the same leading
    dimensions as ``x``: the ``m`` points of a row share that row's spline.
    """
    inner_w, cumwidths, inner_h, cumheights = knots
    x = x.clamp(low, high)
    idx = torch.searchsorted(inner_h if inverse else inner_w, x, right=True)
    idx1 = idx + 1
    x_k = cumwidths.gather(-1, idx)
    w_k = cumwidths.gather(-1, idx1) - x_k
    y_k = cumheights.gather(-1, idx)
    h_k = cumheights.gather(-1, idx1) - y_k
    # softplus only of the two knot slopes in use
    d_k = MIN_DERIVATIVE + F.softplus(
        unnormalized_derivatives.gather(-1, idx) + _DERIV_SHIFT
    )
    d_k1 = MIN_DERIVATIVE + F.softplus(
        unnormalized_derivatives.gather(-1, idx1) + _DERIV_SHIFT
    )
    s = h_k / w_k
    dsum = d_k + d_k1 - 2.0 * s

    if inverse:
        dy = x - y_k
        a = h_k * (s - d_k) + dy * dsum
        b = h_k * d_k - dy * dsum
        c = -s * dy
        disc = (b.square() - 4.0 * a * c).clamp_min(0.0)
        theta = (2.0 * c) / (-b - disc.sqrt())
        theta = theta.clamp(0.0, 1.0)
        outputs = theta * w_k + x_k
    else:
        theta = ((x - x_k) / w_k).clamp(0.0, 1.0)
        tt = theta * (1.0 - theta)
        outputs = y_k + h_k * (s * theta.square() + d_k * tt) / (s + dsum * tt)
    tt = theta * (1.0 - theta)
    denominator = s + dsum * tt
    deriv_numerator = s.square() * (
        d_k1 * theta.square() + 2.0 * s * tt + d_k * (1.0 - theta).square()
    )
    logabsdet = torch.log(deriv_numerator) - 2.0 * torch.log(denominator)
    if inverse:
        outputs = outputs.clamp(low, high)
        return outputs, -logabsdet
    return outputs.clamp(low, high), logabsdet


def rqs_unit(
    inputs,
    unnormalized_widths,
    unnormalized_heights,
    unnormalized_derivatives,
    *,
    inverse: bool = False,
):
    """Spline mapping ``[0, 1]`` onto ``[0, 1]`` exactly (no tails).

    Inputs outside ``[0, 1]`` are clamped to the edge. See :func:`rqs` for the
    parameters (``unnormalized_derivatives`` has ``K + 1`` entries).

    Returns
    -------
    outputs, logabsdet : Tensor of shape (...)
    """
    return rqs(
        inputs,
        unnormalized_widths,
        unnormalized_heights,
        unnormalized_derivatives,
        inverse=inverse,
        low=0.0,
        high=1.0,
    )


def rqs_tails(
    inputs,
    unnormalized_widths,
    unnormalized_heights,
    unnormalized_derivatives,
    *,
    inverse: bool = False,
    tail_bound: float = 5.0,
):
    """Spline on ``[-tail_bound, tail_bound]``, identity outside.

    The boundary derivatives are fixed to 1 so the map is continuously
    differentiable; ``unnormalized_derivatives`` has ``K - 1`` (inner) entries.

    Returns
    -------
    outputs, logabsdet : Tensor of shape (...)
    """
    knots = rqs_knots(
        unnormalized_widths, unnormalized_heights, low=-tail_bound, high=tail_bound
    )
    return rqs_tails_from_knots(
        inputs,
        knots,
        unnormalized_derivatives,
        inverse=inverse,
        tail_bound=tail_bound,
    )


def rqs_tails_from_knots(
    inputs,
    knots,
    unnormalized_derivatives,
    *,
    inverse: bool = False,
    tail_bound: float = 5.0,
):
    """:func:`rqs_tails` with the knots from :func:`rqs_knots` (on ``±tail_bound``)."""
    # zero logits: slope exactly 1 at the boundaries, matching the identity tails
    derivs = F.pad(unnormalized_derivatives, (1, 1), value=0.0)
    inside = (inputs >= -tail_bound) & (inputs <= tail_bound)
    out, lad = rqs_from_knots(
        inputs, knots, derivs, inverse=inverse, low=-tail_bound, high=tail_bound
    )
    outputs = torch.where(inside, out, inputs)
    logabsdet = torch.where(inside, lad, torch.zeros_like(lad))
    return outputs, logabsdet
