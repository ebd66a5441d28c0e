"""The fused tanh MLP with its input gradient against autograd."""

import pytest
import torch

from skhep_ml.nn.input_grad import _TanhMLPInputGrad, tanh_mlp_input_grad
from skhep_ml.nn.mlp import make_mlp


def _layers(n_in, hidden, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    net = make_mlp(n_in, 1, hidden, "tanh").to(dtype)
    for p in net.parameters():
        torch.nn.init.normal_(p)
    return net, list(net[0::2])


@pytest.mark.parametrize("hidden", [(5,), (6, 7), (4, 6, 5)])
@pytest.mark.parametrize("n_cols", [0, 1, 3])
def test_value_and_input_gradient_match_autograd(hidden, n_cols):
    net, linears = _layers(4, hidden)
    x = torch.randn(11, 4, dtype=torch.float64)
    out, grad = tanh_mlp_input_grad(x, linears, n_cols)
    xr = x.clone().requires_grad_(True)
    ref = net(xr)[:, 0]
    (ref_grad,) = torch.autograd.grad(ref.sum(), xr)
    torch.testing.assert_close(out, ref.detach(), rtol=0, atol=1e-14)
    assert grad.shape == (11, n_cols)
    torch.testing.assert_close(grad, ref_grad[:, 4 - n_cols :], rtol=0, atol=1e-14)


@pytest.mark.parametrize("hidden", [(5,), (6, 7), (4, 6, 5)])
@pytest.mark.parametrize("n_cols", [0, 1, 2])
def test_hand_written_backward_passes_gradcheck(hidden, n_cols):
    _, linears = _layers(4, hidden, seed=1)
    x = torch.randn(7, 4, dtype=torch.float64)
    params = [p for lin in linears for p in (lin.weight, lin.bias)]

    def fn(*ps):
        out, grad = _TanhMLPInputGrad.apply(x, n_cols, *ps)
        return (out, grad) if n_cols else out

    assert torch.autograd.gradcheck(fn, params)


def test_weight_gradients_of_a_loss_of_value_and_input_gradient():
    # the ALICES use: a loss of f and ∂f/∂θ, its gradient in the weights
    net, linears = _layers(3, (8, 8), seed=2)
    x = torch.randn(20, 3, dtype=torch.float64)
    target = torch.randn(20, 1, dtype=torch.float64)
    out, grad = tanh_mlp_input_grad(x, linears, 1)
    (out.square().mean() + (grad - target).square().mean()).backward()
    fused = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    xr = x.clone().requires_grad_(True)
    f = net(xr)[:, 0]
    (g,) = torch.autograd.grad(f.sum(), xr, create_graph=True)
    (f.square().mean() + (g[:, 2:] - target).square().mean()).backward()
    for a, p in zip(fused, net.parameters()):
        torch.testing.assert_close(a, p.grad, rtol=1e-12, atol=1e-13)


def test_float32_agrees_with_torch_tanh():
    net, linears = _layers(3, (64, 64), dtype=torch.float32)
    x = torch.randn(256, 3)
    out, _ = tanh_mlp_input_grad(x, linears, 1)
    torch.testing.assert_close(out, net(x)[:, 0], rtol=1e-5, atol=1e-5)


def test_errors():
    _, linears = _layers(3, (4,))
    x = torch.randn(5, 3)
    with pytest.raises(ValueError, match="hidden layer"):
        tanh_mlp_input_grad(x, linears[-1:], 1)
    with pytest.raises(ValueError, match="n_cols"):
        tanh_mlp_input_grad(x, linears, -1)
    with pytest.raises(ValueError, match="does not require grad"):
        tanh_mlp_input_grad(x.double().requires_grad_(True), linears, 1)
    with pytest.raises(ValueError, match="nn.Linear"):
        tanh_mlp_input_grad(x, [torch.nn.Tanh(), linears[-1]], 1)


def test_fused_loss_node_passes_gradcheck():
    from skhep_ml.nn.input_grad import _TanhMLPLoss

    _, linears = _layers(3, (5, 4), seed=4)
    x = torch.randn(9, 3, dtype=torch.float64)
    target = torch.randn(9, 2, dtype=torch.float64)

    def value_and_grad(f, grad):
        res = grad - target
        loss = f.square().mean() + res.square().mean()
        return loss, 2 * f / f.numel(), 2 * res / res.numel()

    params = [p for lin in linears for p in (lin.weight, lin.bias)]
    assert torch.autograd.gradcheck(
        lambda *ps: _TanhMLPLoss.apply(x, 2, value_and_grad, *ps)[0], params
    )
