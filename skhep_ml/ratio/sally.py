"""SALLY: regression of the joint score, the locally optimal observables."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin

from ..base import (
    NET_PARAMETER_CONSTRAINTS,
    StrOptions,
    TorchEstimatorMixin,
    check_hidden_layer_sizes,
    check_is_fitted,
    check_sample_weight,
    derive_seed,
    validate_data,
    weighted_standardization,
)
from ..nn.mlp import MLP
from .loss import ScoreMSE

__all__ = ["SALLYTransformer"]


class SALLYTransformer(
    TorchEstimatorMixin, TransformerMixin, RegressorMixin, BaseEstimator
):
    """SALLY: the score ``∇_θ log p(x|θ_ref)`` regressed on the joint score.

    Trained on events ``x`` simulated at one reference point θ_ref with their
    joint score ``t(x,z|θ_ref) = ∇_θ log p(x,z|θ_ref)`` as target, the squared
    error is minimised by ``E[t|x] = ∇_θ log p(x|θ_ref)``, the score of the
    observed-data likelihood: near θ_ref the ``n_theta`` numbers ``t̂(x)`` are
    sufficient statistics (the locally optimal observables), so
    :meth:`transform` compresses events for a histogram or any later
    analysis, inside a ``Pipeline``. :meth:`fisher_information` is
    ``E[t̂ t̂ᵀ]`` over events at θ_ref, the information those observables
    carry (madminer's ``ScoreEstimator`` and ``FisherInformation``).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden widths of the MLP.
    activation : {"tanh", "silu", "relu", "gelu", "elu", "leaky_relu"}, default="tanh"
        Hidden activation.
    max_epochs : int, default=50
        Training epochs.
    batch_size : int, default=256
        Mini-batch size (capped at the number of samples).
    lr : float, default=1e-3
        Adam learning rate.
    lr_schedule : {"constant_cosine", "cosine", "constant"}, default="constant_cosine"
        Learning-rate schedule (see :class:`ALICERatioEstimator`).
    early_stopping : bool, default=False
        Stop on a held-out ``validation_fraction``.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Minimal improvement of the validation loss.
    train_dtype : {"float32", "float64"}, default="float32"
        Precision of training.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks.
    verbose : int, default=0
        Verbosity.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation and shuffling.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained net (standardised ``x`` to standardised score).
    n_features_in_ : int
        Number of observables.
    n_outputs_ : int
        Number of score components (``n_theta``).
    loss_curve_ : list of float
        Training loss per epoch.
    n_iter_ : int
        Epochs run.

    See Also
    --------
    ALICERatioEstimator : the full parameterised ratio.

    Notes
    -----
    The joint score is heavy-tailed near interference zeros; its squared
    error is an unbiased but noisy target, and ``E[t|x]`` is what the net
    approaches as data grow. Inputs and targets are standardised inside.

    References
    ----------
    .. [1] J. Brehmer, K. Cranmer, G. Louppe, J. Pavez, "Constraining
       effective field theories with machine learning", arXiv:1805.00013.

    Examples
    --------
    >>> from skhep_ml.datasets import make_simulator_family
    >>> from skhep_ml.ratio import SALLYTransformer
    >>> sim = make_simulator_family(3, kinds=("interference",))
    >>> x, z = sim.sample(2000, [0.3], random_state=0)
    >>> t = sim.joint_score(x, z, [0.3])
    >>> sally = SALLYTransformer(max_epochs=5, random_state=0).fit(x, t)
    >>> sally.transform(x[:3]).shape, sally.fisher_information(x).shape
    ((3, 1), (1, 1))
    """

    _parameter_constraints = {
        **NET_PARAMETER_CONSTRAINTS,
        "activation": [str],
        "train_dtype": [StrOptions({"float32", "float64"})],
    }

    def __init__(
        self,
        *,
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

    def fit(self, X, y, sample_weight=None):
        """Regress the joint score ``y`` on the events ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_observables)
            Events simulated at the reference point.
        y : array-like of shape (n_samples,) or (n_samples, n_theta)
            Their joint score ``t(x,z|θ_ref)``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative event weights.

        Returns
        -------
        self : SALLYTransformer
            The fitted transformer.

        Raises
        ------
        ValueError
            On NaN/inf in X or y, mismatched lengths, negative weights or
            invalid parameters.
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
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        y = y[:, None] if y.ndim == 1 else y
        self.n_outputs_ = y.shape[1]
        w = check_sample_weight(sample_weight, X)
        self._x_mean, self._x_scale = weighted_standardization(X, w)
        self._y_mean, self._y_scale = weighted_standardization(y, w)
        seed = derive_seed(rng)
        self.net_ = self._build_net(
            MLP,
            ScoreMSE,
            seed=seed,
            device=device,
            n_samples=len(X),
            module__n_in=X.shape[1],
            module__n_out=self.n_outputs_,
            module__hidden_layer_sizes=check_hidden_layer_sizes(
                self.hidden_layer_sizes
            ),
            module__activation=self.activation,
            module__zero_last=True,
            module__glorot=True,
            criterion__weighted=sample_weight is not None,
        )
        ys = (y - self._y_mean) / self._y_scale
        packed = np.column_stack([ys, w])
        self._train_net((X - self._x_mean) / self._x_scale, packed, seed=seed)
        return self

    def transform(self, X):
        """The estimated score ``t̂(x) = ∇_θ log p(x|θ_ref)`` of every event.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_observables)
            Events.

        Returns
        -------
        t_hat : ndarray of shape (n_samples, n_theta)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        Xs = (np.asarray(X, dtype=np.float64) - self._x_mean) / self._x_scale
        out = self._forward_batches(lambda module, xb: module(xb), Xs)
        return out.reshape(len(Xs), -1) * self._y_scale + self._y_mean

    def predict(self, X):
        """:meth:`transform`, 1-d when fitted on a 1-d ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_observables)
            Events.

        Returns
        -------
        t_hat : ndarray of shape (n_samples,) or (n_samples, n_theta)
        """
        t = self.transform(X)
        return t[:, 0] if self._y_1d else t

    def fisher_information(self, X, *, sample_weight=None, n_events=1):
        """Fisher information of the learned score, ``n_events E[t̂ t̂ᵀ]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_observables)
            Events simulated at the reference point (the expectation is over
            them).
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights.
        n_events : float, default=1
            Number of events the information is for (it is additive).

        Returns
        -------
        info : ndarray of shape (n_theta, n_theta)
        """
        t = self.transform(X)
        w = check_sample_weight(sample_weight, t)
        return float(n_events) * np.einsum("n,ni,nj->ij", w, t, t) / w.sum()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
