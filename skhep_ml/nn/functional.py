"""Tensor functions shared by the losses."""

from __future__ import annotations

import torch

__all__ = ["weighted_mean"]


def weighted_mean(values: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Weighted mean of ``values`` over the first axis (plain mean if no weight)."""
    if weight is None:
        return values.mean()
    return (weight * values).sum() / weight.sum().clamp_min(1e-30)
