"""The Flow module: exact inverse, exact log-det, gradients, normalisation."""

import math

import numpy as np
import pytest
import torch

from skhep_ml.nn import Flow
from skhep_ml.nn.flows import RQSCoupling

CONFIGS = [
    {"transform": "rqs", "domain": "real"},
    {"transform": "affine", "domain": "real"},
    {"transform": "rqs", "domain": "unit"},
    {"transform": "rqs", "domain": "real", "permutation": "random"},
    {"transform": "rqs", "domain": "real", "permutation": "rotation"},
    {"transform": "affine", "domain": "real", "permutation": "rotation"},
    {"transform": "rqs", "domain": "unit", "permutation": "random"},
]


def _perturbed(n_features, seed=0, scale=0.1, dtype=torch.float64, **kwargs):
    """A flow with random (non-identity) parameters."""
    torch.manual_seed(seed)
    kwargs.setdefault("hidden_layer_sizes", (16, 16))
    kwargs.setdefault("bins", 5)
    kwargs.setdefault("n_transforms", 4)
    flow = Flow(n_features, **kwargs).to(dtype)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(scale * torch.randn_like(p))
    return flow


def _data(flow, n, dtype=torch.float64):
    if flow.domain == "unit":
        return torch.rand(n, flow.n_features, dtype=dtype)
    return 2.0 * torch.randn(n, flow.n_features, dtype=dtype)


def _context(flow, n, dtype=torch.float64):
    return torch.randn(n, flow.n_context, dtype=dtype) if flow.n_context else None


@pytest.mark.parametrize("n_features", [1, 2, 3, 5])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(c.values()))
@pytest.mark.parametrize("n_context", [0, 2])
def test_inverse_and_logdet(config, n_features, n_context):
    flow = _perturbed(n_features, n_context=n_context, **config)
    x = _data(flow, 256)
    c = _context(flow, 256)
    z, lad = flow(x, c)
    assert z.shape == x.shape and lad.shape == (256,)
    x_back, lad_inv = flow.inverse(z, c)
    torch.testing.assert_close(x_back, x, atol=1e-5, rtol=0)
    torch.testing.assert_close(lad_inv, -lad, atol=1e-5, rtol=0)
    # log|det| against the autograd Jacobian, row by row
    for i in range(4):
        ci = None if c is None else c[i : i + 1]
        jac = torch.autograd.functional.jacobian(
            lambda xi, ci=ci: flow(xi[None], ci)[0][0], x[i]
        )
        torch.testing.assert_close(
            torch.linalg.slogdet(jac)[1], lad[i], atol=1e-7, rtol=1e-7
        )


@pytest.mark.parametrize("config", CONFIGS[:3], ids=lambda c: "-".join(c.values()))
@pytest.mark.parametrize("n_context", [0, 3])
def test_every_parameter_gets_a_gradient(config, n_context):
    flow = _perturbed(4, n_context=n_context, dtype=torch.float32, **config)
    x = _data(flow, 128, torch.float32)
    loss = -flow.log_prob(x, _context(flow, 128, torch.float32)).mean()
    loss.backward()
    for name, p in flow.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("config", CONFIGS[:3], ids=lambda c: "-".join(c.values()))
def test_fresh_flow_is_the_identity(config):
    flow = Flow(3, hidden_layer_sizes=(8,), **config).double()
    x = _data(flow, 50)
    z, lad = flow(x)
    torch.testing.assert_close(z, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(
        lad, torch.zeros(50, dtype=torch.float64), atol=1e-12, rtol=0
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float32_and_float64(dtype):
    flow = _perturbed(3, dtype=dtype)
    x = _data(flow, 64, dtype)
    z, lad = flow(x)
    assert z.dtype == dtype and lad.dtype == dtype
    s, lp = flow.sample_with_log_prob(10)
    assert s.dtype == dtype and lp.dtype == dtype
    torch.testing.assert_close(flow.inverse(z)[0], x, atol=1e-3, rtol=0)


def _grid_integral(flow, lo, hi, n=400, context=None):
    edges = torch.linspace(lo, hi, n + 1, dtype=torch.float64)
    mid = 0.5 * (edges[1:] + edges[:-1])
    xx, yy = torch.meshgrid(mid, mid, indexing="ij")
    pts = torch.stack([xx.ravel(), yy.ravel()], dim=1)
    with torch.no_grad():
        p = flow.log_prob(pts, context).exp()
    return float(p.sum() * ((hi - lo) / n) ** 2)


def test_unit_domain_density_integrates_to_one():
    flow = _perturbed(2, domain="unit", scale=0.3)
    assert abs(_grid_integral(flow, 0.0, 1.0) - 1.0) < 2e-3
    cflow = _perturbed(2, domain="unit", scale=0.3, n_context=1)
    ctx = torch.tensor([0.7], dtype=torch.float64)
    assert abs(_grid_integral(cflow, 0.0, 1.0, context=ctx) - 1.0) < 2e-3


@pytest.mark.parametrize("transform", ["rqs", "affine"])
def test_real_domain_density_integrates_to_one(transform):
    flow = _perturbed(2, transform=transform, scale=0.15)
    with torch.no_grad():
        x = flow.sample(100_000, generator=torch.Generator().manual_seed(0))
    inside = float((x.abs() < 12.0).all(1).double().mean())  # MC mass on the grid
    assert abs(_grid_integral(flow, -12.0, 12.0, n=600) - inside) < 3e-3


def test_sample_with_log_prob_matches_log_prob():
    for domain in ["real", "unit"]:
        flow = _perturbed(4, domain=domain, n_context=2)
        ctx = torch.tensor([0.3, -1.0], dtype=torch.float64)
        g = torch.Generator().manual_seed(1)
        x, lp = flow.sample_with_log_prob(500, ctx, generator=g)
        torch.testing.assert_close(flow.log_prob(x, ctx), lp, atol=1e-6, rtol=0)
        g = torch.Generator().manual_seed(1)
        torch.testing.assert_close(flow.sample(500, ctx, generator=g), x)
        if domain == "unit":
            assert ((x >= 0) & (x <= 1)).all()


def test_unit_domain_samples_follow_the_density():
    """A histogram of samples agrees with the density integrated over each bin."""
    flow = _perturbed(1, domain="unit", scale=1.0, n_transforms=2)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        x = flow.sample(60_000, generator=g)[:, 0]
        edges = torch.linspace(0, 1, 11, dtype=torch.float64)
        fine = torch.linspace(0, 1, 100_001, dtype=torch.float64)[:, None]
        dens = flow.log_prob(fine).exp()
    counts = torch.histc(x, bins=10, min=0, max=1) / len(x)
    expected = torch.stack(
        [
            dens[(fine[:, 0] >= a) & (fine[:, 0] < b)].mean() * (b - a)
            for a, b in zip(edges[:-1], edges[1:])
        ]
    )
    sigma = (expected * (1 - expected) / len(x)).sqrt()
    assert ((counts - expected).abs() < 5 * sigma + 1e-4).all()


def test_standard_normal_latent_log_prob():
    flow = Flow(3, hidden_layer_sizes=(8,)).double()
    x = torch.randn(10, 3, dtype=torch.float64)
    expected = -0.5 * (x**2).sum(1) - 1.5 * math.log(2 * math.pi)
    torch.testing.assert_close(flow.log_prob(x), expected)


def test_bad_arguments():
    with pytest.raises(ValueError, match="transform"):
        Flow(2, transform="spline")
    with pytest.raises(ValueError, match="domain"):
        Flow(2, domain="box")
    with pytest.raises(ValueError, match="unit"):
        Flow(2, domain="unit", transform="affine")
    with pytest.raises(ValueError, match="permutation"):
        Flow(2, permutation="shuffle")
    flow = Flow(2, n_context=2)
    with pytest.raises(ValueError, match="context"):
        flow.log_prob(torch.randn(3, 2))
    with pytest.raises(ValueError, match="context"):
        flow.log_prob(torch.randn(3, 2), torch.randn(3, 5))


def test_state_dict_round_trip():
    flow = _perturbed(3, permutation="random")
    torch.manual_seed(123)
    other = Flow(3, hidden_layer_sizes=(16, 16), bins=5, permutation="random").double()
    other.load_state_dict(flow.state_dict())
    x = torch.randn(20, 3, dtype=torch.float64)
    torch.testing.assert_close(other.log_prob(x), flow.log_prob(x))


# -- learnable Gaussian-mixture latent ------------------------------------------
def _mixture_data(n=1500, seed=0):
    rng = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=rng, dtype=torch.float64)
    x = x @ torch.tensor([[1.0, 0.5, 0.0], [0.0, 2.0, 0.3], [0.0, 0.0, 0.5]]).double()
    x[: n // 2] += torch.tensor([3.0, -1.0, 2.0], dtype=torch.float64)
    return x.numpy()


def test_gaussian_mixture_base_of_several_mixtures_is_their_average():
    from scipy.special import logsumexp
    from sklearn.mixture import GaussianMixture

    from skhep_ml.nn.flows import GaussianMixtureBase

    X = _mixture_data()
    gms = [
        GaussianMixture(k, covariance_type=ctype, random_state=0).fit(X)
        for k, ctype in [(2, "full"), (3, "tied"), (4, "diag"), (1, "spherical")]
    ]
    base = GaussianMixtureBase.from_sklearn(gms)
    assert base.n_components == 10
    with torch.no_grad():
        lp = base.log_prob(torch.as_tensor(X)).numpy()
    expected = logsumexp([gm.score_samples(X) for gm in gms], axis=0) - np.log(4)
    np.testing.assert_allclose(lp, expected, atol=1e-10, rtol=0)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied", "spherical"])
def test_gaussian_mixture_base_reproduces_sklearn(covariance_type):
    from sklearn.mixture import GaussianMixture

    from skhep_ml.nn.flows import GaussianMixtureBase

    X = _mixture_data()
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    base = GaussianMixtureBase.from_sklearn(gm)
    assert base.means.dtype == torch.float64
    # a fresh flow is the identity: flow + mixture latent == the mixture
    torch.manual_seed(0)
    flow = Flow(3, bins=6, hidden_layer_sizes=(8,), base=base).double()
    x = torch.as_tensor(X)
    with torch.no_grad():
        lp = flow.log_prob(x)
        s = flow.sample(60_000, generator=torch.Generator().manual_seed(1)).numpy()
    torch.testing.assert_close(
        lp, torch.as_tensor(gm.score_samples(X)), atol=1e-10, rtol=0
    )
    # samples: the mixture's moments
    ref = gm.sample(60_000)[0]
    assert abs(s.mean(0) - ref.mean(0)).max() < 0.05
    assert abs(torch.as_tensor(s.T).cov() - torch.as_tensor(ref.T).cov()).max() < 0.1


def test_gaussian_mixture_base_flow_inverse_gradients_and_normalisation():
    from skhep_ml.nn.flows import GaussianMixtureBase

    torch.manual_seed(0)
    base = GaussianMixtureBase(2, n_components=3)
    with torch.no_grad():
        for p in base.parameters():
            p.add_(0.3 * torch.randn_like(p))
    flow = _perturbed(2, base=base)
    x = torch.randn(50, 2, dtype=torch.float64)
    z, lad = flow(x)
    x_back, lad_inv = flow.inverse(z)
    torch.testing.assert_close(x_back, x, atol=1e-9, rtol=0)
    torch.testing.assert_close(lad_inv, -lad, atol=1e-9, rtol=0)
    # sample_with_log_prob agrees with log_prob
    xs, lp = flow.sample_with_log_prob(100, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(lp, flow.log_prob(xs), atol=1e-8, rtol=0)
    # every mixture parameter is trained with the flow
    flow.log_prob(x).sum().backward()
    for name, p in base.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # normalised on a grid
    g = torch.linspace(-12, 12, 601, dtype=torch.float64)
    grid = torch.cartesian_prod(g, g)
    with torch.no_grad():
        mass = flow.log_prob(grid).exp().sum() * (g[1] - g[0]) ** 2
    assert abs(float(mass) - 1.0) < 1e-3


def test_gaussian_mixture_base_bad_arguments():
    from skhep_ml.nn.flows import GaussianMixtureBase

    with pytest.raises(ValueError, match="n_components"):
        GaussianMixtureBase(2, n_components=0)
    with pytest.raises(ValueError, match="domain='real'"):
        Flow(2, domain="unit", base=GaussianMixtureBase(2))


@pytest.mark.parametrize("domain", ["unit", "real"])
def test_shared_marginal_parameters_equal_per_row_ones(domain):
    # the marginal maps' parameters are shared by every row and evaluated
    # without a per-row copy; copying them per row is the same map, with the
    # same gradients
    torch.manual_seed(0)
    block = RQSCoupling(
        4, [0, 1], [2, 3], bins=6, domain=domain, hidden_layer_sizes=(8,)
    )
    block = block.double()
    for p in block.parameters():
        torch.nn.init.normal_(p, std=0.5)
    x = torch.rand(64, 4, dtype=torch.float64)
    if domain == "real":
        x = 12.0 * x - 6.0  # some points in the identity tails
    for inverse in (False, True):
        theta_m = block.marginal.reshape(1, 2, -1)
        y, lad = block._elementwise(x[:, :2], theta_m, inverse)
        (y.sum() + lad.sum()).backward()
        grad = block.marginal.grad.clone()
        block.zero_grad()
        y_ref, lad_ref = block._elementwise(
            x[:, :2], theta_m.expand(64, -1, -1).clone(), inverse
        )
        (y_ref.sum() + lad_ref.sum()).backward()
        torch.testing.assert_close(y, y_ref, rtol=0, atol=1e-12)
        torch.testing.assert_close(lad, lad_ref, rtol=0, atol=1e-12)
        torch.testing.assert_close(grad, block.marginal.grad, rtol=1e-10, atol=1e-12)
        block.zero_grad()
