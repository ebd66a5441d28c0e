"""FlowDensity on draws of the density family, side by side with its peers.

Every draw of :func:`skhep_ml.datasets.make_density_family` (mixtures of
rotated Gaussians and Student-t components, shells, spirals, uniform pieces,
Dalitz-like triangles, Breit-Wigner peaks, power laws; exact log-densities)
gives training events (on odd draws weighted events from
:func:`~skhep_ml.datasets.make_weighted`, effective sample size fraction drawn
in [0.1, 0.9]) and test events from the truth. Methods, each as its authors
recommend:

* ``FlowDensity``: the defaults (early stopping, width rule, float32
  inference); ``max_epochs`` is the step budget over the optimizer steps
  of one epoch (``ceil(n_fit / batch_size)``, ``n_fit`` the events left
  after the validation split), rounded.
* ``FlowDensity CV``: ``GridSearchCV`` (3 folds, weights routed to fit and
  score) over the user guide's grid: ``FlowDensity(base="gmm",
  base_lr=0.1)`` with ``n_components`` 8/16 and ``lr`` 3e-4/1e-3, or no
  flow (``max_epochs=0``: the initial mixture) with ``n_components`` 8/16,
  ``covariance_type`` full/tied and ``mixture_fits`` 1/10; ``max_epochs``
  from the shortest budget as above (the folds train on 2/3 of the events:
  2/3 of the steps); one search per draw (13 flow fits), its row repeated
  at the longer budget. The record says whether a flow was chosen.
* ``zuko NSF`` and ``zuko MAF``: ``zuko.flows.NSF(d)`` / ``MAF(d)`` with
  zuko's defaults (3 transforms, hidden (64, 64); NSF 8 bins), Adam at
  ``lr=1e-3``, batches of 256 (zuko's README and tutorials), exactly the
  budget's optimizer steps, on the standardised data (the Jacobian is added
  back).
* ``nflows RQ-MAF``: the nflows README's flow, five ``ReversePermutation`` +
  autoregressive layers, with the rational-quadratic autoregressive
  transform of the neural-spline-flow paper's density experiments
  (``MaskedPiecewiseRationalQuadraticAutoregressiveTransform``: 8 bins,
  linear tails at ±3, two residual blocks of 64 units), standard-normal
  latent, Adam at ``lr=1e-3``, batches of 256, the budget's steps.
* ``GaussianMixture`` (unweighted draws only: it has no ``sample_weight``)
  and ``KernelDensity``: size and covariance type, resp. bandwidth, chosen by
  3-fold cross-validation on the training data (standardised); one fit at
  every budget.

Budgets are optimizer steps (the issue's 790 and 3950: 20 and 100 epochs of
FlowDensity's batches at 2e4 events), the same for every trained flow.

Metrics: the gap ``mean(log p - log q)`` over the test events (an estimate of
``KL(p || q)``), the paired difference of FlowDensity's gap to zuko NSF's with
its standard error over the test events, the worst test point's
``log p - log q``, fit CPU seconds, samples/s and density evaluations/s (one
thread, CPU time of the process). Run::

    OMP_NUM_THREADS=1 python benchmarks/bench_density.py --draws 20 \\
        --n-train 20000 --n-test 20000 --budgets 790 3950

writes ``docs/benchmarks/density.rst`` and ``density.json``; ``--smoke``
checks the script end to end in seconds.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import runner
import torch
from _common import rst_table, setup_threads, write_page
from runner import Method, Problem
from sklearn import config_context
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity

from skhep_ml import FlowDensity
from skhep_ml.base import weighted_standardization
from skhep_ml.datasets import make_density_family, make_weighted

clock = time.process_time
N_RATE = 20000  # events per speed measurement


# ------------------------------------------------------------------ problems
def family(n_train, n_test, dims):
    def make(seed):
        density = make_density_family(seed, dims=dims)
        if seed % 2:
            ess = float(np.random.RandomState(seed).uniform(0.1, 0.9))
            X, w, ess = make_weighted(density, n_train, ess, random_state=seed)
        else:
            X, w, ess = density.sample(n_train, random_state=seed), None, 1.0
        Xt = density.sample(n_test, random_state=10_000 + seed)
        kinds = "+".join(b.kind for b in density.blocks)
        return Problem(
            "family",
            data=dict(X=X, w=w, Xt=Xt, d=density.n_features, kinds=kinds, ess=ess),
            draw=seed,
            truth=dict(log_p=density.log_density(Xt)),
        )

    return make


# ------------------------------------------------------------------- methods
def epochs_for(steps, n, batch_size=512, validation_fraction=0.1):
    """FlowDensity epochs that take about ``steps`` optimizer steps on ``n`` events."""
    n_fit = n - math.ceil(validation_fraction * n) if validation_fraction else n
    per_epoch = math.ceil(n_fit / min(batch_size, n_fit))
    return max(1, round(steps / per_epoch))


def adam_steps(log_prob, parameters, S, W, steps, seed, batch_size=256, lr=1e-3):
    """The peers' training loop: ``steps`` Adam steps on shuffled batches of
    the weighted NLL ``-mean(w log q)`` (weights of mean 1 over the data)."""
    opt = torch.optim.Adam(parameters, lr=lr)
    torch.manual_seed(seed)
    done = 0
    while done < steps:
        perm = torch.randperm(len(S))
        for i in range(0, len(S), batch_size):
            idx = perm[i : i + batch_size]
            loss = -(W[idx] * log_prob(S[idx])).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps:
                return


class Peer:
    """A torch flow from a peer library, trained by :func:`adam_steps` on the
    standardised data; densities get the standardisation's Jacobian back."""

    def __init__(self, kind, steps, seed):
        self.kind, self.steps, self.seed = kind, steps, seed

    def _build(self, d):
        if self.kind in ("NSF", "MAF"):
            import zuko

            flow = getattr(zuko.flows, self.kind)(d)
            return flow, lambda s: flow().log_prob(s), lambda n: flow().sample((n,))
        from nflows.distributions.normal import StandardNormal
        from nflows.flows.base import Flow
        from nflows.transforms.autoregressive import (
            MaskedPiecewiseRationalQuadraticAutoregressiveTransform as RQ,
        )
        from nflows.transforms.base import CompositeTransform
        from nflows.transforms.permutations import ReversePermutation

        layers = []
        for _ in range(5):
            layers += [
                ReversePermutation(features=d),
                RQ(d, 64, num_bins=8, tails="linear", tail_bound=3.0, num_blocks=2),
            ]
        flow = Flow(CompositeTransform(layers), StandardNormal([d]))
        return flow, flow.log_prob, flow.sample

    def fit(self, X, w):
        self.mean_, self.scale_ = weighted_standardization(X, w)
        S = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32)
        W = torch.ones(len(X)) if w is None else torch.as_tensor(w / w.mean())
        torch.manual_seed(self.seed)
        self.flow, self.log_prob, self.draw = self._build(X.shape[1])
        self.flow.train()
        adam_steps(
            self.log_prob, self.flow.parameters(), S, W.float(), self.steps, self.seed
        )
        self.flow.eval()
        return self

    def score_samples(self, X):
        S = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32)
        with torch.no_grad():
            lp = [self.log_prob(S[i : i + 16384]) for i in range(0, len(S), 16384)]
        return torch.cat(lp).double().numpy() - np.log(self.scale_).sum()

    def sample(self, n):
        with torch.no_grad():
            s = self.draw(n).double().numpy()
        return s * self.scale_ + self.mean_


class Scaled:
    """A scikit-learn density tuned by 3-fold CV on standardised data."""

    def __init__(self, kind, seed):
        self.kind, self.seed = kind, seed

    def fit(self, X, w):
        self.mean_, self.scale_ = weighted_standardization(X, w)
        S = (X - self.mean_) / self.scale_
        if self.kind == "gmm":
            grid = {
                "n_components": [2, 4, 8, 16, 32],
                "covariance_type": ["full", "diag"],
            }
            est = GaussianMixture(random_state=self.seed)
            self.model = GridSearchCV(est, grid, cv=3).fit(S).best_estimator_
        else:
            grid = {"bandwidth": np.logspace(-1.3, 0.2, 8)}
            search = GridSearchCV(KernelDensity(), grid, cv=3)
            search.fit(S, sample_weight=w)
            self.model = search.best_estimator_
        return self

    def score_samples(self, X):
        S = (X - self.mean_) / self.scale_
        return self.model.score_samples(S) - np.log(self.scale_).sum()

    def sample(self, n):
        if self.kind == "gmm":
            s = self.model.sample(n)[0]
        else:
            s = self.model.sample(n, random_state=self.seed)
        return s * self.scale_ + self.mean_


#: the user guide's grid (docs/user_guide/flow_density.rst, mixture latent)
USER_GUIDE_GRID = [
    {"n_components": [8, 16], "lr": [3e-4, 1e-3]},
    {
        "n_components": [8, 16],
        "covariance_type": ["full", "tied"],
        "max_epochs": [0],
        "mixture_fits": [1, 10],
    },
]


#: a grid of the same two kinds for ``--smoke``
SMOKE_GRID = [{"n_components": [2]}, {"n_components": [2], "max_epochs": [0]}]


class Ours:
    """FlowDensity at a step budget; ``params`` change its defaults, ``grid``
    searches the user guide's grid by cross-validation."""

    def __init__(self, steps, seed, params=None, grid=None):
        self.steps, self.seed = steps, seed
        self.params, self.grid = dict(params or {}), grid

    def fit(self, X, w):
        est = FlowDensity(random_state=self.seed, **self.params)
        est.set_params(max_epochs=epochs_for(self.steps, len(X), est.batch_size))
        if self.grid is None:
            self.est = est.fit(X, sample_weight=w)
            return self
        est.set_params(base="gmm", base_lr=0.1)
        with config_context(enable_metadata_routing=True):
            est.set_fit_request(sample_weight=True).set_score_request(
                sample_weight=True
            )
            search = GridSearchCV(est, self.grid, cv=3).fit(X, sample_weight=w)
        self.est = search.best_estimator_
        self.chosen = search.best_params_
        return self

    def extra(self):
        if self.grid is None:
            return {}
        return {
            "flow_chosen": self.chosen.get("max_epochs", 1) != 0,
            "chosen": str(self.chosen),
        }

    def score_samples(self, X):
        return self.est.score_samples(X)

    def sample(self, n):
        return self.est.sample(n, random_state=0)


def rate(fn, n):
    """Events per CPU second, best of two."""
    best = 0.0
    for _ in range(2):
        t = clock()
        fn(n)
        best = max(best, n / max(clock() - t, 1e-9))
    return best


#: the step budget of the grid search (one search per draw, the shortest
#: budget: its CPU cost is 13 flow fits)
GRID_STEPS = {"steps": 790}

#: measure evaluation and sampling speed (off for studies of the defaults)
SPEED = {"on": True}


def method(name, make, applies=None, budgeted=True):
    """A Method; ``budgeted=False``: the same fit at every budget (computed once)."""
    cache = {}

    def fn(problem, budget, seed):
        key = (problem.draw, seed, budget if budgeted else None)
        if key not in cache:
            cache.clear()
            cache[key] = evaluate(problem, budget, seed)
        return cache[key]

    def evaluate(problem, budget, seed):
        data = problem.data
        model = make(budget, seed)
        t = clock()
        model.fit(data["X"], data["w"])
        fit_s = clock() - t
        log_q = model.score_samples(data["Xt"])
        gaps = problem.truth["log_p"] - log_q
        Xr = np.resize(data["Xt"], (N_RATE, data["d"]))
        speed = {}
        if SPEED["on"]:
            speed = dict(
                eval_per_s=rate(lambda n: model.score_samples(Xr[:n]), N_RATE),
                sample_per_s=rate(model.sample, N_RATE // 4),
            )
        return dict(
            gap=float(np.mean(gaps)),
            worst_gap=float(np.max(gaps)),
            fit_s=fit_s,
            **speed,
            **(model.extra() if hasattr(model, "extra") else {}),
            d=data["d"],
            kinds=data["kinds"],
            ess=data["ess"],
            _gaps=gaps,
        )

    return Method(name, fn, applies=applies)


def methods(grid=True):
    rows = [
        method("FlowDensity", lambda b, s: Ours(b, s)),
        method("zuko NSF", lambda b, s: Peer("NSF", b, s)),
        method("zuko MAF", lambda b, s: Peer("MAF", b, s)),
        method("nflows RQ-MAF", lambda b, s: Peer("nflows", b, s)),
        method(
            "GaussianMixture",
            lambda b, s: Scaled("gmm", s),
            applies=lambda p: p.data["w"] is None,
            budgeted=False,
        ),
        method("KernelDensity", lambda b, s: Scaled("kde", s), budgeted=False),
    ]
    if grid:
        search = method(
            SEARCH,
            lambda b, s: Ours(GRID_STEPS["steps"], s, grid=USER_GUIDE_GRID),
            budgeted=False,
        )
        rows.insert(1, search)
    return rows


# --------------------------------------------------------------------- pages
OURS, SEARCH, NSF = "FlowDensity", "FlowDensity CV", "zuko NSF"


def paired(records, budget):
    """Per draw: FlowDensity's gap minus zuko NSF's, with its standard error;
    whether the default and the search have the smallest gap of all rows,
    and whether the search chose a flow wherever the default flow is better
    than what it chose."""
    rows = []
    for (_, _, draw, b), recs in runner.draws(records).items():
        if b != budget:
            continue
        by = {r["method"]: r for r in recs}
        if OURS not in by or NSF not in by:
            continue
        diff = by[OURS]["_gaps"] - by[NSF]["_gaps"]
        peers = [r["gap"] for m, r in by.items() if not m.startswith(OURS)]
        row = dict(
            draw=draw,
            budget=b,
            d=by[OURS]["d"],
            kinds=by[OURS]["kinds"],
            ess=round(by[OURS]["ess"], 2),
            **{m: r["gap"] for m, r in by.items()},
            diff=f"{diff.mean():+.3f} ± {diff.std() / math.sqrt(len(diff)):.3f}",
            _diff=float(diff.mean()),
            _best=by[OURS]["gap"] <= min(peers),
        )
        if SEARCH in by:
            cv = by[SEARCH]
            others = [r["gap"] for m, r in by.items() if m != SEARCH]
            row["flow"] = "yes" if cv["flow_chosen"] else "no"
            row["_cv_best"] = cv["gap"] <= min(others)
            # a mixture chosen although the default flow is better
            row["_cv_ok"] = cv["flow_chosen"] or cv["gap"] <= by[OURS]["gap"]
        rows.append(row)
    return rows


def summary(records, budgets):
    rows = []
    for b in budgets:
        p = paired(records, b)
        if not p:
            continue
        d = np.array([r["_diff"] for r in p])
        row = dict(
            budget=b,
            draws=len(p),
            ahead_of_NSF=f"{int(np.sum(d < 0))}/{len(p)}",
            best_of_all=f"{sum(r['_best'] for r in p)}/{len(p)}",
            median_diff=float(np.median(d)),
            worst_decile_diff=float(np.quantile(d, 0.9)),
        )
        cv = [r for r in p if "_cv_best" in r]
        if cv:
            row["CV_best_of_all"] = f"{sum(r['_cv_best'] for r in cv)}/{len(cv)}"
            row["CV_flow_where_better"] = f"{sum(r['_cv_ok'] for r in cv)}/{len(cv)}"
        rows.append(row)
    return rows


def speed(records):
    rows = []
    for name in sorted({r["method"] for r in records}):
        rs = [r for r in records if r["method"] == name]

        def median(key, rs=rs):
            values = [r[key] for r in rs if key in r]
            return float(np.median(values)) if values else float("nan")

        rows.append(
            dict(
                method=name,
                median_fit_s=median("fit_s"),
                median_eval_per_s=median("eval_per_s"),
                median_sample_per_s=median("sample_per_s"),
                worst_point_gap=median("worst_gap"),
            )
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument(
        "--first-draw", type=int, default=0, help="seed of the first draw"
    )
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-test", type=int, default=20000)
    parser.add_argument(
        "--budgets", type=int, nargs="+", default=[790, 3950], help="optimizer steps"
    )
    parser.add_argument("--max-dim", type=int, default=32)
    parser.add_argument(
        "--no-grid", action="store_true", help="leave out the GridSearchCV row"
    )
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    setup_threads(1)
    if args.smoke:
        args.draws, args.n_train, args.n_test = 2, 400, 400
        args.budgets, args.max_dim = [2, 4], 4
        USER_GUIDE_GRID[:] = SMOKE_GRID
    GRID_STEPS["steps"] = min(args.budgets)
    out = runner.output_dir(args.smoke)
    seeds = range(args.first_draw, args.first_draw + args.draws)
    problems = runner.draw(family(args.n_train, args.n_test, (2, args.max_dim)), seeds)
    records, rows = [], methods(grid=not args.no_grid)
    for problem in problems:  # the page is rewritten after every draw
        records += runner.run(
            [problem],
            rows,
            budgets=args.budgets,
            out=out / "density.json",
            merge=bool(records),
            log=lambda r: print(
                r["draw"], r["budget"], r["method"], f"gap {r['gap']:.3f}", flush=True
            ),
        )
        page(records, args, out)


#: the hand-written reading of the numbers, included after the tables
NOTES = "density_notes.inc"


def page(records, args, out):
    names = [m.name for m in methods(grid=not args.no_grid)]
    per_draw = [r for b in args.budgets for r in paired(records, b)]
    cols = ["draw", "budget", "d", "ess", *names, "diff"]
    if not args.no_grid:
        cols.append("flow")
    cols.append("kinds")
    command = (
        "OMP_NUM_THREADS=1 python benchmarks/bench_density.py "
        f"--draws {args.draws} --first-draw {args.first_draw} "
        f"--n-train {args.n_train} --n-test {args.n_test} "
        f"--budgets {' '.join(map(str, args.budgets))} --max-dim {args.max_dim}"
        + (" --no-grid" if args.no_grid else "")
    )
    intro = (
        "Draws of the density family (odd draws weighted), gap to the truth "
        "``mean(log p - log q)`` over test events (nats, smaller is better); "
        "``diff``: FlowDensity's gap minus zuko NSF's, paired over the test "
        "events, ± its standard error; ``flow``: whether the grid search "
        "chose a flow (not ``max_epochs=0``). Budgets are optimizer steps, "
        "equal for every trained flow (the grid's folds: 2/3 of them). "
        "``best_of_all``: the default FlowDensity's gap is the smallest of the "
        "peers'; ``CV_best_of_all``: the search's is the smallest of all "
        "rows; ``CV_flow_where_better``: draws where the search did not pick "
        "the no-flow mixture while the default flow is better than it. "
        "Timing columns are CPU seconds of one thread, **measured under load** "
        "(a shared 2-core machine). See the docstring of "
        "``benchmarks/bench_density.py``. "
        f"This run: {len({r['draw'] for r in records})} of {args.draws} draws "
        "requested (the page is rewritten after every draw). The full run "
        "the issue asks for is ``--draws 20 --n-train 20000 --n-test 20000 "
        "--budgets 790 3950 --max-dim 32`` (many CPU hours)."
    )
    summary_cols = [
        "budget",
        "draws",
        "ahead_of_NSF",
        "best_of_all",
        "median_diff",
        "worst_decile_diff",
    ]
    if not args.no_grid:
        summary_cols += ["CV_best_of_all", "CV_flow_where_better"]
    speed_cols = [
        "method",
        "median_fit_s",
        "median_eval_per_s",
        "median_sample_per_s",
        "worst_point_gap",
    ]
    tables = [
        (
            "Summary over draws",
            rst_table(summary(records, args.budgets), summary_cols, ".3g"),
        ),
        ("Per draw", rst_table(per_draw, cols, ".3f")),
        (
            "Speed (median over draws and budgets)",
            rst_table(speed(records), speed_cols, ".3g"),
        ),
    ]
    write_page("density", "Density estimation", intro, tables, command, out)
    if (out / NOTES).exists():
        path = out / "density.rst"
        path.write_text(path.read_text() + f"\n.. include:: {NOTES}\n")
    print(tables[0][1])
    print(tables[2][1])


if __name__ == "__main__":
    main()
