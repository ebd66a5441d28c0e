"""Progress of long fits: plain lines everywhere, colours and a bar in a terminal.

Every estimator reports through these helpers, so output redirected to a file,
a pipe or a notebook log holds one plain line per stage, iteration or epoch and
no ANSI escape codes; only an interactive terminal gets skorch's coloured
epoch table and tqdm's progress bar.

* :func:`report`: one plain line of a stage (integrator stages, scan
  iterations), from a given verbosity on;
* :func:`value_error`: ``value +/- error`` in the lines' format;
* :class:`EpochLog`: skorch's epoch table (:class:`skorch.callbacks.PrintLog`),
  coloured only when printed to a terminal;
* :class:`TerminalProgressBar`: skorch's tqdm bar per epoch, in a terminal only;
* :func:`epoch_callbacks`: the two of them for a verbosity.
"""

from __future__ import annotations

import sys

from skorch.callbacks import PrintLog, ProgressBar

__all__ = [
    "EpochLog",
    "TerminalProgressBar",
    "epoch_callbacks",
    "is_terminal",
    "report",
    "value_error",
]


def is_terminal(stream=None) -> bool:
    """Whether ``stream`` (default: the current ``sys.stdout``) is a terminal.

    Parameters
    ----------
    stream : file-like, default=None
        The output stream; ``None`` is ``sys.stdout`` at the time of the call
        (so a redirection made after the estimator was built counts).

    Returns
    -------
    terminal : bool
        ``stream.isatty()``; ``False`` for a stream without it or a closed one.
    """
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except (ValueError, OSError):  # a closed or detached stream
        return False


def report(verbose, message: str, *, level: int = 1) -> None:
    """Print ``message`` as one plain line when ``verbose >= level``.

    Parameters
    ----------
    verbose : int or None
        The estimator's verbosity.
    message : str
        One line, without escape codes.
    level : int, default=1
        The verbosity from which the line is printed.
    """
    if verbose and verbose >= level:
        print(message, flush=True)


def value_error(value: float, error: float) -> str:
    """``value +/- error`` with the value's digits down to the error's second."""
    return f"{value:.6g} +/- {error:.2g}"


class EpochLog(PrintLog):
    """skorch's epoch table, plain unless printed to a terminal.

    :class:`skorch.callbacks.PrintLog` colours the best values of each column
    with ANSI escape codes; this subclass does so only when its sink is
    ``print`` and ``sys.stdout`` is a terminal at the time of the epoch.
    Every other parameter is :class:`~skorch.callbacks.PrintLog`'s.
    """

    def format_row(self, row, key, color):
        """Format one cell; the best-value colour only in a terminal."""
        if self.sink is not print or not is_terminal():
            row = {k: v for k, v in row.items() if k != key + "_best"}
        return super().format_row(row, key, color)


class TerminalProgressBar(ProgressBar):
    """skorch's tqdm progress bar of each epoch, shown in a terminal only.

    tqdm redraws its bar with carriage returns on ``sys.stderr``; when that is
    not a terminal (a file, a pipe, a CI log) the bar is skipped, so a log
    holds no partial lines. Parameters: :class:`~skorch.callbacks.ProgressBar`.
    """

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Start the bar when ``sys.stderr`` is a terminal."""
        self.pbar_ = None
        if is_terminal(sys.stderr) or self._use_notebook():
            super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)

    def on_batch_end(self, net, **kwargs):
        """Advance the bar, if shown."""
        if self.pbar_ is not None:
            super().on_batch_end(net, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        """Close the bar, if shown."""
        if self.pbar_ is not None:
            super().on_epoch_end(net, **kwargs)


def epoch_callbacks(verbose, epoch_verbosity: int | None = 1):
    """The epoch table and the progress bar for an estimator's ``verbose``.

    Parameters
    ----------
    verbose : int or None
        The estimator's verbosity.
    epoch_verbosity : int or None, default=1
        The verbosity from which every epoch prints one line (the next one adds
        the bar in a terminal); ``None``: never (the estimator reports its
        training itself).

    Returns
    -------
    print_log : EpochLog or None
        The table, or ``None`` for no epoch lines.
    progress_bar : TerminalProgressBar or None
        The bar, or ``None``.
    """
    verbose = verbose or 0
    if epoch_verbosity is None or verbose < epoch_verbosity:
        return None, None
    bar = TerminalProgressBar() if verbose > epoch_verbosity else None
    return EpochLog(), bar
