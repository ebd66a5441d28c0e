"""ActiveScanner's verbose output: one plain line per iteration."""

import re

import numpy as np

from skhep_ml import ActiveScanner

ANSI = "\x1b["


def _objective(X):
    return X.sum(axis=1)


#: a small scan of a 2-d plane: in target where x + y >= 1.2
SMALL = dict(
    objective=_objective,
    bounds=[[0.0, 1.0], [0.0, 1.0]],
    target=(1.2, 2.0),
    n_initial=120,
    n_per_iteration=60,
    n_candidates=2000,
    n_iterations=3,
    hidden_layer_sizes=(8,),
    max_epochs=5,
    epochs_per_iteration=2,
    random_state=0,
)

LINE = re.compile(
    r"^iteration (\d+)( \(initial design\))?: (\d+) calls \((\d+) so far\), "
    r"(\d+) in target \((\d+) so far\), efficiency ([0-9.]+|nan)"
    r"(?:, surrogate accuracy ([0-9.]+))?$",
    flags=re.MULTILINE,
)


def _lines(out):
    return [
        dict(
            iteration=int(m[0]),
            initial=bool(m[1]),
            calls=int(m[2]),
            calls_so_far=int(m[3]),
            n_in=int(m[4]),
            n_in_so_far=int(m[5]),
            efficiency=float(m[6]),
            accuracy=float(m[7]) if m[7] else None,
        )
        for m in LINE.findall(out)
    ]


def _check_lines_against_history(lines, est):
    assert [line["iteration"] for line in lines] == [
        h["iteration"] for h in est.history_
    ]
    # the calls of the iterations add up to every evaluation of the scan
    assert sum(line["calls"] for line in lines) == est.n_evaluations_
    assert lines[-1]["calls_so_far"] == est.n_evaluations_
    assert np.array_equal(
        np.cumsum([line["calls"] for line in lines]),
        [line["calls_so_far"] for line in lines],
    )
    assert lines[-1]["n_in_so_far"] == int(est.in_target_.sum())
    for line, h in zip(lines, est.history_):
        assert line["n_in"] == h["n_in_target"]
        assert line["efficiency"] == round(h["efficiency"], 3)


def test_verbose_one_prints_one_plain_line_per_iteration(capsys):
    est = ActiveScanner(**SMALL, verbose=1).fit()
    out = capsys.readouterr().out
    assert ANSI not in out
    lines = _lines(out)
    assert len(out.splitlines()) == len(lines) == 1 + SMALL["n_iterations"]
    assert lines[0]["initial"] and lines[0]["calls"] == SMALL["n_initial"]
    assert lines[0]["accuracy"] is None  # no surrogate before the design
    assert all(line["accuracy"] is not None for line in lines[1:])
    assert [line["calls"] for line in lines[1:]] == [SMALL["n_per_iteration"]] * 3
    _check_lines_against_history(lines, est)


def test_verbose_zero_prints_nothing(capsys):
    ActiveScanner(**SMALL, verbose=0).fit()
    assert capsys.readouterr() == ("", "")


def test_verbose_two_adds_the_surrogate_epochs(capsys):
    est = ActiveScanner(**SMALL, verbose=2).fit()
    out = capsys.readouterr().out
    assert ANSI not in out
    lines = _lines(out)
    _check_lines_against_history(lines, est)
    epoch_rows = re.findall(r"^\s+(\d+)\s+[0-9.]+\s+[0-9.]+$", out, re.MULTILINE)
    # the first fit, then epochs_per_iteration per iteration
    assert [int(e) for e in epoch_rows] == list(range(1, len(epoch_rows) + 1))
    assert len(epoch_rows) == SMALL["max_epochs"] + 3 * SMALL["epochs_per_iteration"]


def test_a_resumed_scan_reports_the_stored_iterations_first(tmp_path, capsys):
    store = tmp_path / "scan.sqlite"
    ActiveScanner(**dict(SMALL, n_iterations=1, store=store)).fit()
    est = ActiveScanner(**SMALL, store=store, verbose=1).fit()
    lines = _lines(capsys.readouterr().out)
    assert [line["iteration"] for line in lines] == [0, 1, 2, 3]
    # stored iterations: no accuracy was recorded for them
    assert lines[1]["accuracy"] is None and lines[2]["accuracy"] is not None
    _check_lines_against_history(lines, est)


def test_fitting_the_surrogate_alone_prints_its_epochs(capsys):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(64, 2))
    est = ActiveScanner(
        bounds=SMALL["bounds"],
        target=SMALL["target"],
        hidden_layer_sizes=(8,),
        max_epochs=4,
        verbose=1,
        random_state=0,
    ).fit(X, X.sum(axis=1))
    out = capsys.readouterr().out
    assert ANSI not in out
    assert len(out.splitlines()) == 2 + est.n_iter_ == 6
