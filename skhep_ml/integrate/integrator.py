"""NeuralImportanceIntegrator: neural importance sampling with a VEGAS start.

The proposal of every channel is ``x = M_i(V_i(F_i^{-1}(z)))`` (see
:mod:`skhep_ml.integrate._channels`): a unit-hypercube normalizing flow that
starts as the identity, composed with a VEGAS grid adapted by the ``vegas`` package, so
training starts where VEGAS ends. The flows are trained online through skorch
on buffered ``(x, f(x), q_sample(x))`` with the variance (or KL) loss. A fit
computes its :class:`~.plan.Plan` once and runs the stages of
:mod:`._stages` and :mod:`._final_integration` with it.
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np
import torch
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, DensityMixin

from ..base import (
    NET_PARAMETER_CONSTRAINTS,
    Interval,
    StrOptions,
    TorchEstimatorMixin,
    check_is_fitted,
    check_random_state,
    derive_seed,
    report,
    torch_seed,
    validate_data,
    value_error,
)
from ._channels import BreitWignerMapping, IdentityMapping, Proposal
from ._diagnostics import check_modes, missed_mass
from ._explore import explore_peaks, peak_grid, uncovered_peaks
from ._final_integration import final_integration
from ._integrand_calls import IntegrandCalls
from ._sampling import ProposalSampler, weights
from ._stages import (
    SeenPoints,
    first_training_rows,
    remaining_calls,
    training_rounds,
    update_fractions,
    vegas_stage,
)
from ._unweighting import (
    IntegrationResult,
    stratified_estimate,
    unweight,
    unweight_to_count,
)
from ._vegas_init import adapt_grid_to_samples
from .loss import ImportanceSamplingLoss
from .plan import integration_box, make_plan, resolve_n_dims, with_peak_channels

__all__ = [
    "BreitWignerMapping",
    "IdentityMapping",
    "IntegrationResult",
    "NeuralImportanceIntegrator",
    "unweight",
]


class NeuralImportanceIntegrator(TorchEstimatorMixin, DensityMixin, BaseEstimator):
    """Neural importance sampling: integrate and unweight a peaked integrand.

    A normalizing flow on the unit hypercube (rational-quadratic spline
    couplings), composed with a VEGAS grid, is trained so that its density
    ``g`` follows the integrand ``f``; the integral is the mean of the weights
    ``f/g`` of points drawn from ``g``. Training starts from VEGAS: the
    ``vegas`` package adapts a grid, its bins are reduced, and the flow starts
    as the identity, so the first proposal is the VEGAS one. Multi-channel
    integration uses one flow per channel (optionally after a fixed channel
    mapping such as :class:`BreitWignerMapping`) and learned channel weights
    ``α_i(x)`` (softmax network times optional prior weights); the estimate is
    ``Σ_i <α_i f / g_i>_{g_i}``. A small defensive share of each channel is
    drawn from its VEGAS map alone, so a flow that lost a mode still samples
    it; the final integration stratifies the latent space, with VEGAS+-like
    adaptive allocation of its points to the cells in high dimensions.

    Parameters
    ----------
    integrand : callable, default=None
        ``f(X) -> values`` for points of shape (n, n_dims) in ``bounds``,
        non-negative, of shape (n,). ``None``: ``fit(X, y)`` learns from an
        evaluated buffer (points ``X`` drawn uniformly in the bounds, values
        ``y``).
    n_dims : int, default=None
        Dimension; otherwise taken from ``bounds``, ``X``, or
        ``integrand.n_features``.
    bounds : array-like of shape (n_dims, 2), default=None
        Integration box; ``None`` is the unit hypercube (with an integrand) or
        the data's bounding box (without).
    integrand_backend : {"numpy", "torch"}, default="numpy"
        Whether the integrand takes numpy arrays or torch tensors (on the
        training device; a torch integrand stays on the GPU).
    n_jobs : int, default=None
        joblib workers for numpy integrands (chunks of each batch); works with
        any joblib backend (``joblib.parallel_config(backend="dask")``).
    max_evaluations : int, default=None
        Exact number of integrand calls ``fit`` spends. In low dimensions
        VEGAS adaptation takes at most 15 % up to 1e5 calls (10 % at 1e6: its
        share falls as ``N^-0.18`` beyond), training at most 25 % (rounds
        shrink to fit; 20 % with the default ``n_samples_per_iter``); in high
        dimensions 20 % and 35 % (30 %) up to 1e5 calls, growing as
        ``N^0.82`` beyond; in between a smooth blend of the two (the plan's
        ``blend``, a function of the dimension and the budget); the
        exploration stage (``find_modes``) takes 5 %, the final integration
        the rest (see :class:`~skhep_ml.integrate.plan.Plan`). ``None``: the
        sum of the planned stages.
    channels : int or list of nn.Module or None, default=None
        Number of channels, or one mapping per channel (torch modules with
        ``forward(u) -> (x, log|dx/du|)`` and ``inverse(x) -> (u, log|du/dx|)``
        on the unit cube). ``None``: one channel. With distinct mappings the
        channel weights include each channel's VEGAS-map density, with a
        number of (identical) channels each channel's full density (the
        balance heuristic), so ``α_i f / g_i`` stays bounded by about
        ``f / Σ_j g_j``.
    prior_weights : callable, default=None
        ``prior_weights(X) -> (n, n_channels)`` non-negative prior channel
        weights (e.g. the squared propagators); ``α_i`` is the softmax
        network times these, normalised.
    vegas_init : bool, default=True
        Start from an adapted VEGAS grid (else the identity).
    vegas_iter : int, default=5
        VEGAS adaptation iterations.
    vegas_samples_per_iter : int, default=None
        Integrand calls per VEGAS iteration (split between channels).
        ``None``: the VEGAS share of ``max_evaluations`` (see there) over the
        ``vegas_iter`` iterations (2000 without ``max_evaluations``), so the
        grid improves with the budget. In high dimensions (the plan's
        ``grid_blend >= 1/2``: from 5-d at 1e5 calls) the grid is adapted by
        ``vegas.Integrator`` (adaptive stratified sampling), else by a bare
        ``vegas.AdaptiveMap`` on uniform points.
    vegas_bins : int, default=None
        VEGAS bins per dimension during adaptation; ``None`` is
        ``128 * 2^-blend`` (128 in low dimensions, 64 in high ones).
    grid_bins : int, default=None
        Bins kept after bin reduction (the proposal's VEGAS map); ``None``
        keeps ``vegas_bins * 2^-grid_blend``: all in low dimensions, half in
        high ones (a finer grid pays in low dimensions; in high ones a coarser
        grid keeps the phantom peaks of a separable grid broad for the flow).
    defensive_fraction : float, default=0.05
        Share of every channel drawn without its flow (mode guard): three
        quarters from its VEGAS map alone, one quarter uniformly (through its
        mapping alone).
    find_modes : bool, default=True
        With one channel (``channels=None``) or a number of channels
        (``channels=int``, with or without ``prior_weights``; not with
        mappings) and a VEGAS stage: an
        exploration stage of 5 % of ``max_evaluations`` (taken from the final
        integration) climbs from points the VEGAS stage evaluated to the
        local maxima of the integrand (a quadratic model of ``log f``), and
        every distinct peak found gets a channel of its own next to the VEGAS
        channel (at most four; a grid from the peak's marginal widths, the
        channels weighted by the balance heuristic), so that a peak the
        separable VEGAS grids miss is still sampled (with ``prior_weights``,
        a peak's channel gets the sum of the prior weights as its prior).
        ``n_channels_`` then counts them. See
        :mod:`skhep_ml.integrate._explore`.
    n_transforms : int, default=None
        Coupling blocks per flow; ``None`` is ``max(2, ceil(log2(n_dims)))``
        with one channel and one block fewer (at least two) with several,
        whose flows each model only their channel's share of the integrand.
    flow_bins : int, default=4
        Spline bins of each coupling. The VEGAS map under the flow carries the
        fine structure of every axis (64 to 128 bins), so the couplings only
        learn the smooth dependence between the mapped axes: with 4 bins
        instead of 8 the tasks of ``benchmarks/bench_integration.py`` meet
        the same goals (seeds 0-2, both budgets) in 0.75x-0.9x the wall time.
    hidden_layer_sizes : tuple of int, default=None
        Conditioner widths. ``None``: two layers of ``16 * 2^blend``:
        ``(16, 16)`` in low dimensions, ``(32, 32)`` in high ones.
    activation : str, default=None
        Conditioner activation. ``None``: ``"relu"`` where ``blend < 1/2``
        (in low dimensions the flow passes of the final integration dominate
        the overhead, and a ReLU pass costs ~0.45 µs per point against
        ~0.75 µs for SiLU), else ``"silu"``.
    loss : {"auto", "variance", "kl"}, default="auto"
        Training objective (see :func:`skhep_ml.integrate.loss.variance_loss` and
        :func:`skhep_ml.integrate.loss.kl_loss`). ``"auto"``: the variance loss in
        low dimensions (it targets the weight variance, hence the
        unweighting, directly); in high ones the KL loss for the first
        ``3/4 * blend`` of the training rounds (its gradient grows as ``w log w``, not
        ``w²``, so it stays stable while the weights of a high-dimensional
        proposal are still heavy-tailed) and the variance loss for the last
        quarter, which trims the largest weights of the trained proposal (on
        camel d4 at 1e5 calls, seeds 0-5: 0.8x the error, and the lowest
        unweighting efficiency relative to madnis's 2.1x instead of 0.95x).
    n_iter : int, default=None
        Online training rounds (with an integrand); epochs over the buffer
        without one. ``None``: ``sqrt(max_evaluations) * 4^blend / 64``
        rounds (5 in low and 20 in high dimensions at 1e5 calls), between 1
        and 50; 50 without
        ``max_evaluations``. With the calls per round also growing as
        ``sqrt(N)``, the fixed cost of a round (a draw and its gradient
        steps) stays a small share of the overhead at small budgets.
    n_samples_per_iter : int, default=None
        Fresh integrand calls per round. ``None``: 20 % of ``max_evaluations``
        (to 30 % in high dimensions, see ``max_evaluations``) spread over
        the rounds (at least 64), so the training compute grows
        with the call budget; 1000 without ``max_evaluations``.
    buffer_size : int, default=None
        Capacity of the buffer of evaluated points; ``None`` is ``10 *`` the
        calls per round (before the training cap shrinks them).
    buffer_reuse : float, default=None
        Each round also trains on ``buffer_reuse`` times its fresh calls in
        points drawn from the buffer (importance-weighted by their stored
        densities). ``None``: ``blend`` (0 in low, 1 in high dimensions). Raise
        it when integrand calls are expensive: a reused point costs a training
        pass, not a call.
    n_integration_samples : int, default=10000
        Calls of the final integration when ``max_evaluations`` is ``None``.
    stratified : bool, default=True
        Stratify the latent space of the final integration: ``k^d`` cells of
        at least two points when ``k = (n/2)^(1/d) > 8`` (the error then falls
        faster than ``1/sqrt(n)``); otherwise (high dimensions) adaptive
        stratified sampling in five passes over coarser cells, the later
        passes allocating points ∝ ``(W_c σ_c)^0.75`` as VEGAS+ does, the
        passes combined with weights ∝ their predicted inverse variance.
    max_epochs : int, default=1
        Epochs per training round.
    batch_size : int, default=None
        Mini-batch size. ``None``: a third of a round's training points
        (three gradient steps per round), between 256 and 1024 (larger rounds
        take more steps, not larger batches: the number of steps, not the
        points per step, sets how well a thin structure such as the ring is
        learnt); 1024 when learning from an evaluated buffer.
    lr : float, default=None
        Adam learning rate (cosine-decayed over the rounds). ``None``:
        ``1e-2 * 2^blend`` (1e-2 in low, 2e-2 in high dimensions).
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
    callbacks : list, default=None
        Extra skorch callbacks.
    verbose : int, default=0
        1 prints the :attr:`plan_`, then one plain line per stage: the VEGAS
        stage (calls, estimate), the training (rounds, calls, first and last
        loss) and the final integration (calls, value, unweighting
        efficiency); 2 adds one line per training round. Without an
        integrand, one line per epoch. See :mod:`skhep_ml.base.progress`.
    random_state : int, RandomState instance or None, default=None
        Seeds VEGAS, initialisation, sampling and training.

    Attributes
    ----------
    plan_ : skhep_ml.integrate.plan.Plan
        The calls, schedule, network and stage switches of the fit, computed
        once from the dimension, the budget, the channels and the parameters
        (the rules and their measurements: :class:`~skhep_ml.integrate.plan.Plan`);
        printed by ``verbose=1``.
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` holds the channels.
    n_features_in_ : int
        Dimension.
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` had them.
    bounds_ : ndarray of shape (n_dims, 2)
        Integration box.
    n_channels_ : int
        Number of channels.
    channel_fractions_ : ndarray of shape (n_channels,)
        Share of samples per channel (proportional to each channel's σ).
    integral_ : float
        Integral from ``fit`` (final integration stage).
    integral_error_ : float
        Its standard error: the stratified estimate's, with the part of the
        weights' tail a sample of this size does not show (the fitted
        generalized Pareto tail's mean excess above the largest weight) added
        in quadrature, and widened when a lost-mode check fires (see the user
        guide, "Finding every mode, or saying so").
    result_ : IntegrationResult
        Diagnostics of that estimate.
    vegas_integral_ : float
        Independent estimate from the last VEGAS iteration (mode-dropping check).
    vegas_integral_error_ : float
        Its standard error.
    n_evaluations_ : int
        Integrand calls so far (fit, integrate, sample, score).
    buffer_X_ : ndarray of shape (n_buffer, n_dims)
        Buffered evaluated points.
    buffer_y_ : ndarray of shape (n_buffer,)
        Integrand values at ``buffer_X_``.
    failed_X_, failed_y_ : ndarray
        The batch holding invalid integrand values (only after such an error).
    loss_curve_ : list of float
        Training loss per epoch.
    n_iter_ : int
        Epochs run.
    unweighting_ : dict
        The last unweighting by :meth:`sample`: ``efficiency`` (accepted
        events over calls), ``reference_weight``, ``overweight_fraction``,
        ``n_calls``, ``n_batches`` and ``integral`` (the mean weight of all
        the calls it drew).

    See Also
    --------
    skhep_ml.integrate.unweight : hit-or-miss unweighting of weights.

    Notes
    -----
    Weights ``w = f/g``; ``I ≈ mean(w)``, error ``std(w)/sqrt(N)`` (per stratum
    with stratification). The proposal is trained and evaluated in float32
    (sampling, densities and weights agree to ~1e-6 relative, far below the
    statistical errors); integrand values and estimates are float64. The
    training compute is set by the rounds times ``(1 + buffer_reuse)`` times
    the round's calls, in steps of ``batch_size`` points: with the defaults
    and 1e5 calls 20 steps in low dimensions and 60 in high ones, with
    1e6 calls about 200 and 400. The defaults left at ``None`` are the rules
    of :class:`~skhep_ml.integrate.plan.Plan`, smooth blends between two
    limits measured in ``benchmarks/bench_integration.py``: where fine
    strata pay (low dimensions, large budgets) the final stratified
    integration dominates the error and its flow passes the overhead, so the
    conditioner is narrow and the training short; where they do not, the
    proposal's quality dominates. The
    variance loss minimises
    ``Var_g[f/g] / I²`` estimated on buffered points with
    ``q_test / q_sample`` importance ratios.

    References
    ----------
    .. [1] G. P. Lepage, "Adaptive multidimensional integration: VEGAS
       enhanced", arXiv:2009.05112.
    .. [2] T. Müller et al., "Neural importance sampling", arXiv:1808.03856.
    .. [3] C. Gao et al., "i-flow: High-dimensional integration and sampling
       with normalizing flows", arXiv:2001.05486.
    .. [4] T. Heimel et al., "MadNIS - Neural multi-channel importance
       sampling", arXiv:2212.06172; "The MadNIS reloaded", arXiv:2311.01548.

    Examples
    --------
    >>> from skhep_ml import NeuralImportanceIntegrator
    >>> from skhep_ml.datasets import Camel
    >>> f = Camel(2)
    >>> nis = NeuralImportanceIntegrator(
    ...     integrand=f,
    ...     max_evaluations=20000,
    ...     n_iter=10,
    ...     n_samples_per_iter=500,
    ...     random_state=0,
    ... ).fit()
    >>> value, error = nis.integrate(5000)
    >>> abs(value - f.integral) < 5 * error
    True
    """

    _parameter_constraints = {
        **{
            k: v
            for k, v in NET_PARAMETER_CONSTRAINTS.items()
            if k
            not in (
                "lr_schedule",
                "early_stopping",
                "validation_fraction",
                "n_iter_no_change",
                "tol",
            )
        },
        "integrand": [callable, None],
        "n_dims": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "bounds": ["array-like", None],
        "integrand_backend": [StrOptions({"numpy", "torch"})],
        "n_jobs": [numbers.Integral, None],
        "max_evaluations": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "channels": [Interval(numbers.Integral, 1, None, closed="left"), list, None],
        "prior_weights": [callable, None],
        "vegas_init": ["boolean"],
        "vegas_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "vegas_samples_per_iter": [
            Interval(numbers.Integral, 2, None, closed="left"),
            None,
        ],
        "vegas_bins": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "grid_bins": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "defensive_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "find_modes": ["boolean"],
        "n_transforms": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "flow_bins": [Interval(numbers.Integral, 2, None, closed="left")],
        # None: the default of the plan (see plan.Plan)
        **{
            k: [*NET_PARAMETER_CONSTRAINTS[k], None]
            for k in ("hidden_layer_sizes", "lr", "batch_size")
        },
        "activation": [str, None],
        "loss": [StrOptions({"auto", "variance", "kl"})],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_samples_per_iter": [
            Interval(numbers.Integral, 2, None, closed="left"),
            None,
        ],
        "buffer_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "buffer_reuse": [Interval(numbers.Real, 0, None, closed="left"), None],
        "n_integration_samples": [Interval(numbers.Integral, 4, None, closed="left")],
        "stratified": ["boolean"],
    }

    # fixed choices read by TorchEstimatorMixin (the online loop schedules lr)
    early_stopping = False
    lr_schedule = "constant"

    def __init__(
        self,
        *,
        integrand=None,
        n_dims=None,
        bounds=None,
        integrand_backend="numpy",
        n_jobs=None,
        max_evaluations=None,
        channels=None,
        prior_weights=None,
        vegas_init=True,
        vegas_iter=5,
        vegas_samples_per_iter=None,
        vegas_bins=None,
        grid_bins=None,
        defensive_fraction=0.05,
        find_modes=True,
        n_transforms=None,
        flow_bins=4,
        hidden_layer_sizes=None,
        activation=None,
        loss="auto",
        n_iter=None,
        n_samples_per_iter=None,
        buffer_size=None,
        buffer_reuse=None,
        n_integration_samples=10000,
        stratified=True,
        max_epochs=1,
        batch_size=None,
        lr=None,
        device="cpu",
        callbacks=None,
        verbose=0,
        random_state=None,
    ):
        self.integrand = integrand
        self.n_dims = n_dims
        self.bounds = bounds
        self.integrand_backend = integrand_backend
        self.n_jobs = n_jobs
        self.max_evaluations = max_evaluations
        self.channels = channels
        self.prior_weights = prior_weights
        self.vegas_init = vegas_init
        self.vegas_iter = vegas_iter
        self.vegas_samples_per_iter = vegas_samples_per_iter
        self.vegas_bins = vegas_bins
        self.grid_bins = grid_bins
        self.defensive_fraction = defensive_fraction
        self.find_modes = find_modes
        self.n_transforms = n_transforms
        self.flow_bins = flow_bins
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.n_iter = n_iter
        self.n_samples_per_iter = n_samples_per_iter
        self.buffer_size = buffer_size
        self.buffer_reuse = buffer_reuse
        self.n_integration_samples = n_integration_samples
        self.stratified = stratified
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.positive_only = True
        tags.non_deterministic = False
        return tags

    # --------------------------------------------------------------- helpers
    def _mappings(self):
        if self.channels is None:
            return [None]
        if isinstance(self.channels, numbers.Integral):
            return [None] * int(self.channels)
        return [copy.deepcopy(m) for m in self.channels]

    def _log_prior(self, x_unit_np):
        """``(n, n_channels)`` log prior channel weights at unit-cube points."""
        n = len(x_unit_np)
        # the user's channels (a fit of an older release: all of them)
        C = getattr(self, "_n_user_channels", self.n_channels_)
        if self.prior_weights is None or C == 1:
            return np.zeros((n, self.n_channels_))
        X = self.bounds_[:, 0] + self._width * x_unit_np
        prior = np.asarray(self.prior_weights(X), dtype=np.float64)
        if prior.shape != (n, C):
            raise ValueError(
                f"prior_weights returned shape {prior.shape}; expected ({n}, {C})."
            )
        log_prior = np.log(np.clip(prior, 1e-300, None))
        if self.n_channels_ > C:
            # a channel of a found peak serves the whole prior (the sum)
            total = logsumexp(log_prior, axis=1, keepdims=True)
            extra = np.repeat(total, self.n_channels_ - C, axis=1)
            log_prior = np.hstack([log_prior, extra])
        return log_prior

    def _make_net(self, grids, mappings, seed, device, epoch_verbosity=None):
        """Build and initialise ``net_`` with the plan's network and batch.

        ``epoch_verbosity``: see :meth:`_build_net` (``None``: online training,
        whose rounds the fit reports itself).
        """
        plan = self.plan_
        net = self._build_net(
            Proposal,
            ImportanceSamplingLoss,
            seed=seed,
            device=device,
            epoch_verbosity=epoch_verbosity,
            n_samples=plan.batch_size,
            batch_size=plan.batch_size,
            max_epochs=plan.epochs_per_round,
            lr=plan.lr,
            module__n_dims=plan.n_dims,
            module__grids=grids,
            module__mappings=mappings,
            module__defensive_fraction=self.defensive_fraction,
            module__flow_kwargs=dict(
                n_transforms=plan.n_transforms,
                bins=plan.flow_bins,
                hidden_layer_sizes=plan.hidden_layer_sizes,
                activation=plan.activation,
            ),
            module__cw_init_std=plan.cw_init_std,
            module__cw_hidden=plan.cw_hidden_layer_sizes,
            module__map_prior=plan.map_prior,
            module__flow_prior=plan.flow_prior,
            criterion__loss=plan.loss,
        )
        with torch_seed(seed, device):
            net.initialize()
        self.net_ = net
        self._set_inference_dtype()

    def _set_inference_dtype(self):
        """Keep the proposal in its training dtype (float32) for inference too.

        Sampling and density evaluation then cost half as much as in float64,
        and the weights ``f / g`` only inherit a relative round-off of ~1e-6
        (far below their statistical error), consistently between a point and
        its density. ``score_samples`` runs a cached float64 copy.
        """
        self.net_.module_.to(self._training_dtype())

    def _sampler(self, evaluate=None):
        """The :class:`ProposalSampler` of the fitted proposal (current fractions)."""
        return ProposalSampler(
            self.net_.module_,
            self._forward_batches,
            n_dims=self.n_features_in_,
            channel_fractions=self.channel_fractions_,
            log_prior=self._log_prior,
            evaluate=evaluate if evaluate is not None else self._evaluate,
            batch_size=self.inference_batch_size,
            device=self.net_.device,
        )

    def _integrand_calls(self, budget, device):
        """The counted, validated integrand calls at unit-cube points."""
        calls = IntegrandCalls(
            self,
            self.integrand,
            self.bounds_[:, 0],
            self._width,
            self.integrand_backend,
            self.n_jobs,
            budget,
        )
        calls.device = device
        return calls

    def _evaluate_and_keep(self, u):
        """Integrand values at unit-cube points ``u``, appended to ``buffer_*_``."""
        f = self._evaluate(u)
        cap = self.plan_.buffer_size
        X = self.bounds_[:, 0] + self._width * u
        y = f / math.exp(self._log_volume)
        self.buffer_X_ = np.concatenate([self.buffer_X_, X])[-cap:]
        self.buffer_y_ = np.concatenate([self.buffer_y_, y])[-cap:]
        return f

    # ------------------------------------------------------------------- fit
    def fit(self, X=None, y=None):
        """Train the proposal and estimate the integral.

        With an ``integrand``: VEGAS adaptation, online training rounds, and a
        final integration, within ``max_evaluations`` calls. Without one:
        learn from the evaluated buffer ``(X, y)`` (points drawn uniformly in
        the bounds, integrand values ``y``). The calls, schedule and network
        of either are the fit's :attr:`plan_`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_dims), default=None
            Evaluated points (without an integrand); with an integrand only
            its number of columns is used (the dimension).
        y : array-like of shape (n_samples,), default=None
            Non-negative integrand values at ``X`` (without an integrand).

        Returns
        -------
        self : NeuralImportanceIntegrator
            The fitted estimator.

        Raises
        ------
        ValueError
            On invalid parameters, NaN/inf/negative integrand values (the
            points are named, evaluated points kept), missing ``y`` without an
            integrand, a budget too small for the plan, or CUDA requested but
            absent.
        RuntimeError
            If the training diverged (the proposal draws non-finite points;
            the integrand is not called with them).
        """
        rng, device = self._init_fit()
        self.n_evaluations_ = 0
        if self.integrand is None:
            return self._fit_buffer(X, y, rng, device)
        return self._fit_online(X, rng, device)

    def _start(self, n_dims, data=None):
        """Bounds, channels and the plan of a fit in ``n_dims``; the mappings."""
        self.bounds_ = integration_box(self.bounds, n_dims, data)
        self._width = self.bounds_[:, 1] - self.bounds_[:, 0]
        self._log_volume = float(np.sum(np.log(self._width)))
        mappings = self._mappings()
        self.n_channels_ = self._n_user_channels = C = len(mappings)
        self.channel_fractions_ = np.full(C, 1.0 / C)
        self.plan_ = make_plan(self, n_dims, C)
        if self.verbose:
            print(self.plan_)
        return mappings

    def _fit_buffer(self, X, y, rng, device):
        if y is None:
            raise ValueError(
                "NeuralImportanceIntegrator requires y to be passed, but the target y "
                "is None (give an integrand, or evaluated values y at uniform X)."
            )
        X, y = validate_data(
            self, X, y, dtype=np.float64, ensure_min_samples=2, y_numeric=True
        )
        bad = ~np.isfinite(y) | (y < 0)
        if bad.any():
            raise ValueError(
                f"y (integrand values) has {int(bad.sum())} NaN, infinite or negative "
                "value(s)."
            )
        mappings = self._start(X.shape[1], X)
        plan = self.plan_
        u = np.clip((X - self.bounds_[:, 0]) / self._width, 0.0, 1.0)
        f = y * math.exp(self._log_volume)
        grid = None
        if self.vegas_init:
            grid = adapt_grid_to_samples(u, f, plan.vegas_bins, plan.grid_bins)
        seed = derive_seed(rng)
        self._sample_seed = derive_seed(rng)
        self._make_net(
            [grid] * self.n_channels_, mappings, seed, device, epoch_verbosity=1
        )
        scale = f.mean() if f.mean() > 0 else 1.0
        Xp = np.hstack([u, self._log_prior(u)])
        Y = np.column_stack([f / scale, np.zeros(len(u))])
        self.net_.set_params(max_epochs=plan.rounds * plan.epochs_per_round)
        self._train_net(Xp, Y, seed=derive_seed(rng), partial=True)
        self.buffer_X_, self.buffer_y_ = X, y
        self.integral_ = float(f.mean())
        self.integral_error_ = float(f.std(ddof=1) / math.sqrt(len(f)))
        self.result_ = IntegrationResult(self.integral_, self.integral_error_, 0)
        self.vegas_integral_ = self.integral_
        self.vegas_integral_error_ = self.integral_error_
        return self

    def _fit_online(self, X, rng, device):
        """VEGAS stage, training rounds, final integration (see :mod:`._stages`)."""
        if X is not None:
            X = validate_data(self, X, dtype=np.float64)
        n_dims = resolve_n_dims(self.n_dims, X, self.bounds, self.integrand)
        self.n_features_in_ = n_dims
        mappings = self._start(n_dims)
        plan = self.plan_
        self._evaluate = self._integrand_calls(self.max_evaluations, device)
        self.buffer_X_, self.buffer_y_ = np.empty((0, n_dims)), np.empty(0)
        with_prior = plan.n_channels > 1 and self.prior_weights is not None
        stage = vegas_stage(
            plan,
            mappings,
            self._evaluate_and_keep,
            self._log_prior if with_prior else None,
            rng,
        )
        self.vegas_integral_, self.vegas_integral_error_ = stage.value, stage.error
        if plan.vegas_iter:
            report(
                self.verbose,
                f"VEGAS stage: {self.n_evaluations_} calls, estimate "
                f"{value_error(stage.value, stage.error)}",
            )
        mappings = self._add_peak_channels(stage, mappings, rng)
        plan = self.plan_
        self._make_net(stage.grids, mappings, derive_seed(rng), device)
        sampler = self._sampler()
        self._buffer, self._scale = first_training_rows(plan, stage, sampler)
        # the points of every stage, for the coverage check (own samples
        # store the joint density of point and channel: not kept)
        seen = None if plan.own_samples else SeenPoints(n_dims)
        if seen is not None and self._buffer is not None:
            _, Y0 = self._buffer
            seen.add(self._buffer[0][:, :n_dims], Y0[:, 0], Y0[:, 1])
        calls_before = self.n_evaluations_
        self._buffer, self._scale = training_rounds(
            plan,
            self.net_,
            sampler,
            self._evaluate_and_keep,
            self._buffer,
            self._scale,
            rng,
            self._train_round,
            verbose=self.verbose,
            seen=seen,
        )
        if plan.rounds:
            history = self.net_.history
            self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
            self.n_iter_ = len(history)
            report(
                self.verbose,
                f"training: {plan.rounds} rounds, "
                f"{self.n_evaluations_ - calls_before} calls, loss "
                f"{self.loss_curve_[0]:.4g} -> {self.loss_curve_[-1]:.4g}",
            )
            if plan.n_channels > 1:
                fractions = update_fractions(
                    self._buffer, self._forward_batches, plan.n_channels
                )
                if fractions is not None:
                    self.channel_fractions_ = fractions
        calls_before = self.n_evaluations_
        self.result_ = self._integrate(remaining_calls(plan, calls_before), rng)
        self.integral_, self.integral_error_ = self.result_
        report(
            self.verbose,
            f"final integration: {self.n_evaluations_ - calls_before} calls, "
            f"{value_error(*self.result_)}, unweighting efficiency "
            f"{self.result_.unweighting_efficiency:.3g}",
        )
        self._check_modes(seen)
        self._sample_seed = derive_seed(rng)
        return self

    def _add_peak_channels(self, stage, mappings, rng):
        """Exploration stage: a channel per peak found (``plan.explore_calls``)."""
        plan = self.plan_
        if not plan.explore_calls:
            return mappings
        calls_before = self.n_evaluations_
        width = self._width
        u_seen = (self.buffer_X_ - self.bounds_[:, 0]) / width
        f_seen = self.buffer_y_ * math.exp(self._log_volume)
        found, _ = explore_peaks(
            self._evaluate, u_seen, f_seen, plan.explore_calls, rng
        )
        peaks = uncovered_peaks(found, stage.grids)
        report(
            self.verbose,
            f"exploration: {self.n_evaluations_ - calls_before} calls, "
            f"{len(found)} peak(s) found, {len(peaks)} not covered by VEGAS",
        )
        if not peaks:
            return mappings
        # one VEGAS channel: its points' exact density (else the maps' mixture)
        stage.exact_log_q = len(stage.grids) == 1
        stage.grids = stage.grids + [
            peak_grid(x, cov, plan.grid_bins) for x, _, cov in peaks
        ]
        C = len(stage.grids)
        self.plan_ = with_peak_channels(plan, C)
        if self.verbose:
            print(self.plan_)
        self.n_channels_ = C
        self.channel_fractions_ = np.full(C, 1.0 / C)
        return [None] * C

    def _check_modes(self, seen):
        """Warn on signs of a lost mode; widen ``integral_error_`` to cover it."""
        missed = (0.0, 0.0)
        if seen is not None and len(seen.u):
            log_g = self._log_density_unit(seen.u)
            missed = missed_mass(
                seen.as_dict(),
                log_g,
                self.result_,
                self._weight_tail.get("max_share_allowed"),
            )
        error = check_modes(
            self.result_,
            self._weight_tail,
            self.vegas_integral_,
            self.vegas_integral_error_,
            missed,
        )
        if error > self.integral_error_:
            r = self.result_
            self.result_ = IntegrationResult(
                r.value,
                error,
                r.n_evaluations,
                r.rel_std,
                r.unweighting_efficiency,
                r.unweighting_efficiency_q,
            )
            self.integral_error_ = error

    def _train_round(self, X, Y, *, seed):
        """One round of online training: ``net_.partial_fit`` on float32 tensors.

        The module stays in float32 for training and inference, so unlike
        :meth:`_train_net` nothing is cast between rounds; the cached inference
        copy of another dtype is dropped (the weights changed).
        """
        net = self.net_
        dtype = self._module_dtype()
        X = torch.as_tensor(X).to(dtype)
        Y = torch.as_tensor(Y).to(dtype)
        with torch_seed(seed, net.device):
            net.partial_fit(X, Y)
        self._drop_inference_copy()

    def _integrate(self, n, rng):
        """Final integration with ``n`` calls; keeps the weight-tail diagnostics."""
        sampler = self._sampler()
        result, self._weight_tail = final_integration(
            sampler, n, rng, stratified=self.stratified
        )
        return result

    # ------------------------------------------------------------ public API
    def _check_integrand(self, what):
        check_is_fitted(self)
        if self.integrand is None:
            raise ValueError(f"{what} needs an integrand (integrand=None).")
        if not hasattr(self, "_evaluate"):
            self._evaluate = self._integrand_calls(None, self.net_.device)
        self._evaluate.budget = None
        self._evaluate.device = self.net_.device

    def integrate(self, n_samples=100_000, *, random_state=None):
        """Estimate the integral with ``n_samples`` fresh integrand calls.

        Parameters
        ----------
        n_samples : int, default=100000
            Points (integrand calls).
        random_state : int, RandomState instance or None, default=None
            Seed of the points (``None``: fresh randomness).

        Returns
        -------
        result : IntegrationResult
            Unpacks as ``(value, error)``; also ``n_evaluations``, ``rel_std``,
            ``unweighting_efficiency`` and ``unweighting_efficiency_q``.
        """
        self._check_integrand("integrate")
        return self._integrate(int(n_samples), check_random_state(random_state))

    def sample(
        self, n_samples=1, *, unweighted=False, quantile=None, random_state=None
    ):
        """Draw weighted events, or exactly ``n_samples`` unweighted ones.

        Weighted events cost one integrand call each. Unweighted events are
        drawn in batches (of at most 262144 calls, so the memory does not
        grow with the calls) until ``n_samples`` are accepted; every call is
        counted in :attr:`n_evaluations_` and reported in :attr:`unweighting_`.

        Parameters
        ----------
        n_samples : int, default=1
            Events returned (weighted: also the integrand calls).
        unweighted : bool, default=False
            Hit-or-miss unweighting against the largest weight drawn (when a
            later batch brings a larger one, the events kept so far are
            thinned to it), or against the ``quantile`` of the weights of the
            first batch (partial unweighting; events above it keep their
            larger weight, their fraction is reported in ``unweighting_``).
        quantile : float in (0, 1], default=None
            Reference quantile for partial unweighting (e.g. 0.999).
        random_state : int, RandomState instance or None, default=None
            Seed.

        Returns
        -------
        X : ndarray of shape (n_samples, n_dims)
            Events in ``bounds``.
        w : ndarray of shape (n_samples,)
            Weights. Weighted: ``w.mean()`` estimates the integral.
            Unweighted: the reference weight (or an event's own larger weight
            with ``quantile``); ``unweighting_["integral"]`` is the estimate
            from all the calls drawn.

        Raises
        ------
        ValueError
            If ``n_samples < 1``, ``quantile`` is outside ``(0, 1]``, or no
            drawn point has a positive weight.
        """
        self._check_integrand("sample")
        n_samples = int(n_samples)
        if n_samples < 1:
            raise ValueError(f"n_samples must be at least 1, got {n_samples}.")
        if quantile is not None and not 0 < quantile <= 1:
            raise ValueError(f"quantile must be in (0, 1], got {quantile}.")
        rng = check_random_state(random_state)
        if not unweighted:
            return self._weighted_events(n_samples, rng)
        X, w, self.unweighting_ = unweight_to_count(
            lambda m: self._weighted_events(m, rng),
            n_samples,
            quantile=quantile,
            efficiency=getattr(self.result_, "unweighting_efficiency", None),
            rng=rng,
        )
        return X, w

    def _weighted_events(self, n, rng):
        """``n`` events of plain sampling from the proposal and their weights."""
        draw = self._sampler().draw(
            n, rng, stratify=False, mixture_density=False, fixed_components=False
        )
        h = weights(draw, self._evaluate(draw["u"]))
        _, _, w = stratified_estimate(h, draw["stratum"], draw["stratum_weight"])
        X = self.bounds_[:, 0] + self._width * draw["u"]
        order = rng.permutation(len(X))
        return X[order], w[order]

    def _log_density_unit(self, u):
        d = self.n_features_in_
        # a user-facing density: float64 on the CPU, so a point's value does not
        # depend on the other rows of its batch (float32 BLAS kernels of some
        # CPUs round a row differently by its position); the copy is cached
        dtype = torch.float64 if self.net_.device == "cpu" else None
        lq = self._forward_batches(lambda m, xb: m.log_probs(xb[:, :d]), u, dtype=dtype)
        return logsumexp(lq + np.log(self.channel_fractions_), axis=-1)

    def score_samples(self, X):
        """Log density of the proposal at ``X`` (no integrand calls).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_dims)
            Points.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log g(x)`` with respect to ``x`` in ``bounds`` (``-inf`` outside),
            evaluated in float64 on the CPU (the proposal samples in float32:
            the two agree to float32 round-off).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        u = (X - self.bounds_[:, 0]) / self._width
        inside = np.all((u >= 0) & (u <= 1), axis=1)
        out = np.full(len(X), -np.inf)
        if inside.any():
            out[inside] = self._log_density_unit(u[inside]) - self._log_volume
        return out

    def score(self, X, y=None):
        """Minus the relative variance of ``f/g`` on (held-out, uniform) points.

        Uniform points make ``Var[f/g]`` estimable for any proposal, so a
        ``GridSearchCV`` over integrator settings picks the best proposal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_dims)
            Points, uniform in ``bounds``.
        y : array-like of shape (n_samples,), default=None
            Integrand values at ``X``; ``None`` calls the integrand.

        Returns
        -------
        score : float
            ``-E_u[f²/g] / (E_u[f])² + 1`` estimated with the uniform points
            (higher is better; 0 is a perfect proposal).
        """
        log_g = self.score_samples(X)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        if y is None:
            self._check_integrand("score")
            f = self._evaluate((X - self.bounds_[:, 0]) / self._width)
            f = f / math.exp(self._log_volume)
        else:
            f = np.asarray(y, dtype=np.float64).reshape(-1)
        vol = math.exp(self._log_volume)
        mean_f = f.mean() * vol
        if mean_f <= 0:
            return 0.0
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            second = np.where(f > 0, f**2 * np.exp(-log_g), 0.0).mean() * vol
        if not np.isfinite(second):
            return float(-np.inf)
        return float(-(second / mean_f**2 - 1.0))
