"""FlowDensity side by side with zuko NSF, nflows, GaussianMixture and KernelDensity.

Every method sees the same training events (and weights) and is scored on the
same test events drawn from the truth, whose exact log-density is known
(``skhep_ml.datasets.DENSITY_TOYS``). Reported per task and method:

* gap: mean over test events of ``log p_true - log q`` (an estimate of
  ``KL(p || q)``, nats; 0 is perfect, smaller is better),
* median and minimum test log-likelihood ``log q``,
* fit time, time per epoch (flows), samples/s and log-density evaluations/s,
  all on ``torch.set_num_threads(THREADS)``, in CPU time of the process.

The flows share transforms, bins, hidden sizes, epochs, batch size, learning
rate and cosine schedule; zuko and nflows train in a plain torch loop on the
same standardised data (the standardisation Jacobian is added back). The row
"FlowDensity (GridSearchCV)" adds a Gaussian-mixture latent trained at its own
learning rate and picks the mixture's size and covariance type, then the bins
and the flow's learning rate, or no flow at all (``max_epochs=0``, the
initial mixture itself: one GaussianMixture fit or the average of ten fits from
different starts, ``mixture_fits``), by cross-validation on the training data
(as KernelDensity's bandwidth and GaussianMixture's size and covariance type
are picked). The ratio lines give
the paired difference of its gap to the best other method's, with its
standard error over the test events.
GaussianMixture has no ``sample_weight``: it is left out of the weighted tasks.

Run::

    OMP_NUM_THREADS=1 python benchmarks/bench_density.py [--quick]

writes ``docs/benchmarks/density.rst`` (and the records, ``density.json``) and
prints the table; ``--smoke`` checks the script end to end in seconds.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import runner
import torch
from _common import rst_table
from runner import Method, Problem, Ratio
from sklearn import config_context
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neighbors import KernelDensity
from skorch.callbacks import Callback

from skhep_ml import FlowDensity
from skhep_ml.base import weighted_standardization
from skhep_ml.datasets import (
    DENSITY_TOYS,
    make_physics_events,
    make_two_moons,
    physics_events_log_density,
    two_moons_log_density,
)
from skhep_ml.density._mixture import fit_gmm

THREADS = 1
#: CPU time of this process: on one thread the time the work takes on an idle
#: core, whatever else runs on the (shared) machine
clock = time.process_time
#: FlowDensity (GridSearchCV): mixture sizes and covariance types tried for the
#: latent (the same grid as the GaussianMixture row's) and the grid of the flow,
#: both by 3-fold CV on training data; the flow's grid also holds max_epochs=0,
#: the initial mixture itself (one fit, or the average of ten EM fits from
#: different starts), so the CV can decide that no flow is needed
CV_COMPONENTS = [4, 8, 16, 32, 48]
CV_COVARIANCE = ["full", "tied", "diag", "spherical"]
CV_GRID = [
    {"bins": [16, 32], "lr": [3e-4, 1e-3]},
    {"max_epochs": [0], "mixture_fits": [1, 10]},
]
#: FlowDensity (GridSearchCV): learning rate of the latent mixture (``lr`` in the
#: grid is then that of the coupling blocks)
CV_BASE_LR = 0.1


# ---------------------------------------------------------------- tasks
def tasks(n_train, n_train_8d, n_test):
    """name -> (X_train, w_train or None, X_test, log p_true(X_test))."""
    out = {}
    for name in ["two_moons", "eight_gaussians", "checkerboard", "physics_8d"]:
        sampler, log_p, _ = DENSITY_TOYS[name]
        n = n_train_8d if name == "physics_8d" else n_train
        Xt = sampler(n_test, random_state=1)
        out[name] = (sampler(n, random_state=0), None, Xt, log_p(Xt))
    # weighted events: drawn from a proposal g, weight p / g
    Xg = make_two_moons(n_train, noise=0.15, random_state=2)
    w = np.exp(two_moons_log_density(Xg) - two_moons_log_density(Xg, noise=0.15))
    Xt, lt = out["two_moons"][2:]
    out["two_moons weighted"] = (Xg, w, Xt, lt)
    Xg = make_physics_events(n_train_8d, peak_fraction=0.6, random_state=2)
    w = np.exp(
        physics_events_log_density(Xg)
        - physics_events_log_density(Xg, peak_fraction=0.6)
    )
    Xt, lt = out["physics_8d"][2:]
    out["physics_8d weighted"] = (Xg, w, Xt, lt)
    return out


def problems(data):
    """The fixed tasks as problems: data ``(X, w, X_test)``, truth ``log_p``."""
    return [
        Problem(name, data=(X, w, Xt), truth={"log_p": lt})
        for name, (X, w, Xt, lt) in data.items()
    ]


# ------------------------------------------------------------ torch peers
def make_zuko(d, cfg):
    import zuko

    return zuko.flows.NSF(
        d,
        transforms=cfg["n_transforms"],
        bins=cfg["bins"],
        hidden_features=cfg["hidden_layer_sizes"],
    )


def make_nflows(d, cfg):
    from nflows.distributions.normal import StandardNormal
    from nflows.flows.base import Flow
    from nflows.nn.nets import MLP
    from nflows.transforms import (
        CompositeTransform,
        PiecewiseRationalQuadraticCouplingTransform,
        ReversePermutation,
    )

    hidden = list(cfg["hidden_layer_sizes"])

    def net(n_in, n_out):
        return _ContextFree(MLP((n_in,), (n_out,), hidden_sizes=hidden))

    layers = []
    for i in range(cfg["n_transforms"]):
        mask = (torch.arange(d) + i) % 2
        if d == 1:
            mask = torch.ones(1)
        layers.append(
            PiecewiseRationalQuadraticCouplingTransform(
                mask,
                net,
                num_bins=cfg["bins"],
                tails="linear",
                tail_bound=cfg["tail_bound"],
            )
        )
        layers.append(ReversePermutation(d))
    return Flow(CompositeTransform(layers), StandardNormal([d]))


class _ContextFree(torch.nn.Module):
    """nflows' MLP with the ``(inputs, context)`` call its couplings make."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, context=None):
        return self.net(x)


class TorchPeer:
    """Plain torch loop around a zuko or nflows flow (same schedule as ours)."""

    def __init__(self, kind, cfg, seed=0):
        self.kind, self.cfg, self.seed = kind, cfg, seed

    def log_prob(self, x):
        if self.kind == "zuko":
            return self.model().log_prob(x)
        return self.model.log_prob(x)

    def fit(self, X, w):
        cfg = self.cfg
        self.mean_, self.scale_ = weighted_standardization(X, w)
        S = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32)
        W = torch.ones(len(X)) if w is None else torch.as_tensor(w, dtype=torch.float32)
        torch.manual_seed(self.seed)
        maker = make_zuko if self.kind == "zuko" else make_nflows
        self.model = maker(X.shape[1], cfg)
        opt = torch.optim.Adam(self.model.parameters(), lr=cfg["lr"])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg["max_epochs"])
        bs = cfg["batch_size"]
        epoch_times = []
        for _ in range(cfg["max_epochs"]):
            t0 = clock()
            perm = torch.randperm(len(S))
            for i in range(0, len(S), bs):
                idx = perm[i : i + bs]
                lp = self.log_prob(S[idx])
                loss = -(W[idx] * lp).sum() / W[idx].sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()
            epoch_times.append(clock() - t0)
        self.epoch_time_ = float(np.median(epoch_times))
        return self

    def score_samples(self, X):
        S = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float64)
        self.model.double()
        out = []
        with torch.no_grad():
            for i in range(0, len(S), 65536):
                out.append(self.log_prob(S[i : i + 65536]).numpy())
        self.model.float()
        return np.concatenate(out) - np.log(self.scale_).sum()

    def sample(self, n):
        with torch.no_grad():
            if self.kind == "zuko":
                s = self.model().sample((n,))
            else:
                s = self.model.sample(n)
        return s.numpy() * self.scale_ + self.mean_


# ---------------------------------------------------------- sklearn peers
class ScaledSK:
    """GaussianMixture / KernelDensity on standardised data (+ Jacobian)."""

    def __init__(self, kind, seed=0):
        self.kind, self.seed = kind, seed

    def fit(self, X, w):
        self.mean_, self.scale_ = weighted_standardization(X, w)
        S = (X - self.mean_) / self.scale_
        sub = S[: min(len(S), 6000)]
        wsub = None if w is None else w[: len(sub)]
        if self.kind == "gmm":
            grid = GridSearchCV(
                GaussianMixture(random_state=self.seed),
                {"n_components": CV_COMPONENTS, "covariance_type": CV_COVARIANCE},
                cv=3,
            ).fit(sub)
            self.model = GaussianMixture(
                random_state=self.seed, **grid.best_params_
            ).fit(S)
        else:
            grid = GridSearchCV(
                KernelDensity(), {"bandwidth": np.logspace(-1.7, -0.3, 8)}, cv=3
            ).fit(sub, sample_weight=wsub)
            self.model = KernelDensity(**grid.best_params_).fit(S, sample_weight=w)
        self.best_ = grid.best_params_
        return self

    def score_samples(self, X):
        S = (X - self.mean_) / self.scale_
        return self.model.score_samples(S) - np.log(self.scale_).sum()

    def sample(self, n):
        s = self.model.sample(n)
        s = s[0] if isinstance(s, tuple) else s
        return s * self.scale_ + self.mean_


class _EpochClock(Callback):
    """CPU time of every training epoch (skorch's ``dur`` is wall time)."""

    def on_train_begin(self, net, **kwargs):
        self.times_ = []

    def on_epoch_begin(self, net, **kwargs):
        self.t0_ = clock()

    def on_epoch_end(self, net, **kwargs):
        self.times_.append(clock() - self.t0_)


def _epoch_time(est):
    if est.n_iter_ == 0:  # max_epochs=0: the initial mixture, no training
        return math.nan
    (cb,) = [cb for _, cb in est.net_.callbacks_ if isinstance(cb, _EpochClock)]
    return float(np.median(cb.times_))


class Ours:
    def __init__(self, cfg, seed=0):
        self.est = FlowDensity(**cfg, callbacks=[_EpochClock()], random_state=seed)

    def fit(self, X, w):
        self.est.fit(X, sample_weight=w)
        self.epoch_time_ = _epoch_time(self.est)
        return self

    def score_samples(self, X):
        return self.est.score_samples(X)

    def sample(self, n):
        return self.est.sample(n, random_state=0)


def choose_mixture(X, w, seed=0):
    """Size and covariance type of the latent by 3-fold CV of the initial mixture.

    The held-out score is the weighted mean log-likelihood of
    ``skhep_ml.density._mixture.fit_gmm`` (sklearn's GaussianMixture;
    weighted EM for weighted events), the initialisation FlowDensity uses for
    ``base="gmm"``; the grid is the GaussianMixture row's. Training data only,
    standardised as FlowDensity does. Returns ``(n_components, covariance_type)``.
    """
    w = np.ones(len(X)) if w is None else w
    mean, scale = weighted_standardization(X, w)
    S, ws = ((X - mean) / scale)[:6000], w[:6000]
    scores = {}
    for k in CV_COMPONENTS:
        for ctype in CV_COVARIANCE:
            folds = []
            for train, test in KFold(3).split(S):
                gmm = fit_gmm(S[train], ws[train], k, seed, covariance_type=ctype)
                folds.append(np.average(gmm.score_samples(S[test]), weights=ws[test]))
            scores[k, ctype] = np.mean(folds)
    return max(scores, key=scores.get)


class OursCV(Ours):
    """FlowDensity with a Gaussian-mixture latent, settings by CV on training data."""

    def __init__(self, cfg, seed=0):
        self.cfg, self.seed = cfg, seed

    def fit(self, X, w):
        k, ctype = choose_mixture(X, w, self.seed)
        est = FlowDensity(
            **self.cfg,
            base="gmm",
            n_components=k,
            covariance_type=ctype,
            base_lr=CV_BASE_LR,
            callbacks=[_EpochClock()],
            random_state=self.seed,
        )
        if w is None:
            grid = GridSearchCV(est, CV_GRID, cv=3).fit(X)
        else:
            with config_context(enable_metadata_routing=True):
                est.set_fit_request(sample_weight=True)
                est.set_score_request(sample_weight=True)
                grid = GridSearchCV(est, CV_GRID, cv=3).fit(X, sample_weight=w)
        self.est = grid.best_estimator_
        self.best_ = {"n_components": k, "covariance_type": ctype, **grid.best_params_}
        self.epoch_time_ = _epoch_time(self.est)
        return self


# ------------------------------------------------------------------ main
def run_one(method, X, w, Xt, lt, n_sample):
    """Fit, score and sample ``method``: the page's metrics, in CPU seconds."""
    t0 = clock()
    method.fit(X, w)
    fit_time = clock() - t0
    t0 = clock()
    lq = method.score_samples(Xt)
    eval_rate = len(Xt) / (clock() - t0)
    method.sample(min(n_sample, 200))  # warm-up
    t0 = clock()
    method.sample(n_sample)
    sample_rate = n_sample / (clock() - t0)
    finite = np.isfinite(lt)
    return {
        "gap": float(np.mean(lt[finite] - lq[finite])),
        "_excess": lt[finite] - lq[finite],
        "median": float(np.median(lq)),
        "min": float(np.min(lq)),
        "fit_s": fit_time,
        "epoch_s": getattr(method, "epoch_time_", math.nan),
        "samples_s": sample_rate,
        "evals_s": eval_rate,
        "best": getattr(method, "best_", None),
    }


def fmt(v, kind):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if kind == "gap":
        return f"{v:.3f}"
    if kind in ("median", "min"):
        return f"{v:.2f}"
    if kind in ("fit_s", "epoch_s"):
        return f"{v:.2f}" if v < 10 else f"{v:.0f}"
    return f"{v:.2g}"


CV_NAME = "FlowDensity (GridSearchCV)"
#: the other methods (the CV row is compared with the best of them)
OTHERS = ("zuko NSF", "nflows RQ-coupling", "GaussianMixture", "KernelDensity")
RATIOS = [
    Ratio("gap: GridSearchCV / best other", "gap", CV_NAME, OTHERS),
    Ratio("s / epoch: FlowDensity / zuko", "epoch_s", "FlowDensity", "zuko NSF"),
    Ratio(
        "samples / s: FlowDensity / zuko",
        "samples_s",
        "FlowDensity",
        "zuko NSF",
        higher_is_better=True,
    ),
]


def methods(cfg, warm_X):
    """The six methods; each fits a fresh model on every task."""
    torch_cfg = dict(cfg)

    def method(name, make, **kw):
        def fn(problem, budget, seed):
            (X, w, Xt), lt = problem.data, problem.truth["log_p"]
            n_sample = 2000 if (name == "zuko NSF" and X.shape[1] > 2) else 20000
            return run_one(make(seed), X, w, Xt, lt, n_sample)

        return Method(name, fn, **kw)

    # warm-up: the first float32 fit in a process pays a one-off cost
    return [
        method(
            "FlowDensity",
            lambda seed: Ours(cfg, seed),
            warmup=lambda: Ours({**cfg, "max_epochs": 1}).fit(warm_X, None),
        ),
        method(CV_NAME, lambda seed: OursCV(cfg, seed)),
        method(
            "zuko NSF",
            lambda seed: TorchPeer("zuko", torch_cfg, seed),
            warmup=lambda: TorchPeer("zuko", {**torch_cfg, "max_epochs": 1}).fit(
                warm_X, None
            ),
        ),
        method("nflows RQ-coupling", lambda seed: TorchPeer("nflows", torch_cfg, seed)),
        # GaussianMixture has no sample_weight
        method(
            "GaussianMixture",
            lambda seed: ScaledSK("gmm", seed),
            applies=lambda p: p.data[1] is None,
        ),
        method("KernelDensity", lambda seed: ScaledSK("kde", seed)),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced run")
    parser.add_argument("--out", default=None, help="the page (default: density.rst)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="TASK",
        help="run these tasks only and print their lines, without the page",
    )
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    if args.smoke:
        n_train, n_train_8d, n_test, epochs = 400, 400, 200, 1
    elif args.quick:
        n_train, n_train_8d, n_test, epochs = 6000, 10000, 5000, 25
    else:
        n_train, n_train_8d, n_test, epochs = 20000, 40000, 20000, 60
    out_dir = runner.output_dir(args.smoke)
    cfg = {
        "n_transforms": 4,
        "bins": 16,
        "hidden_layer_sizes": (64, 64),
        "max_epochs": epochs,
        "batch_size": 512,
        "lr": 3e-3,
        "tail_bound": 4.0,
    }
    data = tasks(n_train, n_train_8d, n_test)
    warm_X = data["two_moons"][0][:1000]
    if args.only or args.smoke:
        data = {t: data[t] for t in args.only or ["two_moons", "two_moons weighted"]}

    def log(record):
        print(
            f"{record['problem']:22s} {record['method']:20s} gap {record['gap']:.4f} "
            f"fit {record['fit_s']:.1f}s {record['best'] or ''} "
            f"epoch {record['epoch_s']:.3f}s samples/s {record['samples_s']:.3g}",
            file=sys.stderr,
            flush=True,
        )

    records = runner.run(
        problems(data),
        methods(cfg, warm_X),
        out=None if args.only else out_dir / "density.json",
        log=log,
    )
    if args.only:
        return
    by = {(r["problem"], r["method"]): r for r in records}
    names = [m.name for m in methods(cfg, warm_X)]
    rows = [(task, name, by.get((task, name))) for task in data for name in names]
    keys = ["gap", "median", "min", "fit_s", "epoch_s", "samples_s", "evals_s"]
    header = [
        "task",
        "method",
        "gap to truth (nats)",
        "median log q",
        "min log q",
        "fit (s)",
        "s / epoch",
        "samples / s",
        "log q evals / s",
    ]
    table = []
    for task, name, res in rows:
        if res is None:
            cells = ["n/a (no sample_weight)"] + [""] * 6
        else:
            cells = [fmt(res[k], k) for k in keys]
        table.append(dict(zip(header, [task, name, *cells])))
    # ratios to FlowDensity
    ratio_lines = []
    chosen_lines = [
        f"* {task}, {name}: "
        + ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in res["best"].items()
        )
        for task, name, res in rows
        if res is not None and res["best"]
    ]
    for task in data:
        ours = by[(task, "FlowDensity")]
        z = by[(task, "zuko NSF")]
        gaps = sorted((r["gap"], n) for (t, n), r in by.items() if t == task)
        # paired difference on the same test events: gap(CV row) - gap(best other)
        peer = runner.best(
            [r for (t, _), r in by.items() if t == task], OTHERS, "gap", False
        )["method"]
        diff = by[(task, CV_NAME)]["_excess"] - by[(task, peer)]["_excess"]
        se = diff.std(ddof=1) / math.sqrt(len(diff))
        smallest = gaps[0][1]
        if gaps[1][0] - gaps[0][0] < 5e-5:
            smallest = f"tie of {gaps[0][1]} and {gaps[1][1]} (within 5e-5)"
        ratio_lines.append(
            f"* {task}: zuko/FlowDensity time per epoch "
            f"{z['epoch_s'] / ours['epoch_s']:.2f}, FlowDensity/zuko samples/s "
            f"{ours['samples_s'] / z['samples_s']:.1f}; smallest gap: {smallest}; "
            f"{CV_NAME} minus {peer} (best other method): {diff.mean():+.4f} "
            f"+- {se:.4f} nats (paired over the test events)"
        )
    spread = rst_table(
        runner.distribution_rows(records, RATIOS),
        ["ratio", "better", "draws", "median", "worst_decile", "worst"],
        floatfmt=".3g",
    )
    lines = [rst_table(table, header)]
    mode = "--smoke " if args.smoke else "--quick " if args.quick else ""
    page = "\n".join(
        [
            "Density estimation benchmark",
            "============================",
            "",
            "Produced by::",
            "",
            f"    OMP_NUM_THREADS=1 python benchmarks/bench_density.py {mode}".rstrip(),
            "",
            f"{n_train} training events for the 2-d toys, {n_train_8d} for the 8-d "
            f"density, {n_test} test events from the truth, {epochs} epochs, "
            f"{THREADS} CPU thread(s). Flows: {cfg['n_transforms']} transforms, "
            f"{cfg['bins']} bins, hidden {cfg['hidden_layer_sizes']}, batch "
            f"{cfg['batch_size']}, Adam lr {cfg['lr']} with a cosine schedule. "
            f"GaussianMixture picks n_components (from {CV_COMPONENTS}) and "
            f"covariance_type (from {CV_COVARIANCE}) and KernelDensity "
            "its bandwidth by 3-fold GridSearchCV on standardised data. The gap is "
            "the mean of log p_true - log q over the test events (nats, lower is "
            "better). zuko NSF is autoregressive: sampling inverts it one "
            "dimension at a time. Weighted tasks: events from a proposal (two moons "
            "with noise 0.15; the 8-d density with signal fraction 0.6) with "
            "weights p / proposal. FlowDensity has the flows' settings above "
            "and a standard-normal latent. FlowDensity (GridSearchCV) has a "
            "Gaussian-mixture latent (base='gmm', initialised by a "
            "GaussianMixture, flow starting at the identity); its n_components "
            "and covariance_type (the GaussianMixture row's grid) are picked by "
            "3-fold CV of the initial (weighted) mixture and then bins and lr, or "
            "max_epochs=0 (no flow: the initial mixture itself, one fit or the "
            "average of mixture_fits=10 fits from different starts), from "
            f"{CV_GRID} by 3-fold GridSearchCV of FlowDensity, all on the "
            "training data only; the mixture trains with its own learning rate "
            f"base_lr={CV_BASE_LR} (lr is that of the coupling blocks); the "
            "transforms, hidden sizes, epochs and batch are "
            "those of the other flows, and its fit time includes the searches. "
            "Times are CPU seconds of the benchmark process (one thread, so "
            "the time on an idle core); the machine is a shared 2-core one: "
            "compare methods within one run (the ratios), not across runs.",
            "",
            *lines,
            "",
            "Settings picked by cross-validation on the training data:",
            "",
            *chosen_lines,
            "",
            "Ratios:",
            "",
            *ratio_lines,
            "",
            "Distribution of the ratios over the tasks (``better``: the direction "
            "favouring the first-named method; worst decile: the 90 % quantile "
            "when lower is better, the 10 % one when higher is):",
            "",
            spread,
            "",
        ]
    )
    out = args.out or out_dir / "density.rst"
    with open(out, "w") as fh:
        fh.write(page)
    print(page)


if __name__ == "__main__":
    main()
