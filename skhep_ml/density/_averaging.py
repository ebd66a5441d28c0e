"""Polyak averaging of :class:`~skhep_ml.FlowDensity`'s weights (``ema_decay``)."""

from __future__ import annotations

import torch
from skorch.callbacks import Callback

__all__ = ["_WeightAveraging"]


class _WeightAveraging(Callback):
    """Exponential moving average of the module's weights (Polyak averaging).

    Updated after every training step with ``avg += (1 - decay) (w - avg)``.
    Validation (when there is a validation set) runs on the averaged weights,
    which stay loaded at the end of the epoch so that early stopping judges and
    keeps them; training resumes from the raw weights. At the end of training
    the averaged weights are loaded into the module.
    """

    def __init__(self, decay):
        self.decay = decay

    def on_train_begin(self, net, **kwargs):
        params = [p for p in net.module_.parameters() if p.requires_grad]
        self.params_ = params
        self.avg_ = [p.detach().clone() for p in params]
        self.raw_ = None

    def _load_average(self):
        if self.raw_ is None:
            self.raw_ = [p.detach().clone() for p in self.params_]
            with torch.no_grad():
                for p, a in zip(self.params_, self.avg_):
                    p.copy_(a)

    def on_epoch_begin(self, net, **kwargs):
        if self.raw_ is not None:
            with torch.no_grad():
                for p, r in zip(self.params_, self.raw_):
                    p.copy_(r)
            self.raw_ = None

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            self._load_average()

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            with torch.no_grad():
                for a, p in zip(self.avg_, self.params_):
                    a.lerp_(p.detach(), 1.0 - self.decay)

    def on_train_end(self, net, **kwargs):
        self._load_average()
        self.raw_ = None
        del self.params_, self.avg_
