"""Likelihood-ratio estimation: skhep_ml's ALICERatioEstimator vs madminer.

Side by side in one process on the ALICE toy of :mod:`skhep_ml.datasets`
(latent z, interference zero, exact marginal ratio), for CARL, ALICE and
ALICES (α = 0.1, joint score clipped at 20) with the same network (two hidden
layers of 64 tanh units), epochs, batch size and learning rate. skhep_ml's
ALICES runs with its default ``score_label="soft"`` (the score term on every
row, weighted by P(θ|x,z)); optionally (``--methods ...``) also
``alices-hard`` (its ALICES with madminer's score term on the rows from θ
only) and ``alices-huber`` (the Huber score loss, ``score_loss="huber"``,
threshold 1 in θ units, score unclipped), both timed against madminer's
ALICES:

* MSE of ``log r̂`` against the exact ``log r`` on 20 000 held-out rows,
* the expected MLE and 68 % / 95 % intervals for 100 events at θ = 0.3 (the
  expected −2Δlog L curve, 100 × the mean over 20 000 events simulated at
  θ = 0.3, on a grid of 201 points in [-1, 1]),
* fit wall-clock seconds (after a warm-up fit of each library).

Run::

    OMP_NUM_THREADS=1 python benchmarks/bench_ratio.py  # full: n = 1e3, 1e4, 1e5
    OMP_NUM_THREADS=1 python benchmarks/bench_ratio.py --quick  # n = 1e3, 1e4

The table is printed and written to ``docs/benchmarks/ratio.rst`` (the records
to ``ratio.json``); ``--smoke`` checks the script end to end in seconds.
"""

from __future__ import annotations

import argparse
import functools
import logging
import pathlib
import platform
import sys
import time
import warnings

import numpy as np
import runner
import torch
from _common import DOCS_BENCH, rst_table
from runner import Method, Problem, Ratio

from skhep_ml import ALICERatioEstimator
from skhep_ml.datasets import alice_toy_log_ratio, make_alice_toy, sample_alice_toy
from skhep_ml.ratio import likelihood_profile

THETA_TRUE = 0.3
N_EVENTS = 100
GRID = np.linspace(-1.0, 1.0, 201)
ALPHA = 0.1
CLIP = 20.0
#: Huber threshold of the score residual for "alices-huber" (θ units)
HUBER_DELTA = 1.0
HIDDEN = (64, 64)
ACTIVATION = "tanh"
DOCS = DOCS_BENCH / "ratio.rst"
#: the n = 1e5 run (too long for one command together with the others)
EXTRA = DOCS.with_name("ratio_n1e5.inc")


def grid_of(predict):
    """``log r̂`` of every observed event at every θ of a grid, from ``predict``."""

    def log_ratio_grid(x_obs, grid):
        rows = np.column_stack(
            [
                np.repeat(x_obs[None], len(grid), 0).reshape(-1, x_obs.shape[1]),
                np.repeat(grid, len(x_obs)),
            ]
        )
        return predict(rows).reshape(len(grid), len(x_obs))

    return log_ratio_grid


def fit_skhep(method, X, y, r, t, *, epochs, batch_size, lr, seed):
    huber = method == "alices-huber"
    est = ALICERatioEstimator(
        n_theta=1,
        loss=method.split("-")[0],
        alpha=ALPHA,
        score_clip=HUBER_DELTA if huber else CLIP,
        score_label="hard" if method == "alices-hard" else "soft",
        score_loss="huber" if huber else "squared",
        hidden_layer_sizes=HIDDEN,
        activation=ACTIVATION,
        max_epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        random_state=seed,
    )
    t0 = time.perf_counter()
    est.fit(X, y, joint_ratio=r, joint_score=t if method.startswith("alices") else None)
    seconds = time.perf_counter() - t0

    return seconds, est.predict_log_ratio, grid_of(est.predict_log_ratio)


def fit_madminer(method, X, y, r, t, *, epochs, batch_size, lr, seed):
    from madminer.ml import ParameterizedRatioEstimator

    est = ParameterizedRatioEstimator(n_hidden=HIDDEN, activation=ACTIVATION)
    x, theta = X[:, :2], X[:, 2:]
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    est.train(
        method=method,
        x=x,
        y=y[:, None],
        theta=theta,
        r_xz=r[:, None],
        t_xz=np.clip(t, -CLIP, CLIP),
        alpha=ALPHA,
        n_epochs=epochs,
        batch_size=batch_size,
        initial_lr=lr,
        final_lr=lr / 10,
        validation_split=None,
        early_stopping=False,
        verbose="none",
        n_workers=0,
    )
    seconds = time.perf_counter() - t0

    # evaluation: madminer's own input/parameter scaling, then one batched call
    # of its model without the score graph (its evaluate_* helpers build the
    # input row by row, which is ~100x slower and not what is benchmarked)
    def predict(Xq):
        x_s = torch.as_tensor(est._transform_inputs(Xq[:, :2]), dtype=torch.float32)
        th_s = torch.as_tensor(
            est._transform_parameters(Xq[:, 2:]), dtype=torch.float32
        )
        est.model.eval()
        with torch.no_grad():
            _, log_r, _ = est.model(th_s, x_s, track_score=False)
        return log_r[:, 0].double().numpy()

    return seconds, predict, grid_of(predict)


def fit_torch(method, X, y, r, t, *, epochs, batch_size, lr, seed):
    """The reference loop: plain torch, the same network, batches and epochs.

    What a user would write: standardised inputs, torch's Adam with its
    defaults at a constant learning rate, the ALICE (soft-label) or CARL
    cross-entropy, and for ALICES the θ-gradient of the output from
    ``torch.autograd.grad(..., create_graph=True)``. It shows what the
    training itself costs on this machine, without any library around it.
    """
    from scipy.special import expit

    torch.manual_seed(seed)
    mean, scale = X.mean(0), X.std(0)
    Xs = torch.as_tensor((X - mean) / scale, dtype=torch.float32)
    label = y if method == "carl" else expit(-np.log(r))
    target = torch.as_tensor(label, dtype=torch.float32)
    numerator = torch.as_tensor(1.0 - y, dtype=torch.float32)
    score = torch.as_tensor(
        np.clip(t[:, 0], -CLIP, CLIP) * scale[-1], dtype=torch.float32
    )
    layers, n_in = [], X.shape[1]
    for width in HIDDEN:
        layers += [torch.nn.Linear(n_in, width), torch.nn.Tanh()]
        n_in = width
    net = torch.nn.Sequential(*layers, torch.nn.Linear(n_in, 1))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    t0 = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(Xs))
        for start in range(0, len(Xs), batch_size):
            idx = order[start : start + batch_size]
            xb = Xs[idx]
            if method == "alices":
                xb.requires_grad_(True)
            log_r_hat = net(xb)[:, 0]
            loss = bce(-log_r_hat, target[idx])
            if method == "alices":
                (grad,) = torch.autograd.grad(log_r_hat.sum(), xb, create_graph=True)
                res = grad[:, -1] - score[idx]
                loss = loss + ALPHA * (numerator[idx] * res.square()).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t0
    net = net.double()

    def predict(Xq):
        with torch.no_grad():
            return net(torch.as_tensor((Xq - mean) / scale))[:, 0].numpy()

    return seconds, predict, grid_of(predict)


def summarize(log_r_grid):
    prof = likelihood_profile(log_r_grid, GRID, n_events=N_EVENTS)
    return prof.mle[0], prof.intervals[0.68], prof.intervals[0.95]


def fmt_int(iv):
    return f"[{iv[0]:+.3f}, {iv[1]:+.3f}]"


LIBRARIES = {"madminer": fit_madminer, "skhep_ml": fit_skhep, "torch loop": fit_torch}


def toy_task(n_test):
    """The ALICE toy: held-out rows with exact log r, events observed at θ = 0.3."""
    X_test, _, _, _ = make_alice_toy(n_test, random_state=12345)
    x_obs = sample_alice_toy(THETA_TRUE, n_test, random_state=54321)
    exact_grid = np.stack(
        [
            alice_toy_log_ratio(np.column_stack([x_obs, np.full(len(x_obs), g)]))
            for g in GRID
        ]
    )
    return Problem(
        "alice_toy",
        data=dict(X_test=X_test, x_obs=x_obs),
        truth=dict(log_r=alice_toy_log_ratio(X_test), profile=summarize(exact_grid)),
    )


@functools.lru_cache(maxsize=1)
def training(n):
    """The n training rows (the same for every library and loss)."""
    return make_alice_toy(n, random_state=n)


def methods(libraries, losses, args):
    """Every (library, loss) pair; the ``-`` variants are skhep_ml's only.

    The budget is the number of training rows; a method reports the fastest of
    a few identical fits (same seed, same model): short fits on a shared
    machine are otherwise mostly noise.
    """
    kw = dict(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)

    def method(lib, loss, warmup):
        fit = LIBRARIES[lib]

        def fn(problem, n, seed):
            X, y, r, t = training(n)
            repeats = args.repeats or (5 if n <= 1000 else 3 if n <= 10_000 else 1)
            fits = [fit(loss, X, y, r, t, **kw, seed=seed) for _ in range(repeats)]
            _, predict, grid_fn = fits[-1]
            d = problem.data
            mse = float(np.mean((predict(d["X_test"]) - problem.truth["log_r"]) ** 2))
            mle, i68, i95 = summarize(grid_fn(d["x_obs"], GRID))
            return dict(
                library=lib,
                loss=loss,
                mse=mse,
                mle=mle,
                i68=i68,
                i95=i95,
                seconds=min(f[0] for f in fits),
            )

        return Method(f"{lib} {loss}", fn, warmup=warmup)

    def warmup(fit):
        # the first float32 fit in a process pays a one-off cost
        Xw, yw, rw, tw = make_alice_toy(512, random_state=0)
        warm = dict(epochs=2, batch_size=args.batch_size, lr=args.lr, seed=0)
        return lambda: [fit(m, Xw, yw, rw, tw, **warm) for m in ("carl", "alices")]

    out = []
    for lib in libraries:
        first = True
        for loss in losses:
            if lib != "skhep_ml" and "-" in loss:
                continue  # skhep_ml only
            out.append(method(lib, loss, warmup(LIBRARIES[lib]) if first else None))
            first = False
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 1e3, 1e4 only")
    parser.add_argument("--sizes", type=str, default=None, help="comma-separated n")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--methods",
        type=str,
        default="carl,alice,alices",
        help="comma-separated subset of carl,alice,alices,alices-hard,alices-huber",
    )
    parser.add_argument(
        "--out", type=str, default=None, help="where to write the rst table"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write the rst")
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="fits per library and method, fastest reported (default: 5 up to "
        "n = 1e3, 3 up to n = 1e4, 1 above)",
    )
    parser.add_argument(
        "--no-torch", action="store_true", help="without the plain torch loop rows"
    )
    runner.add_smoke_flag(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.getLogger("madminer").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    if args.smoke:
        args.sizes, args.epochs, args.repeats = "300", 1, 1
    out_dir = runner.output_dir(args.smoke)
    args.out = args.out or str(out_dir / "ratio.rst")
    if args.sizes:
        sizes = [int(float(s)) for s in args.sizes.split(",")]
    else:
        sizes = [1000, 10_000] if args.quick else [1000, 10_000, 100_000]

    problem = toy_task(2000 if args.smoke else 20_000)
    libraries = [
        lib for lib in LIBRARIES if not (args.no_torch and lib == "torch loop")
    ]

    def log(r):
        print(
            f"n={r['budget']:>6} {r['library']:10s} {r['loss']:6s} mse={r['mse']:.4f} "
            f"mle={r['mle']:+.3f} 68%={fmt_int(r['i68'])} fit={r['seconds']:.3g}s",
            flush=True,
        )

    out = pathlib.Path(args.out)
    records = runner.run(
        [problem],
        methods(libraries, args.methods.split(","), args),
        sizes,
        out=None if args.no_write else out.with_suffix(".json"),
        log=log,
    )
    rows = [
        dict(
            n=r["budget"],
            lib=r["library"],
            method=r["loss"],
            **{k: r[k] for k in ("mse", "mle", "i68", "i95", "seconds")},
        )
        for r in records
    ]
    table = render(rows, problem.truth["profile"], sizes, args)
    table += distribution(records, args.methods.split(","), out.resolve() == EXTRA)
    print()
    print(table)
    if not args.no_write:
        if out.resolve() == DOCS and sizes != [100_000] and EXTRA.exists():
            table += "\n.. include:: " + EXTRA.name + "\n"
        out.write_text(table)
        print(f"written to {out}")


def distribution(records, losses, extra):
    """The ratios over the sizes n: median, worst decile, goals met."""
    ours = tuple(f"skhep_ml {loss}" for loss in losses)
    specs = [
        Ratio(
            "MSE: best skhep_ml / best madminer",
            "mse",
            ours,
            tuple(f"madminer {loss}" for loss in losses if "-" not in loss),
            goal=0.8,
        )
    ] + [
        Ratio(
            f"fit s: skhep_ml {loss} / madminer {loss.split('-')[0]}",
            "seconds",
            f"skhep_ml {loss}",
            f"madminer {loss.split('-')[0]}",
            goal=1 / 3,
        )
        for loss in losses
    ]
    rows = runner.distribution_rows(records, specs)
    title = "Distribution over the sizes n"
    columns = ["ratio", "better", "draws", "median", "worst_decile", "worst"]
    return "\n".join(
        [
            "",
            title,
            ("^" if extra else "~") * len(title),
            "",
            rst_table(rows, [*columns, "goal", "met"], floatfmt=".3g"),
            "",
        ]
    )


def render(rows, exact, sizes, args):
    cmd = "OMP_NUM_THREADS=1 python benchmarks/bench_ratio.py" + (
        " --quick"
        if sizes == [1000, 10_000]
        else (
            ""
            if sizes == [1000, 10_000, 100_000]
            else f" --sizes {','.join(map(str, sizes))}"
        )
    )
    if args.epochs != 50:
        cmd += f" --epochs {args.epochs}"
    if args.methods != "carl,alice,alices":
        cmd += f" --methods {args.methods}"
    if args.smoke:
        cmd = "OMP_NUM_THREADS=1 python benchmarks/bench_ratio.py --smoke"
    elif args.out != str(DOCS):
        cmd += f" --out {pathlib.Path(args.out).resolve().relative_to(DOCS.parents[2])}"
    if pathlib.Path(args.out).resolve() == EXTRA:
        title = f"n = {', '.join(f'{n:,}' for n in sizes)} ({args.methods})"
        lines = [title, "~" * len(title), ""]
    else:
        title = "Likelihood ratios: ALICERatioEstimator vs madminer"
        lines = [title, "=" * len(title), ""]
    lines += [
        "ALICE toy of :func:`skhep_ml.datasets.make_alice_toy` (1-d θ uniform in",
        "[-1, 1], reference θ_1 = 0, latent z with an interference zero). Both",
        f"libraries train the same network (hidden {HIDDEN}, {ACTIVATION}) for "
        f"{args.epochs} epochs,",
        f"batch size {args.batch_size}, initial learning rate {args.lr:g}, no "
        "validation split;",
        f"ALICES uses α = {ALPHA} and the joint score clipped at ±{CLIP:g} in "
        "both; madminer's score term counts the rows from θ only, skhep_ml's",
        '(default ``score_label="soft"``) every row weighted by ``P(θ|x,z)``',
        "(``alices-hard``: skhep_ml with madminer's rows; ``alices-huber``: its",
        f"Huber score loss, threshold {HUBER_DELTA:g}, unclipped score; their t / mm "
        "is against madminer's ALICES). madminer's",
        "``ParameterizedRatioEstimator`` runs with ``n_workers=0`` and its defaults",
        "otherwise (AMSGrad, learning rate decaying exponentially to lr/10);",
        "``ALICERatioEstimator`` with its defaults (Adam, learning rate constant for "
        "80 % of the epochs, then a cosine decay; hidden layers initialised with",
        "Glorot's scheme and the activation's gain, output layer at r̂ = 1).",
        "",
        "* **MSE**: mean of (log r̂ − log r)² on 20 000 held-out rows (exact log r).",
        "* **MSE / best mm**: ratio to madminer's best MSE at the same n (goal ≤ 0.8).",
        f"* **MLE**, **68 %**, **95 %**: from the expected −2Δlog L curve for "
        f"{N_EVENTS} events at θ = {THETA_TRUE}",
        "  (201-point grid, Wilks thresholds). Exact curve: "
        f"MLE {exact[0]:+.3f}, 68 % {fmt_int(exact[1])}, 95 % {fmt_int(exact[2])}.",
        "* **fit s**: wall-clock seconds of ``fit``/``train``, the fastest of five",
        "  identical fits up to n = 1e3, of three up to 1e4 (one above);",
        "  **t / mm**: ratio to madminer's time for the same method (goal ≤ 1/3).",
        "* **torch loop**: the reference of what training costs here without a",
        "  library: a plain torch loop with the same network, batches and epochs",
        "  (torch's Adam, constant learning rate; ALICES through",
        "  ``torch.autograd.grad(create_graph=True)``).",
        "",
        f"Machine: {platform.machine()}, {args.threads} torch thread(s), torch "
        f"{torch.__version__}, Python {sys.version.split()[0]}. Produced by::",
        "",
        f"    {cmd}",
        "",
    ]
    header = [
        "n",
        "library",
        "loss",
        "MSE",
        "MSE / best mm",
        "MLE",
        "68 %",
        "95 %",
        "fit s",
        "t / mm",
    ]
    body = []
    for n in sizes:
        sub = [r for r in rows if r["n"] == n]
        best_mm = min(r["mse"] for r in sub if r["lib"] == "madminer")
        mm_time = {r["method"]: r["seconds"] for r in sub if r["lib"] == "madminer"}
        for r in sub:
            body.append(
                [
                    f"{n:,}",
                    r["lib"],
                    r["method"],
                    f"{r['mse']:.4f}",
                    f"{r['mse'] / best_mm:.2f}",
                    f"{r['mle']:+.3f}",
                    fmt_int(r["i68"]),
                    fmt_int(r["i95"]),
                    f"{r['seconds']:.3g}",
                    f"{r['seconds'] / mm_time[r['method'].split('-')[0]]:.2f}",
                ]
            )
    lines += [rst_table([dict(zip(header, b)) for b in body], header), ""]

    # goals
    extra = pathlib.Path(args.out).resolve() == EXTRA
    lines += ["Goals", "^^^^^" if extra else "~~~~~", ""]
    lines += [
        "Timings are wall-clock on a 2-core machine shared with other jobs; they",
        "vary by ~±30 % between runs.",
        "",
    ]
    for n in sizes:
        sub = [r for r in rows if r["n"] == n]
        best_mm = min(r["mse"] for r in sub if r["lib"] == "madminer")
        best_sk = min(r["mse"] for r in sub if r["lib"] == "skhep_ml")
        ok = best_sk <= 0.8 * best_mm
        lines.append(
            f"* n = {n:,}: best skhep_ml MSE / best madminer MSE = "
            f"{best_sk / best_mm:.2f} ({'met' if ok else 'NOT met'}, goal ≤ 0.8)."
        )
    big = max(sizes)
    sk_big = [r for r in rows if r["n"] == big and r["lib"] == "skhep_ml"]
    best = min(sk_big, key=lambda r: r["mse"])
    dev = abs(best["mle"] - THETA_TRUE)
    lines.append(
        f"* n = {big:,}: MLE of the best skhep_ml fit ({best['method']}) is "
        f"{best['mle']:+.3f}, {dev:.3f} from θ = {THETA_TRUE} "
        f"({'met' if dev <= 0.02 else 'NOT met'}, goal ≤ 0.02"
        f"{'' if big >= 100_000 else '; the goal is stated for n = 100,000'})."
    )
    ratios = []
    for r in rows:
        if r["lib"] != "skhep_ml":
            continue
        mm = next(
            m
            for m in rows
            if m["lib"] == "madminer"
            and m["n"] == r["n"]
            and m["method"] == r["method"].split("-")[0]
        )
        ratios.append(r["seconds"] / mm["seconds"])
    lines.append(
        f"* fit time / madminer's: {min(ratios):.2f} to {max(ratios):.2f} "
        f"({'met' if max(ratios) <= 1 / 3 else 'NOT met everywhere'}, goal ≤ 0.33)."
    )

    def time_of(lib, r):
        return next(
            (
                m["seconds"]
                for m in rows
                if m["lib"] == lib
                and m["n"] == r["n"]
                and m["method"] == r["method"].split("-")[0]
            ),
            None,
        )

    plain = [r for r in rows if r["lib"] == "torch loop"]
    if plain:
        to_mm = [r["seconds"] / time_of("madminer", r) for r in plain]
        ours = [
            r["seconds"] / time_of("torch loop", r)
            for r in rows
            if r["lib"] == "skhep_ml" and time_of("torch loop", r)
        ]
        lines.append(
            f"* for scale: the plain torch loop takes {min(to_mm):.2f} to "
            f"{max(to_mm):.2f} of madminer's time on this machine; skhep_ml "
            f"takes {min(ours):.2f} to {max(ours):.2f} of the plain loop's."
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
