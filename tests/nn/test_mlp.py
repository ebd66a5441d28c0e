"""The plain MLP module."""

import torch

from skhep_ml.nn.mlp import MLP


def test_zero_last_starts_at_zero_output_and_trains():
    torch.manual_seed(0)
    x = torch.randn(32, 3)
    net = MLP(3, 1, (16,), "tanh", squeeze_output=True, zero_last=True)
    torch.testing.assert_close(net(x), torch.zeros(32))
    # the hidden layers are random, so the gradient of the output layer is not
    loss = (net(x) - x[:, 0]).pow(2).mean()
    loss.backward()
    assert net.net[-1].weight.grad.abs().sum() > 0
    assert not torch.allclose(MLP(3, 1, (16,), "tanh")(x), torch.zeros(32, 1))
