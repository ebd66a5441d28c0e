"""Progress output: plain lines when not a terminal, colours and a bar in one."""

import io
import re
import sys

import numpy as np
import pytest

import skhep_ml
from skhep_ml.base.progress import (
    EpochLog,
    TerminalProgressBar,
    epoch_callbacks,
    is_terminal,
    report,
    value_error,
)

ANSI = "\x1b["


class FakeTerminal(io.StringIO):
    """A captured stream that says it is a terminal."""

    def isatty(self):
        return True


#: cheap fits of the estimators whose fit is one training (epoch lines)
EPOCH_ESTIMATORS = {
    "BayesianRegressor": (dict(hidden_layer_sizes=(8,), n_predict_samples=4), "y"),
    "FlowDensity": (dict(n_transforms=1, bins=4, hidden_layer_sizes=(8,)), None),
    "ALICERatioEstimator": (dict(n_theta=1, hidden_layer_sizes=(8,)), "classes"),
}


def _fit(name, verbose, max_epochs=3):
    params, target = EPOCH_ESTIMATORS[name]
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(96, 2))
    y = {None: None, "y": X.sum(axis=1), "classes": np.arange(96) % 2}[target]
    est = getattr(skhep_ml, name)(
        **params, max_epochs=max_epochs, verbose=verbose, random_state=0
    )
    return est.fit(X, y)


def test_is_terminal_asks_the_stream():
    assert is_terminal(FakeTerminal())
    assert not is_terminal(io.StringIO())
    assert not is_terminal(object())  # no isatty at all
    closed = io.StringIO()
    closed.close()
    assert not is_terminal(closed)  # isatty raises ValueError


def test_is_terminal_defaults_to_the_current_stdout(monkeypatch):
    monkeypatch.setattr(sys, "stdout", FakeTerminal())
    assert is_terminal()
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert not is_terminal()


def test_report_prints_one_line_from_its_level(capsys):
    report(1, "stage one")
    report(1, "detail", level=2)
    report(2, "detail two", level=2)
    report(0, "silent")
    report(None, "silent too")
    assert capsys.readouterr().out == "stage one\ndetail two\n"


def test_value_error_keeps_the_digits_the_error_allows():
    assert value_error(1.23456789, 0.0012345) == "1.23457 +/- 0.0012"
    assert value_error(2.0, 0.5) == "2 +/- 0.5"


def test_epoch_callbacks_follow_the_verbosity():
    assert epoch_callbacks(0) == (None, None)
    assert epoch_callbacks(None) == (None, None)
    log, bar = epoch_callbacks(1)
    assert isinstance(log, EpochLog) and bar is None
    log, bar = epoch_callbacks(2)
    assert isinstance(log, EpochLog) and isinstance(bar, TerminalProgressBar)
    # an estimator reporting from verbose=2 on (e.g. the scanner's surrogate)
    assert epoch_callbacks(1, 2) == (None, None)
    assert isinstance(epoch_callbacks(3, 2)[1], TerminalProgressBar)
    assert epoch_callbacks(5, None) == (None, None)


@pytest.mark.parametrize("name", list(EPOCH_ESTIMATORS))
def test_verbose_one_prints_one_plain_line_per_epoch(name, capsys):
    est = _fit(name, verbose=1)
    captured = capsys.readouterr()
    assert ANSI not in captured.out
    assert captured.err == ""
    header, rule, *rows = captured.out.splitlines()
    assert header.split()[:2] == ["epoch", "train_loss"]
    assert set(rule) <= {"-", " "}
    assert len(rows) == est.n_iter_ == 3
    # each row: the epoch and its training loss (the table rounds to 4 digits)
    for epoch, (row, loss) in enumerate(zip(rows, est.loss_curve_), start=1):
        fields = row.split()
        assert int(fields[0]) == epoch
        assert float(fields[1]) == pytest.approx(loss, abs=1e-4)


@pytest.mark.parametrize("name", list(EPOCH_ESTIMATORS))
def test_verbose_zero_prints_nothing(name, capsys):
    _fit(name, verbose=0)
    assert capsys.readouterr() == ("", "")


def test_a_terminal_gets_the_colours(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    _fit("BayesianRegressor", verbose=1)
    out = terminal.getvalue()
    # skorch colours the best loss of each epoch (a falling loss: every row)
    assert ANSI in out
    assert re.sub(r"\x1b\[[0-9;]*m", "", out).count("\n") == 2 + 3


def test_the_progress_bar_draws_in_a_terminal_only(monkeypatch, capsys):
    _fit("BayesianRegressor", verbose=2, max_epochs=2)
    captured = capsys.readouterr()
    assert captured.err == "" and "\r" not in captured.out
    assert ANSI not in captured.out
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    _fit("BayesianRegressor", verbose=2, max_epochs=2)
    assert "it/s" in terminal.getvalue() or "%|" in terminal.getvalue()


def test_a_fitted_estimator_with_a_bar_pickles():
    import pickle

    est = _fit("BayesianRegressor", verbose=2, max_epochs=1)
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(
        clone.predict(np.full((2, 2), 0.5)), est.predict(np.full((2, 2), 0.5))
    )


def test_a_custom_sink_gets_plain_lines_even_in_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stdout", FakeTerminal())
    lines = []
    log = EpochLog(sink=lines.append).initialize()
    row = {"epoch": 1, "train_loss": 0.5, "train_loss_best": True, "dur": 0.1}
    assert log.format_row(row, "train_loss", color="\x1b[36m") == "0.5000"
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    plain = EpochLog().initialize()
    assert ANSI not in plain.format_row(row, "train_loss", color="\x1b[36m")
