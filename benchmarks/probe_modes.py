"""Probe the integrator's mode finding on family draws: value, error, pull, warned.

The measurements of issue 19's mode-finding work (session 11) came from this
script: ``python benchmarks/probe_modes.py --cases family --seeds 0,1`` (12 draws,
d = 2 ... 16, at 1e5 calls), ``--cases gauss6,camel12,camel12ch`` (the issue's
6-d rotated Gaussians and 12-d camel) and ``--cases issue --N 1e6``. The draws
are a fixed list, not picked by outcome. Session 12 measured the weight-tail
rules and the tail-aware error with ``--cases family --seeds 0,1`` (the rows
now carry the final weights' ``pareto_k`` and ``max_share``).
"""

import argparse
import json
import time
import warnings

from skhep_ml import NeuralImportanceIntegrator
from skhep_ml.datasets import make_integrand_family


def cases(name):
    """``(label, integrand, extra estimator parameters)`` of one case list."""
    fam = make_integrand_family
    if name == "family":
        for s, d in zip(range(100, 112), [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16]):
            yield f"fam{s}-d{d}", fam(s, n_dims=d), {}
    elif name == "gauss6":
        for s in range(200, 204):
            yield f"g6-{s}", fam(s, n_dims=6, n_components=2, kinds=("gaussian",)), {}
    elif name == "camel12":
        for s in range(300, 302):
            yield f"c12-{s}", fam(s, n_dims=12, n_components=1, kinds=("camel",)), {}
    elif name == "camel12ch":
        for s in range(300, 302):
            f = fam(s, n_dims=12, n_components=1, kinds=("camel",))
            yield f"c12ch-{s}", f, {"channels": 2}
    elif name == "issue":
        yield "g6-202", fam(202, n_dims=6, n_components=2, kinds=("gaussian",)), {}
        yield "c12-300", fam(300, n_dims=12, n_components=1, kinds=("camel",)), {}
    else:
        raise SystemExit(f"unknown case list {name!r}")


def measure(label, f, seed, n_calls, params):
    """One fit: its row (value, error, pull, warnings, CPU seconds)."""
    t = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est = NeuralImportanceIntegrator(
                integrand=f,
                n_dims=f.n_features,
                max_evaluations=n_calls,
                random_state=seed,
                **params,
            ).fit()
        except (ValueError, RuntimeError) as exc:
            return dict(case=label, d=f.n_features, seed=seed, crash=str(exc)[:80])
    runtime = [x for x in caught if issubclass(x.category, RuntimeWarning)]
    msgs = [str(x.message)[:60] for x in runtime]
    v, e = est.integral_, est.integral_error_
    return dict(
        case=label,
        d=f.n_features,
        kinds="+".join(p["kind"][:3] for p in f.components),
        seed=seed,
        value=v,
        error=e,
        pull=(v - 1.0) / e if e > 0 else float("nan"),
        rel=abs(v - 1.0),
        warned=bool(msgs),
        vegas=est.vegas_integral_,
        # the final weights' tail: Pareto index and the largest weight's share
        pareto_k=est._weight_tail["pareto_k"],
        max_share=est._weight_tail["max_share"],
        cpu=time.process_time() - t,
        msgs=msgs,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="family")
    ap.add_argument("--N", type=float, default=1e5)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--out", default=None)
    ap.add_argument("--kw", default="{}", help="extra parameters, as JSON")
    a = ap.parse_args()
    rows, kw = [], json.loads(a.kw)
    for name in a.cases.split(","):
        for label, f, extra in cases(name):
            for seed in [int(s) for s in a.seeds.split(",")]:
                row = measure(label, f, seed, int(a.N), {**extra, **kw})
                rows.append(row)
                print(json.dumps(row, default=float), flush=True)
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(rows, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
