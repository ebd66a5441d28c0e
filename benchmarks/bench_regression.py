"""BayesianRegressor beside its peers on amplitude families, at equal wall time.

Problems (``skhep_ml.datasets``), each drawn by seed:

* ``amplitude``: :func:`~skhep_ml.datasets.make_amplitude_family` (antenna sums
  with soft and collinear poles on massless 2→3 / 2→4 phase space, random
  angular factors and logarithms), noise-free, log targets;
* ``ee_qqbarg``: the exact tree-level :class:`~skhep_ml.datasets.EEToQQbarG`
  (one fixed target; the draw seeds its training points);
* ``hetero``: :func:`~skhep_ml.datasets.make_heteroscedastic_family` toys with
  known ``σ(x)`` (raw targets), for ``σ_syst / σ_true``.

Methods, all on the same standardised inputs and log targets (amplitudes):

* ``skhep_ml``: :class:`~skhep_ml.BayesianRegressor` with its defaults
  (``target_transform="log"`` on amplitudes); its fit time is every peer's
  wall-time budget;
* ``ensemble``: 5 scikit-learn ``MLPRegressor`` (``partial_fit`` epochs until
  the budget is spent) plus a residual-variance MLP on log squared residuals;
* ``bayesian-torch``: ``dnn_to_bnn`` of the same MLP with the README's prior
  settings (``prior_sigma=1``, ``posterior_rho_init=-3``: a small initial
  posterior width), loss ``NLL + KL / n_train``;
* ``laplace``: a MAP MLP (Gaussian NLL with a learned noise, trained for the
  budget) and laplace-torch's last-layer KFAC Laplace with prior precision and
  noise fitted on the marginal likelihood (the README's regression recipe);
* ``gp``: scikit-learn ``GaussianProcessRegressor`` (ARD RBF + white noise),
  only up to 2,000 points.

Metrics on the test points: ``w68`` (68 % half-width of Δ = pred/true − 1),
``permille`` (fraction with |Δ| < 1e-3), ``tail_w68`` (``w68`` on the 1 %
largest amplitudes), pull mean/sd with σ_tot, on the toys ``syst_ratio`` (median
σ_syst/σ_true) and ``syst_within_20`` (fraction of x within 20 %), fit and
predict seconds.

``python benchmarks/bench_regression.py`` is the full run (10 draws per family
at 2k, 10k and 90k points); ``--sizes`` / ``--draws`` reduce it, ``--smoke``
checks the script end to end in seconds.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import math
import sys
import time
import types
import warnings

import numpy as np
import runner
import torch
from _common import rst_table, setup_threads, write_page
from runner import Method, Problem, Ratio
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skhep_ml import BayesianRegressor
from skhep_ml.datasets import (
    EEToQQbarG,
    make_amplitude_family,
    make_heteroscedastic_family,
)

HIDDEN = (64, 64, 64)
BATCH = 256
GP_MAX_N = 2000
SKHEP = "skhep_ml"
#: BayesianRegressor's parameters: its defaults (the smoke run shortens them)
SKHEP_PARAMS: dict = {}


# ------------------------------------------------------------------ problems
def _problem(name, seed, X, y, Xt, yt, log, sigma_true=None, y_observed=None):
    """``yt``: the true values; ``y_observed``: noisy test targets (toys)."""
    scaler = StandardScaler().fit(X)
    return Problem(
        name,
        data=dict(X=scaler.transform(X), y=y, Xt=scaler.transform(Xt), log=log),
        draw=seed,
        truth=dict(
            y=yt, sigma=sigma_true, y_observed=yt if y_observed is None else y_observed
        ),
    )


def amplitude_problem(seed, n_train, n_test):
    target = make_amplitude_family(seed)
    X, y = target.make(n_train, random_state=1000 + seed)
    Xt, yt = target.make(n_test, random_state=2000 + seed)
    return _problem("amplitude", seed, X, y, Xt, yt, log=True)


def qqbarg_problem(seed, n_train, n_test):
    target = EEToQQbarG(y_cut=0.01)
    X, y = target.make(n_train, random_state=1000 + seed)
    Xt, yt = target.make(n_test, random_state=2000 + seed)
    return _problem("ee_qqbarg", seed, X, y, Xt, yt, log=True)


def hetero_problem(seed, n_train, n_test):
    toy = make_heteroscedastic_family(seed)
    X, y = toy.make(n_train, random_state=1000 + seed)
    Xt, yt = toy.make(n_test, random_state=2000 + seed)
    return _problem(
        "hetero", seed, X, y, Xt, toy.mean(Xt), False, toy.sigma(Xt), y_observed=yt
    )


FAMILIES = {
    "amplitude": amplitude_problem,
    "ee_qqbarg": qqbarg_problem,
    "hetero": hetero_problem,
}


# ------------------------------------------------------------------- metrics
def half_width(delta):
    lo, hi = np.percentile(delta, [16, 84])
    return float((hi - lo) / 2)


def metrics(problem, mean, sigma, sigma_syst, fit_s, predict_s):
    """Metrics in the target's own units (amplitudes: ``A``, ``σ_A = A σ_log``)."""
    d, t = problem.data, problem.truth
    y_true = t["y"]
    if d["log"]:
        mean, sigma = np.exp(mean), np.exp(mean) * sigma
    pull = (mean - t["y_observed"]) / sigma  # the toys: noisy targets, σ_tot
    out = dict(
        pull_mean=float(pull.mean()),
        pull_sd=float(pull.std()),
        fit_s=fit_s,
        predict_s=predict_s,
        points_per_s=len(y_true) / predict_s,
    )
    if d["log"]:
        delta = mean / y_true - 1.0
        tail = y_true >= np.quantile(y_true, 0.99)
        out.update(
            w68=half_width(delta),
            permille=float(np.mean(np.abs(delta) < 1e-3)),
            tail_w68=half_width(delta[tail]),
        )
    else:
        out["w68"] = half_width(mean - y_true)  # absolute on the toys
        if sigma_syst is not None:
            ratio = sigma_syst / t["sigma"]
            out.update(
                syst_ratio=float(np.median(ratio)),
                syst_within_20=float(np.mean(np.abs(ratio - 1.0) < 0.2)),
            )
    return out


# ------------------------------------------------------------------- methods
def fit_skhep(problem, budget_s, seed):
    d = problem.data
    reg = BayesianRegressor(
        target_transform="log" if d["log"] else None,
        random_state=seed,
        **SKHEP_PARAMS,
    )
    t = time.perf_counter()
    reg.fit(d["X"], d["y"])
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    mean, s_stat, s_syst = reg.predict_uncertainty(d["Xt"])
    predict_s = time.perf_counter() - t
    sigma = np.hypot(s_stat, s_syst)
    if d["log"]:  # back to log units: metrics() propagates every method alike
        s_syst, sigma, mean = s_syst / mean, sigma / mean, np.log(mean)
    return mean, sigma, s_syst, fit_s, predict_s


def _targets(d):
    return np.log(d["y"]) if d["log"] else np.asarray(d["y"], dtype=float)


def fit_ensemble(problem, budget_s, seed, n_members=5):
    d = problem.data
    X, y = d["X"], _targets(d)
    t = time.perf_counter()
    members = [
        MLPRegressor(hidden_layer_sizes=HIDDEN, batch_size=BATCH, random_state=seed + k)
        for k in range(n_members)
    ]
    # 0.8 of the budget for the members, the rest for the residual model
    while True:
        for m in members:
            m.partial_fit(X, y)
        if time.perf_counter() - t > 0.8 * budget_s:
            break
    mean = np.mean([m.predict(X) for m in members], axis=0)
    resid = MLPRegressor(
        hidden_layer_sizes=(32, 32), batch_size=BATCH, random_state=seed
    )
    log_r2 = np.log((y - mean) ** 2 + 1e-12)
    while True:
        resid.partial_fit(X, log_r2)
        if time.perf_counter() - t > budget_s:
            break
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    preds = np.array([m.predict(d["Xt"]) for m in members])
    # E[log chi2_1] = -1.2704: undo the bias of fitting log squared residuals
    noise = np.sqrt(np.exp(resid.predict(d["Xt"]) + 1.2704))
    sigma = np.sqrt(preds.var(axis=0, ddof=1) + noise**2)
    predict_s = time.perf_counter() - t
    return preds.mean(axis=0), sigma, noise, fit_s, predict_s


def _mlp(n_in, n_out=2):
    widths = [n_in, *HIDDEN]
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.SiLU()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(widths[-1], n_out))


def _train_for(budget_s, n, step):
    """Shuffled mini-batch epochs of ``step(idx)`` until ``budget_s`` is spent."""
    t = time.perf_counter()
    while time.perf_counter() - t < budget_s:
        perm = torch.randperm(n)
        for s in range(0, n, BATCH):
            step(perm[s : s + BATCH])


def _gauss_nll(out, y):
    mu, log_s = out[:, 0], out[:, 1]
    return (0.5 * ((y - mu) * torch.exp(-log_s)) ** 2 + log_s).mean()


def fit_bayesian_torch(problem, budget_s, seed, n_draws=50):
    from bayesian_torch.models.dnn_to_bnn import dnn_to_bnn, get_kl_loss

    d = problem.data
    torch.manual_seed(seed)
    model = _mlp(d["X"].shape[1])
    dnn_to_bnn(
        model,
        {
            "prior_mu": 0.0,
            "prior_sigma": 1.0,
            "posterior_mu_init": 0.0,
            "posterior_rho_init": -3.0,
            "type": "Reparameterization",
            "moped_enable": False,
        },
    )
    X = torch.as_tensor(d["X"], dtype=torch.float32)
    y = torch.as_tensor(_targets(d), dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(idx):
        loss = _gauss_nll(model(X[idx]), y[idx]) + get_kl_loss(model) / len(X)
        opt.zero_grad()
        loss.backward()
        opt.step()

    t = time.perf_counter()
    _train_for(budget_s, len(X), step)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    with torch.no_grad():
        xt = torch.as_tensor(d["Xt"], dtype=torch.float32)
        outs = torch.stack([model(xt) for _ in range(n_draws)]).double()
    mu, sig = outs[..., 0], torch.exp(outs[..., 1])
    noise = (sig**2).mean(0).sqrt()
    sigma = (mu.var(0) + noise**2).sqrt()
    predict_s = time.perf_counter() - t
    return mu.mean(0).numpy(), sigma.numpy(), noise.numpy(), fit_s, predict_s


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {})


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Stands in for a torchvision that does not load (laplace does not use it)."""

    def find_spec(self, name, path, target=None):
        if name == "torchvision" or name.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _StubModule(spec.name)

    def exec_module(self, module):
        module.__path__ = []


def _import_laplace():
    """laplace-torch imports torchmetrics, which imports torchvision whenever its
    metadata is installed; a torchvision built for another torch fails to load."""
    try:
        import torchvision  # noqa: F401
    except Exception:
        for name in [m for m in sys.modules if m.startswith("torchvision")]:
            del sys.modules[name]
        sys.meta_path.insert(0, _StubFinder())
    from laplace import Laplace

    return Laplace


def fit_laplace(problem, budget_s, seed):
    Laplace = _import_laplace()
    d = problem.data
    torch.manual_seed(seed)
    model = _mlp(d["X"].shape[1], n_out=1)
    X = torch.as_tensor(d["X"], dtype=torch.float32)
    y = torch.as_tensor(_targets(d), dtype=torch.float32)[:, None]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(idx):
        loss = torch.nn.functional.mse_loss(model(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

    t = time.perf_counter()
    _train_for(0.85 * budget_s, len(X), step)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(X, y), batch_size=BATCH
    )
    la = Laplace(
        model, "regression", subset_of_weights="last_layer", hessian_structure="kron"
    )
    la.fit(loader)
    # the README's regression recipe: prior precision and noise on the evidence
    log_prior, log_sigma = (torch.zeros(1, requires_grad=True) for _ in range(2))
    hyper = torch.optim.Adam([log_prior, log_sigma], lr=1e-1)
    for _ in range(100):
        hyper.zero_grad()
        (-la.log_marginal_likelihood(log_prior.exp(), log_sigma.exp())).backward()
        hyper.step()
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    f_mu, f_var = la(torch.as_tensor(d["Xt"], dtype=torch.float32), pred_type="glm")
    noise = float(la.sigma_noise.item())
    sigma = np.sqrt(f_var.detach().numpy().reshape(-1) + noise**2)
    predict_s = time.perf_counter() - t
    mean = f_mu.detach().numpy().reshape(-1)
    return mean, sigma, np.full_like(mean, noise), fit_s, predict_s


def fit_gp(problem, budget_s, seed):
    d = problem.data
    n_in = d["X"].shape[1]
    kernel = ConstantKernel() * RBF(np.ones(n_in)) + WhiteKernel(1e-4)
    gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=seed)
    t = time.perf_counter()
    gp.fit(d["X"], _targets(d))
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    mean, sigma = gp.predict(d["Xt"], return_std=True)
    noise = np.sqrt(gp.kernel_.k2.noise_level) * gp._y_train_std
    sigma = np.sqrt(sigma**2 + noise**2)  # predict's std is the latent f's
    predict_s = time.perf_counter() - t
    return mean, sigma, np.full_like(mean, noise), fit_s, predict_s


PEERS = {
    "ensemble": fit_ensemble,
    "bayesian-torch": fit_bayesian_torch,
    "laplace": fit_laplace,
    "gp": fit_gp,
}


def methods(peers=tuple(PEERS)):
    """skhep_ml first (its fit time is the budget of the peers of the draw)."""
    budget = {}

    def method(name, fit):
        def fn(problem, n_train, seed):
            key = (problem.name, problem.draw, n_train, seed)
            mean, sigma, syst, fit_s, predict_s = fit(
                problem, budget.get(key, 0.0), seed
            )
            if name == SKHEP:
                budget[key] = fit_s
            return metrics(problem, mean, sigma, syst, fit_s, predict_s)

        applies = None
        if name == "gp":
            applies = lambda p: len(p.data["X"]) <= GP_MAX_N  # noqa: E731
        return Method(name, fn, applies=applies)

    return [method(SKHEP, fit_skhep)] + [method(n, PEERS[n]) for n in peers]


RATIOS = [Ratio(f"w68 {m} / skhep", "w68", m, SKHEP) for m in PEERS] + [
    Ratio(f"tail_w68 {m} / skhep", "tail_w68", m, SKHEP) for m in PEERS
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10_000, 90_000])
    parser.add_argument("--draws", type=int, default=10, help="draws per family")
    parser.add_argument("--n-test", type=int, default=20_000)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument(
        "--peers", nargs="+", default=list(PEERS), help="peers to run (all)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--page-only",
        action="store_true",
        help="rewrite the page from the saved records (same other arguments)",
    )
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    setup_threads(args.threads)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    out_dir = runner.output_dir(args.smoke)
    if args.smoke:  # a short fit: the default step budget takes minutes
        args.sizes, args.draws, args.n_test = [300], 1, 500
        SKHEP_PARAMS.update(max_epochs=2, n_predict_samples=4)
    if args.page_only:
        _write(runner.load(out_dir / "regression.json")[1], args, out_dir)
        return
    records = []
    for n_train in args.sizes:
        problems = [
            FAMILIES[f](seed, n_train, args.n_test)
            for f in args.families
            for seed in range(1 if f == "ee_qqbarg" else args.draws)
        ]
        records += runner.run(
            problems,
            methods(args.peers),
            [n_train],
            out=out_dir / "regression.json",
            merge=True,
        )
    _write(records, args, out_dir)


COLUMNS = [
    "problem",
    "draw",
    "budget",
    "method",
    "w68",
    "permille",
    "tail_w68",
    "pull_mean",
    "pull_sd",
    "syst_ratio",
    "syst_within_20",
    "fit_s",
    "points_per_s",
]

SUMMARY = ["w68", "permille", "tail_w68", "pull_sd", "syst_within_20", "fit_s"]


def _summary_rows(records):
    """Median and worst decile of each metric per (problem, size, method)."""
    groups = {}
    for r in records:
        groups.setdefault((r["problem"], r["budget"], r["method"]), []).append(r)
    rows = []
    for (problem, size, method), rs in groups.items():
        row = dict(problem=problem, budget=size, method=method, draws=len(rs))
        for m in SUMMARY:
            v = np.array([r[m] for r in rs if m in r and math.isfinite(r[m])])
            if len(v):
                worse_high = m not in ("permille", "syst_within_20")
                q = np.quantile(v, 0.9 if worse_high else 0.1)
                row[m] = f"{np.median(v):.3g} ({q:.3g})"
        rows.append(row)
    return rows


NOTES = """\
The full run is ``python benchmarks/bench_regression.py`` (10 draws of each
family, the exact e+e- -> q qbar g target once, at 2k, 10k and 90k training
points, 20k test points, every peer; hours of CPU). A reduced run says so in
its command. Timings were measured on a shared 2-core machine under heavy load
(load average 8-15): the wall-time budgets are equal within a draw, but the
absolute seconds and points/s are not those of a quiet core. ``w68`` is
relative on amplitudes and absolute on the toys; ``syst_*`` compare each
method's noise model (skhep_ml's σ_syst, the ensemble's residual model,
bayesian-torch's learned width, laplace's and the GP's homoscedastic noise)
with the true σ(x)."""


def _write(records, args, out_dir):
    draws_table = rst_table(records, COLUMNS)
    summary = rst_table(
        _summary_rows(records), ["problem", "budget", "method", "draws", *SUMMARY]
    )
    ratio_table = rst_table(
        runner.distribution_rows(records, RATIOS),
        ["ratio", "better", "draws", "median", "worst_decile", "worst"],
    )
    print(summary)
    cmd = "python benchmarks/bench_regression.py"
    if args.smoke:
        cmd += " --smoke"
    else:
        cmd += f" --sizes {' '.join(map(str, args.sizes))} --draws {args.draws}"
        cmd += f" --n-test {args.n_test} --families {' '.join(args.families)}"
        cmd += f" --peers {' '.join(args.peers)}"
    write_page(
        "regression",
        "BayesianRegressor: amplitude families",
        "Per draw and size: skhep_ml's defaults, then each peer at skhep_ml's fit "
        "wall time (the GP only up to 2,000 points). See the module docstring of "
        "``benchmarks/bench_regression.py`` for the families, the peers' setups "
        "and the metrics.",
        [
            ("How to read it", NOTES),
            ("Median (worst decile) over draws", summary),
            ("Peer w68 over skhep_ml's, per draw", ratio_table),
            ("Every draw", draws_table),
        ],
        cmd,
        out_dir,
    )


if __name__ == "__main__":
    main()
