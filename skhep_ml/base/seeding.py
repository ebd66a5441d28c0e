"""Devices and seeds: one ``random_state`` for every random step of a fit."""

from __future__ import annotations

import contextlib
import threading

import numpy as np
import torch

MAX_SEED = np.iinfo(np.int32).max


def resolve_device(device) -> str:
    """Return the torch device string to train on.

    Parameters
    ----------
    device : {"cpu", "cuda", "cuda:N", "auto"} or None
        ``"auto"`` (or ``None``) picks CUDA when available, else the CPU.

    Returns
    -------
    device : str

    Raises
    ------
    ValueError
        If a CUDA device is requested and CUDA is not available, or the string
        is not a torch device.
    """
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a valid torch device.") from exc
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='cpu' or device='auto'."
        )
    return str(device)


def derive_seed(rng: np.random.RandomState) -> int:
    """Draw an integer seed for torch, a split or a sampler from ``rng``."""
    return int(rng.randint(MAX_SEED))


#: torch's default generator is process-wide: seeded sections in several threads of
#: one process (joblib's threading backend, dask's threaded workers) take turns, so
#: each fit stays reproducible. Process-based backends run in parallel as usual.
_TORCH_RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def torch_seed(seed: int, device: str = "cpu"):
    """Seed torch inside a forked RNG state; the caller's RNG is untouched.

    Sections in different threads are serialised (torch's default generator is
    shared by all threads of a process), so a seeded fit is reproducible even
    when fits run in threads.

    Parameters
    ----------
    seed : int
        Seed for :func:`torch.manual_seed` (all devices).
    device : str, default="cpu"
        When a CUDA device, its RNG is forked as well.
    """
    dev = torch.device(device)
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with _TORCH_RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
