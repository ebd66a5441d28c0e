#!/usr/bin/env -S uv run --script
# /// script
# dependencies = ["nox>=2024.3.2"]
# ///
"""What a contributor runs: ``nox`` (the lint and tests sessions), ``nox -s docs``,
``nox -s benchmarks -- --quick``; ``nox -l`` lists them (``./noxfile.py`` with uv).

Each session makes its own virtual environment (``-R`` reuses it) and installs the
CPU torch wheel first, as the README does: a plain ``torch`` requirement would make
pip fetch a multi-GB CUDA build. Arguments after ``--`` go to the session's command.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "uv|virtualenv"

TORCH = "torch==2.13.0"
DOCS_OUTPUTS = ("_build", "auto_examples", "generated", "sg_execution_times.rst")


def _install(session: nox.Session, extras: str) -> None:
    """The CPU torch wheel, then the project (editable) with ``extras``."""
    session.install(TORCH)
    session.install("-e", f".[{extras}]")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format check) and mypy over the package, as CI runs them."""
    _install(session, "test")  # mypy reads torch's and numpy's types
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite: ``nox -s tests -- -m slow`` or ``-- tests/ratio -x``."""
    _install(session, "test")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(default=False)
def docs(session: nox.Session) -> None:
    """The sphinx site with the examples gallery executed, warnings as errors."""
    _install(session, "docs")
    for name in DOCS_OUTPUTS:
        path = Path("docs", name)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    session.run(
        "sphinx-build",
        "-q",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
        env={"MPLBACKEND": "Agg"},
    )


@nox.session(default=False)
def benchmarks(session: nox.Session) -> None:
    """Every side-by-side benchmark: ``nox -s benchmarks -- --quick --only ratio``.

    The ``bench`` extra's bayesian-torch needs torchvision, which pins its torch:
    the constraint keeps pip on the CPU torch instead of a newer CUDA build.
    """
    constraint = Path(session.create_tmp(), "torch-constraint.txt")
    constraint.write_text(TORCH + "\n")
    session.install(TORCH)
    session.install("-e", ".[bench]", "-c", str(constraint))
    session.run("python", "benchmarks/run_all.py", *session.posargs)


if __name__ == "__main__":
    nox.main()
