"""Training of Bayesian flows: the ELBO as a skorch net."""

from __future__ import annotations

from skorch import NeuralNet

__all__ = ["BayesianFlowNet"]


class BayesianFlowNet(NeuralNet):
    """skorch net whose training loss is ``NLL + kl_weight * KL``.

    ``kl_weight`` is the criterion's (one over the effective number of
    training events): with the NLL a weighted mean per event, the sum is the
    negative evidence lower bound per event. Validation (early stopping) sees
    the NLL of the posterior-mean network.
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        nll = super().get_loss(y_pred, y_true, X=X, training=training)
        if not training:
            return nll
        return nll + self.criterion_.kl_weight * self.module_.flow.kl()
