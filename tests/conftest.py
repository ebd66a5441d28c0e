"""Shared fixtures: seeding, the --device option and the gpu skip hook."""

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
