"""FlatAdam against torch's Adam: the same numbers, step by step."""

import copy
import pickle

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from skhep_ml.nn.optim import FlatAdam


def _net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)
    )


def _train(net, opt, n_steps, seed=1):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(n_steps):
        x = torch.randn(32, 3, generator=gen)
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_flat_adam_matches_torch_adam_bit_for_bit(foreach, weight_decay):
    ref, ours = _net(), _net()
    groups = lambda net: [  # noqa: E731
        {"params": list(net[0].parameters()), "lr": 0.03},
        {"params": list(net[2].parameters())},
    ]
    kw = dict(lr=0.01, betas=(0.8, 0.99), eps=1e-7, weight_decay=weight_decay)
    opt_ref = torch.optim.Adam(groups(ref), foreach=foreach, **kw)
    opt = FlatAdam(groups(ours), **kw)
    _train(ref, opt_ref, 50)
    _train(ours, opt, 50)
    for p, q in zip(ref.parameters(), ours.parameters()):
        assert torch.equal(p, q)
    # the parameters now live in one buffer per group
    flat = opt._buffers[0][0]
    w = ours[0].weight
    assert w.untyped_storage().data_ptr() == flat.untyped_storage().data_ptr()


def test_flat_adam_survives_dtype_round_trip_and_pickle():
    ref, ours = _net(), _net()
    opt_ref = torch.optim.Adam(ref.parameters(), lr=0.01)
    opt = FlatAdam(ours.parameters(), lr=0.01)
    _train(ref, opt_ref, 10)
    _train(ours, opt, 10)
    # what the estimators do between rounds: float64 inference, then float32
    ours.double().float()
    ours, opt = pickle.loads(pickle.dumps((ours, opt)))
    _train(ref, opt_ref, 10, seed=2)
    _train(ours, opt, 10, seed=2)
    for p, q in zip(ref.parameters(), ours.parameters()):
        assert torch.equal(p, q)
    assert opt.state[next(ours.parameters())]["step"] == 20


def test_flat_adam_state_dict_round_trip():
    net = _net()
    opt = FlatAdam(net.parameters(), lr=0.01)
    _train(net, opt, 5)
    other = _net()
    other.load_state_dict(net.state_dict())
    opt2 = FlatAdam(other.parameters(), lr=0.5)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert opt2.param_groups[0]["lr"] == 0.01
    _train(net, opt, 5, seed=3)
    _train(other, opt2, 5, seed=3)
    for p, q in zip(net.parameters(), other.parameters()):
        assert torch.equal(p, q)


def test_flat_adam_zero_grad_and_missing_gradients():
    net = _net()
    opt = FlatAdam(net.parameters(), lr=0.1)
    before = [p.detach().clone() for p in net.parameters()]
    opt.step()  # no gradients at all: nothing moves
    for p, b in zip(net.parameters(), before):
        assert torch.equal(p, b)
    # only the output bias gets a gradient: the other parameters get zeros
    net[2].bias.sum().backward()
    opt.step()
    assert not torch.equal(net[2].bias, before[3])
    assert torch.equal(net[0].weight, before[0])
    opt.zero_grad(set_to_none=False)
    assert torch.count_nonzero(net[2].bias.grad) == 0
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_flat_adam_errors():
    net = _net()
    with pytest.raises(ValueError, match="learning rate"):
        FlatAdam(net.parameters(), lr=-1.0)
    with pytest.raises(ValueError, match="beta"):
        FlatAdam(net.parameters(), betas=(1.0, 0.9))
    net[0].double()
    opt = FlatAdam(net.parameters())
    for p in net.parameters():
        p.grad = torch.ones_like(p)
    with pytest.raises(TypeError, match="one dtype"):
        opt.step()


def test_flat_adam_runs_step_hooks():
    # FlatAdam skips torch's profiler wrapper of ``step`` but keeps its hooks
    net = _net()
    opt = FlatAdam(net.parameters(), lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o)))
    handle = register_optimizer_step_post_hook(
        lambda o, args, kwargs: calls.append(("global", o))
    )
    try:
        net(torch.ones(2, 3)).sum().backward()
        closure_calls = []
        opt.step(lambda: closure_calls.append(1))
    finally:
        handle.remove()
    assert calls == [("pre", opt), ("post", opt), ("global", opt)]
    assert closure_calls == [1]
    opt.register_step_pre_hook(lambda o, args, kwargs: (args, kwargs))
    with pytest.raises(RuntimeError, match="cannot replace"):
        opt.step()
