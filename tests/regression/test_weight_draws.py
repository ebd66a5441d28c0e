"""Vectorised weight draws against a loop over the sampled networks."""

import numpy as np
import torch
from torch.nn import functional as F

from skhep_ml import BayesianRegressor
from skhep_ml.nn import BayesianMLP


def _mlp():
    torch.manual_seed(0)
    mlp = BayesianMLP(4, 3, (8, 16, 8), init_std=0.2).double()
    return mlp


def _loop(mlp, x, weights):
    """Apply each sampled network in turn, one layer at a time."""
    outs = []
    for k in range(weights[0][0].shape[0]):
        h = x
        for i, (weight, bias) in enumerate(weights):
            h = h @ weight[k] + bias[k, 0]
            if i < len(weights) - 1:
                h = F.silu(h)
        outs.append(h)
    return torch.stack(outs)


def test_batched_forward_equals_the_loop_over_draws():
    mlp = _mlp()
    x = torch.randn(37, 4, dtype=torch.float64)
    gen = torch.Generator().manual_seed(5)
    weights = mlp.sample_weight_sets(6, gen)
    batched = mlp.forward_weight_sets(x, weights)
    assert batched.shape == (6, 37, 3)
    torch.testing.assert_close(batched, _loop(mlp, x, weights), rtol=1e-12, atol=1e-12)


def test_draws_are_posterior_samples_and_seeded():
    mlp = _mlp()
    weights = mlp.sample_weight_sets(4000, torch.Generator().manual_seed(1))
    again = mlp.sample_weight_sets(4000, torch.Generator().manual_seed(1))
    layer = mlp.layers[1]
    weight, bias = weights[1]
    torch.testing.assert_close(weight, again[1][0], rtol=0, atol=0)
    # (K, in, out): the transpose of the layer's (out, in) parameters
    torch.testing.assert_close(weight.mean(0), layer.weight_mu.T, atol=0.02, rtol=0)
    torch.testing.assert_close(weight.std(0), layer.weight_sigma.T, atol=0.02, rtol=0)
    torch.testing.assert_close(bias.mean(0)[0], layer.bias_mu, atol=0.02, rtol=0)
    # forward_sampled draws the same networks from the same seed
    x = torch.randn(5, 4, dtype=torch.float64)
    sampled = mlp.forward_sampled(x, 7, torch.Generator().manual_seed(2))
    loop = _loop(mlp, x, mlp.sample_weight_sets(7, torch.Generator().manual_seed(2)))
    torch.testing.assert_close(sampled, loop, rtol=1e-12, atol=1e-12)


def test_predict_uncertainty_equals_the_loop_over_its_draws():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    y = np.sin(2 * X[:, 0]) * X[:, 1]
    reg = BayesianRegressor(
        hidden_layer_sizes=(16, 16), max_epochs=5, n_predict_samples=9, random_state=0
    ).fit(X, y)
    Xt = rng.uniform(-1, 1, size=(5000, 2))  # several batches of draws
    mean, s_stat, s_syst = reg.predict_uncertainty(Xt)
    module = reg.net_.module_
    gen = torch.Generator().manual_seed(reg._predict_seed)
    weights = module.sample_weight_sets(9, gen)
    xs = torch.as_tensor((Xt - reg._x_mean) / reg._x_scale, dtype=torch.float64)
    out = _loop(module, xs, weights).detach().numpy()
    mu = out[..., 0] * reg._y_scale[0] + reg._y_mean[0]
    sigma = np.exp(out[..., 1]) * reg._y_scale[0]
    np.testing.assert_allclose(mean, mu.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s_stat, mu.std(0, ddof=1), rtol=1e-4, atol=1e-6)
    # the learned width less the spread of the means it absorbed in training
    head2 = (sigma**2).mean(0)
    expected = np.sqrt(np.maximum(head2 - mu.var(0, ddof=1), 0.01 * head2))
    np.testing.assert_allclose(s_syst, expected, rtol=1e-4)
    np.testing.assert_allclose(np.hypot(s_stat, s_syst), np.sqrt(head2), rtol=1e-4)
