"""Variational layers against closed-form Gaussian results."""

import torch
from torch.distributions import Normal, kl_divergence

from skhep_ml.nn import BayesianMLP, VariationalLinear


def _layer():
    torch.manual_seed(1)
    layer = VariationalLinear(3, 2, prior_std=0.7, init_std=0.3).double()
    with torch.no_grad():
        layer.weight_rho.uniform_(-2.0, 0.0)
        layer.bias_rho.uniform_(-2.0, 0.0)
    return layer


def test_kl_is_summed_closed_form():
    layer = _layer()
    prior = Normal(torch.zeros((), dtype=torch.float64), 0.7)
    expected = kl_divergence(Normal(layer.weight_mu, layer.weight_sigma), prior).sum()
    expected += kl_divergence(Normal(layer.bias_mu, layer.bias_sigma), prior).sum()
    torch.testing.assert_close(layer.kl(), expected)


def test_local_reparameterisation_moments():
    layer = _layer().train()
    x = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64).expand(200_000, 3)
    out = layer(x)
    mean = x[0] @ layer.weight_mu.T + layer.bias_mu
    var = (x[0] ** 2) @ (layer.weight_sigma**2).T + layer.bias_sigma**2
    five_se = 5 * (var.max().item() / len(x)) ** 0.5  # 5 standard errors of the mean
    torch.testing.assert_close(out.mean(0), mean.detach(), atol=five_se, rtol=0)
    torch.testing.assert_close(out.var(0), var.detach(), rtol=2e-2, atol=0)


def test_eval_uses_mean_weights():
    layer = _layer().eval()
    x = torch.randn(5, 3, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ layer.weight_mu.T + layer.bias_mu)


def test_sampled_weights_shared_across_rows_and_match_moments():
    layer = _layer()
    x = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    out = layer.forward_sampled(x.expand(100_000, 2, 3), gen)
    # one weight draw per sample k, shared by the two rows: the second row only
    # sees column 0 of the weights, so its spread is sigma_w0^2 + sigma_b^2
    var1 = layer.weight_sigma[:, 0] ** 2 + layer.bias_sigma**2
    torch.testing.assert_close(out[:, 1].var(0), var1.detach(), rtol=2e-2, atol=0)
    # and the draws are reproducible from the generator's seed
    again = layer.forward_sampled(
        x.expand(100_000, 2, 3), torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(out, again, rtol=0, atol=0)


def test_bayesian_mlp_sampled_is_subset_invariant():
    torch.manual_seed(0)
    mlp = BayesianMLP(2, 3, (8, 8), init_std=0.1).double()
    x = torch.randn(10, 2, dtype=torch.float64)
    full = mlp.forward_sampled(x, 5, torch.Generator().manual_seed(3))
    part = mlp.forward_sampled(x[4:7], 5, torch.Generator().manual_seed(3))
    torch.testing.assert_close(full[:, 4:7], part, rtol=0, atol=1e-12)
    assert full.shape == (5, 10, 3)


def test_every_parameter_gets_a_gradient():
    mlp = BayesianMLP(2, 2, (8,))
    loss = mlp(torch.randn(16, 2)).pow(2).mean() + mlp.kl()
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in mlp.parameters())
