"""Shared fixtures: seeding, --device, the gpu skip hook, benchmark smoke runs."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch


def pytest_addoption(parser):
    parser.addoption(
        "--device", default="cpu", help="torch device for device-aware tests"
    )


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="CUDA is not available")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed_all_backends():
    """Every test starts from the same global RNG state, and leaves it alone."""
    state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        np.random.seed(0)
        torch.manual_seed(0)
        yield
    np.random.set_state(state)


@pytest.fixture
def device(request):
    return request.config.getoption("--device")


BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench_smoke():
    """Run ``benchmarks/<script> --smoke [flags]`` on this checkout.

    Returns ``run(script, *flags, timeout=900) -> records(name)``: the script
    must exit 0, and ``records(name)`` loads the records of the JSON file
    ``name`` it wrote (``benchmarks/runner.load``); ``records.out`` is its
    output folder.
    """
    sys.path.insert(0, str(BENCH))
    import runner

    def run(script, *flags, timeout=900):
        proc = subprocess.run(
            [sys.executable, script, "--smoke", *flags],
            cwd=BENCH,
            capture_output=True,
            text=True,
            timeout=timeout,
            # the package of this checkout, not whichever one is installed
            env={**os.environ, "PYTHONPATH": str(BENCH.parent)},
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = Path(proc.stdout.split("output in ")[1].split()[0])

        def records(name):
            return runner.load(out / name)[1]

        records.out = out
        return records

    return run
