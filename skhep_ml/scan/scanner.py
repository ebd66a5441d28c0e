"""ActiveScanner: iterative machine-learning scan of an expensive parameter space."""

from __future__ import annotations

import numbers
import os

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if

from ..base import (
    NET_PARAMETER_CONSTRAINTS,
    HasMethods,
    Interval,
    StrOptions,
    TorchEstimatorMixin,
    check_is_fitted,
    check_random_state,
    derive_seed,
    validate_data,
)
from ..nn.mlp import MLP
from ._history import history_from_store
from ._loop import StopRule, Surrogate, evaluate_initial_design, run_iterations
from ._objective import Evaluator
from ._proposal import ProposalSettings, sample_region
from ._space import ParameterSpace, check_bounds, data_bounds
from ._store import EvaluationStore
from ._surrogate import (
    continue_training,
    estimator_output,
    fit_estimator,
    mlp_arguments,
)
from ._target import TargetRule, check_band, encode_binary_labels

__all__ = ["ActiveScanner"]

#: the parameters of :class:`~._proposal.ProposalSettings`
_PROPOSAL_FIELDS = (
    "n_per_iteration",
    "n_candidates",
    "oversampler",
    "oversample_fraction",
    "random_fraction",
    "rectify_fraction",
    "diversity",
    "unsure_fraction",
    "balance_pieces",
    "min_efficiency",
)


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
    unsure_fraction : float, default=0.05
        Share of K drawn where the surrogates are unsure: an ensemble of
        extremely randomized trees fitted on the in/out labels, drawn with
        probability ∝ ``4 p (1 - p)`` (``p`` the share of trees voting in
        target). Uniform points replace them while no tree disagrees. With
        ``balance_pieces`` the trees' vote also weighs the selection (a second
        opinion beside the surrogate's).
    balance_pieces : bool, default=True
        Balance the selection among the pieces of the found region: the known
        in-target points are linked into pieces (points closer than twice the
        90th percentile of their 5th-neighbour distance share a piece); each
        piece, and the candidates predicted in target far from every piece,
        get a share of the selection (half split equally, half by predicted
        volume), a piece the surrogate misses gets its best-scored candidates,
        and half of the oversampled candidates are drawn around each piece in
        equal numbers (Gaussian steps of the linking radius), so a piece grows
        beyond the hull of its known points. ``False``: the plain draw above.
        Besides the uniform candidates and the oversampler's, a third of
        the oversampled share is drawn by hit-and-run chains that walk the
        surrogate's predicted region (started at the known in-target
        points), so a thin region (a shell, a ridge, a hypersurface) is
        proposed over all of its predicted extent, not only around its found
        points; the steps around a piece follow the covariance of each
        point's ``2 d`` nearest in-target neighbours (long along a thin
        piece, short across it).
    min_efficiency : float or None, default=None
        With ``balance_pieces``: keep each iteration's expected in-target
        share at this value by cutting its exploring points. The selection
        has three streams, labelled in the store's ``origin``: ``"explore"``
        (uniform and hit-and-run candidates), ``"extend"`` (steps around the
        pieces) and ``"select"`` (the oversampler's interpolations between
        known in-target points); from the second iteration on, the most
        exploring streams get as many points as the in-target shares each
        origin had in the previous iteration allow, the rest goes to the most
        efficient stream (each keeps ``K / 50``). ``None``: one pool, drawn
        as above. A trade, and a lagging one (it acts on the previous
        iteration's measurement): on the family's development draws a floor
        of 0.8 raised the worst iterations' efficiency (median 0.66 → 0.75)
        and lowered the coverage (median coverage/ideal 0.95 → 0.89); see the
        user guide.
    n_target : int, default=None
        Stop once this many in-target points are found.
    max_evaluations : int, "auto" or None, default="auto"
        Stop at this many objective calls (failed ones and the per-point
        re-runs of a chunk that raised included). ``"auto"``: no limit
        without ``n_target``, else ``n_initial + 100 * n_target`` (the scan
        gives up below an in-target efficiency of 1 %); ``None``: no limit.
    n_iterations : int, "auto" or None, default="auto"
        Stop after this many iterations (after L0). ``"auto"``: 10 without
        ``n_target``, else no limit (the scan goes on to ``n_target``, bounded
        by ``max_evaluations``); ``None``: no limit (then ``n_target`` or
        ``max_evaluations`` must be set). All three limits count what the
        ``store`` already holds from earlier fits. A
        :class:`~skhep_ml.scan.ScanStoppedWarning` says when a limit ended the
        scan before ``n_target``.
    store : str or os.PathLike, default=None
        SQLite file of the evaluations; ``None`` keeps them in memory.
    timeout : float, default=None
        Seconds after which an objective call (one chunk of
        ``eval_batch_size`` points, including the one-by-one re-runs of a
        chunk that raised) is abandoned: its points are recorded as failed
        with the reason ``"timeout"`` and the scan goes on, so a hang costs
        at most ``timeout`` per chunk. The call runs in a daemon thread of
        the worker that is left to finish on its own (Python cannot stop a
        thread); this works with every joblib backend, process-based loky
        and dask workers included. ``None``: no limit.
    retry_failed : bool, default=False
        Evaluate again, at the start of :meth:`fit`, the points the
        ``store`` holds as failed (e.g. after fixing the objective); their
        calls are counted. Without it a failed point is never sent to the
        objective again.
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
    epochs_per_iteration : int, default=60
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
        1 prints one plain line per iteration, the initial design first: its
        calls and in-target points with the totals so far, its efficiency and
        the surrogate's accuracy on its points; 2 adds the default MLP's epoch
        table and 3 a progress bar in a terminal (fitting the surrogate on
        ``(X, y)`` alone: the table from 1, the bar from 2). See
        :mod:`skhep_ml.base.progress`.
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
        Points whose evaluation raised, returned NaN or timed out.
    failed_reasons_ : ndarray of str of shape (n_failed,)
        Why each failed point failed: ``"ExceptionType: message"``,
        ``"value is not finite"`` or ``"timeout"``.
    n_evaluations_ : int
        Objective calls (points) made, over all resumed fits: failed points,
        retries and the per-point re-runs of a chunk that raised included.
    history_ : list of dict
        Per iteration (0 is L0): ``iteration``, ``n_calls``, ``n_in_target``,
        ``efficiency`` (in-target points per call of the iteration),
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
    >>> scan = ActiveScanner(
    ...     objective=objective,
    ...     bounds=[[-1, 1], [-1, 1]],
    ...     target=(0.2, 0.4),
    ...     n_initial=100,
    ...     n_per_iteration=50,
    ...     n_candidates=1000,
    ...     n_iterations=2,
    ...     max_epochs=10,
    ...     epochs_per_iteration=2,
    ...     random_state=0,
    ... ).fit()
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
        "unsure_fraction": [Interval(numbers.Real, 0, 1, closed="both")],
        "balance_pieces": ["boolean"],
        "min_efficiency": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "n_target": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_evaluations": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "n_iterations": [
            Interval(numbers.Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "store": [str, os.PathLike, None],
        "timeout": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "retry_failed": ["boolean"],
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
        unsure_fraction=0.05,
        balance_pieces=True,
        min_efficiency=None,
        n_target=None,
        max_evaluations="auto",
        n_iterations="auto",
        store=None,
        timeout=None,
        retry_failed=False,
        n_jobs=None,
        eval_batch_size=100,
        estimator=None,
        hidden_layer_sizes=(64, 64, 64),
        activation="silu",
        max_epochs=200,
        epochs_per_iteration=60,
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
        self.unsure_fraction = unsure_fraction
        self.balance_pieces = balance_pieces
        self.min_efficiency = min_efficiency
        self.n_target = n_target
        self.max_evaluations = max_evaluations
        self.n_iterations = n_iterations
        self.store = store
        self.timeout = timeout
        self.retry_failed = retry_failed
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

    # ------------------------------------------------- fitted maps and rules
    @property
    def _space(self):
        """Parameter box ↔ unit cube (from ``bounds_`` and the log mask)."""
        return ParameterSpace(self.bounds_, self._log)

    @property
    def _rule(self):
        """In-target labels and selection scores (band or classification)."""
        return TargetRule(None if self._is_classification() else self._band_)

    def _surrogate(self):
        return Surrogate(
            self._fit_surrogate, self._raw_predict, self._space, self._rule
        )

    # ------------------------------------------------------------- surrogate
    def _fit_surrogate(self, F, y, seed, first):
        """Train the surrogate on features ``F``; ``first`` starts it afresh."""
        classification = self._is_classification()
        if self.estimator is not None:
            self.estimator_ = fit_estimator(self.estimator, F, y, seed)
            return
        if first and not classification:
            self._squash_scale = self._squash_width(y)
        if not classification:
            y = self._squash(y)
        if first and not classification:
            self._y_mean, self._y_scale = float(y.mean()), float(y.std()) or 1.0
        target = y if classification else (y - self._y_mean) / self._y_scale
        target = target.astype(np.float32)
        if not first and hasattr(self, "net_"):  # warm start: a few more epochs
            continue_training(
                self.net_, self.epochs_per_iteration, self.batch_size, len(F)
            )
            self._train_net(F, target, seed=seed, partial=True)
            return
        criterion, module_params = mlp_arguments(
            F.shape[1], self.hidden_layer_sizes, self.activation, classification
        )
        self.net_ = self._build_net(
            MLP,
            criterion,
            seed=seed,
            device=self._device,
            n_samples=len(F),
            # a scan reports its iterations; the epochs from verbose=2 on
            epoch_verbosity=1 if self.objective is None else 2,
            **module_params,
        )
        self._train_net(F, target, seed=seed)

    def _raw_predict(self, F):
        """Surrogate output on features: value (regression) or P(class 1)."""
        if self.estimator is not None:
            return estimator_output(self.estimator_, F, self._is_classification())
        out = self._forward_batches(lambda m, xb: m(xb), F)
        if self._is_classification():
            return expit(out)
        return self._unsquash(out * self._y_scale + self._y_mean)

    def _squash_width(self, y):
        """Width ``s`` of :meth:`_squash`: the median distance of the first
        training values from the band's centre ``c``, at least the band's
        half-width ``h`` (None without a band)."""
        if self._band_ is None:
            return None
        low, high = self._band_
        spread = float(np.median(np.abs(y - 0.5 * (low + high))))
        return max(0.5 * (high - low), spread)

    def _squash(self, y):
        """What the default MLP regresses: ``asinh((y - c) / s)`` for a band
        centred on ``c`` (linear over the bulk of the values, the far tails
        compressed logarithmically, so values spanning decades do not
        dominate the squared error), else ``y``."""
        s = getattr(self, "_squash_scale", None)
        if self._band_ is None or s is None:
            return y
        return np.arcsinh((y - 0.5 * sum(self._band_)) / s)

    def _unsquash(self, z):
        """Inverse of :meth:`_squash`."""
        s = getattr(self, "_squash_scale", None)
        if self._band_ is None or s is None:
            return z
        return 0.5 * sum(self._band_) + s * np.sinh(z)

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
        """Fit the surrogate alone on ``(X, y)`` (no objective)."""
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
            self.bounds_, self._log = data_bounds(X, self.log_scale)
        else:
            self.bounds_, self._log = check_bounds(
                self.bounds, self.log_scale, X.shape[1]
            )
        self._band_ = check_band(self.target)
        if self._is_classification():
            self.classes_, target = encode_binary_labels(y)
        else:
            target = np.asarray(y, dtype=np.float64)
        F = self._space.features(X)
        self._fit_surrogate(F, target, derive_seed(rng), first=True)
        return self

    # ------------------------------------------------------------------ scan
    def _check_scan_parameters(self):
        if self.bounds is None:
            raise ValueError("bounds is required to scan with an objective.")
        self.bounds_, self._log = check_bounds(self.bounds, self.log_scale)
        if not self._is_classification() and self.target is None:
            raise ValueError(
                "target is required with an objective: (low, high) or 'classification'."
            )
        if self._stop_rule() == StopRule(None, None, None):
            raise ValueError(
                "set at least one of n_iterations, n_target, max_evaluations."
            )
        self._band_ = check_band(self.target)
        if self._is_classification():
            self.classes_ = np.array([0, 1])

    def _stop_rule(self):
        """The limits with the ``"auto"`` defaults resolved."""
        n_iterations, max_evaluations = self.n_iterations, self.max_evaluations
        auto = self.n_target is None
        if isinstance(n_iterations, str):
            n_iterations = 10 if auto else None
        if isinstance(max_evaluations, str):
            max_evaluations = None if auto else self.n_initial + 100 * self.n_target
        return StopRule(self.n_target, max_evaluations, n_iterations)

    def _scan(self, X, y, rng):
        """The scan: initial design, then :func:`~._loop.run_iterations`."""
        self._check_scan_parameters()
        d = self.bounds_.shape[0]
        base_seed = derive_seed(rng)
        with EvaluationStore(self.store, d) as store:
            X, y = self._check_given(X, y, d)
            evaluator = Evaluator(
                self.objective,
                store,
                batch_size=self.eval_batch_size,
                n_jobs=self.n_jobs,
                timeout=self.timeout,
            )
            data = evaluate_initial_design(
                evaluator,
                X,
                y,
                self.n_initial,
                self.initial_design,
                self._space,
                base_seed,
                retry_failed=self.retry_failed,
            )
            self.history_ = history_from_store(data, self._rule.label)
            proposal = {f: getattr(self, f) for f in _PROPOSAL_FIELDS}
            data = run_iterations(
                evaluator,
                data,
                self._surrogate(),
                base_seed=base_seed,
                proposal=ProposalSettings(**proposal),
                stop=self._stop_rule(),
                history=self.history_,
                verbose=self.verbose,
            )
        self._set_results(data)
        return self

    def _check_given(self, X, y, d):
        """Validate the points ``X`` (and values ``y``) a scan starts from."""
        if X is not None:
            if y is None:
                X = validate_data(self, X, dtype=np.float64)
            else:
                X, y = validate_data(self, X, y, dtype=np.float64)
            if X.shape[1] != d:
                raise ValueError(
                    f"X has {X.shape[1]} features but bounds has {d} rows."
                )
        self.n_features_in_ = d
        return X, y

    def _set_results(self, data):
        ok = ~data["failed"]
        self.points_ = data["X"][ok]
        self.values_ = data["value"][ok]
        self.in_target_ = self._rule.label(self.values_)
        self.failed_points_ = data["X"][~ok]
        self.failed_reasons_ = np.array(
            [e for e, f in zip(data["error"], data["failed"]) if f], dtype=object
        )
        self.n_evaluations_ = int(data["calls"].sum())

    # ------------------------------------------------------------- inference
    def _check_X(self, X):
        check_is_fitted(self, "bounds_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self._space.features(np.asarray(X, dtype=np.float64))

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
        rule = self._rule
        return rule.score(self._raw_predict(F)) >= rule.threshold

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
        U = sample_region(
            self._surrogate().score,
            self._rule.threshold,
            self.n_features_in_,
            n_samples,
            rng,
            max_candidates,
        )
        return self._space.from_unit(U)
