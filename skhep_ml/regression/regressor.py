"""BayesianRegressor: a Bayesian neural network surrogate with error bars."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from skorch import NeuralNet

from ..base import (
    NET_PARAMETER_CONSTRAINTS,
    Interval,
    StrOptions,
    TorchEstimatorMixin,
    check_hidden_layer_sizes,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
    derive_seed,
    validate_data,
    weighted_standardization,
)
from ..nn.bayesian import BayesianMLP
from ._boosting import PullBoosting, boost_epochs
from .loss import HeteroscedasticGaussianNLL

__all__ = ["BayesianRegressor"]

#: activations (floats) of one batch of weight draws: 2**19 floats = 2 MiB in
#: float32, the L2 cache of one core; larger batches ran 2-3x slower
_DRAW_BATCH_FLOATS = 2**19

#: default optimizer steps at 1,000 training rows (they grow as sqrt(n))
_STEPS_AT_1K = 5000


def _noise_sigma(mu, sigma):
    """σ_syst of weight draws: the learned width less the absorbed weight noise.

    Training samples the weights (local reparameterisation) for the mean and
    the log width alike, and the ELBO's likelihood term is stationary in the
    width's level when ``E_ω[r_ω² / σ_ω²] = 1`` (``r_ω = y - μ_ω``). Where the
    width's fluctuation over the draws is independent of the residual that
    gives ``E_ω r_ω² = 1 / E_ω[σ_ω⁻²]``: the squared residual the head was
    trained to is the *harmonic* mean of the draws' ``σ²`` (the arithmetic
    mean is larger by the spread of ``log σ_ω``, which grows as the posterior
    widens in long training). ``E_ω r_ω²`` is ``σ_noise² + bias² + Var_ω μ``;
    the last term is reported as ``σ_stat``, so it is removed:
    ``σ_syst² = 1 / E_ω[σ_ω⁻²] - Var_ω μ_ω`` (at least a hundredth of the
    first term), in the draws' units.
    """
    learned = 1.0 / np.mean(sigma**-2, axis=0)
    var_mu = mu.var(axis=0, ddof=1)
    return np.sqrt(np.maximum(learned - var_mu, 0.01 * learned))


class _BayesNet(NeuralNet):
    """skorch net whose loss is the ELBO: weighted NLL + kl_weight * KL."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        nll = super().get_loss(y_pred, y_true, X=X, training=training)
        return nll + self.criterion_.kl_weight * self.module_.kl()


class BayesianRegressor(TorchEstimatorMixin, RegressorMixin, BaseEstimator):
    """Bayesian neural network regressor with statistical and systematic errors.

    A network of variational linear layers (Gaussian weights, Gaussian prior,
    local reparameterisation) predicts a mean and a width per target. It is
    trained on the evidence lower bound: the heteroscedastic Gaussian negative
    log-likelihood plus the weights' KL divergence divided by the number of
    training points. The spread of predictions over sampled weights is the
    statistical uncertainty σ_stat (it shrinks with more data); the learned
    width is the systematic one σ_syst (noise or limited expressivity).
    Optional pull boosting (``n_boost_rounds``) up-weights, inside the one
    training schedule, the training points of the largest pulls
    ``|pred - y| / σ`` (controlled overtraining, arXiv:2206.14831), at the
    same optimizer steps as without it. On the amplitude family it has not
    lowered the tail of the error distribution at equal compute (it widened
    it, see the user guide), so it is off by default and no setting is
    recommended.

    Inputs and targets are standardised inside the estimator. For positive
    targets that span orders of magnitude (amplitudes) set
    ``target_transform="log"``: the network regresses ``log y`` and the
    predictions and both uncertainties come back in the original units by
    error propagation (``σ_y = y σ_log y``), which scikit-learn's
    ``TransformedTargetRegressor`` cannot do for ``return_std``.

    By default the training length follows the data: a budget of optimizer
    steps growing as the square root of the number of training rows, with a
    cosine learning-rate decay over it, and a held-out tenth of the data whose
    loss picks the weights kept (early stopping, restoring the best epoch).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(64, 64, 64)
        Widths of the hidden variational layers.
    activation : {"silu", "relu", "tanh", "gelu", "elu", "leaky_relu"}, default="silu"
        Hidden activation.
    prior_std : float, default=1.0
        Width of the Gaussian prior of every weight.
    init_std : float, default=1e-3
        Initial posterior width of every weight (small: start deterministic).
    max_epochs : int or None, default=None
        Training epochs. ``None``: as many as give
        ``round(5000 * sqrt(n_train / 1000))`` optimizer steps (``n_train``:
        rows left after the held-out splits), e.g. 7,100 steps at 2k rows,
        15,800 at 10k and 47,400 at 90k.
    batch_size : int, default=256
        Mini-batch size (capped at the number of samples).
    lr : float, default=1e-3
        Adam learning rate.
    lr_schedule : {"cosine", "constant", "constant_cosine"}, default="cosine"
        Learning-rate schedule over ``max_epochs`` (``"constant_cosine"``:
        constant, then a cosine decay over the last 20 % of the epochs).
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the data, stop when the validation
        loss has not improved by ``tol`` for ``n_iter_no_change`` epochs and
        restore the best weights.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int or None, default=None
        Patience of early stopping, in epochs; ``None``: a fifth of the epochs
        (at least 10), so the cosine decay at the end of the schedule is
        reached unless the held-out loss really stalls.
    tol : float, default=1e-4
        Minimal improvement of the validation loss.
    n_predict_samples : int, default=50
        Weight draws used by :meth:`predict` and :meth:`predict_uncertainty`.
        They are seeded at fit time, so repeated calls agree.
    n_boost_rounds : int, default=0
        Pull-boosting rounds inside the training schedule (0: none, the
        recommended setting; see the user guide for the measurements). Each
        round up-weights the ``boost_fraction`` of the training rows with the
        largest pulls ``|μ - y| / σ`` of the posterior-mean network; rows held
        out for early stopping are never boosted (with early stopping the
        restored best epoch may precede the rounds). The number of epochs and
        optimizer steps does not change.
    boost_start : float, default=0.5
        Fraction of the epochs after which the first round begins; round ``k``
        of ``R`` begins after ``start + (0.8 - start) k / R`` of them, so the
        last fifth of the schedule fits the boosted rows.
    boost_fraction : float, default=0.1
        Share of the training rows boosted per round.
    boost_strength : float, default=1.0
        A boosted row's weight is multiplied by ``1 + boost_strength`` per
        round (1: counted twice, as if duplicated).
    calibration_fraction : float, default=None
        If set, hold out this fraction of the training data and rescale both
        uncertainties by one factor so the held-out pulls ``(pred - y) / σ_tot``
        have unit root mean square (recalibration, arXiv:1807.00263). Useful on
        noise-free targets, where the learned width also absorbs the weight
        noise seen in training and σ_tot comes out too wide.
    target_transform : {None, "log"}, default=None
        ``"log"``: fit ``log y`` (``y`` must be positive) and return
        predictions ``exp(μ)`` with ``σ_stat`` and ``σ_syst`` multiplied by
        ``exp(μ)`` (first-order error propagation); ``sample_predictions``
        returns ``exp`` of the log-space draws.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``. GPU fits are not
        bitwise reproducible.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks (deep-copied at fit).
    verbose : int, default=0
        0 silent, 1 skorch's epoch table, 2 adds a progress bar.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, validation split and weight draws.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is the :class:`~skhep_ml.nn.BayesianMLP`.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of str
        Input feature names, when X had them.
    n_outputs_ : int
        Number of targets.
    loss_curve_ : list of float
        Training loss (negative ELBO per sample) per epoch.
    n_iter_ : int
        Epochs run.
    sample_weight_ : ndarray of shape (n_samples,)
        Training weights after boosting (the given ones without boosting);
        zero for rows held out for calibration.
    uncertainty_scale_ : float
        Factor applied to σ_stat and σ_syst (1.0 without calibration).

    See Also
    --------
    sklearn.neural_network.MLPRegressor : deterministic network.
    sklearn.gaussian_process.GaussianProcessRegressor : ``predict(return_std=True)``.

    Notes
    -----
    The loss per mini-batch is
    ``sum_i w_i NLL_i / sum_i w_i + KL / sum_all w``, with
    ``NLL_i = sum_t [(y_it - mu_it)^2 / (2 sigma_it^2) + log sigma_it]``.
    Over the ``K`` drawn networks, ``σ_stat^2 = Var_k μ_k`` and
    ``σ_syst^2 = max(H - σ_stat^2, 0.01 H)`` with ``H = 1 / E_k[σ_k^-2]``, the
    harmonic mean of the drawn widths: the squared residual of the sampled
    networks that the likelihood term trains the width to (the arithmetic
    mean ``E_k σ_k^2`` overshoots it by the spread of ``log σ_k`` over the
    draws, which grows with the training length). That residual contains the
    spread of the sampled means, which is removed so it is not counted twice.
    The total predictive width is ``σ_tot^2 = σ_stat^2 + σ_syst^2``
    (``= H`` above the floor).

    References
    ----------
    .. [1] C. Blundell et al., "Weight Uncertainty in Neural Networks",
       arXiv:1505.05424.
    .. [2] S. Badger et al., "Loop amplitudes from precision networks",
       arXiv:2206.14831.
    .. [3] G. Kasieczka et al., "Per-object systematics using deep-learned
       calibration" / BNN regression, arXiv:2003.11099.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml import BayesianRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 1))
    >>> y = np.sin(3 * X[:, 0]) + 0.1 * rng.normal(size=200)
    >>> reg = BayesianRegressor(max_epochs=20, random_state=0).fit(X, y)
    >>> mean, sigma_stat, sigma_syst = reg.predict_uncertainty(X[:3])
    >>> mean.shape, sigma_stat.shape
    ((3,), (3,))
    """

    _parameter_constraints = {
        **NET_PARAMETER_CONSTRAINTS,
        "activation": [str],
        "prior_std": [Interval(numbers.Real, 0, None, closed="neither")],
        "init_std": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_predict_samples": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_boost_rounds": [Interval(numbers.Integral, 0, None, closed="left")],
        "boost_start": [Interval(numbers.Real, 0, 0.8, closed="neither")],
        "boost_fraction": [Interval(numbers.Real, 0, 1, closed="right")],
        "boost_strength": [Interval(numbers.Real, 0, None, closed="left")],
        "calibration_fraction": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "target_transform": [StrOptions({"log"}), None],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(64, 64, 64),
        activation="silu",
        prior_std=1.0,
        init_std=1e-3,
        max_epochs=None,
        batch_size=256,
        lr=1e-3,
        lr_schedule="cosine",
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=None,
        tol=1e-4,
        n_predict_samples=50,
        n_boost_rounds=0,
        boost_start=0.5,
        boost_fraction=0.1,
        boost_strength=1.0,
        calibration_fraction=None,
        target_transform=None,
        device="cpu",
        callbacks=None,
        verbose=0,
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.prior_std = prior_std
        self.init_std = init_std
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.n_predict_samples = n_predict_samples
        self.n_boost_rounds = n_boost_rounds
        self.boost_start = boost_start
        self.boost_fraction = boost_fraction
        self.boost_strength = boost_strength
        self.calibration_fraction = calibration_fraction
        self.target_transform = target_transform
        self.device = device
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Fit the network on ``(X, y)`` by maximising the ELBO.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight acts as repeated rows.

        Returns
        -------
        self : BayesianRegressor
            The fitted estimator.

        Raises
        ------
        ValueError
            On NaN/inf in ``X`` or ``y``, negative or all-zero weights, CUDA
            requested but absent, or invalid parameters.
        """
        rng, device = self._init_fit()
        X, y = validate_data(
            self,
            X,
            y,
            dtype=[np.float64, np.float32],
            multi_output=True,
            y_numeric=True,
            ensure_min_samples=2,
        )
        w = check_sample_weight(sample_weight, X)
        self._y_ndim = y.ndim
        Y = self._forward_transform(y.reshape(len(y), -1).astype(np.float64))
        self.n_outputs_ = Y.shape[1]
        self._x_mean, self._x_scale = weighted_standardization(X, w)
        self._y_mean, self._y_scale = weighted_standardization(Y, w)
        Xs = self._scale_X(X)
        Ys = (Y - self._y_mean) / self._y_scale

        seed = derive_seed(rng)
        self._predict_seed = derive_seed(rng)
        self.uncertainty_scale_ = 1.0
        held = self._calibration_rows(w, rng)
        train_w = np.where(held, 0.0, w)
        keep = train_w > 0
        epochs = self._n_epochs(int(keep.sum()))
        self.net_ = self._build_net(
            BayesianMLP,
            HeteroscedasticGaussianNLL,
            net_class=_BayesNet,
            seed=seed,
            device=device,
            n_samples=int(keep.sum()),
            max_epochs=epochs,
            schedule_epochs=epochs,
            patience=self.n_iter_no_change or max(10, epochs // 5),
            module__n_in=X.shape[1],
            module__n_out=2 * self.n_outputs_,
            module__hidden_layer_sizes=check_hidden_layer_sizes(
                self.hidden_layer_sizes
            ),
            module__activation=self.activation,
            module__prior_std=self.prior_std,
            module__init_std=self.init_std,
            criterion__n_targets=self.n_outputs_,
            criterion__kl_weight=1.0 / train_w.sum(),
        )
        boosting = self._boosting(epochs)
        if boosting is not None:
            self.net_.callbacks = [*self.net_.callbacks, ("pull_boosting", boosting)]
        packed = np.column_stack([Ys, train_w])[keep]
        self._train_net(Xs[keep], packed, seed=seed)
        self.sample_weight_ = train_w.copy()
        if boosting is not None:
            self.sample_weight_[keep] = boosting.weights_
        if held.any():
            self.uncertainty_scale_ = self._calibrated_scale(
                Xs[held], Ys[held], w[held]
            )
        return self

    def _forward_transform(self, Y):
        """``Y`` or ``log Y`` (``target_transform="log"``; Y must be positive)."""
        if self.target_transform is None:
            return Y
        if not np.all(Y > 0):
            raise ValueError(
                f'target_transform="log" needs positive targets; y has '
                f"{int(np.sum(Y <= 0))} value(s) <= 0."
            )
        return np.log(Y)

    def _n_epochs(self, n_rows):
        """``max_epochs``, or the epochs of the default step budget (see there)."""
        if self.max_epochs is not None:
            return self.max_epochs
        n_fit = n_rows
        if self.early_stopping:
            n_fit = max(1, n_rows - math.ceil(self.validation_fraction * n_rows))
        steps_per_epoch = math.ceil(n_fit / max(1, min(self.batch_size, n_fit)))
        steps = round(_STEPS_AT_1K * math.sqrt(n_fit / 1000))
        return max(1, math.ceil(steps / steps_per_epoch))

    def _calibration_rows(self, w, rng):
        """Mask of the weighted rows held out for calibration (none without it)."""
        held = np.zeros(len(w), dtype=bool)
        if self.calibration_fraction is None:
            return held
        n_held = max(1, int(self.calibration_fraction * len(w)))
        held[rng.permutation(len(w))[:n_held]] = True
        held &= w > 0
        if not (w[~held] > 0).any() or not held.any():
            raise ValueError(
                f"calibration_fraction={self.calibration_fraction} leaves no "
                "weighted rows to train on or to calibrate with."
            )
        return held

    def _calibrated_scale(self, Xs, Ys, w):
        """Factor giving the held-out pulls ``(pred - y) / σ_tot`` unit RMS."""
        mean, s_stat, s_syst = self._uncertainty_scaled(Xs)
        pull2 = (mean - Ys) ** 2 / (s_stat**2 + s_syst**2)
        return float(np.sqrt(np.average(pull2.mean(axis=1), weights=w)))

    def _boosting(self, epochs):
        """The pull-boosting callback of this fit, or None without rounds."""
        if not self.n_boost_rounds:
            return None
        return PullBoosting(
            n_targets=self.n_outputs_,
            epochs=boost_epochs(epochs, self.n_boost_rounds, self.boost_start),
            fraction=self.boost_fraction,
            strength=self.boost_strength,
        )

    # ------------------------------------------------------------ inference
    def _scale_X(self, X):
        return (np.asarray(X, dtype=np.float64) - self._x_mean) / self._x_scale

    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self._scale_X(X)

    def _draws(self, Xs, n_samples, seed):
        """Means and widths of ``n_samples`` sampled networks, standardised units.

        The networks are drawn once (in the module's dtype, from ``seed``) and
        applied to every batch in one batched pass
        (:meth:`~skhep_ml.nn.BayesianMLP.forward_weight_sets`), in float32:
        the draws' spread and the fit error are far above float32 round-off.
        Returns arrays of shape (n_samples, n, n_outputs).
        """
        t = self.n_outputs_
        module = self.net_.module_
        gen = torch.Generator(device=self.net_.device).manual_seed(seed)
        with torch.no_grad():
            weights = module.sample_weight_sets(n_samples, gen, dtype=torch.float32)

        def fn(module, xb):
            out = module.forward_weight_sets(xb.to(torch.float32), weights)
            return out[..., :t].transpose(0, 1), out[..., t:].transpose(0, 1)

        mu, log_sigma = self._forward_batches(
            fn, Xs, batch_size=self._draw_batch_rows(n_samples)
        )
        return mu.transpose(1, 0, 2), np.exp(log_sigma.transpose(1, 0, 2))

    def _draw_batch_rows(self, n_samples):
        """Rows per batch so one layer's activations of all draws stay in cache."""
        widest = max(check_hidden_layer_sizes(self.hidden_layer_sizes))
        return max(16, _DRAW_BATCH_FLOATS // (n_samples * widest))

    def _uncertainty_scaled(self, Xs):
        mu, sigma = self._draws(Xs, self.n_predict_samples, self._predict_seed)
        scale = getattr(self, "uncertainty_scale_", 1.0)
        mean = mu.mean(axis=0)
        s_stat = scale * mu.std(axis=0, ddof=1)
        s_syst = scale * _noise_sigma(mu, sigma)
        return mean, s_stat, s_syst

    def _unscale(self, values, shift=True):
        out = values * self._y_scale + (self._y_mean if shift else 0.0)
        return out[..., 0] if self._y_ndim == 1 else out

    def _to_target_units(self, mean, s_stat, s_syst):
        """Undo ``target_transform`` (``y = exp(μ)``, ``σ_y = y σ``)."""
        if self.target_transform is None:
            return mean, s_stat, s_syst
        value = np.exp(mean)
        return value, value * s_stat, value * s_syst

    def predict_uncertainty(self, X):
        """Predictive mean with statistical and systematic uncertainties.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        mean : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Mean prediction over ``n_predict_samples`` weight draws.
        sigma_stat : ndarray, same shape
            Standard deviation of the draws' means (model/statistical).
        sigma_syst : ndarray, same shape
            Learned width, harmonic root-mean-square over the draws, less the
            spread of the draws' means that it absorbed in training
            (systematic: the noise, or the limited expressivity of the
            network; see Notes).
        """
        mean, s_stat, s_syst = self._uncertainty_scaled(self._check_X(X))
        return self._to_target_units(
            self._unscale(mean),
            self._unscale(s_stat, shift=False),
            self._unscale(s_syst, shift=False),
        )

    def predict(self, X, return_std=False):
        """Predict the mean, and optionally the total uncertainty.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        return_std : bool, default=False
            Also return ``σ_tot = sqrt(σ_stat^2 + σ_syst^2)``.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictive mean.
        y_std : ndarray, same shape
            Total predictive standard deviation (only with ``return_std``).
        """
        mean, s_stat, s_syst = self.predict_uncertainty(X)
        if return_std:
            return mean, np.sqrt(s_stat**2 + s_syst**2)
        return mean

    def sample_predictions(self, X, n_samples=100, random_state=None):
        """Draw targets from the posterior predictive distribution.

        Each draw samples a network from the weight posterior, then a target
        from its Gaussian ``N(mu(x), sigma(x)^2)``.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features)
            Inputs.
        n_samples : int, default=100
            Draws per input.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws.

        Returns
        -------
        y_samples : ndarray of shape (n_samples, n_samples_X) or
            (n_samples, n_samples_X, n_outputs)
        """
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        Xs = self._check_X(X)
        rng = check_random_state(random_state)
        mu, sigma = self._draws(Xs, int(n_samples), derive_seed(rng))
        noise = _noise_sigma(mu, sigma)
        draws = self._unscale(mu + noise * rng.standard_normal(mu.shape))
        return draws if self.target_transform is None else np.exp(draws)

    def __setstate__(self, state):
        # pickles of release 0.1.0 predate ``target_transform`` and the
        # in-schedule boosting (``boost_epochs`` was its round length)
        state.setdefault("target_transform", None)
        state.pop("boost_epochs", None)
        state.setdefault("boost_start", 0.5)
        state.setdefault("boost_fraction", 0.1)
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
