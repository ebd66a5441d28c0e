"""Rational-quadratic splines: exact inverse, exact derivative, identity start."""

import pytest
import torch

from skhep_ml.nn.flows.splines import rqs_tails, rqs_unit


def _params(n, k, n_deriv, scale=1.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = scale * torch.randn(n, k, generator=g, dtype=torch.float64)
    h = scale * torch.randn(n, k, generator=g, dtype=torch.float64)
    d = scale * torch.randn(n, n_deriv, generator=g, dtype=torch.float64)
    return w, h, d


def test_unit_spline_inverse_and_derivative():
    n, k = 2000, 8
    w, h, d = _params(n, k, k + 1)
    x = torch.rand(n, dtype=torch.float64)
    x[:3] = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64)
    x.requires_grad_(True)
    y, lad = rqs_unit(x, w, h, d)
    assert ((y >= 0) & (y <= 1)).all()
    assert torch.allclose(y[:2], torch.tensor([0.0, 1.0], dtype=torch.float64))
    # derivative of an elementwise map: the gradient of the sum (inside the
    # interval: at its ends autograd sees the clamp's kink, whose gradient
    # torch versions define differently; lad is the one-sided derivative)
    (grad,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(lad[2:], grad[2:].log(), atol=1e-8, rtol=1e-8)
    # at the ends: one-sided finite differences (tiny steps: the random bins
    # are narrow and the slope changes fast)
    eps = 1e-10
    inner = torch.tensor([eps, 1.0 - eps], dtype=torch.float64)
    y_in, _ = rqs_unit(inner, w[:2], h[:2], d[:2])
    slope = torch.stack([y_in[0] / eps, (1.0 - y_in[1]) / eps])
    torch.testing.assert_close(lad[:2].detach(), slope.log(), atol=1e-5, rtol=0)
    x_back, lad_inv = rqs_unit(y.detach(), w, h, d, inverse=True)
    torch.testing.assert_close(x_back, x.detach(), atol=1e-10, rtol=0)
    torch.testing.assert_close(lad_inv, -lad.detach(), atol=1e-8, rtol=1e-8)


def test_unit_spline_is_monotonic_and_onto():
    k = 6
    w, h, d = _params(1, k, k + 1, seed=3)
    x = torch.linspace(0, 1, 10001, dtype=torch.float64)
    y, _ = rqs_unit(x, w.expand(len(x), -1), h.expand(len(x), -1), d.expand(len(x), -1))
    assert (torch.diff(y) > 0).all()
    assert y[0] == 0.0 and y[-1] == 1.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tail_spline_inverse_and_identity_tails(dtype):
    n, k, bound = 3000, 8, 3.0
    w, h, d = (p.to(dtype) for p in _params(n, k, k - 1))
    x = 5.0 * torch.randn(n, dtype=dtype)
    y, lad = rqs_tails(x, w, h, d, tail_bound=bound)
    outside = x.abs() > bound
    assert outside.sum() > 100
    assert torch.equal(y[outside], x[outside])
    assert torch.equal(lad[outside], torch.zeros_like(lad[outside]))
    x_back, lad_inv = rqs_tails(y, w, h, d, inverse=True, tail_bound=bound)
    atol = 1e-5 if dtype == torch.float32 else 1e-10
    # a flat bin (slope ~1e-4) amplifies float32 round-off of y by 1/slope:
    # compare the round trip in units of y
    err = (x_back - x).abs() * lad.exp().clamp(max=1.0)
    assert err.max() < atol
    if dtype == torch.float64:
        torch.testing.assert_close(x_back, x, atol=1e-8, rtol=0)
    torch.testing.assert_close(lad_inv, -lad, atol=1e3 * atol, rtol=0)


def test_zero_parameters_are_the_identity():
    n, k = 100, 5
    x = torch.rand(n, dtype=torch.float64)
    zeros = torch.zeros(n, k, dtype=torch.float64)
    y, lad = rqs_unit(x, zeros, zeros, torch.zeros(n, k + 1, dtype=torch.float64))
    torch.testing.assert_close(y, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(lad, torch.zeros_like(lad), atol=1e-12, rtol=0)
    x = 4 * torch.randn(n, dtype=torch.float64)
    y, lad = rqs_tails(x, zeros, zeros, torch.zeros(n, k - 1, dtype=torch.float64))
    torch.testing.assert_close(y, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(lad, torch.zeros_like(lad), atol=1e-12, rtol=0)


@pytest.mark.parametrize("inverse", [False, True])
def test_spline_parameters_broadcast_across_rows(inverse):
    # one spline shared by every row (leading dimension 1) == the expanded one
    n, k = 500, 7
    w, h, d = _params(1, k, k - 1, seed=5)
    x = 3.0 * torch.randn(n, dtype=torch.float64)
    y, lad = rqs_tails(x, w, h, d, inverse=inverse, tail_bound=4.0)
    y_ref, lad_ref = rqs_tails(
        x,
        w.expand(n, -1),
        h.expand(n, -1),
        d.expand(n, -1),
        inverse=inverse,
        tail_bound=4.0,
    )
    assert y.shape == lad.shape == (n,)
    torch.testing.assert_close(y, y_ref, atol=0, rtol=0)
    torch.testing.assert_close(lad, lad_ref, atol=0, rtol=0)
