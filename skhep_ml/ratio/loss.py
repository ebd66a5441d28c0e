"""Losses of likelihood-ratio estimation: CARL, ALICE, ALICES."""

from __future__ import annotations

import numbers

import torch
from torch import nn
from torch.nn import functional as F

from ..nn.functional import weighted_mean

__all__ = [
    "RatioCrossEntropy",
    "ScoreMSE",
    "alice_loss",
    "alices_loss",
    "carl_loss",
    "joint_score_mse",
    "numerator_probability",
    "ratio_cross_entropy",
]


def ratio_cross_entropy(log_r_hat: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy of ``ŝ = 1/(1 + r̂)`` against a (soft) label.

    ``ŝ`` is the classifier's probability of the reference hypothesis θ_1 and
    the network output is ``log r̂`` (its negative logit), so the loss is
    ``target · softplus(log r̂) + (1 - target) · softplus(-log r̂)``,
    stable for any ``log r̂``.

    Parameters
    ----------
    log_r_hat : tensor of shape (n,)
        Estimated log likelihood ratio ``log p(x|θ)/p(x|θ_1)``.
    target : tensor of shape (n,)
        Label in [0, 1]: the class (1 = reference) or ``1/(1 + r(x,z))``.

    Returns
    -------
    loss : tensor of shape (n,)
    """
    # one fused kernel: BCE of the logit -log r̂ is exactly the expression above
    return F.binary_cross_entropy_with_logits(-log_r_hat, target, reduction="none")


def carl_loss(log_r_hat, y, weight=None):
    """CARL: weighted cross-entropy of the ratio classifier with hard labels.

    Parameters
    ----------
    log_r_hat : tensor of shape (n,)
        Estimated log ratio.
    y : tensor of shape (n,)
        0 for events from θ (numerator), 1 for events from θ_1 (reference).
    weight : tensor of shape (n,), default=None
        Sample weights.

    Returns
    -------
    loss : scalar tensor

    References
    ----------
    .. [1] K. Cranmer, J. Pavez, G. Louppe, "Approximating likelihood ratios
       with calibrated discriminative classifiers", arXiv:1506.02169.
    """
    return weighted_mean(ratio_cross_entropy(log_r_hat, y), weight)


def alice_loss(log_r_hat, log_joint_ratio, weight=None):
    """ALICE: cross-entropy against the soft label ``s(x,z) = 1/(1 + r(x,z|θ,θ_1))``.

    Minimised, like CARL, by the true ratio ``r(x|θ,θ_1)``, with a much lower
    variance because the joint ratio replaces the sampled class.

    Parameters
    ----------
    log_r_hat : tensor of shape (n,)
        Estimated log ratio.
    log_joint_ratio : tensor of shape (n,)
        ``log r(x,z|θ,θ_1)`` of every row (both classes).
    weight : tensor of shape (n,), default=None
        Sample weights.

    Returns
    -------
    loss : scalar tensor

    References
    ----------
    .. [1] M. Stoye, J. Brehmer, G. Louppe, J. Pavez, K. Cranmer,
       "Likelihood-free inference with an improved cross-entropy estimator",
       arXiv:1808.00973.
    """
    target = torch.sigmoid(-log_joint_ratio)
    return weighted_mean(ratio_cross_entropy(log_r_hat, target), weight)


def numerator_probability(y, log_joint_ratio, weight=None):
    """Soft class of every row: the probability that its event came from θ.

    Rows are drawn from the mixture ``π_0 p(x,z|θ) + π_1 p(x,z|θ_1)`` (the
    class fractions ``π``, weighted by ``weight``), so given the event's joint
    history the probability of the numerator class is
    ``P(y=0|x,z,θ) = π_0 r / (π_0 r + π_1) = sigmoid(log r + log π_0/π_1)``
    with ``r = r(x,z|θ,θ_1)``; for balanced classes ``r/(1 + r)``, one minus
    ALICE's soft label. It is the conditional expectation of ``1 - y``, so
    any per-row loss weighted by it has the same expectation as that loss on
    the rows from θ only, with a lower variance (Rao-Blackwellisation: the
    score term of ALICES then learns from every row, as the ALICE
    cross-entropy does).

    Parameters
    ----------
    y : tensor of shape (n,)
        Class (0 = numerator, 1 = reference).
    log_joint_ratio : tensor of shape (n,)
        ``log r(x,z|θ,θ_1)`` of every row.
    weight : tensor of shape (n,), default=None
        Sample weights (for the class fractions).

    Returns
    -------
    p : tensor of shape (n,)
        ``P(y=0|x,z,θ)`` in [0, 1].
    """
    numerator = 1.0 - y
    if weight is None:
        pi0 = numerator.mean()
    else:
        pi0 = (weight * numerator).sum() / weight.sum()
    pi0 = pi0.clamp(0.0, 1.0)
    return torch.sigmoid(log_joint_ratio + torch.log(pi0) - torch.log1p(-pi0))


def joint_score_mse(
    score_hat, joint_score, score_weight, weight=None, clip=None, huber_delta=None
):
    """Score term of ALICES: squared error of ``∇_θ log r̂`` against the joint score.

    ``sum_i w_i c_i mean_k ρ(t̂_ik - t_ik) / sum_i w_i`` with ``c_i`` the row's
    weight in the score term: ``1 - y_i`` for madminer's
    ``ratio_score_mse_num`` (rows from θ only; rows from θ_1 count in the
    denominator) or :func:`numerator_probability` (every row, the same
    expected loss). The error is averaged over θ components, the joint score
    optionally clipped to ``[-clip, clip]`` against its heavy tail near
    interference zeros. ``ρ(a) = a²``, or with ``huber_delta`` the Huber
    function ``a²`` for ``|a| ≤ δ`` and ``2δ|a| - δ²`` beyond (linear tails:
    rare huge joint scores pull with bounded force, without clipping them).

    Parameters
    ----------
    score_hat : tensor of shape (n, n_theta)
        ``∇_θ log r̂(x|θ)``.
    joint_score : tensor of shape (n, n_theta)
        ``t(x,z|θ)``.
    score_weight : tensor of shape (n,)
        Weight of each row in the score term (``1 - y`` or
        :func:`numerator_probability`).
    weight : tensor of shape (n,), default=None
        Sample weights.
    clip : float, default=None
        Clip of the joint score.
    huber_delta : float or sequence of float, default=None
        Huber threshold, per θ component if a sequence; None: squared error.

    Returns
    -------
    loss : scalar tensor
    """
    if clip is not None:
        joint_score = joint_score.clamp(-clip, clip)
    sq = _score_residual_loss(score_hat - joint_score, huber_delta)
    return weighted_mean(sq.mean(-1) * score_weight, weight)


def _score_residual_loss(res, huber_delta):
    """``ρ(res)``: ``res²``, or Huber's with threshold ``huber_delta``."""
    if huber_delta is None:
        return res.square()
    q = _clamp_huber(res, _huber_threshold(huber_delta))
    # q = a inside δ: a²; q = ±δ outside: 2δ|a| - δ²
    return q * (2.0 * res - q)


def _huber_threshold(huber_delta):
    """A float when every θ component shares the threshold, else a tuple."""
    if isinstance(huber_delta, numbers.Real):
        return float(huber_delta)
    values = tuple(float(d) for d in huber_delta)
    return values[0] if len(set(values)) == 1 else values


def alices_loss(
    log_r_hat,
    score_hat,
    log_joint_ratio,
    joint_score,
    y,
    weight=None,
    alpha=0.1,
    clip=None,
    score_label="soft",
):
    """ALICES: :func:`alice_loss` + ``alpha`` × :func:`joint_score_mse`.

    Parameters
    ----------
    log_r_hat : tensor of shape (n,)
        Estimated log ratio.
    score_hat : tensor of shape (n, n_theta)
        ``∇_θ log r̂(x|θ)`` (computed with ``create_graph=True``).
    log_joint_ratio : tensor of shape (n,)
        Joint log ratio.
    joint_score : tensor of shape (n, n_theta)
        Joint score at θ.
    y : tensor of shape (n,)
        Class (0 = numerator).
    weight : tensor of shape (n,), default=None
        Sample weights.
    alpha : float, default=0.1
        Weight of the score term.
    clip : float, default=None
        Clip of the joint score.
    score_label : {"soft", "hard"}, default="soft"
        Rows of the score term: ``"hard"`` the rows from θ (weight ``1 - y``,
        madminer), ``"soft"`` every row weighted by
        :func:`numerator_probability` (same expected loss, lower variance).

    Returns
    -------
    loss : scalar tensor

    References
    ----------
    .. [1] M. Stoye et al., arXiv:1808.00973.
    """
    if score_label == "hard":
        score_weight = 1.0 - y
    elif score_label == "soft":
        score_weight = numerator_probability(y, log_joint_ratio, weight)
    else:
        raise ValueError(f"score_label must be 'soft' or 'hard', got {score_label!r}.")
    return alice_loss(log_r_hat, log_joint_ratio, weight) + alpha * joint_score_mse(
        score_hat, joint_score, score_weight, weight, clip
    )


class RatioCrossEntropy(nn.Module):
    """skorch criterion of the ratio estimator: CARL / ALICE (+ ALICES score term).

    The target tensor packs ``[c, 1 - label, sample_weight, t(x,z)...]``: the
    row's weight in the score term (``1 - y``, or the soft class
    :func:`numerator_probability`), the label of the *numerator* class
    (``1 - y`` for CARL, ``r(x,z)/(1 + r(x,z))`` for ALICE), the weight and
    the joint score. The cross-entropy of :func:`ratio_cross_entropy` against
    ``label`` is the binary cross-entropy of the logit ``log r̂`` against
    ``1 - label``, which needs no negation of the network output.
    The loss is that weighted cross-entropy plus, when the net passes
    ``score_hat = ∇_θ log r̂``, ``alpha`` times :func:`joint_score_mse`.

    Parameters
    ----------
    alpha : float, default=0.0
        Weight of the joint-score term (ALICES).
    huber_delta : float or sequence of float, default=None
        Huber threshold of the score term (see :func:`joint_score_mse`).
    weighted : bool, default=True
        Use the weight column. ``False`` (all weights equal) takes plain means
        (:func:`weighted_mean` without weights).
    """

    def __init__(self, alpha: float = 0.0, huber_delta=None, weighted: bool = True):
        super().__init__()
        self.alpha = alpha
        self.huber_delta = huber_delta
        self.weighted = weighted

    def forward(
        self, log_r_hat: torch.Tensor, packed: torch.Tensor, score_hat=None
    ) -> torch.Tensor:
        weight = packed[:, 2] if self.weighted else None
        loss = weighted_mean(
            F.binary_cross_entropy_with_logits(
                log_r_hat, packed[:, 1], reduction="none"
            ),
            weight,
        )
        if score_hat is not None and self.alpha > 0:
            loss = loss + self.alpha * joint_score_mse(
                score_hat,
                packed[:, 3:],
                packed[:, 0],
                weight,
                huber_delta=self.huber_delta,
            )
        return loss


def _clamp_huber(res, delta):
    if isinstance(delta, float):
        return res.clamp(-delta, delta)
    delta = torch.as_tensor(delta, dtype=res.dtype, device=res.device)
    return torch.clamp(res, min=-delta, max=delta)


class ScoreMSE(nn.Module):
    """Weighted squared error of SALLY: ``packed = [targets..., weight]``.

    Parameters
    ----------
    weighted : bool, default=True
        Use the weight column (``False``: plain means).
    """

    def __init__(self, weighted: bool = True):
        super().__init__()
        self.weighted = weighted

    def forward(self, pred: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
        target = packed[:, :-1]
        sq = (pred.reshape(target.shape) - target).square().mean(-1)
        return weighted_mean(sq, packed[:, -1] if self.weighted else None)
