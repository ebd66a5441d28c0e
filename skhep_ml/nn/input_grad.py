"""A tanh MLP that returns its output and the output's gradient in some inputs.

ALICES regresses ``∇_θ log r̂(x, θ)`` onto the joint score, so every training
step needs the network's value *and* its derivative in the θ input columns,
then the gradient of a loss of both with respect to the weights. Through
autograd that is a graph of ~200 small tensor operations per step (the
forward-mode tangents double the forward pass and the backward of
``tanh_backward`` is itself a few operations). :func:`tanh_mlp_input_grad`
does the same in one :class:`torch.autograd.Function` with a hand-written
backward: the value and its ``k`` tangents travel stacked as one
``(k + 1, n, width)`` tensor, so each layer is one matrix product forward and
two backward. A loss whose gradients are closed forms joins the same node
(``_TanhMLPLoss``, the ratio estimator's training step): on one CPU thread an
ALICES step of a (64, 64) network on 128 rows went from 0.56 to 0.41 ms.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["tanh_mlp_input_grad"]

_tanh_backward = torch.ops.aten.tanh_backward


def _forward(x, k, params):
    """``[f - b_out; ∂f/∂x_θ]`` stacked as ``(k + 1, n)``, and what backward needs."""
    weights, biases = params[0::2], params[1::2]
    n = x.shape[0]
    w_in = weights[0]
    # first hidden layer: the tangent of the pre-activation is the column
    # block of W belonging to the differentiated inputs, the same on every row
    # (twice the pre-activation: see _stack_tanh)
    a2 = torch.addmm(biases[0], x, w_in.t(), beta=2.0, alpha=2.0)
    tangent = w_in[:, w_in.shape[1] - k :].t().unsqueeze(1)
    states, tangents = [], [tangent]
    z = _stack_tanh(a2, tangent.expand(k, n, a2.shape[1]))
    states.append(z)
    for w, b in zip(weights[1:-1], biases[1:-1]):
        pre = torch.matmul(z, w.t())  # value and tangents in one product
        pre[0].add_(b).mul_(2.0)
        tangents.append(pre[1:])
        z = _stack_tanh(pre[0], pre[1:])
        states.append(z)
    out = torch.matmul(z, weights[-1].t())[..., 0]
    return out, (x, *weights, *states, *tangents)


def _backward(saved, k, g):
    """Parameter gradients from the upstream gradient ``g`` of the stacked output."""
    n_layers = (len(saved) - 2) // 3
    x = saved[0]
    weights = saved[1 : 2 + n_layers]
    states = saved[2 + n_layers : 2 + 2 * n_layers]
    tangents = saved[2 + 2 * n_layers :]
    z = states[-1]
    grads_w = [g.reshape(1, -1) @ z.reshape(-1, z.shape[-1])]
    grads_b = [g[0].sum(0, keepdim=True)]
    dz = g.unsqueeze(-1) * weights[-1]  # (k + 1, n, width)
    for layer in range(n_layers - 1, -1, -1):
        z, tangent = states[layer], tangents[layer]
        h = z[0]
        # h = tanh(a), t = e ⊙ (1 - h²): ∂h/∂a = 1 - h² and
        # ∂t/∂a = -2 h (1 - h²) e, so the value row gets a mixed term
        d_pre = _tanh_backward(dz, h)
        if k:
            mixed = dz[1] * tangent[0] if k == 1 else (dz[1:] * tangent).sum(0)
            d_pre[0].addcmul_(h, _tanh_backward(mixed, h), value=-2.0)
        grads_b.append(d_pre[0].sum(0))
        if layer > 0:
            below = states[layer - 1]
            grads_w.append(
                d_pre.reshape(-1, z.shape[-1]).t() @ below.reshape(-1, below.shape[-1])
            )
            dz = torch.matmul(d_pre, weights[layer])
        else:
            # (xᵀ d)ᵀ: the faster order of this thin product
            grad_w = (x.t() @ d_pre[0]).t().contiguous()
            if k:  # the first tangent is a column block of W itself
                grad_w[:, grad_w.shape[1] - k :] += d_pre[1:].sum(1).t()
            grads_w.append(grad_w)
    grads = []
    for gw, gb in zip(reversed(grads_w), reversed(grads_b)):
        grads += [gw, gb]
    return grads


class _TanhMLPInputGrad(torch.autograd.Function):
    """``f(x)`` and ``∂f/∂x[:, -k:]`` of ``Linear → tanh → … → Linear(·, 1)``."""

    @staticmethod
    def forward(ctx, x, n_cols, *params):
        out, saved = _forward(x, n_cols, params)
        ctx.n_cols = n_cols
        ctx.save_for_backward(*saved)
        return out[0] + params[-1], out[1:].t()

    @staticmethod
    def backward(ctx, grad_out, grad_grad):
        g = torch.cat([grad_out.unsqueeze(0), grad_grad.t()])
        return (None, None, *_backward(ctx.saved_tensors, ctx.n_cols, g))


class _TanhMLPLoss(torch.autograd.Function):
    """A loss of ``f`` and ``∂f/∂x_θ`` that knows its own gradients, fused.

    ``value_and_grad(f, grad) -> (loss, ∂loss/∂f, ∂loss/∂grad)`` (closed
    forms, e.g. the ALICES loss): network, loss and their backward in one
    autograd node. Returns the loss and ``f`` (not differentiable).
    """

    @staticmethod
    def forward(ctx, x, n_cols, value_and_grad, *params):
        out, saved = _forward(x, n_cols, params)
        f = out[0] + params[-1]
        loss, grad_f, grad_score = value_and_grad(f, out[1:].t())
        ctx.n_cols = n_cols
        ctx.save_for_backward(*saved, torch.cat([grad_f.unsqueeze(0), grad_score.t()]))
        ctx.mark_non_differentiable(f)
        return loss, f

    @staticmethod
    def backward(ctx, grad_loss, _):
        *saved, g = ctx.saved_tensors
        return (None, None, None, *_backward(saved, ctx.n_cols, g * grad_loss))


def _stack_tanh(twice_pre_value, pre_tangent):
    """``[tanh(a); e ⊙ (1 - tanh(a)²)]`` as one ``(k + 1, n, width)`` tensor.

    Takes ``2a``: ``tanh(a) = 2 sigmoid(2a) - 1``, within a float's rounding
    of :func:`torch.tanh`, costs half of it or less on CPUs whose vectorised
    tanh is slow (torch's MKL tanh took 18 µs for 128 × 64 floats on the
    benchmark machine, its sigmoid 2.7 µs).
    """
    k = pre_tangent.shape[0]
    z = torch.empty(
        (k + 1, *twice_pre_value.shape),
        dtype=twice_pre_value.dtype,
        device=twice_pre_value.device,
    )
    torch.sigmoid(twice_pre_value, out=z[0]).mul_(2.0).sub_(1.0)
    if k:
        _tanh_backward.grad_input(pre_tangent, z[0], grad_input=z[1:])
    return z


def tanh_mlp_input_grad(x, linears, n_cols):
    """Output of a tanh MLP and its gradient in the last ``n_cols`` inputs.

    Parameters
    ----------
    x : tensor of shape (n, n_in)
        Input batch (no gradient is propagated to it).
    linears : sequence of torch.nn.Linear
        The layers; a tanh follows every one but the last, whose output
        width is 1. At least one hidden layer.
    n_cols : int
        Number of trailing input columns to differentiate in; 0 for the
        output alone (the same pass: a tanh MLP in one autograd node).

    Returns
    -------
    out : tensor of shape (n,)
        The network output.
    grad : tensor of shape (n, n_cols)
        ``∂ out / ∂ x[:, -n_cols:]``, differentiable in the weights (a loss of
        ``out`` and ``grad`` back-propagates through a hand-written backward).
    """
    if len(linears) < 2 or linears[-1].out_features != 1 or n_cols < 0:
        raise ValueError(
            "tanh_mlp_input_grad needs at least one hidden layer, one output and "
            f"n_cols >= 0; got {len(linears)} layer(s), n_cols={n_cols}."
        )
    if x.requires_grad:
        raise ValueError(
            "tanh_mlp_input_grad propagates no gradient to its input; pass a "
            "tensor that does not require grad."
        )
    params = []
    for lin in linears:
        if not isinstance(lin, nn.Linear) or lin.bias is None:
            raise ValueError("tanh_mlp_input_grad needs nn.Linear layers with bias.")
        params += [lin.weight, lin.bias]
    return _TanhMLPInputGrad.apply(x, n_cols, *params)
