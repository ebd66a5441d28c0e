"""The five estimators on the CPU and on CUDA: fit and inference time, same answer.

Each estimator runs one workload twice, ``device="cpu"`` (all cores of the machine,
or ``--threads``) and ``device="cuda"``, with the same seed and settings, and reports
wall seconds of ``fit`` and of its main inference call, the speed-up, and the
accuracy measure of the workload against its known truth (so a fast GPU run that
learned less shows). Without CUDA it prints the CPU rows and writes no page.

Workloads (sizes by ``--scale``, default 1):

* BayesianRegressor: 100k amplitude-like points, 10 epochs, batch 1024;
  inference = ``predict(return_std=True)`` on 100k points; accuracy = median
  relative error.
* FlowDensity: 100k 8-d physics-like events, 10 epochs, batch 2048; inference =
  ``sample(2e5)`` and ``score_samples`` on 2e5 events; accuracy = gap to the exact
  log-density (nats).
* ALICERatioEstimator (ALICES): 100k toy events, 10 epochs, batch 1024; inference
  = ``predict_log_ratio`` on 5e5 rows; accuracy = MSE of log r.
* NeuralImportanceIntegrator: camel d=4 with a torch integrand (stays on the
  device), 1e6 calls; inference = ``integrate(1e6)``; accuracy = relative error.
* ActiveScanner: cosine3d toy, 5000 calls in 4 rounds; inference = the
  surrogate on 2e5 points; accuracy = in-band fraction of the calls.

Run ``python benchmarks/bench_gpu.py [--threads N] [--scale S]`` on a CUDA machine
(``--smoke``: the whole script in seconds, scale 0.02, page to a temp folder).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import runner
import torch
from _common import rst_table, write_page
from runner import Method, Problem, Ratio

from skhep_ml import (
    ActiveScanner,
    ALICERatioEstimator,
    BayesianRegressor,
    FlowDensity,
    NeuralImportanceIntegrator,
)
from skhep_ml.datasets import (
    Camel,
    alice_toy_log_ratio,
    make_alice_toy,
    make_amplitude_like,
    make_physics_events,
    make_scan_problem,
    physics_events_log_density,
)


def _sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def _timed(device, fn):
    _sync(device)
    start = time.perf_counter()
    out = fn()
    _sync(device)
    return out, time.perf_counter() - start


def regression(device, scale):
    n = int(100_000 * scale)
    X, y = make_amplitude_like(n, random_state=0)
    X_test, y_test = make_amplitude_like(n, random_state=1)
    est = BayesianRegressor(
        max_epochs=10, batch_size=1024, device=device, random_state=0
    )
    _, fit_s = _timed(device, lambda: est.fit(X, np.log(y)))
    (mean, _), infer_s = _timed(device, lambda: est.predict(X_test, return_std=True))
    err = np.median(np.abs(np.exp(mean) / y_test - 1))
    return (
        fit_s,
        infer_s,
        f"predict(return_std) {n:.0e}",
        f"median rel. error {err:.3f}",
    )


def density(device, scale):
    n = int(100_000 * scale)
    X = make_physics_events(n, random_state=0)
    X_test = make_physics_events(200_000, random_state=1)
    est = FlowDensity(
        max_epochs=10, batch_size=2048, lr=3e-3, device=device, random_state=0
    )
    _, fit_s = _timed(device, lambda: est.fit(X))
    _, sample_s = _timed(device, lambda: est.sample(200_000, random_state=0))
    logq, score_s = _timed(device, lambda: est.score_samples(X_test))
    gap = np.mean(physics_events_log_density(X_test) - logq)
    return (
        fit_s,
        sample_s + score_s,
        "sample + score_samples 2e5",
        f"gap to truth {gap:.3f} nats",
    )


def ratio(device, scale):
    n = int(100_000 * scale)
    X, y, r, t = make_alice_toy(n, random_state=0)
    X_test, *_ = make_alice_toy(500_000, random_state=1)
    est = ALICERatioEstimator(
        loss="alices", max_epochs=10, batch_size=1024, device=device, random_state=0
    )
    _, fit_s = _timed(device, lambda: est.fit(X, y, joint_ratio=r, joint_score=t))
    log_r, infer_s = _timed(device, lambda: est.predict_log_ratio(X_test))
    mse = np.mean((log_r - alice_toy_log_ratio(X_test)) ** 2)
    return fit_s, infer_s, "predict_log_ratio 5e5", f"MSE of log r {mse:.4f}"


def integration(device, scale):
    camel = Camel(4)
    n = int(1_000_000 * scale)
    est = NeuralImportanceIntegrator(
        integrand=camel,
        integrand_backend="torch",
        max_evaluations=n,
        device=device,
        random_state=0,
    )
    _, fit_s = _timed(device, est.fit)
    result, infer_s = _timed(device, lambda: est.integrate(n, random_state=1))
    rel = abs(result.value / camel.integral - 1)
    return fit_s, infer_s, f"integrate({n:.0e})", f"rel. error {rel:.1e}"


def scan(device, scale):
    problem = make_scan_problem("cosine3d")
    est = ActiveScanner(
        objective=problem.objective,
        bounds=problem.bounds,
        target=problem.target,
        n_initial=1000,
        n_per_iteration=1000,
        max_evaluations=int(5000 * scale),
        n_candidates=100_000,
        device=device,
        random_state=0,
    )
    _, fit_s = _timed(device, est.fit)
    rng = np.random.default_rng(1)
    low, high = np.asarray(problem.bounds, dtype=float).T
    cand = low + (high - low) * rng.random((200_000, len(low)))
    _, infer_s = _timed(device, lambda: est.predict_in_target(cand))
    frac = est.in_target_.mean()
    return fit_s, infer_s, "predict_in_target 2e5", f"in-band fraction {frac:.0%}"


WORKLOADS = {
    "BayesianRegressor": regression,
    "FlowDensity": density,
    "ALICERatioEstimator": ratio,
    "NeuralImportanceIntegrator": integration,
    "ActiveScanner": scan,
}


def device_method(device):
    """One device as a method: the workload's fit and inference times there."""

    def fn(problem, scale, seed):
        fit_s, infer_s, what, acc = problem.data(device, scale)
        return {
            "fit s": fit_s,
            "inference": what,
            "inference s": infer_s,
            "accuracy": acc,
        }

    return Method(device, fn)


#: time on CUDA over time on the CPU, per estimator (lower: CUDA faster)
RATIOS = [
    Ratio("fit s: cuda / cpu", "fit s", "cuda", "cpu"),
    Ratio("inference s: cuda / cpu", "inference s", "cuda", "cpu"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="CPU threads")
    parser.add_argument("--scale", type=float, default=1.0, help="workload size")
    parser.add_argument("--quick", action="store_true", help="--scale 0.1")
    parser.add_argument("--only", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--no-write", action="store_true")
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.scale = 0.1
    if args.smoke:
        args.scale = 0.02
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    devices = ["cpu"] + (["cuda"] if cuda else [])
    out_dir = runner.output_dir(args.smoke)
    write = not args.no_write and (cuda or args.smoke)
    records = runner.run(
        [Problem(name, data=WORKLOADS[name]) for name in args.only],
        [device_method(d) for d in devices],
        [args.scale],
        out=out_dir / "gpu.json" if write else None,
    )
    rows = [dict(r, estimator=r["problem"], device=r["method"]) for r in records]
    by = {(r["problem"], r["method"]): r for r in records}
    for row in rows:
        if row["device"] == "cuda":
            cpu, gpu = by[row["problem"], "cpu"], by[row["problem"], "cuda"]
            row["fit speed-up"] = f"{cpu['fit s'] / gpu['fit s']:.1f}x"
            row["inference speed-up"] = (
                f"{cpu['inference s'] / gpu['inference s']:.1f}x"
            )
    columns = [
        "estimator",
        "device",
        "fit s",
        "fit speed-up",
        "inference",
        "inference s",
        "inference speed-up",
        "accuracy",
    ]
    table = rst_table(rows, columns, ".3g")
    print(table)
    if not write:
        return
    gpu = torch.cuda.get_device_name(0) if cuda else "none (smoke run)"
    intro = (
        f"Machine: {platform.machine()}, GPU {gpu}, {torch.get_num_threads()} CPU "
        f"torch threads, torch {torch.__version__}, Python "
        f"{platform.python_version()}. Each estimator fits the same workload with "
        "the same seed on the CPU and on CUDA (see the module docstring of "
        "``benchmarks/bench_gpu.py``); times are wall seconds including the "
        "host-device copies, accuracy is against the workload's exact answer. "
        "CUDA trains in float32 and infers in float32; the CPU trains in float32 "
        "and infers in float64."
    )
    cmd = (
        "python benchmarks/bench_gpu.py"
        + (f" --threads {args.threads}" if args.threads else "")
        + (" --smoke" if args.smoke else "")
        + (f" --scale {args.scale}" if args.scale != 1 and not args.smoke else "")
    )
    spread = rst_table(
        runner.distribution_rows(records, RATIOS),
        ["ratio", "better", "draws", "median", "worst_decile", "worst"],
        ".3g",
    )
    tables = [("Timings", table), ("CUDA over CPU, over the estimators", spread)]
    write_page("gpu", "CPU and CUDA", intro, tables, cmd, out_dir)


if __name__ == "__main__":
    main()
