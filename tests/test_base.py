"""The shared skorch machinery: data loader, device, seeding, validation."""

import numpy as np
import pytest
import torch

from skhep_ml.base import (
    ArrayDataset,
    BatchLoader,
    check_sample_weight,
    resolve_device,
    torch_seed,
)


def test_batch_loader_visits_every_row_once_per_epoch():
    ds = ArrayDataset(torch.arange(103.0)[:, None], torch.arange(103.0))
    loader = BatchLoader(ds, batch_size=10, shuffle=True)
    assert len(loader) == 11
    seen = torch.cat([xb[:, 0] for xb, _ in loader])
    assert sorted(seen.tolist()) == list(range(103))
    assert not torch.equal(seen, torch.arange(103.0))  # shuffled
    for xb, yb in loader:
        torch.testing.assert_close(xb[:, 0], yb)  # X and y stay aligned


def test_batch_loader_unwraps_subsets():
    ds = ArrayDataset(torch.arange(20.0)[:, None])
    sub = torch.utils.data.Subset(
        torch.utils.data.Subset(ds, list(range(5, 20))), [0, 2, 4]
    )
    rows = torch.cat([xb[:, 0] for xb, _ in BatchLoader(sub, batch_size=2)])
    assert rows.tolist() == [5.0, 7.0, 9.0]


def test_resolve_device(monkeypatch):
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="not a valid torch device"):
        resolve_device("tpu7")


def test_torch_seed_is_reproducible_and_leaves_global_state():
    before = torch.random.get_rng_state()
    with torch_seed(5):
        a = torch.rand(3)
    with torch_seed(5):
        b = torch.rand(3)
    torch.testing.assert_close(a, b)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_check_sample_weight_errors():
    X = np.zeros((4, 2))
    np.testing.assert_array_equal(check_sample_weight(None, X), np.ones(4))
    with pytest.raises(ValueError, match="Negative values"):
        check_sample_weight([1.0, -1.0, 1.0, 1.0], X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_sample_weight([1.0, np.nan, 1.0, 1.0], X)
    with pytest.raises(ValueError):
        check_sample_weight([1.0, 1.0], X)
