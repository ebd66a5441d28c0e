"""Adam on one contiguous buffer per parameter group.

The networks of skhep_ml are small (tens of thousands of weights in a few to a
few hundred tensors), so an optimizer step costs what its tensor operations
cost to launch, not what they compute. :class:`FlatAdam` keeps the parameters
of a group as views into one flat tensor and its moments as two flat tensors:
a step is then seven tensor operations whatever the number of parameter
tensors, against seven per tensor (``foreach=False``) or seven multi-tensor
launches over Python lists (``foreach=True``). The arithmetic is that of
:class:`torch.optim.Adam`, operation by operation, so both give the same
numbers (bit for bit on the CPU; tested).
"""

from __future__ import annotations

import torch
from torch.optim.optimizer import (
    _global_optimizer_post_hooks as _global_post_hooks,
)
from torch.optim.optimizer import (
    _global_optimizer_pre_hooks as _global_pre_hooks,
)

__all__ = ["FlatAdam"]


class FlatAdam(torch.optim.Optimizer):
    """Adam whose parameters and moments live in one flat buffer per group.

    Same update and the same defaults as :class:`torch.optim.Adam` (without
    ``amsgrad``, ``maximize`` or sparse gradients). The parameters of a group
    become views into one contiguous tensor at the first step; when something
    replaces their storage (``module.to(dtype)``, ``module.cuda()``), the next
    step copies their current values into a fresh buffer and keeps the moments.

    Parameters
    ----------
    params : iterable of torch.nn.Parameter or of dict
        Parameters, or parameter groups (dicts with ``"params"`` and options).
        The tensors of one group must share dtype and device.
    lr : float, default=1e-3
        Learning rate.
    betas : tuple of float, default=(0.9, 0.999)
        Decay rates of the first and second moment estimates.
    eps : float, default=1e-8
        Added to the denominator.
    weight_decay : float, default=0.0
        L2 penalty added to the gradient (as in :class:`torch.optim.Adam`).

    Notes
    -----
    A parameter without a gradient in a step where others of its group have
    one is updated with a zero gradient (its moments decay); a group in which
    no parameter has a gradient is skipped, as in :class:`torch.optim.Adam`.

    Examples
    --------
    >>> import torch
    >>> from skhep_ml.nn.optim import FlatAdam
    >>> net = torch.nn.Linear(3, 1)
    >>> opt = FlatAdam(net.parameters(), lr=0.01)
    >>> net(torch.ones(4, 3)).sum().backward()
    >>> opt.step()
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Invalid beta parameters: {betas}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)
        self._buffers = {}

    def __setstate__(self, state):
        super().__setstate__(state)
        # the flat buffers are a cache of the parameters: rebuilt at the next step
        self._buffers = {}

    def _flat_params(self, index, params):
        """The group's flat parameter tensor; re-flattened if storage moved."""
        cached = self._buffers.get(index)
        if cached is not None:
            flat, pointers = cached
            if len(pointers) == len(params) and all(
                p.data_ptr() == ptr for p, ptr in zip(params, pointers)
            ):
                return flat
        first = params[0]
        for p in params:
            if p.dtype != first.dtype or p.device != first.device:
                raise TypeError(
                    "FlatAdam needs the parameters of a group on one dtype and "
                    f"device; got {first.dtype}/{first.device} and "
                    f"{p.dtype}/{p.device}."
                )
            if p.grad is not None and p.grad.is_sparse:
                raise RuntimeError("FlatAdam does not support sparse gradients.")
        flat = torch.cat([p.detach().reshape(-1) for p in params])
        views = flat.split([p.numel() for p in params])
        for p, view in zip(params, views):
            p.data = view.view_as(p)
        self._buffers[index] = (flat, [p.data_ptr() for p in params])
        return flat

    def zero_grad(self, set_to_none: bool = True):
        """Reset the gradients (to ``None`` by default, as torch's optimizers).

        Parameters
        ----------
        set_to_none : bool, default=True
            Drop the gradient tensors instead of filling them with zeros.
        """
        # no profiler record per call (torch's zero_grad opens one): this runs
        # every step, and its cost is that of a tensor operation
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    def _patch_step_function(self):
        # torch wraps every optimizer class's ``step`` in a profiler record and
        # its hook calls (~5 µs a step, a few per cent of a small network's
        # step): FlatAdam.step calls the hooks itself and opens no record
        self._zero_grad_profile_name = (
            f"Optimizer.zero_grad#{type(self).__name__}.zero_grad"
        )

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one optimisation step.

        Parameters
        ----------
        closure : callable, default=None
            Re-evaluates the model and returns the loss.

        Returns
        -------
        loss : torch.Tensor or None
            What ``closure`` returned.
        """
        args = (self, closure) if closure is not None else (self,)
        for pre_hook in (
            *_global_pre_hooks.values(),
            *self._optimizer_step_pre_hooks.values(),
        ):
            if pre_hook(self, args, {}) is not None:
                raise RuntimeError(
                    "FlatAdam's step pre-hooks cannot replace its arguments."
                )
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._update()
        for post_hook in (
            *self._optimizer_step_post_hooks.values(),
            *_global_post_hooks.values(),
        ):
            post_hook(self, args, {})
        return loss

    def _update(self):
        for index, group in enumerate(self.param_groups):
            params = group["params"]
            if not params or all(p.grad is None for p in params):
                continue
            flat = self._flat_params(index, params)
            grad = torch.cat(
                [
                    (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                    for p in params
                ]
            )
            beta1, beta2 = group["betas"]
            if group["weight_decay"]:
                grad = grad.add(flat, alpha=group["weight_decay"])
            state = self.state[params[0]]
            if not state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(flat)
                state["exp_avg_sq"] = torch.zeros_like(flat)
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            if exp_avg.dtype != flat.dtype or exp_avg.device != flat.device:
                exp_avg = state["exp_avg"] = exp_avg.to(flat)
                exp_avg_sq = state["exp_avg_sq"] = exp_avg_sq.to(flat)
            state["step"] += 1
            step = state["step"]
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bias_correction1 = 1 - beta1**step
            # ``** 0.5`` as torch's Adam (not math.sqrt: same numbers to the bit)
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(group["eps"])
            flat.addcdiv_(exp_avg, denom, value=-(group["lr"] / bias_correction1))
