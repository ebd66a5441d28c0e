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


def test_glorot_scales_hidden_weights_by_the_activation_gain():
    torch.manual_seed(0)
    net = MLP(200, 1, (300, 300), "tanh", glorot=True)
    hidden = [net.net[0], net.net[2]]
    for lin in hidden:
        fan_out, fan_in = lin.weight.shape
        bound = 5.0 / 3.0 * (6.0 / (fan_in + fan_out)) ** 0.5  # U(±bound)
        assert lin.weight.abs().max() <= bound
        # a uniform on ±bound has variance bound² / 3
        torch.testing.assert_close(
            lin.weight.var(), torch.tensor(bound**2 / 3), rtol=0.03, atol=0
        )
    # the output layer keeps torch's default U(±1/√fan_in)
    assert net.net[-1].weight.abs().max() <= 1 / 300**0.5
    # pre-activations keep unit scale through the layers; torch's default
    # shrinks them (a tanh network then starts nearly linear)
    x = torch.randn(2000, 200)
    with torch.no_grad():
        a2 = net.net[2](net.net[1](net.net[0](x)))
        torch.manual_seed(0)
        plain = MLP(200, 1, (300, 300), "tanh")
        b2 = plain.net[2](plain.net[1](plain.net[0](x)))
    assert 0.7 < a2.std() < 1.5 and b2.std() < 0.5 * a2.std()
