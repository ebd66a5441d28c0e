"""ActiveScanner: iterative machine-learning scan of an expensive parameter space."""

from __future__ import annotations

import numbers
import os
import time

import numpy as np
import torch
from scipy.stats import qmc
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target

from ..base import (
    NET_PARAMETER_CONSTRAINTS,
    HasMethods,
    Interval,
    StrOptions,
    TorchEstimatorMixin,
    check_hidden_layer_sizes,
    check_is_fitted,
    check_random_state,
    derive_seed,
    validate_data,
)
from ..nn.mlp import MLP
from ._objective import run_objective
from ._proposal import oversample, select_points
from ._store import EvaluationStore, point_keys

__all__ = ["ActiveScanner"]

#: likelihood exp(-chi2/2) at the edge of the target band (chi2 = 1)
_BAND_EDGE = float(np.exp(-0.5))


class ActiveScanner(TorchEstimatorMixin, BaseEstimator):
    """Scan an expensive model's parameter space for its allowed region.

    The iterative machine-learning scan: an initial design L0 is evaluated
    with the expensive ``objective``; a surrogate is trained on it; a large
    candidate set L (uniform points plus points oversampled near the known
    in-target points with imbalanced-learn) is scored by the surrogate; a
    selection K of the candidates with the highest predicted likelihood (or
    probability), spread out for diversity, plus a random fraction and
    rectifying points near the predicted boundary, is evaluated; the
    surrogate is retrained and the loop repeats until ``n_target`` in-target
    points, ``max_evaluations`` calls or ``n_iterations`` iterations.

    Every evaluation is written to an SQLite ``store`` as soon as it returns;
    fitting again with the same store resumes without repeating a call.

    Without an ``objective``, :meth:`fit` only trains the surrogate on
    ``(X, y)``, as any scikit-learn regressor (or classifier) would.

    Parameters
    ----------
    objective : callable, default=None
        ``objective(X) -> values`` for ``X`` of shape ``(n, d)``, returning
        shape ``(n,)``: the observable (regression mode) or 1/0 for
        allowed/excluded (classification mode). It may raise or return NaN for
        some points: those are recorded as failed. Must be picklable for
        process-based joblib backends.
    bounds : array-like of shape (d, 2), default=None
        Lower and upper edge of each parameter. Required with an
        ``objective``; without one the training data's range is used.
    log_scale : bool or array-like of bool of shape (d,), default=False
        Sample (and feed the surrogate) ``log(x)`` in these dimensions.
    target : (float, float) or "classification" or None, default=None
        ``(low, high)``: regression mode, a point is in target when
        ``low <= O <= high``; the surrogate regresses ``O`` and candidates are
        ranked by the Gaussian likelihood ``exp(-χ²/2)``,
        ``χ² = ((Ô - c)/h)²`` with centre ``c`` and half-width ``h`` of the band
        (so the band is χ² <= 1). ``"classification"``: the objective returns
        1 (allowed) or 0 (excluded), the surrogate is a classifier and
        candidates are ranked by the predicted probability. ``None`` (only
        without an objective): a plain regression surrogate.
    n_initial : int, default=1000
        Size of the initial design L0 (topped up to this size when
        ``(X, y)`` are given).
    initial_design : {"random", "lhs"}, default="random"
        Uniform random points or a Latin hypercube.
    n_per_iteration : int, default=1000
        Points K evaluated per iteration.
    n_candidates : int, default=100000
        Size of the candidate set L scored by the surrogate per iteration.
    oversampler : "smote", imblearn sampler or None, default="smote"
        Generates a share ``oversample_fraction`` of the candidates near the
        known in-target points. Any imbalanced-learn sampler is accepted
        (cloned; its ``k_neighbors``/``n_neighbors`` capped at
        ``n_pos - 1``); it is skipped below 2 in-target points.
    oversample_fraction : float, default=0.5
        Share of L drawn by the oversampler.
    random_fraction : float, default=0.03
        Share of K drawn uniformly (exploration of unpredicted regions).
    rectify_fraction : float, default=0.02
        Share of K drawn among the candidates closest to the predicted
        boundary (where the surrogate is least sure; they rectify points
        predicted in target but not).
    diversity : float, default=2.0
        The selection draws, without replacement, from the candidates
        predicted in target with weights ``score * d^diversity``, ``d`` the
        distance to the nearest known in-target point, so gaps in the found
        region are filled first; 0 is a plain draw weighted by the score.
        Larger values trade a little efficiency for coverage (on the 3-d toy:
        1 → 94 % of the true cells, 2 → 98 %, 3 → 99 %).
    n_target : int, default=None
        Stop once this many in-target points are found.
    max_evaluations : int, default=None
        Stop at this many objective calls (failed ones included).
    n_iterations : int, default=10
        Stop after this many iterations (after L0); ``None`` for no limit
        (then ``n_target`` or ``max_evaluations`` must be set). All three
        limits count what the ``store`` already holds from earlier fits.
    store : str or os.PathLike, default=None
        SQLite file of the evaluations; ``None`` keeps them in memory.
    n_jobs : int, default=None
        joblib workers for the objective; the backend follows
        :func:`joblib.parallel_config` (e.g. ``backend="dask"``).
    eval_batch_size : int, default=100
        Points per objective call (the unit that is written to the store).
    estimator : scikit-learn regressor or classifier, default=None
        Surrogate (cloned and refit each iteration on inputs mapped to
        ``[-1, 1]^d``). ``None``: a skorch-trained MLP kept as ``net_`` and
        warm-started between iterations.
    hidden_layer_sizes : tuple of int, default=(64, 64, 64)
        Widths of the default MLP.
    activation : str, default="silu"
        Hidden activation of the default MLP.
    max_epochs : int, default=200
        Epochs of the first fit of the default MLP.
    epochs_per_iteration : int, default=20
        Epochs of continued training per iteration.
    batch_size : int, default=256
        Mini-batch size.
    lr : float, default=1e-3
        Adam learning rate.
    lr_schedule : {"constant", "cosine", "constant_cosine"}, default="constant"
        Learning-rate schedule of the first fit (``"constant_cosine"``: constant,
        then a cosine decay over the last 20 % of the epochs).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` and stop on the validation loss.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping.
    tol : float, default=1e-4
        Minimal improvement for early stopping.
    device : str, default="cpu"
        Torch device of the default MLP.
    callbacks : list, default=None
        Extra skorch callbacks.
    verbose : int, default=0
        1 prints one line per iteration and skorch's epoch table.
    random_state : int, RandomState instance or None, default=None
        Seeds the design, candidates, selection, oversampling and the MLP.
        Each iteration draws from ``(seed, iteration)``, so a resumed scan
        continues deterministically from what its store holds.

    Attributes
    ----------
    points_ : ndarray of shape (n_points, d)
        Successfully evaluated points, in proposal order.
    values_ : ndarray of shape (n_points,)
        Their objective values.
    in_target_ : ndarray of bool of shape (n_points,)
        Whether each point is in target.
    failed_points_ : ndarray of shape (n_failed, d)
        Points whose evaluation raised or returned NaN.
    n_evaluations_ : int
        Objective calls (points) made, over all resumed fits, failed included.
    history_ : list of dict
        Per iteration (0 is L0): ``iteration``, ``n_calls``, ``n_in_target``,
        ``efficiency`` (in-target share of the iteration's calls),
        ``surrogate_accuracy`` (in/out accuracy of the surrogate on the
        iteration's points, before it saw them; NaN for L0 and resumed
        iterations), ``n_calls_total``, ``n_in_target_total``, ``n_failed``,
        ``objective_time``, ``surrogate_time``.
    bounds_ : ndarray of shape (d, 2)
        Bounds used.
    estimator_ : estimator
        The fitted surrogate when ``estimator`` is given.
    net_ : skorch.NeuralNet
        The default MLP surrogate.
    classes_ : ndarray
        Class labels (classification mode).
    n_features_in_ : int
        Number of parameters ``d``.
    feature_names_in_ : ndarray of str
        Names of the parameters, when ``X`` had them.
    loss_curve_ : list of float
        Training loss per epoch of the default MLP (last training call).
    n_iter_ : int
        Epochs in the default MLP's history.

    See Also
    --------
    skhep_ml.datasets.make_scan_problem : toys with a known allowed region.

    Notes
    -----
    Estimator type: regressor tags (``score`` is R²) for a band or ``None``
    target, classifier tags (``score`` is the accuracy, binary only) for
    ``target="classification"``. :meth:`predict_proba` exists in
    classification mode only.

    References
    ----------
    .. [1] A. Hammad, M. Park, R. Ramos, P. Saha, "Exploration of parameter
       spaces assisted by machine learning", arXiv:2207.09959.
    .. [2] J. Ren, L. Wu, J. M. Yang, J. Zhao, "Exploring supersymmetry with
       machine learning", arXiv:1708.06615.
    .. [3] N. V. Chawla et al., "SMOTE: Synthetic Minority Over-sampling
       Technique", arXiv:1106.1813.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml import ActiveScanner
    >>> def objective(X):
    ...     return np.sum(X**2, axis=1)
    >>> scan = ActiveScanner(objective=objective, bounds=[[-1, 1], [-1, 1]],
    ...                      target=(0.2, 0.4), n_initial=100, n_per_iteration=50,
    ...                      n_candidates=1000, n_iterations=2, max_epochs=10,
    ...                      epochs_per_iteration=2, random_state=0).fit()
    >>> scan.points_.shape[1], len(scan.history_)
    (2, 3)
    """

    _parameter_constraints = {
        **NET_PARAMETER_CONSTRAINTS,
        "objective": [callable, None],
        "bounds": ["array-like", None],
        "log_scale": ["boolean", "array-like"],
        "target": [tuple, list, StrOptions({"classification"}), None],
        "n_initial": [Interval(numbers.Integral, 0, None, closed="left")],
        "initial_design": [StrOptions({"random", "lhs"})],
        "n_per_iteration": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_candidates": [Interval(numbers.Integral, 1, None, closed="left")],
        "oversampler": [StrOptions({"smote"}), HasMethods(["fit_resample"]), None],
        "oversample_fraction": [Interval(numbers.Real, 0, 1, closed="both")],
        "random_fraction": [Interval(numbers.Real, 0, 1, closed="both")],
        "rectify_fraction": [Interval(numbers.Real, 0, 1, closed="both")],
        "diversity": [Interval(numbers.Real, 0, None, closed="left")],
        "n_target": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_evaluations": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_iterations": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "store": [str, os.PathLike, None],
        "n_jobs": [numbers.Integral, None],
        "eval_batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "estimator": [HasMethods(["fit", "predict"]), None],
        "activation": [str],
        "epochs_per_iteration": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        objective=None,
        bounds=None,
        log_scale=False,
        target=None,
        n_initial=1000,
        initial_design="random",
        n_per_iteration=1000,
        n_candidates=100_000,
        oversampler="smote",
        oversample_fraction=0.5,
        random_fraction=0.03,
        rectify_fraction=0.02,
        diversity=2.0,
        n_target=None,
        max_evaluations=None,
        n_iterations=10,
        store=None,
        n_jobs=None,
        eval_batch_size=100,
        estimator=None,
        hidden_layer_sizes=(64, 64, 64),
        activation="silu",
        max_epochs=200,
        epochs_per_iteration=20,
        batch_size=256,
        lr=1e-3,
        lr_schedule="constant",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        callbacks=None,
        verbose=0,
        random_state=None,
    ):
        self.objective = objective
        self.bounds = bounds
        self.log_scale = log_scale
        self.target = target
        self.n_initial = n_initial
        self.initial_design = initial_design
        self.n_per_iteration = n_per_iteration
        self.n_candidates = n_candidates
        self.oversampler = oversampler
        self.oversample_fraction = oversample_fraction
        self.random_fraction = random_fraction
        self.rectify_fraction = rectify_fraction
        self.diversity = diversity
        self.n_target = n_target
        self.max_evaluations = max_evaluations
        self.n_iterations = n_iterations
        self.store = store
        self.n_jobs = n_jobs
        self.eval_batch_size = eval_batch_size
        self.estimator = estimator
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.max_epochs = max_epochs
        self.epochs_per_iteration = epochs_per_iteration
        self.batch_size = batch_size
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ tags
    def _is_classification(self):
        return isinstance(self.target, str) and self.target == "classification"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self._is_classification():
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_class=False)
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------ validation
    def _band(self):
        if self._is_classification() or self.target is None:
            return None
        try:
            low, high = (float(t) for t in self.target)
        except (TypeError, ValueError):
            raise ValueError(
                f"target must be (low, high), 'classification' or None, got "
                f"{self.target!r}."
            ) from None
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(
                f"target band needs finite low < high, got {self.target!r}."
            )
        return low, high

    def _log_mask(self, n_dim):
        log = np.asarray(self.log_scale, dtype=bool)
        if log.ndim > 1 or (log.ndim == 1 and len(log) != n_dim):
            raise ValueError(
                f"log_scale must be a bool or have one entry per dimension "
                f"({n_dim}), got {log.size} entries."
            )
        return np.broadcast_to(log, (n_dim,)).copy()

    def _check_bounds(self, bounds, n_dim=None):
        bounds = np.asarray(bounds, dtype=np.float64)
        if bounds.ndim != 2 or bounds.shape[1] != 2:
            raise ValueError(f"bounds must have shape (d, 2), got {bounds.shape}.")
        if n_dim is not None and bounds.shape[0] != n_dim:
            raise ValueError(
                f"bounds has {bounds.shape[0]} rows but X has {n_dim} features."
            )
        bad = ~(np.isfinite(bounds).all(axis=1) & (bounds[:, 0] < bounds[:, 1]))
        if bad.any():
            raise ValueError(
                f"bounds needs finite low < high in every dimension; {int(bad.sum())} "
                "dimension(s) are not."
            )
        log = self._log_mask(bounds.shape[0])
        if (bounds[log, 0] <= 0).any():
            raise ValueError(
                f"log_scale needs positive bounds; {int((bounds[log, 0] <= 0).sum())} "
                "log dimension(s) have low <= 0."
            )
        return bounds, np.array(log)

    # ------------------------------------------------------- coordinate maps
    def _to_unit(self, X):
        """Parameters → [0, 1]^d (log where asked) using ``bounds_``."""
        T = np.array(X, dtype=np.float64, copy=True)
        if self._log.any():
            T[:, self._log] = np.log(T[:, self._log])
        return (T - self._t_low) / self._t_width

    def _from_unit(self, U):
        T = self._t_low + np.asarray(U, dtype=np.float64) * self._t_width
        if self._log.any():
            T[:, self._log] = np.exp(T[:, self._log])
        return T

    def _set_maps(self, bounds, log):
        self.bounds_ = bounds
        self._log = log
        T = bounds.copy()
        T[log] = np.log(T[log])
        self._t_low = T[:, 0]
        self._t_width = T[:, 1] - T[:, 0]

    def _features(self, X):
        """Surrogate inputs: parameters mapped to [-1, 1]^d."""
        return 2.0 * self._to_unit(X) - 1.0

    def _label(self, values):
        """In-target mask of objective values."""
        values = np.asarray(values, dtype=np.float64)
        if self._is_classification():
            return values >= 0.5
        low, high = self._band_
        return (values >= low) & (values <= high)

    # ------------------------------------------------------------- surrogate
    def _fit_surrogate(self, F, y, seed, first):
        """Train the surrogate on features ``F`` and targets ``y``."""
        if self.estimator is not None:
            est = clone(self.estimator)
            if "random_state" in est.get_params():
                est.set_params(random_state=seed)
            self.estimator_ = est.fit(F, y)
            return
        if self._is_classification():
            target = y.astype(np.float32)
        else:
            target = ((y - self._y_mean) / self._y_scale).astype(np.float32)
        if first or not hasattr(self, "net_"):
            criterion = (
                torch.nn.BCEWithLogitsLoss
                if self._is_classification()
                else torch.nn.MSELoss
            )
            self.net_ = self._build_net(
                MLP,
                criterion,
                seed=seed,
                device=self._device,
                n_samples=len(F),
                module__n_in=F.shape[1],
                module__n_out=1,
                module__hidden_layer_sizes=check_hidden_layer_sizes(
                    self.hidden_layer_sizes
                ),
                module__activation=self.activation,
                module__squeeze_output=True,
            )
            self._train_net(F, target, seed=seed)
        else:
            update = {
                "max_epochs": self.epochs_per_iteration,
                "batch_size": max(1, min(self.batch_size, len(F))),
            }
            if self.lr_schedule != "constant":
                update["callbacks__lr_scheduler"] = None
            self.net_.set_params(**update)
            self._train_net(F, target, seed=seed, partial=True)

    def _raw_predict(self, F):
        """Surrogate output on features: value (regression) or P(class 1)."""
        if self.estimator is not None:
            if self._is_classification():
                est = self.estimator_
                if hasattr(est, "predict_proba"):
                    proba = est.predict_proba(F)
                    cols = np.flatnonzero(np.asarray(est.classes_) == 1)
                    return proba[:, cols[0]] if len(cols) else np.zeros(len(F))
                return (np.asarray(est.predict(F)) == 1).astype(np.float64)
            return np.asarray(self.estimator_.predict(F), dtype=np.float64).reshape(-1)
        out = self._forward_batches(lambda m, xb: m(xb), F)
        if self._is_classification():
            return 1.0 / (1.0 + np.exp(-out))
        return out * self._y_scale + self._y_mean

    def _score_features(self, F):
        """Selection score in [0, 1]: likelihood exp(-χ²/2) or probability."""
        out = self._raw_predict(F)
        if self._is_classification():
            return out
        low, high = self._band_
        chi2 = ((out - 0.5 * (low + high)) / (0.5 * (high - low))) ** 2
        return np.exp(-0.5 * chi2)

    def _threshold(self):
        return 0.5 if self._is_classification() else _BAND_EDGE

    # ------------------------------------------------------------------- fit
    def fit(self, X=None, y=None):
        """Run the scan (with an objective) or fit the surrogate on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, d), default=None
            With an objective: points to start from (evaluated first when
            ``y`` is None). Without one: training inputs (required).
        y : array-like of shape (n_samples,), default=None
            Objective values (or 1/0 labels in classification mode) of ``X``.

        Returns
        -------
        self : ActiveScanner
            The fitted scanner.

        Raises
        ------
        ValueError
            On invalid parameters or bounds, NaN/inf in ``X`` or ``y``, a store
            of another dimension, an objective returning a wrong shape (points
            already evaluated are kept in the store), or when no point of the
            initial design could be evaluated.
        """
        rng, self._device = self._init_fit()
        if self.objective is None:
            return self._fit_data(X, y, rng)
        return self._scan(X, y, rng)

    def _fit_data(self, X, y, rng):
        if X is None:
            raise ValueError("fit needs X and y when no objective is given.")
        X, y = validate_data(
            self,
            X,
            y,
            dtype=[np.float64, np.float32],
            y_numeric=not self._is_classification(),
            ensure_min_samples=2,
        )
        X = np.asarray(X, dtype=np.float64)
        if self.bounds is None:
            low, high = X.min(axis=0), X.max(axis=0)
            span = np.where(high > low, high - low, 1.0)
            bounds = np.column_stack([low - 0.05 * span, high + 0.05 * span])
            log = self._log_mask(X.shape[1])
            bounds[log, 0] = np.where(log, X.min(axis=0) * 0.95, 0)[log]
            bounds, log = self._check_bounds(bounds, X.shape[1])
        else:
            bounds, log = self._check_bounds(self.bounds, X.shape[1])
        self._set_maps(bounds, log)
        self._band_ = self._band()
        if self._is_classification():
            kind = type_of_target(y, raise_unknown=True)
            if kind == "continuous":
                raise ValueError(
                    "Unknown label type: continuous. classification mode needs "
                    "class labels in y."
                )
            if kind != "binary":
                raise ValueError(
                    "Only binary classification is supported: classification mode "
                    f"needs two classes in y, got {len(np.unique(y))}."
                )
            enc = LabelEncoder().fit(y)
            self.classes_ = enc.classes_
            target = enc.transform(y).astype(np.float64)
        else:
            target = np.asarray(y, dtype=np.float64)
            self._y_mean = float(target.mean())
            self._y_scale = float(target.std()) or 1.0
        self._fit_surrogate(self._features(X), target, derive_seed(rng), first=True)
        return self

    # ------------------------------------------------------------------ scan
    def _scan(self, X, y, rng):
        if self.bounds is None:
            raise ValueError("bounds is required to scan with an objective.")
        bounds, log = self._check_bounds(self.bounds)
        d = bounds.shape[0]
        if not self._is_classification() and self.target is None:
            raise ValueError(
                "target is required with an objective: (low, high) or 'classification'."
            )
        if (
            self.n_iterations is None
            and self.n_target is None
            and (self.max_evaluations is None)
        ):
            raise ValueError(
                "set at least one of n_iterations, n_target, max_evaluations."
            )
        self._band_ = self._band()
        self._set_maps(bounds, log)
        if self._is_classification():
            self.classes_ = np.array([0, 1])
        base_seed = derive_seed(rng)
        store = EvaluationStore(self.store, d)
        self._objective_time = 0.0
        try:
            X0 = None
            if X is not None:
                if y is not None:
                    X, y = validate_data(self, X, y, dtype=np.float64)
                else:
                    X = X0 = validate_data(self, X, dtype=np.float64)
                if X.shape[1] != d:
                    raise ValueError(
                        f"X has {X.shape[1]} features but bounds has {d} rows."
                    )
                if y is not None:
                    self._evaluate_given(store, X, y)
            self.n_features_in_ = d
            # finish a batch that an interrupted fit proposed but did not evaluate
            seq, Xp, itp, orp = store.pending()
            self._run_objective(store, Xp, seq, itp, orp)
            if X0 is None:
                data = store.load()
                n_given = int((data["origin"] == "given").sum())
                n_have = n_given + int((data["origin"] == "initial").sum())
                if n_have < self.n_initial:  # else L0 is complete (resumed fit)
                    n_new = self.n_initial - n_given
                    X0 = self._from_unit(self._design(n_new, d, base_seed))
            if X0 is not None and len(X0):
                self._evaluate(store, X0, iteration=0, origin="initial")
            data = store.load()
            self._history_from_store(data)
            if not (~data["failed"]).any():
                raise ValueError(
                    f"no point could be evaluated: all {len(data['failed'])} "
                    "evaluations of the initial design failed."
                )
            self._loop(store, data, base_seed)
        finally:
            store.close()
        return self

    def _design(self, n, d, base_seed):
        seed = np.random.SeedSequence([base_seed, 0])
        if self.initial_design == "lhs":
            sampler = qmc.LatinHypercube(d, seed=np.random.default_rng(seed))
            return sampler.random(n)
        return np.random.default_rng(seed).uniform(size=(n, d))

    def _evaluate_given(self, store, X, y):
        check = np.isfinite(X).all(axis=1)
        if not check.all():
            raise ValueError(f"X contains {int((~check).sum())} row(s) with NaN/inf.")
        seq = store.propose(X, 0, ["given"] * len(X))
        new = seq >= 0
        if new.any():
            errors = [None if np.isfinite(v) else "value is not finite" for v in y[new]]
            store.add(seq[new], X[new], y[new], errors, 0, ["given"] * int(new.sum()))

    def _evaluate(self, store, X, iteration, origin):
        """Propose ``X`` in the store, then evaluate its new points."""
        X = np.asarray(X, dtype=np.float64)
        origin = np.broadcast_to(np.asarray(origin, dtype=object), (len(X),))
        seq = store.propose(X, iteration, origin)
        new = seq >= 0
        self._run_objective(store, X[new], seq[new], iteration, origin[new])

    def _history_from_store(self, data):
        self.history_ = []
        n_calls_total = 0
        n_in_total = 0
        ok = ~data["failed"]
        inside = np.zeros(len(ok), dtype=bool)
        inside[ok] = self._label(data["value"][ok])
        for it in np.unique(data["iteration"]):
            m = data["iteration"] == it
            n_calls = int(m.sum())
            n_in = int(inside[m].sum())
            n_calls_total += n_calls
            n_in_total += n_in
            self.history_.append(
                {
                    "iteration": int(it),
                    "n_calls": n_calls,
                    "n_in_target": n_in,
                    "efficiency": n_in / n_calls if n_calls else float("nan"),
                    "surrogate_accuracy": float("nan"),
                    "n_calls_total": n_calls_total,
                    "n_in_target_total": n_in_total,
                    "n_failed": int(data["failed"][m].sum()),
                    "objective_time": float("nan"),
                    "surrogate_time": float("nan"),
                }
            )

    def _set_results(self, data):
        ok = ~data["failed"]
        self.points_ = data["X"][ok]
        self.values_ = data["value"][ok]
        self.in_target_ = self._label(self.values_)
        self.failed_points_ = data["X"][~ok]
        self.n_evaluations_ = len(data["X"])

    def _done(self, data, n_iter_done):
        n_in = int(self._label(data["value"][~data["failed"]]).sum())
        if self.n_target is not None and n_in >= self.n_target:
            return True
        if self.max_evaluations is not None and len(data["X"]) >= self.max_evaluations:
            return True
        if self.n_iterations is not None and n_iter_done >= self.n_iterations:
            return True
        return False

    def _train_on(self, data, seed, first):
        ok = ~data["failed"]
        F = self._features(data["X"][ok])
        values = data["value"][ok]
        if self._is_classification():
            target = self._label(values).astype(np.float64)
        else:
            target = values
            if first:
                self._y_mean = float(values.mean())
                self._y_scale = float(values.std()) or 1.0
        t0 = time.perf_counter()
        self._fit_surrogate(F, target, seed, first)
        return time.perf_counter() - t0

    def _loop(self, store, data, base_seed):
        n_iter_done = int(data["iteration"].max()) if len(data["iteration"]) else 0
        first = True
        while True:
            it = n_iter_done + 1
            seeds = np.random.SeedSequence([base_seed, it]).generate_state(4)
            rng = np.random.default_rng(seeds[0])
            t_sur = self._train_on(data, int(seeds[1] % 2**31), first)
            first = False
            if self._done(data, n_iter_done):
                break
            t0 = time.perf_counter()
            U, origin = self._propose(data, rng, int(seeds[2] % 2**31))
            if self.max_evaluations is not None:
                room = self.max_evaluations - len(data["X"])
                U, origin = U[:room], origin[:room]
            t_sur += time.perf_counter() - t0
            X_new = self._from_unit(U)
            predicted = self._score_features(2.0 * U - 1.0) >= self._threshold()
            t_obj = self._objective_time
            n_before = len(data["X"])
            self._evaluate(store, X_new, iteration=it, origin=origin)
            data = store.load()
            new = slice(n_before, None)
            failed = data["failed"][new]
            inside = np.zeros(len(failed), dtype=bool)
            inside[~failed] = self._label(data["value"][new][~failed])
            keys_new = point_keys(data["X"][new])
            pos = {k: i for i, k in enumerate(point_keys(X_new))}
            pred = np.array([predicted[pos[k]] for k in keys_new], dtype=bool)
            acc = (
                float((pred[~failed] == inside[~failed]).mean())
                if (~failed).any()
                else float("nan")
            )
            n_calls = int(len(failed))
            prev = self.history_[-1] if self.history_ else None
            self.history_.append(
                {
                    "iteration": it,
                    "n_calls": n_calls,
                    "n_in_target": int(inside.sum()),
                    "efficiency": (
                        float(inside.sum() / n_calls) if n_calls else float("nan")
                    ),
                    "surrogate_accuracy": acc,
                    "n_calls_total": (prev["n_calls_total"] if prev else 0) + n_calls,
                    "n_in_target_total": (prev["n_in_target_total"] if prev else 0)
                    + int(inside.sum()),
                    "n_failed": int(failed.sum()),
                    "objective_time": self._objective_time - t_obj,
                    "surrogate_time": t_sur,
                }
            )
            if self.verbose:
                h = self.history_[-1]
                print(
                    f"iteration {it}: {h['n_calls']} calls, {h['n_in_target']} in "
                    f"target (efficiency {h['efficiency']:.3f}, surrogate accuracy "
                    f"{acc:.3f}), total {h['n_in_target_total']}"
                )
            n_iter_done = it
            if n_calls == 0:  # every proposal was already known: nothing left
                break
        self._set_results(data)

    # -------------------------------------------------------------- proposal
    def _run_objective(self, store, X, seq, iteration, origin):
        """Evaluate ``X`` (proposed in ``store`` as ``seq``) and count the time."""
        self._objective_time += run_objective(
            self.objective,
            store,
            X,
            seq,
            iteration,
            origin,
            batch_size=self.eval_batch_size,
            n_jobs=self.n_jobs,
        )

    def _propose(self, data, rng, seed):
        """Selection K of the iteration, in unit coordinates, with origins."""
        d = self.n_features_in_
        K = self.n_per_iteration
        n_rand = int(round(self.random_fraction * K))
        n_rect = int(round(self.rectify_fraction * K))
        ok = ~data["failed"]
        U_ok = self._to_unit(data["X"][ok])
        inside = self._label(data["value"][ok])
        n_over = int(round(self.oversample_fraction * self.n_candidates))
        over = oversample(self.oversampler, U_ok, inside, n_over, seed)
        uniform = rng.uniform(size=(self.n_candidates - len(over), d))
        cand = np.vstack([uniform, over])
        chosen, rect = select_points(
            cand,
            self._score_features(2.0 * cand - 1.0),
            self._threshold(),
            U_ok[inside],
            n_select=max(0, K - n_rand - n_rect),
            n_rectify=n_rect,
            diversity=self.diversity,
            rng=rng,
        )
        rand = rng.uniform(size=(n_rand, d))
        U = np.vstack([cand[chosen], cand[rect], rand])
        origin = np.array(
            ["select"] * len(chosen) + ["rectify"] * len(rect) + ["random"] * n_rand,
            dtype=object,
        )
        return U, origin

    # ------------------------------------------------------------- inference
    def _check_X(self, X):
        check_is_fitted(self, "bounds_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self._features(np.asarray(X, dtype=np.float64))

    def predict(self, X):
        """Surrogate prediction: the value (regression) or the class label.

        Parameters
        ----------
        X : array-like of shape (n_samples, d)
            Points.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted objective values, or labels in classification mode.
        """
        out = self._raw_predict(self._check_X(X))
        if self._is_classification():
            return self.classes_[(out >= 0.5).astype(np.int64)]
        return out

    @available_if(_is_classification)
    def predict_proba(self, X):
        """Class probabilities of the surrogate (classification mode only).

        Parameters
        ----------
        X : array-like of shape (n_samples, d)
            Points.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns follow ``classes_``; the second is "allowed".
        """
        p = self._raw_predict(self._check_X(X))
        return np.column_stack([1.0 - p, p])

    def predict_in_target(self, X):
        """Whether the surrogate predicts each point in target.

        Parameters
        ----------
        X : array-like of shape (n_samples, d)
            Points.

        Returns
        -------
        in_target : ndarray of bool of shape (n_samples,)

        Raises
        ------
        ValueError
            In regression mode without a target band.
        """
        F = self._check_X(X)
        if not self._is_classification() and self._band_ is None:
            raise ValueError("predict_in_target needs target=(low, high).")
        return self._score_features(F) >= self._threshold()

    def score(self, X, y):
        """R² of the predicted values, or accuracy in classification mode.

        Parameters
        ----------
        X : array-like of shape (n_samples, d)
            Points.
        y : array-like of shape (n_samples,)
            True values or labels.

        Returns
        -------
        score : float
        """
        if self._is_classification():
            return float(accuracy_score(y, self.predict(X)))
        return float(r2_score(y, self.predict(X)))

    def sample(self, n_samples=1, random_state=None, max_candidates=10_000_000):
        """Draw new points that the surrogate predicts in target.

        Uniform points in ``bounds_`` (log-uniform in log dimensions) are
        kept when the surrogate puts them in target: the draws follow the
        prior restricted to the predicted region.

        Parameters
        ----------
        n_samples : int, default=1
            Number of points.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.
        max_candidates : int, default=10000000
            Give up after this many uniform candidates.

        Returns
        -------
        X : ndarray of shape (n_samples, d)
            Points predicted in target.

        Raises
        ------
        ValueError
            If fewer than ``n_samples`` candidates out of ``max_candidates``
            are predicted in target, or without a target band.
        """
        check_is_fitted(self, "bounds_")
        if not self._is_classification() and self._band_ is None:
            raise ValueError("sample needs target=(low, high) or 'classification'.")
        rng = check_random_state(random_state)
        d = self.n_features_in_
        found = []
        n_found = 0
        drawn = 0
        batch = 65536
        while n_found < n_samples and drawn < max_candidates:
            U = rng.uniform(size=(batch, d))
            drawn += batch
            keep = U[self._score_features(2.0 * U - 1.0) >= self._threshold()]
            found.append(keep)
            n_found += len(keep)
        if n_found < n_samples:
            raise ValueError(
                f"only {n_found} of {drawn} candidates are predicted in target, "
                f"fewer than n_samples={n_samples}."
            )
        return self._from_unit(np.vstack(found)[:n_samples])
