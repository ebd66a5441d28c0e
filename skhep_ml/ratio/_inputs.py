"""The ratio estimator's inputs: labels, θ columns, the simulator's joint ratio
and score, checked and packed as training targets."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy.special import expit
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ..base import check_finite
from .loss import numerator_probability


def fit_label_encoder(y):
    """The encoder of the two classes of ``y`` (a clear error for other targets)."""
    check_classification_targets(y)
    kind = type_of_target(y)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            "ALICERatioEstimator needs events of both classes (numerator θ "
            f"and reference θ1); y has 1 class: {classes[0]!r}."
        )
    if kind != "binary" or len(classes) != 2:
        raise ValueError(
            "Only binary classification is supported. The type of the "
            f"target is {kind!r} with {len(classes)} classes; use y = 0 for "
            "events from θ and y = 1 for events from the reference θ1."
        )
    return LabelEncoder().fit(y)


def encode_labels(encoder, y):
    """``y`` as float 0/1 (``encoder.classes_`` order); unseen labels refused."""
    check_classification_targets(y)
    unknown = ~np.isin(y, encoder.classes_)
    if unknown.any():
        raise ValueError(
            f"y contains {int(unknown.sum())} label(s) not seen in fit; classes "
            f"are {encoder.classes_.tolist()}."
        )
    return encoder.transform(y).astype(np.float64)


def resolve_n_theta(n_theta, joint_score, n_features):
    """The number of θ columns: given, or the number of joint-score columns.

    ``n_theta=None`` is inferred from ``joint_score`` (one column per
    parameter); without a joint score nothing in ``[x, θ]`` tells how many
    trailing columns are θ, so it must be given. A given value must agree with
    the joint score's columns and fit in ``X``.
    """
    k = None
    if joint_score is not None:
        shape = np.shape(joint_score)
        k = 1 if len(shape) == 1 else int(shape[1]) if len(shape) == 2 else None
    if n_theta is None:
        if k is None:
            raise ValueError(
                "n_theta is required when no joint_score is passed to fit: X = "
                f"[x, θ] has {n_features} columns and nothing says how many "
                "trailing ones hold θ (e.g. ALICERatioEstimator(n_theta=1))."
            )
        n_theta = k
    elif k is not None and k != n_theta:
        raise ValueError(
            f"joint_score has {k} column(s) but n_theta={n_theta}; the joint "
            "score has one column per θ parameter."
        )
    check_n_theta(n_theta, n_features)
    return int(n_theta)


def check_n_theta(n_theta, n_features):
    """Refuse more θ columns than X has."""
    if n_theta > n_features:
        raise ValueError(
            f"n_theta={n_theta} exceeds the number of features of X "
            f"({n_features}); X must be [x, θ] with n_theta trailing θ columns."
        )


def reference_label(labels, joint_ratio=None):
    """Label of the reference class: the class, or ``1/(1 + r(x,z))`` (ALICE)."""
    if joint_ratio is None:
        return torch.from_numpy(labels)
    log_r = _check_joint_ratio(joint_ratio, len(labels))
    return torch.sigmoid(-torch.from_numpy(log_r))


def _check_joint_ratio(joint_ratio, n_samples):
    r = np.asarray(joint_ratio, dtype=np.float64)
    if r.ndim == 2 and r.shape[1] == 1:
        r = r[:, 0]
    if r.shape != (n_samples,):
        raise ValueError(f"joint_ratio must have shape ({n_samples},), got {r.shape}.")
    check_finite(r, "joint_ratio")
    bad = r <= 0
    if bad.any():
        raise ValueError(
            f"joint_ratio contains {int(bad.sum())} non-positive value(s) out of "
            f"{n_samples}; the joint likelihood ratio r(x,z|θ,θ1) must be > 0."
        )
    return np.log(r)


def _check_joint_score(joint_score, n_samples, n_theta):
    t = np.asarray(joint_score, dtype=np.float64)
    if t.ndim == 1:
        t = t[:, None]
    if t.shape != (n_samples, n_theta):
        raise ValueError(
            f"joint_score must have shape ({n_samples}, {n_theta}) (n_theta="
            f"{n_theta} columns), got {np.shape(joint_score)}."
        )
    check_finite(t, "joint_score")
    return t


def resolve_loss(loss, joint_ratio, joint_score, n_theta, alpha):
    """The loss a fit trains, from ``loss`` and the simulator outputs given.

    ``"auto"``: ALICES with a joint ratio and score, ALICE with the ratio
    only, CASCAL (CARL plus the score term) with the score only, CARL with
    neither. An explicit ``"alice"`` given a joint score, or ``"alices"``
    missing one of them, warns about what it ignores or falls back to.
    """
    has_r, has_t = joint_ratio is not None, joint_score is not None
    has_t = has_t and n_theta > 0 and alpha > 0
    if loss == "carl":
        return "carl"
    if loss == "alice":
        if joint_score is not None:
            warnings.warn(
                "loss='alice' ignores the joint_score passed to fit; use "
                "loss='auto' or loss='alices' to train on it.",
                UserWarning,
                stacklevel=4,
            )
        return "alice" if has_r else _fallback(loss, "carl", "joint_ratio")
    if has_r:
        used = "alices" if has_t else "alice"
    else:
        used = "cascal" if has_t else "carl"
    if loss == "alices" and used != "alices":
        missing = "joint_score" if has_r else "joint_ratio"
        _fallback(loss, used, missing)
    return used


def _fallback(loss, used, missing):
    warnings.warn(
        f"loss={loss!r} needs {missing}, which fit did not receive; training "
        f"{used!r} instead (loss_used_).",
        UserWarning,
        stacklevel=5,
    )
    return used


def training_targets(est, X, labels, w, joint_ratio, joint_score, x_scale, n_theta):
    """The loss a fit trains and the packed target tensor of its criterion.

    Parameters
    ----------
    est : ALICERatioEstimator
        Its ``loss``, ``alpha``, ``score_clip``, ``score_loss`` and
        ``score_label`` decide the loss.
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
        Encoded classes (0 = numerator θ, 1 = reference θ_1).
    w : ndarray of shape (n_samples,)
        Sample weights.
    joint_ratio, joint_score : array-like or None
        As passed to ``fit``.
    x_scale : ndarray of shape (n_features,)
        Standardisation scale of ``X`` (the score is trained in those units).
    n_theta : int
        Number of θ columns (resolved by :func:`resolve_n_theta`).

    Returns
    -------
    targets : sklearn.utils.Bunch
        ``loss_used`` (``"alices"``, ``"alice"``, ``"cascal"`` or ``"carl"``),
        ``packed`` (``[score weight, numerator label, weight, joint
        score...]``, see :class:`~skhep_ml.ratio.loss.RatioCrossEntropy`),
        ``alpha`` (0 without a score term) and ``huber_delta``.
    """
    n = len(X)
    log_r = np.zeros(n)
    if joint_ratio is not None:
        log_r = _check_joint_ratio(joint_ratio, n)
    score = np.zeros((n, n_theta))
    if joint_score is not None:
        score = _check_joint_score(joint_score, n, n_theta)
    loss_used = resolve_loss(est.loss, joint_ratio, joint_score, n_theta, est.alpha)
    use_score = loss_used in ("alices", "cascal")
    if use_score and est.score_clip is not None and est.score_loss == "squared":
        score = np.clip(score, -est.score_clip, est.score_clip)
    # label of the numerator class (the criterion's target, see
    # RatioCrossEntropy): the soft label r(x,z)/(1 + r(x,z)) (ALICE) or
    # the class itself (CARL)
    hard = loss_used in ("carl", "cascal")
    target = 1.0 - labels if hard else expit(log_r)
    # joint score in standardised θ units: ∂/∂θ_s = σ_θ ∂/∂θ
    theta_scale = x_scale[X.shape[1] - n_theta :]
    huber_delta = None
    if use_score and est.score_loss == "huber" and est.score_clip is not None:
        huber_delta = (est.score_clip * theta_scale).tolist()
    # the rows' weights in the score term: the hard class 1 - y, or its
    # expectation given the event, P(θ|x,z) (needs the joint ratio)
    score_weight = 1.0 - labels
    if loss_used == "alices" and est.score_label == "soft":
        score_weight = numerator_probability(
            torch.from_numpy(labels), torch.from_numpy(log_r), torch.from_numpy(w)
        ).numpy()
    return Bunch(
        loss_used=loss_used,
        packed=np.column_stack([score_weight, target, w, score * theta_scale]),
        alpha=float(est.alpha) if use_score else 0.0,
        huber_delta=huber_delta,
    )
