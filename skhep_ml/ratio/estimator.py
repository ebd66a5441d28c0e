"""ALICERatioEstimator: parameterised likelihood ratios (ALICE, ALICES, CARL)."""

from __future__ import annotations

import numbers
from functools import partial

import numpy as np
import torch
from scipy.special import expit
from scipy.stats import chi2
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch, check_array
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch import nn
from torch.nn import functional as F

from ..base import (
    NET_PARAMETER_CONSTRAINTS,
    Interval,
    StrOptions,
    TorchEstimatorMixin,
    TorchNet,
    check_finite,
    check_hidden_layer_sizes,
    check_is_fitted,
    check_sample_weight,
    derive_seed,
    validate_data,
    weighted_standardization,
)
from ..nn.input_grad import _TanhMLPInputGrad, _TanhMLPLoss
from ..nn.mlp import MLP
from .loss import RatioCrossEntropy, numerator_probability, ratio_cross_entropy

__all__ = ["ALICERatioEstimator", "likelihood_profile"]

_INV_SQRT_2PI = 0.3989422804014327


def _activation_derivative(act, a, h):
    """``act'(a)`` from the pre-activation ``a`` and the output ``h = act(a)``."""
    if isinstance(act, nn.Tanh):
        return 1.0 - h * h
    if isinstance(act, nn.SiLU):
        s = torch.sigmoid(a)
        return s * (1.0 + a * (1.0 - s))
    if isinstance(act, nn.ReLU):
        return (a > 0).to(a.dtype)
    if isinstance(act, nn.LeakyReLU):
        return (a > 0).to(a.dtype) * (1.0 - act.negative_slope) + act.negative_slope
    if isinstance(act, nn.ELU):
        return torch.where(a > 0, torch.ones_like(a), h + act.alpha)
    if isinstance(act, nn.GELU) and act.approximate == "none":
        return torch.special.ndtr(a) + a * torch.exp(-0.5 * a * a) * _INV_SQRT_2PI
    return None


class _RatioMLP(MLP):
    """:class:`~skhep_ml.nn.mlp.MLP` that also returns ``∂ output / ∂ θ``.

    :meth:`forward_with_theta_grad` propagates the derivative with respect to
    the last ``n_theta`` inputs along with the forward pass (forward-mode,
    ``∂h_l = act'(a_l) ⊙ (W_l ∂h_{l-1})``), so the ALICES score term needs one
    ordinary backward pass instead of a double backward through
    ``torch.autograd.grad(..., create_graph=True)``. For a tanh network (the
    default) value, derivative and backward are one fused autograd node
    (:func:`~skhep_ml.nn.tanh_mlp_input_grad`), and :meth:`forward` calls the
    layers' functions directly (no ``nn.Module`` call per layer; forward hooks
    on the sublayers are not run).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        layers = list(self.net)
        acts = layers[1::2]
        # tanh layers and one output: the fused nodes of nn.input_grad apply
        # (the plain forward stays on autograd, which without the tangents
        # costs less than a fused node)
        self._fused = (
            bool(acts)
            and all(type(a) is nn.Tanh for a in acts)
            and layers[-1].out_features == 1
        )
        self._linears = tuple(layers[0::2])

    def forward(self, x):
        if not self._fused:
            return super().forward(x)
        # the tanh network without nn.Module calls per layer (~10 µs a step
        # with small batches); the same operations as the Sequential
        h = x
        for lin in self._linears[:-1]:
            h = torch.tanh(F.linear(h, lin.weight, lin.bias))
        last = self._linears[-1]
        out = F.linear(h, last.weight, last.bias)
        return out.squeeze(-1) if self.squeeze_output else out

    def _fused_params(self, x, n_theta):
        """The weights for a fused node, or None where the node does not apply."""
        if self._fused and n_theta > 0 and not x.requires_grad:
            # tanh_mlp_input_grad's checks, done once in __init__
            return [p for lin in self._linears for p in (lin.weight, lin.bias)]
        return None

    def loss_with_theta_grad(self, x, n_theta, value_and_grad):
        """``(loss, output)`` of a loss of the output and its θ-gradient, fused.

        ``value_and_grad(out, grad) -> (loss, ∂loss/∂out, ∂loss/∂grad)``:
        network, loss and backward in one autograd node
        (:mod:`skhep_ml.nn.input_grad`). None where that node does not apply
        (not a tanh network): use :meth:`forward_with_theta_grad`.
        """
        params = self._fused_params(x, n_theta)
        if params is None:
            return None
        return _TanhMLPLoss.apply(x, n_theta, value_and_grad, *params)

    def forward_with_theta_grad(self, x, n_theta):
        params = self._fused_params(x, n_theta)
        if params is not None:
            return _TanhMLPInputGrad.apply(x, n_theta, *params)
        layers = list(self.net)
        # the tangents ∂h/∂θ_k are kept as (n_theta, n_rows, width): every
        # product below is then a plain matrix product or a broadcast over
        # the leading axis, both on contiguous memory
        h, dh = x, None
        for i in range(0, len(layers) - 1, 2):
            lin, act = layers[i], layers[i + 1]
            a = lin(h)
            if dh is None:
                # ∂a/∂θ: the θ columns of W, the same for every row
                w = lin.weight
                da = w[:, w.shape[1] - n_theta :].t().contiguous().unsqueeze(1)
            else:
                da = dh @ lin.weight.t()
            h = act(a)
            deriv = _activation_derivative(act, a, h)
            if deriv is None:
                return None
            dh = deriv * da
        last = layers[-1]
        out = last(h)
        if dh is None:  # no hidden layer: a linear model
            grad = last.weight[:, last.weight.shape[1] - n_theta :].expand(len(x), -1)
        else:
            grad = (dh @ last.weight.t()).squeeze(-1).t()
        return out.squeeze(-1), grad


class _RatioNet(TorchNet):
    """skorch net for ratio estimation; adds the ALICES joint-score term.

    The score term needs ``∇_θ log r̂``, the gradient of the network output with
    respect to the θ input columns. For a tanh network the training step
    runs network and loss as one node (:meth:`_RatioMLP.loss_with_theta_grad`
    with :meth:`RatioCrossEntropy.value_and_grad`); otherwise it gets the
    gradient from the module's forward-mode pass
    (:meth:`_RatioMLP.forward_with_theta_grad`);
    for other modules (or extra forward arguments) it marks the input batch as
    requiring gradients and :meth:`get_loss` differentiates with
    ``create_graph=True``. The validation loss (no gradients) is the
    cross-entropy alone.
    """

    def _needs_score(self):
        return self.criterion_.alpha > 0

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi = to_tensor(Xi, device=self.device)
        yi = to_tensor(yi, device=self.device)
        step = None if fit_params else self._direct_step(Xi, yi)
        if step is None:  # skorch's generic path; the score term by double backward
            if self._needs_score():
                Xi = Xi.detach().requires_grad_(True)
            y_pred = self.infer(Xi, **fit_params)
            step = {"loss": self.get_loss(y_pred, yi, X=Xi, training=True)}
            step["y_pred"] = y_pred
        step["loss"].backward()
        return step

    def _direct_step(self, Xi, yi):
        """The batch's loss without skorch's ``infer``/``get_loss``, or None.

        CARL/ALICE: module, then criterion. ALICES: network and loss in one
        node where the module offers it, else the module's forward-mode
        θ-gradient and the criterion; None when the module has neither.
        """
        module = self.module_
        if not self._needs_score():
            y_pred = module(Xi)
            return {"loss": self.criterion_(y_pred, yi), "y_pred": y_pred}
        n_theta = yi.shape[1] - 3
        if hasattr(module, "loss_with_theta_grad"):
            fused = module.loss_with_theta_grad(
                Xi, n_theta, partial(self.criterion_.value_and_grad, packed=yi)
            )
            if fused is not None:
                return {"loss": fused[0], "y_pred": fused[1]}
        if not hasattr(module, "forward_with_theta_grad"):
            return None
        out = module.forward_with_theta_grad(Xi, n_theta)
        if out is None:
            return None
        y_pred, score_hat = out
        return {"loss": self.criterion_(y_pred, yi, score_hat), "y_pred": y_pred}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = to_tensor(y_true, device=self.device)
        score_hat = None
        if training and self._needs_score() and torch.is_tensor(X) and X.requires_grad:
            n_theta = y_true.shape[1] - 3
            (grad,) = torch.autograd.grad(y_pred.sum(), X, create_graph=True)
            score_hat = grad[:, grad.shape[1] - n_theta :]
        return self.criterion_(y_pred, y_true, score_hat)



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


def likelihood_profile(
    log_ratio, theta_grid, *, n_events=None, confidence_levels=(0.68, 0.95)
):
    """−2Δlog L curve, maximum-likelihood estimate and Wilks intervals on a θ grid.

    For independent events the log likelihood ratio of the sample is the sum of
    the per-event ``log r(x_i|θ, θ_1)``; the θ-independent reference term
    cancels in ``q(θ) = -2 [log L(θ) - max_θ' log L(θ')]``. Intervals are the
    sets ``q(θ) <= F^{-1}_{χ²_k}(CL)`` with ``k = n_theta`` (Wilks' theorem).

    Parameters
    ----------
    log_ratio : array-like of shape (n_grid, n_events_in)
        ``log r(x_i|θ_j, θ_1)`` for every grid point ``j`` and event ``i``.
    theta_grid : array-like of shape (n_grid,) or (n_grid, n_theta)
        The θ points.
    n_events : int, default=None
        ``None``: the observed curve, a sum over the events. An integer: the
        expected curve for ``n_events`` events, ``n_events`` times the mean over
        the given events (pass a large sample simulated at the true θ).
    confidence_levels : tuple of float, default=(0.68, 0.95)
        Levels of the intervals.

    Returns
    -------
    profile : sklearn.utils.Bunch
        ``theta`` (n_grid, n_theta), ``log_likelihood`` (n_grid,), ``q``
        (−2Δlog L, n_grid), ``mle`` (n_theta,; for 1-d θ refined by a
        parabola through the grid minimum and its neighbours), ``thresholds``
        ``{cl: χ² quantile}``, ``regions`` ``{cl: boolean mask over the
        grid}`` and, for 1-d θ, ``intervals`` ``{cl: (low, high)}`` from
        linear interpolation of the crossings (a bound at the grid edge means
        the interval is open there).

    Raises
    ------
    ValueError
        If shapes disagree or the log ratios are not finite.
    """
    theta = np.asarray(theta_grid, dtype=np.float64)
    theta = theta[:, None] if theta.ndim == 1 else theta
    log_ratio = np.asarray(log_ratio, dtype=np.float64)
    if log_ratio.ndim != 2 or log_ratio.shape[0] != theta.shape[0]:
        raise ValueError(
            f"log_ratio must have shape (n_grid={theta.shape[0]}, n_events), got "
            f"{log_ratio.shape}."
        )
    check_finite(log_ratio, "log_ratio")
    if n_events is None:
        log_l = log_ratio.sum(axis=1)
    else:
        log_l = float(n_events) * log_ratio.mean(axis=1)
    q = -2.0 * (log_l - log_l.max())
    n_theta = theta.shape[1]
    best = int(np.argmin(q))
    mle = theta[best].copy()
    thresholds = {cl: float(chi2.ppf(cl, n_theta)) for cl in confidence_levels}
    regions = {cl: q <= t for cl, t in thresholds.items()}
    out = Bunch(
        theta=theta,
        log_likelihood=log_l,
        q=q,
        mle=mle,
        thresholds=thresholds,
        regions=regions,
    )
    if n_theta == 1:
        order = np.argsort(theta[:, 0])
        grid, qs = theta[order, 0], q[order]
        i = int(np.argmin(qs))
        if 0 < i < len(grid) - 1:
            x0, x1, x2 = grid[i - 1 : i + 2]
            y0, y1, y2 = qs[i - 1 : i + 2]
            denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
            a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
            b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / denom
            if a > 0:
                out.mle = np.array([np.clip(-b / (2 * a), x0, x2)])
        intervals = {}
        for cl, t in thresholds.items():
            lo_i = i
            while lo_i > 0 and qs[lo_i - 1] <= t:
                lo_i -= 1
            hi_i = i
            while hi_i < len(grid) - 1 and qs[hi_i + 1] <= t:
                hi_i += 1
            lo, hi = grid[lo_i], grid[hi_i]
            if lo_i > 0:
                lo = np.interp(
                    t, [qs[lo_i], qs[lo_i - 1]], [grid[lo_i], grid[lo_i - 1]]
                )
            if hi_i < len(grid) - 1:
                hi = np.interp(
                    t, [qs[hi_i], qs[hi_i + 1]], [grid[hi_i], grid[hi_i + 1]]
                )
            intervals[cl] = (float(lo), float(hi))
        out.intervals = intervals
    return out


class ALICERatioEstimator(TorchEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Parameterised likelihood-ratio estimator trained with ALICE, ALICES or CARL.

    Learns ``r(x|θ, θ_1) = p(x|θ) / p(x|θ_1)`` as a function of the observation
    ``x`` and the parameter point θ from simulated events: a network outputs
    ``log r̂(x, θ)``, which defines the classifier probability
    ``ŝ = 1/(1 + r̂)`` of the reference θ_1. Training rows are
    ``X = [x, θ]`` (``n_theta`` trailing parameter columns), ``y = 0`` for
    events simulated at θ and ``y = 1`` for events simulated at θ_1.

    * ``loss="carl"``: cross-entropy with the labels (calibrated classifier).
    * ``loss="alice"``: cross-entropy against the soft label
      ``1/(1 + r(x,z|θ,θ_1))`` built from the *joint* likelihood ratio that
      the simulator computes along with each event (its latent history ``z``).
      Same minimum as CARL, much lower variance.
    * ``loss="alices"``: ALICE plus ``alpha`` times the squared error between
      ``∇_θ log r̂(x|θ)`` and the joint score ``t(x,z|θ)``, with the joint
      score clipped at ``±score_clip`` (it is heavy-tailed near interference
      zeros), or, with ``score_loss="huber"``, a Huber loss of the unclipped
      residual (quadratic up to ``score_clip``, linear beyond). The joint
      score regresses onto the score of ``p(x|θ)`` on events from θ; madminer
      uses those rows only (``score_label="hard"``). By default
      (``score_label="soft"``) every row counts, weighted by the probability
      ``P(θ|x,z)`` that its event came from θ
      (:func:`~skhep_ml.ratio.loss.numerator_probability`,
      ``r(x,z)/(1 + r(x,z))`` for balanced classes): the same expected loss
      as the hard class ``1 - y`` (it is its conditional expectation, as
      ALICE's soft label is that of ``y``) with a lower variance, which on
      the ALICE toy divides the error of ``log r̂`` by 2 to 3 at 1e4 to 1e5
      events.

    Without ``joint_ratio`` every loss falls back to CARL; without
    ``joint_score`` ALICES falls back to ALICE (``loss_used_`` says which ran).
    Inputs, θ included, are standardised inside the estimator.

    Parameters
    ----------
    n_theta : int, default=1
        Number of trailing columns of X that hold θ. ``n_theta=0`` makes a
        plain (unparameterised) ratio classifier.
    loss : {"alice", "alices", "carl"}, default="alice"
        Training loss.
    alpha : float, default=0.1
        Weight of the joint-score term of ALICES (madminer's convention: the
        squared error averaged over θ components and over all rows, each row
        weighted by its class ``1 - y`` or soft class ``P(θ|x,z)`` (the same
        expectation, see ``score_label``), in standardised θ units).
    score_clip : float or None, default=20.0
        ALICES with ``score_loss="squared"``: clip of the joint score
        (physical θ units); ``None`` keeps the raw score. With
        ``score_loss="huber"``: the Huber threshold of the residual
        ``∇_θ log r̂ - t`` (physical θ units; ``None`` means squared); the
        score itself is then not clipped.
    score_label : {"soft", "hard"}, default="soft"
        Rows of the ALICES score term: ``"hard"``, the rows with ``y = 0``
        (madminer's ALICES); ``"soft"``, every row weighted by
        ``P(θ|x,z) = π_0 r/(π_0 r + π_1)`` (``π``: the class fractions). Needs
        the joint score of the reference rows too, evaluated at their θ column,
        as madminer's ``sample_train_ratio`` and
        :func:`~skhep_ml.datasets.make_alice_toy` provide it.
    score_loss : {"squared", "huber"}, default="squared"
        Score term of ALICES. ``"squared"``: squared error against the clipped
        joint score (madminer's ALICES). ``"huber"``: a robust loss of the
        raw residual, ``a²`` for ``a ≤ score_clip`` and
        ``2 score_clip a - score_clip²`` beyond, so rare huge joint scores
        (near interference zeros) pull with bounded force instead of being
        either clipped (bias) or squared (noise); e.g. ``score_clip=1``.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden widths of the MLP.
    activation : {"tanh", "silu", "relu", "gelu", "elu", "leaky_relu"}, default="tanh"
        Hidden activation (smooth ones give smooth θ gradients for ALICES).
        On the ALICE toy (1e4 events, ALICES, three draws of the data) tanh,
        madminer's default, and gelu learned ``log r`` with 2 to 5 times
        smaller errors than silu.
    max_epochs : int, default=50
        Training epochs.
    batch_size : int, default=256
        Mini-batch size (capped at the number of samples).
    lr : float, default=1e-3
        Adam learning rate.
    lr_schedule : {"constant_cosine", "cosine", "constant"}, default="constant_cosine"
        Learning-rate schedule over ``max_epochs``: ``"constant_cosine"`` keeps
        ``lr`` for the first 80 % of the epochs and decays it along a cosine
        over the last 20 %. On the ALICE toy with 50 epochs (ALICES, torch's
        default initialisation of the hidden layers) it gave
        MSEs of ``log r̂`` of 0.065 / 0.012 / 0.0018 at 1e3 / 1e4 / 1e5 events,
        against 0.072 / 0.023 / 0.0017 for a cosine decay over all epochs and
        0.067 / 0.015 / 0.0071 for a constant rate (whose final weights stay
        noisy at 1e5).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` (split by skorch, joint ratios and
        scores with it), stop when the validation cross-entropy has not
        improved by ``tol`` for ``n_iter_no_change`` epochs, restore the best
        weights.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Minimal improvement of the validation loss.
    train_dtype : {"float32", "float64"}, default="float32"
        Precision of training (inference on the CPU is always float64).
        float64 costs about twice as much; weighted and repeated events then
        agree to round-off.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``. GPU fits are not
        bitwise reproducible.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks (deep-copied at fit).
    verbose : int, default=0
        0 silent, 1 skorch's epoch table, 2 adds a progress bar.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the validation split.

    Attributes
    ----------
    net_ : skhep_ml.base.TorchNet
        The trained net; ``net_.module_`` maps standardised ``[x, θ]`` to
        ``log r̂``.
    classes_ : ndarray of shape (2,)
        Class labels; ``classes_[0]`` marks events from θ (numerator),
        ``classes_[1]`` events from the reference θ_1.
    n_features_in_ : int
        Number of columns of X (observables + ``n_theta``).
    feature_names_in_ : ndarray of str
        Column names, when X had them.
    loss_used_ : str
        The loss that was trained: ``"alices"``, ``"alice"`` or ``"carl"``.
    loss_curve_ : list of float
        Training loss per epoch.
    n_iter_ : int
        Epochs run.

    See Also
    --------
    likelihood_profile : −2Δlog L, MLE and intervals from log ratios.
    skhep_ml.datasets.make_alice_toy : a simulator with exact ratios.

    Notes
    -----
    With ``f = log r̂(x, θ)`` the per-row losses are
    ``CARL = y softplus(f) + (1 - y) softplus(-f)``,
    ``ALICE = s softplus(f) + (1 - s) softplus(-f)`` with
    ``s = 1/(1 + r(x,z))``, and ALICES adds
    ``alpha (1 - y) |∇_θ f - clip(t(x,z))|^2``. All are weighted means.
    The output layer starts at zero, i.e. at ``r̂ = 1`` everywhere; the hidden
    layers start from Glorot's uniform initialisation with the gain of the
    activation (5/3 for tanh, √2 for the ReLU family), which on the ALICE toy
    (tanh, 50 epochs) lowered the MSE of ``log r̂`` from 0.065 to 0.039 at
    1e3 events and from 0.012 to 0.008 at 1e4 (ALICES) against torch's
    default ``U(±1/√fan_in)``; at 1e5 it changed the MSE by under 10 %
    (ALICE 0.0014 → 0.0015, ALICES 0.0017 → 0.0018). For ALICES
    the θ-gradient of the network is propagated forward along with its value
    (one ordinary backward pass per step instead of a double backward); with
    tanh (the default) value, θ-gradient, the loss and their backward are one
    fused autograd node (see :func:`skhep_ml.nn.tanh_mlp_input_grad`).
    Training runs in float32; on the CPU the network is then cast to float64
    for inference (see :mod:`skhep_ml.base`).

    :meth:`score` is minus the held-out cross-entropy (ALICE with
    ``joint_ratio``, CARL's log-loss without): a proper scoring rule,
    maximised by the true ratio, which is what a hyper-parameter search
    should optimise (accuracy is meaningless for heavily overlapping classes).

    References
    ----------
    .. [1] K. Cranmer, J. Pavez, G. Louppe, "Approximating likelihood ratios
       with calibrated discriminative classifiers", arXiv:1506.02169.
    .. [2] J. Brehmer, G. Louppe, J. Pavez, K. Cranmer, "Mining gold from
       implicit models to improve likelihood-free inference",
       arXiv:1805.12244.
    .. [3] M. Stoye, J. Brehmer, G. Louppe, J. Pavez, K. Cranmer,
       "Likelihood-free inference with an improved cross-entropy estimator",
       arXiv:1808.00973.

    Examples
    --------
    >>> from skhep_ml import ALICERatioEstimator
    >>> from skhep_ml.datasets import make_alice_toy
    >>> X, y, r, t = make_alice_toy(2000, random_state=0)
    >>> est = ALICERatioEstimator(max_epochs=5, random_state=0)
    >>> est.fit(X, y, joint_ratio=r).predict_log_ratio(X[:3]).shape
    (3,)
    """

    __metadata_request__fit = {"joint_ratio": True, "joint_score": True}
    __metadata_request__score = {"joint_ratio": True}

    _parameter_constraints = {
        **NET_PARAMETER_CONSTRAINTS,
        "n_theta": [Interval(numbers.Integral, 0, None, closed="left")],
        "loss": [StrOptions({"alice", "alices", "carl"})],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "score_clip": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "score_label": [StrOptions({"soft", "hard"})],
        "score_loss": [StrOptions({"squared", "huber"})],
        "activation": [str],
        "train_dtype": [StrOptions({"float32", "float64"})],
    }

    def __init__(
        self,
        *,
        n_theta=1,
        loss="alice",
        alpha=0.1,
        score_clip=20.0,
        score_label="soft",
        score_loss="squared",
        hidden_layer_sizes=(64, 64),
        activation="tanh",
        max_epochs=50,
        batch_size=256,
        lr=1e-3,
        lr_schedule="constant_cosine",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        train_dtype="float32",
        device="cpu",
        callbacks=None,
        verbose=0,
        random_state=None,
    ):
        self.n_theta = n_theta
        self.loss = loss
        self.alpha = alpha
        self.score_clip = score_clip
        self.score_label = score_label
        self.score_loss = score_loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.train_dtype = train_dtype
        self.device = device
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def _encode_y(self, y, *, fit):
        check_classification_targets(y)
        if fit:
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
            self._label_encoder = LabelEncoder().fit(y)
            self.classes_ = self._label_encoder.classes_
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(
                f"y contains {int(unknown.sum())} label(s) not seen in fit; classes "
                f"are {self.classes_.tolist()}."
            )
        return self._label_encoder.transform(y).astype(np.float64)

    def _check_n_theta(self, n_features):
        if self.n_theta > n_features:
            raise ValueError(
                f"n_theta={self.n_theta} exceeds the number of features of X "
                f"({n_features}); X must be [x, θ] with n_theta trailing θ columns."
            )

    def fit(self, X, y, joint_ratio=None, joint_score=None, sample_weight=None):
        """Train the ratio network on ``X = [x, θ]`` and the labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations followed by ``n_theta`` parameter columns (the
            numerator θ of the row, for both classes).
        y : array-like of shape (n_samples,)
            Two classes: ``classes_[0]`` (e.g. 0) for events simulated at θ,
            ``classes_[1]`` (e.g. 1) for events simulated at the reference θ_1.
        joint_ratio : array-like of shape (n_samples,), default=None
            Joint likelihood ratio ``r(x,z|θ,θ_1) > 0`` of every row. Requested
            by default for metadata routing. ``None``: train CARL.
        joint_score : array-like of shape (n_samples, n_theta), default=None
            Joint score ``t(x,z|θ) = ∇_θ log p(x,z|θ)`` of every row (used on
            rows with ``y = classes_[0]``). Requested by default for metadata
            routing. Only ``loss="alices"`` uses it.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative event weights.

        Returns
        -------
        self : ALICERatioEstimator
            The fitted estimator.

        Raises
        ------
        ValueError
            On NaN/inf in X, y with other than two classes, non-positive, NaN
            or mis-shaped ``joint_ratio``/``joint_score``, negative weights,
            ``n_theta`` larger than the number of features, CUDA requested but
            absent, or invalid parameters.
        """
        rng, device = self._init_fit()
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], ensure_min_samples=2
        )
        self._check_n_theta(X.shape[1])
        labels = self._encode_y(y, fit=True)
        n = len(X)
        w = check_sample_weight(sample_weight, X)
        log_r = np.zeros(n)
        loss_used = "carl"
        if joint_ratio is not None:
            log_r = _check_joint_ratio(joint_ratio, n)
            if self.loss != "carl":
                loss_used = "alice"
        score = np.zeros((n, self.n_theta))
        if joint_score is not None:
            score = _check_joint_score(joint_score, n, self.n_theta)
        use_score = (
            loss_used == "alice"
            and self.loss == "alices"
            and joint_score is not None
            and self.n_theta > 0
            and self.alpha > 0
        )
        if use_score:
            loss_used = "alices"
            if self.score_clip is not None and self.score_loss == "squared":
                score = np.clip(score, -self.score_clip, self.score_clip)
        self.loss_used_ = loss_used

        self._x_mean, self._x_scale = weighted_standardization(X, w)
        Xs = self._scale(X)
        # label of the numerator class (the criterion's target, see
        # RatioCrossEntropy): the soft label r(x,z)/(1 + r(x,z)) (ALICE) or
        # the class itself (CARL)
        target = 1.0 - labels if loss_used == "carl" else expit(log_r)
        # joint score in standardised θ units: ∂/∂θ_s = σ_θ ∂/∂θ
        theta_scale = self._x_scale[X.shape[1] - self.n_theta :]
        huber_delta = None
        if use_score and self.score_loss == "huber" and self.score_clip is not None:
            huber_delta = (self.score_clip * theta_scale).tolist()
        # the rows' weights in the score term: the hard class 1 - y, or its
        # expectation given the event, P(θ|x,z)
        score_weight = 1.0 - labels
        if use_score and self.score_label == "soft":
            score_weight = numerator_probability(
                torch.from_numpy(labels), torch.from_numpy(log_r), torch.from_numpy(w)
            ).numpy()
        packed = np.column_stack([score_weight, target, w, score * theta_scale])

        seed = derive_seed(rng)
        self.net_ = self._build_net(
            _RatioMLP,
            RatioCrossEntropy,
            net_class=_RatioNet,
            seed=seed,
            device=device,
            n_samples=n,
            module__n_in=X.shape[1],
            module__n_out=1,
            module__hidden_layer_sizes=check_hidden_layer_sizes(
                self.hidden_layer_sizes
            ),
            module__activation=self.activation,
            module__squeeze_output=True,
            # start at r̂ = 1 (no information): the scale of the first steps
            # is then set by the data, not by a random output layer
            module__zero_last=True,
            # hidden layers at unit scale (a tanh net then learns curvature early)
            module__glorot=True,
            criterion__alpha=float(self.alpha) if use_score else 0.0,
            criterion__huber_delta=huber_delta,
            criterion__weighted=sample_weight is not None,
        )
        self._train_net(Xs, packed, seed=seed)
        return self

    # ------------------------------------------------------------ inference
    def _scale(self, X):
        return (np.asarray(X, dtype=np.float64) - self._x_mean) / self._x_scale

    def _log_ratio_scaled(self, Xs):
        return self._forward_batches(lambda module, xb: module(xb), Xs)

    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self._scale(X)

    def predict_log_ratio(self, X):
        """Estimated ``log r(x|θ, θ_1) = log((1 - ŝ)/ŝ)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[x, θ]``.

        Returns
        -------
        log_r : ndarray of shape (n_samples,)
        """
        return self._log_ratio_scaled(self._check_X(X))

    def predict_ratio(self, X):
        """Estimated likelihood ratio ``r(x|θ, θ_1)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[x, θ]``.

        Returns
        -------
        r : ndarray of shape (n_samples,)
        """
        return np.exp(self.predict_log_ratio(X))

    def decision_function(self, X):
        """Log-odds of ``classes_[1]`` (the reference): ``-log r̂``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[x, θ]``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return -self.predict_log_ratio(X)

    def predict_proba(self, X):
        """Class probabilities ``[1 - ŝ, ŝ]`` with ``ŝ = 1/(1 + r̂)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[x, θ]``.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns follow ``classes_``.
        """
        f = torch.from_numpy(self.predict_log_ratio(X))
        return torch.stack([torch.sigmoid(f), torch.sigmoid(-f)], dim=1).numpy()

    def predict(self, X):
        """Most probable class (``classes_[1]`` where ``r̂ < 1``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[x, θ]``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        log_r = self.predict_log_ratio(X)
        return self.classes_[(log_r < 0).astype(int)]

    def score(self, X, y, joint_ratio=None, sample_weight=None):
        """Minus the mean held-out cross-entropy: the quantity to maximise.

        With ``joint_ratio`` this is minus the ALICE loss, otherwise minus the
        log-loss of the labels (CARL). Both are proper scores, maximised by the
        true ratio. ``joint_ratio`` is requested by default for metadata
        routing, so ``GridSearchCV`` scores folds with it when routing is
        enabled; without routing, search estimators pass no metadata to
        ``score`` and the log-loss of the labels is used. To score with
        ``sample_weight`` under routing call
        ``set_score_request(sample_weight=True)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[x, θ]``.
        y : array-like of shape (n_samples,)
            Labels (``classes_``).
        joint_ratio : array-like of shape (n_samples,), default=None
            Joint likelihood ratios of the rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights.

        Returns
        -------
        score : float
            ``-mean cross-entropy`` (higher is better).
        """
        log_r_hat = self.predict_log_ratio(X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        labels = self._encode_y(y, fit=False)
        if len(labels) != len(log_r_hat):
            raise ValueError(f"y has {len(labels)} rows but X has {len(log_r_hat)}.")
        w = check_sample_weight(sample_weight, log_r_hat[:, None])
        if joint_ratio is not None:
            target = torch.sigmoid(
                -torch.from_numpy(_check_joint_ratio(joint_ratio, len(labels)))
            )
        else:
            target = torch.from_numpy(labels)
        loss = ratio_cross_entropy(torch.from_numpy(log_r_hat), target).numpy()
        return -float(np.average(loss, weights=w))

    # --------------------------------------------------------------- profile
    def profile_likelihood(
        self, x, theta_grid, *, n_events=None, confidence_levels=(0.68, 0.95)
    ):
        """Profile of the estimated likelihood over a θ grid for observed events.

        Evaluates ``log r̂(x_i|θ_j)`` for every event and grid point and calls
        :func:`likelihood_profile`.

        Parameters
        ----------
        x : array-like of shape (n_events_in, n_observables)
            Observed events (observables only).
        theta_grid : array-like of shape (n_grid,) or (n_grid, n_theta)
            θ points.
        n_events : int, default=None
            ``None``: observed curve (sum over the events). An integer: expected
            curve for that many events (pass a large sample from the true θ).
        confidence_levels : tuple of float, default=(0.68, 0.95)
            Levels of the Wilks intervals/regions.

        Returns
        -------
        profile : sklearn.utils.Bunch
            ``theta``, ``log_likelihood``, ``q`` (−2Δlog L), ``mle``,
            ``thresholds``, ``regions`` and, for 1-d θ, ``intervals``; see
            :func:`likelihood_profile`.

        Raises
        ------
        ValueError
            If ``n_theta == 0``, or the shapes of ``x`` or ``theta_grid`` do
            not match the fit.
        """
        check_is_fitted(self)
        k = self.n_theta
        if k == 0:
            raise ValueError(
                "profile_likelihood needs a parameterised fit (n_theta > 0)."
            )
        x = check_array(x, dtype=np.float64)
        n_obs = self.n_features_in_ - k
        if x.shape[1] != n_obs:
            raise ValueError(
                f"x has {x.shape[1]} feature(s) but the estimator expects "
                f"{n_obs} observables (n_features_in_ - n_theta)."
            )
        theta = check_array(
            np.asarray(theta_grid, dtype=np.float64).reshape(len(theta_grid), -1)
        )
        if theta.shape[1] != k:
            raise ValueError(
                f"theta_grid must have {k} column(s) (n_theta), got {theta.shape[1]}."
            )
        xs = (x - self._x_mean[:n_obs]) / self._x_scale[:n_obs]
        ts = (theta - self._x_mean[n_obs:]) / self._x_scale[n_obs:]
        chunk = max(1, self.inference_batch_size // max(len(xs), 1))
        log_r = np.empty((len(ts), len(xs)))
        for start in range(0, len(ts), chunk):
            tb = ts[start : start + chunk]
            rows = np.concatenate(
                [np.repeat(xs[None], len(tb), 0), np.repeat(tb[:, None], len(xs), 1)],
                axis=2,
            ).reshape(-1, self.n_features_in_)
            log_r[start : start + len(tb)] = self._log_ratio_scaled(rows).reshape(
                len(tb), len(xs)
            )
        return likelihood_profile(
            log_r, theta, n_events=n_events, confidence_levels=confidence_levels
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
