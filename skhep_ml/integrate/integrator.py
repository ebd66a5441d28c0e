"""NeuralImportanceIntegrator: neural importance sampling with a VEGAS start.

The proposal of every channel is ``x = M_i(V_i(F_i^{-1}(z)))`` (see
:mod:`skhep_ml.integrate._channels`): a unit-hypercube normalizing flow that
starts as the identity, composed with a VEGAS grid adapted by the ``vegas`` package, so
training starts where VEGAS ends. The flows are trained online through skorch
on buffered ``(x, f(x), q_sample(x))`` with the variance (or KL) loss.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, DensityMixin

from ..base import (
    NET_PARAMETER_CONSTRAINTS,
    Interval,
    StrOptions,
    TorchEstimatorMixin,
    check_hidden_layer_sizes,
    check_is_fitted,
    check_random_state,
    derive_seed,
    torch_seed,
    validate_data,
)
from ._channels import BreitWignerMapping, IdentityMapping, Proposal
from ._final_integration import FinalIntegrationMixin, split_counts
from ._integrand_calls import IntegrandCalls
from ._unweighting import (
    IntegrationResult,
    stratified_estimate,
    unweight,
)
from ._vegas_init import (
    adapt_grid_to_samples,
    adapt_vegas_grid,
    adapt_vegas_integrator,
)
from .loss import ImportanceSamplingLoss

__all__ = [
    "BreitWignerMapping",
    "IdentityMapping",
    "IntegrationResult",
    "NeuralImportanceIntegrator",
    "unweight",
]

_LOG_TINY = -700.0

#: defaults of the parameters left at ``None``, by dimension. Up to three
#: dimensions the final stratified integration dominates the error and the
#: flow passes of the draw dominate the overhead: a narrow ReLU conditioner (a
#: pass costs ~0.45 us per point against ~0.75 us with SiLU (32, 32)), few
#: rounds and no buffer reuse. From four dimensions on the proposal's quality
#: dominates: the wider SiLU conditioner, more rounds, every fresh point
#: reused once, a larger learning rate. Measured in
#: ``benchmarks/bench_integration.py``.
_REGIME_DEFAULTS = {
    "low": dict(
        hidden_layer_sizes=(16, 16),
        activation="relu",
        buffer_reuse=0.0,
        lr=1e-2,
        rounds_per_sqrt_call=1.0 / 64.0,
    ),
    "high": dict(
        hidden_layer_sizes=(32, 32),
        activation="silu",
        buffer_reuse=1.0,
        lr=2e-2,
        rounds_per_sqrt_call=1.0 / 16.0,
    ),
}


def _latent(n, d, rng, stratify):
    """Uniform latent points; stratified in ``k^d`` cells when it pays.

    Returns ``(z, cell, n_cells)``; every cell holds at least two points.
    """
    k = int(math.floor((n / 2.0) ** (1.0 / d) + 1e-9)) if stratify and n >= 4 else 1
    if k < 2:
        return rng.uniform(size=(n, d)), np.zeros(n, dtype=np.int64), 1
    n_cells = k**d
    per, rest = divmod(n, n_cells)
    counts = np.full(n_cells, per)
    counts[:rest] += 1
    cell = np.repeat(np.arange(n_cells), counts)
    digits = np.stack(np.unravel_index(cell, (k,) * d), axis=1)
    z = (digits + rng.uniform(size=(n, d))) / k
    return z, cell, n_cells


class NeuralImportanceIntegrator(
    FinalIntegrationMixin, TorchEstimatorMixin, DensityMixin, BaseEstimator
):
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
        Exact number of integrand calls ``fit`` spends. Up to three
        dimensions VEGAS adaptation takes at most 10 %, training at most 25 %
        (rounds shrink to fit; 20 % with the default ``n_samples_per_iter``);
        from four dimensions on 20 % and 35 % (30 %) up to 1e5 calls, growing
        as ``N^0.82`` beyond; the final integration takes the rest.
        ``None``: the sum of the planned stages.
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
        grid improves with the budget. Above four dimensions the grid is
        adapted by ``vegas.Integrator`` (adaptive stratified sampling), below
        by a bare ``vegas.AdaptiveMap`` on uniform points.
    vegas_bins : int, default=None
        VEGAS bins per dimension during adaptation; ``None`` is 128 for
        ``n_dims <= 2``, else 64.
    grid_bins : int, default=None
        Bins kept after bin reduction (the proposal's VEGAS map); ``None``
        keeps all ``vegas_bins`` for ``n_dims <= 4`` and reduces to 32 above
        (a finer grid pays in low dimensions; in high ones a coarser grid
        keeps the phantom peaks of a separable grid broad for the flow).
    defensive_fraction : float, default=0.05
        Share of every channel drawn without its flow (mode guard): three
        quarters from its VEGAS map alone, one quarter uniformly (through its
        mapping alone).
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
        Conditioner widths. ``None``: ``(16, 16)`` up to three dimensions,
        ``(32, 32)`` from four on.
    activation : str, default=None
        Conditioner activation. ``None``: ``"relu"`` up to three dimensions
        (up to three dimensions the flow passes of the final integration
        dominate the overhead, and a ReLU pass costs ~0.45 µs per point
        against ~0.75 µs for SiLU), ``"silu"`` from four on.
    loss : {"auto", "variance", "kl"}, default="auto"
        Training objective (see :func:`skhep_ml.integrate.loss.variance_loss` and
        :func:`skhep_ml.integrate.loss.kl_loss`). ``"auto"``: the variance loss up to
        three dimensions (it targets the weight variance, hence the
        unweighting, directly); from four on the KL loss for the first three
        quarters of the training rounds (its gradient grows as ``w log w``, not
        ``w²``, so it stays stable while the weights of a high-dimensional
        proposal are still heavy-tailed) and the variance loss for the last
        quarter, which trims the largest weights of the trained proposal (on
        camel d4 at 1e5 calls, seeds 0-5: 0.8x the error, and the lowest
        unweighting efficiency relative to madnis's 2.1x instead of 0.95x).
    n_iter : int, default=None
        Online training rounds (with an integrand); epochs over the buffer
        without one. ``None``: ``sqrt(max_evaluations) / 64`` rounds up to
        three dimensions and ``sqrt(max_evaluations) / 16`` from four on
        (5 and 20 at 1e5 calls), between 1 and 50; 50 without
        ``max_evaluations``. With the calls per round also growing as
        ``sqrt(N)``, the fixed cost of a round (a draw and its gradient
        steps) stays a small share of the overhead at small budgets.
    n_samples_per_iter : int, default=None
        Fresh integrand calls per round. ``None``: 20 % of ``max_evaluations``
        (30 % from four dimensions on, see ``max_evaluations``) spread over
        the rounds (at least 64), so the training compute grows
        with the call budget; 1000 without ``max_evaluations``.
    buffer_size : int, default=None
        Capacity of the buffer of evaluated points; ``None`` is
        ``10 *`` the calls per round.
    buffer_reuse : float, default=None
        Each round also trains on ``buffer_reuse`` times its fresh calls in
        points drawn from the buffer (importance-weighted by their stored
        densities). ``None``: 0 up to three dimensions, 1 from four on. Raise
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
        Adam learning rate (cosine-decayed over the rounds). ``None``: 1e-2 up
        to three dimensions, 2e-2 from four on.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
    callbacks : list, default=None
        Extra skorch callbacks.
    verbose : int, default=0
        Verbosity.
    random_state : int, RandomState instance or None, default=None
        Seeds VEGAS, initialisation, sampling and training.

    Attributes
    ----------
    net_ : skhep_ml.base.TorchNet
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
        Its standard error.
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
        Statistics of the last unweighting by :meth:`sample`.

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
    and 1e5 calls 20 steps up to three dimensions and 60 from four on, with
    1e6 calls about 200 and 400. The defaults left at ``None`` follow two
    regimes, measured in ``benchmarks/bench_integration.py``: up to three
    dimensions the final stratified integration dominates the error and its
    flow passes the overhead, so the conditioner is narrow and the training
    short; from four dimensions on the proposal's quality dominates. The
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
    ...     integrand=f, max_evaluations=20000, n_iter=10, n_samples_per_iter=500,
    ...     random_state=0).fit()
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
        "n_transforms": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "flow_bins": [Interval(numbers.Integral, 2, None, closed="left")],
        # None: the default of the dimension (see _REGIME_DEFAULTS)
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
    def _mappings(self, n_dims):
        if self.channels is None:
            return [None]
        if isinstance(self.channels, numbers.Integral):
            return [None] * int(self.channels)
        return [copy.deepcopy(m) for m in self.channels]

    def _log_prior(self, x_unit_np):
        """``(n, n_channels)`` log prior channel weights at unit-cube points."""
        n = len(x_unit_np)
        if self.prior_weights is None or self.n_channels_ == 1:
            return np.zeros((n, self.n_channels_))
        X = self.bounds_[:, 0] + self._width * x_unit_np
        prior = np.asarray(self.prior_weights(X), dtype=np.float64)
        if prior.shape != (n, self.n_channels_):
            raise ValueError(
                f"prior_weights returned shape {prior.shape}; expected "
                f"({n}, {self.n_channels_})."
            )
        return np.log(np.clip(prior, 1e-300, None))

    def _flow_kwargs(self, n_dims):
        return dict(
            n_transforms=self._n_transforms(n_dims),
            bins=self.flow_bins,
            hidden_layer_sizes=check_hidden_layer_sizes(
                self._setting("hidden_layer_sizes")
            ),
            activation=self._setting("activation"),
        )

    def _n_transforms(self, n_dims):
        """Coupling blocks per flow: ``n_transforms``, or its default.

        ``None``: ``ceil(log2(n_dims))`` for a single channel; with several,
        each flow models only its channel's share ``α_i f`` of the integrand
        (about one mode), which takes one block fewer; at least two. On camel
        d8 at 1e5 and 1e6 calls two identical channels with two blocks each
        are as accurate as with three, at 0.7x the wall time
        (``benchmarks/bench_integration.py``).
        """
        if self.n_transforms is not None:
            return int(self.n_transforms)
        blocks = math.ceil(math.log2(n_dims)) - (self.n_channels_ > 1)
        return max(2, blocks)

    def _make_net(self, grids, mappings, seed, device):
        identical = isinstance(self.channels, numbers.Integral) and self.channels > 1
        batch_size = self._batch_size()
        net = self._build_net(
            Proposal,
            ImportanceSamplingLoss,
            seed=seed,
            device=device,
            n_samples=batch_size,
            batch_size=batch_size,
            lr=self._setting("lr"),
            module__n_dims=self.n_features_in_,
            module__grids=grids,
            module__mappings=mappings,
            module__defensive_fraction=self.defensive_fraction,
            module__flow_kwargs=self._flow_kwargs(self.n_features_in_),
            module__cw_init_std=0.5
            if identical and self.prior_weights is None
            else 0.0,
            module__map_prior=isinstance(self.channels, list) and len(mappings) > 1,
            module__flow_prior=identical and self._flow_prior,
            criterion__loss=self._loss(),
        )
        with torch_seed(seed, device):
            net.initialize()
        self.net_ = net
        self._set_inference_dtype()

    def _module(self):
        return self.net_.module_

    def _to_tensor(self, a):
        return torch.as_tensor(
            np.asarray(a), dtype=self._module_dtype(), device=self.net_.device
        )

    # ---------------------------------------------------------------- sampling
    def _draw(
        self,
        n,
        rng,
        *,
        stratify,
        mixture_density,
        fixed_components=True,
        channel_weights=True,
    ):
        """Draw ``n`` points from the channels (fixed counts per channel).

        Returns a dict with unit-cube points ``u``, channel ``ch``, the log
        density of the own channel ``log_g``, ``log_alpha`` (own channel),
        strata ``stratum``/``stratum_weight`` and, if asked, the log density of
        the sampling mixture ``log_q_sample``. ``channel_weights=False`` skips
        ``log_alpha`` (training draws do not use it).
        """
        d = self.n_features_in_
        module = self._module()
        counts = split_counts(n, self.channel_fractions_)
        us, chs, logg, strata, sweights = [], [], [], [], []
        offset = 0
        with torch.no_grad():
            for i, n_i in enumerate(counts):
                if n_i == 0:
                    continue
                shares = np.array(module.channels[i].component_shares())
                active = np.flatnonzero(shares > 0)
                if fixed_components and n_i >= 2 * len(active):
                    # fixed counts per component (stratified mixture sampling)
                    n_comp = np.zeros(3, dtype=int)
                    n_comp[active] = 2 + split_counts(
                        n_i - 2 * len(active), shares[active] / shares[active].sum()
                    )
                    parts = [(c, n_comp[c], shares[c]) for c in active]
                else:
                    # too few points: draw the components at random, one stratum
                    parts = [(None, n_i, 1.0)]
                zs = []
                for comp, n_c, share in parts:
                    z, cell, n_cells = _latent(
                        n_c, d, rng, stratify and comp is not None
                    )
                    if comp is None:
                        labels = rng.choice(3, size=n_c, p=shares)
                        order = np.argsort(labels, kind="stable")
                        z = z[order]
                        zs += [(z[labels[order] == c], int(c)) for c in range(3)]
                    else:
                        zs.append((z, int(comp)))
                    chs.append(np.full(n_c, i))
                    strata.append(cell + offset)
                    sweights.append(np.full(n_cells, share / n_cells))
                    offset += n_cells
                for x, lg in self._from_latent_parts(i, zs):
                    us.append(np.clip(x, 0.0, 1.0))
                    logg.append(lg)
        u = np.concatenate(us)
        ch = np.concatenate(chs)
        out = dict(
            u=u,
            ch=ch,
            log_g=np.concatenate(logg),
            stratum=np.concatenate(strata),
            stratum_weight=np.concatenate(sweights),
        )
        log_prior = self._log_prior(u)
        log_q = None
        if mixture_density and self.n_channels_ > 1:
            log_q = self._channel_log_probs(u, ch, out["log_g"])
        if channel_weights:
            out["log_alpha"] = self._log_alpha_of_channel(
                u, ch, log_prior, log_q=log_q, log_g=out["log_g"]
            )
        out["log_prior"] = log_prior
        if mixture_density:
            if self.n_channels_ == 1:
                out["log_q_sample"] = out["log_g"]
            else:
                out["log_q_sample"] = _logsumexp(
                    log_q + np.log(self.channel_fractions_)
                )
        return out

    def _channel_log_probs(self, u, ch, log_g):
        """``(n, n_channels)`` log densities of every channel at drawn points.

        A point's own channel's density is its ``log_g`` from the draw, so only
        the other channels are evaluated (one flow pass per point fewer).
        """
        lq = np.empty((len(u), self.n_channels_))
        for j in range(self.n_channels_):
            own = ch == j
            lq[own, j] = log_g[own]
            if not own.all():
                lq[~own, j] = self._forward_np(
                    lambda m, xb, j=j: m.channels[j].log_prob(xb), u[~own]
                )
        return lq

    def _forward_np(self, fn, X, module=None):
        """``fn(module, xb)`` on batches of ``X`` under ``inference_mode``; numpy out.

        The proposal runs in its training dtype (float32): sampling and density
        evaluation cost half as much as in float64, and the weights
        ``f / g`` only inherit a relative round-off of ~1e-6 (far below their
        statistical error), consistently between a point and its density.
        ``module``: another module to run (e.g. a float64 copy), in its dtype.
        """
        module = self.net_.module_ if module is None else module
        device = self.net_.device
        dtype = next(module.parameters()).dtype
        bs = self.inference_batch_size
        chunks = []
        # the proposal has no dropout or batch norm: no train/eval switching
        with torch.inference_mode():
            for start in range(0, max(len(X), 1), bs):
                xb = torch.as_tensor(
                    np.asarray(X[start : start + bs]), device=device
                ).to(dtype)
                out = fn(module, xb)
                out = out if isinstance(out, tuple) else (out,)
                chunks.append(tuple(o.to("cpu", torch.float64).numpy() for o in out))
        results = tuple(np.concatenate(parts) for parts in zip(*chunks))
        return results if len(results) > 1 else results[0]

    def _log_alpha_of_channel(self, u, ch, log_prior=None, log_q=None, log_g=None):
        """log channel weight ``α_ch(u)`` of each point's own channel (0 if one).

        Identical channels weigh by the channels' densities: ``log_q`` when
        already known, else from the points' own densities ``log_g`` (see
        :meth:`_channel_log_probs`), else evaluated here.
        """
        if self.n_channels_ == 1:
            return np.zeros(len(u))
        if log_prior is None:
            log_prior = self._log_prior(u)
        d, C = self.n_features_in_, self.n_channels_
        if not self._module().flow_prior:
            log_q = None  # not used by the channel weights
        elif log_q is None and log_g is not None:
            log_q = self._channel_log_probs(u, ch, log_g)
        if log_q is None:
            la = self._forward_np(
                lambda m, xb: m.log_alpha(xb[:, :d], xb[:, d:]),
                np.hstack([u, log_prior]),
            )
        else:
            la = self._forward_np(
                lambda m, xb: m.log_alpha(xb[:, :d], xb[:, d : d + C], xb[:, d + C :]),
                np.hstack([u, log_prior, log_q]),
            )
        return la[np.arange(len(u)), ch]

    def _from_latent_parts(self, i, parts):
        """``(x, log g)`` (numpy) of channel ``i`` for ``(z, component)`` parts."""
        parts = [(z, c) for z, c in parts if len(z)]
        if sum(len(z) for z, _ in parts) > self.inference_batch_size:
            return [
                self._forward_np(lambda m, zb, c=c: m.channels[i].from_latent(zb, c), z)
                for z, c in parts
            ]
        module = self._module()
        dtype, device = self._module_dtype(), self.net_.device
        with torch.inference_mode():
            out = module.channels[i].from_latent_parts(
                [(torch.as_tensor(z, device=device).to(dtype), c) for z, c in parts]
            )
            return [
                tuple(t.to("cpu", torch.float64).numpy() for t in pair) for pair in out
            ]

    def _set_inference_dtype(self):
        """Keep the proposal in its training dtype (float32) for inference too."""
        self.net_.module_.to(self._training_dtype())

    def _weights(self, draw, f):
        """``h = α_i f / g_i`` of every point (0 where f is 0)."""
        with np.errstate(over="ignore", divide="ignore"):
            h = f * np.exp(draw["log_alpha"] - draw["log_g"])
        return np.where(f > 0, h, 0.0)

    # ------------------------------------------------------------------- fit
    def fit(self, X=None, y=None):
        """Train the proposal and estimate the integral.

        With an ``integrand``: VEGAS adaptation, online training rounds, and a
        final integration, within ``max_evaluations`` calls. Without one:
        learn from the evaluated buffer ``(X, y)`` (points drawn uniformly in
        the bounds, integrand values ``y``).

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
            integrand, or CUDA requested but absent.
        """
        rng, device = self._init_fit()
        self.n_evaluations_ = 0
        if self.integrand is None:
            return self._fit_buffer(X, y, rng, device)
        return self._fit_online(X, rng, device)

    def _set_bounds(self, n_dims, data=None):
        if self.bounds is not None:
            bounds = np.asarray(self.bounds, dtype=np.float64).reshape(-1, 2)
            if len(bounds) != n_dims:
                raise ValueError(
                    f"bounds has {len(bounds)} rows for {n_dims} dimensions."
                )
            if np.any(bounds[:, 1] <= bounds[:, 0]):
                raise ValueError("bounds must have low < high in every row.")
        elif data is not None:
            lo, hi = data.min(0), data.max(0)
            pad = 1e-3 * (hi - lo) + 1e-6 * (1.0 + np.abs(lo) + np.abs(hi))
            bounds = np.column_stack([lo - pad, hi + pad])
        else:
            bounds = np.tile([0.0, 1.0], (n_dims, 1))
        self.bounds_ = bounds
        self._width = bounds[:, 1] - bounds[:, 0]
        self._log_volume = float(np.sum(np.log(self._width)))

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
        self._set_bounds(X.shape[1], X)
        u = np.clip((X - self.bounds_[:, 0]) / self._width, 0.0, 1.0)
        f = y * math.exp(self._log_volume)
        mappings = self._mappings(X.shape[1])
        self.n_channels_ = len(mappings)
        self.channel_fractions_ = np.full(self.n_channels_, 1.0 / self.n_channels_)
        grid = (
            adapt_grid_to_samples(u, f, *self._grid_bins(X.shape[1]))
            if self.vegas_init
            else None
        )
        seed = derive_seed(rng)
        self._sample_seed = derive_seed(rng)
        self._make_net([grid] * self.n_channels_, mappings, seed, device)
        scale = f.mean() if f.mean() > 0 else 1.0
        Xp = np.hstack([u, self._log_prior(u)])
        Y = np.column_stack([f / scale, np.zeros(len(u))])
        self.net_.set_params(max_epochs=self._rounds() * self.max_epochs)
        self._train_net(Xp, Y, seed=derive_seed(rng), partial=True)
        self.buffer_X_, self.buffer_y_ = X, y
        n = len(f)
        self.integral_ = float(f.mean())
        self.integral_error_ = float(f.std(ddof=1) / math.sqrt(n))
        self.result_ = IntegrationResult(self.integral_, self.integral_error_, 0)
        self.vegas_integral_, self.vegas_integral_error_ = (
            self.integral_,
            self.integral_error_,
        )
        return self

    def _grid_bins(self, n_dims):
        """``(vegas_bins, grid_bins)`` with their dimension-dependent defaults.

        A finer grid pays in low dimensions (each bin of a dimension sees all
        the points); above four dimensions the grid is reduced to 32 bins,
        which keeps the phantom peaks of a separable grid broad for the flow.
        """
        v = self.vegas_bins or (128 if n_dims <= 2 else 64)
        g = self.grid_bins or (v if n_dims <= 4 else 32)
        return v, min(g, v)

    def _batch_size(self):
        """Mini-batch size: ``batch_size``, or a third of a round's points.

        ``None``: ``(1 + buffer_reuse) * n_samples_per_iter / 3`` (three
        gradient steps per round), between 256 and 4096; 1024 without an
        integrand.
        """
        if self.batch_size is not None:
            return int(self.batch_size)
        if self.integrand is None:
            return 1024
        per = self._plan()[3] if hasattr(self, "n_channels_") else self._per_round()
        points = (1.0 + self._setting("buffer_reuse")) * per
        return int(min(1024, max(256, math.ceil(points / 3))))

    def _per_round(self):
        """Fresh integrand calls per training round (``n_samples_per_iter``).

        ``None``: 20 % of ``max_evaluations`` spread over the rounds (at least
        64), or 1000 without ``max_evaluations``; the training compute (steps
        of ``batch_size`` points) grows with the call budget.
        """
        if self.n_samples_per_iter is not None:
            return int(self.n_samples_per_iter)
        if self.max_evaluations is None:
            return 1000
        share = self._shares()[1]
        return max(64, int(share * self.max_evaluations) // self._rounds())

    def _round_loss(self, r, rounds):
        """The objective of training round ``r`` of ``rounds``.

        ``"auto"`` from four dimensions on: KL for the first three quarters of
        the rounds, then the variance loss.
        """
        loss = self._loss()
        if self.loss == "auto" and loss == "kl" and r >= 0.75 * rounds:
            return "variance"
        return loss

    def _loss(self):
        """The objective of the first round (``"auto"``: KL from four dimensions on)."""
        if self.loss != "auto":
            return self.loss
        d = self._dims()
        return "kl" if d is not None and d >= 4 else "variance"

    def _dims(self):
        """The dimension, before or after ``fit`` (``None`` if not yet known)."""
        d = getattr(self, "n_features_in_", None) or self.n_dims
        if d is None and self.bounds is not None:
            d = len(np.asarray(self.bounds).reshape(-1, 2))
        return d or getattr(self.integrand, "n_features", None)

    def _regime(self):
        """Defaults of the dimension (see ``_REGIME_DEFAULTS``): up to 3-d, or above."""
        d = self._dims()
        return _REGIME_DEFAULTS["low" if d is not None and d <= 3 else "high"]

    def _setting(self, name):
        """A parameter, or its default for the dimension when left at ``None``."""
        value = getattr(self, name)
        return self._regime()[name] if value is None else value

    def _rounds(self):
        """Online training rounds: ``n_iter``, or ``c_d * sqrt(max_evaluations)``.

        ``None``: ``sqrt(N) / 64`` rounds up to three dimensions and
        ``sqrt(N) / 16`` from four on (5 and 20 at 1e5 calls), between 1
        and 50; 50 without ``max_evaluations``. Both the rounds and the calls
        per round then grow as ``sqrt(N)``, so the fixed cost of a round (a
        draw, its gradient steps) stays a small share of the overhead at
        small budgets while the training compute keeps its share of the calls.
        """
        if self.n_iter is not None:
            return int(self.n_iter)
        if self.max_evaluations is None:
            return 50
        rounds = self._regime()["rounds_per_sqrt_call"] * math.sqrt(
            self.max_evaluations
        )
        return int(min(50, max(1, round(rounds))))

    def _shares(self):
        """Budget shares ``(VEGAS, training rounds, training cap)``.

        Up to three dimensions the final stratified integration's error falls
        as ``N^{-1/2-1/d}`` and gets the larger share (15 % VEGAS, 20 %
        training); from four dimensions on its fine strata are few, the
        proposal's quality dominates, and VEGAS (20 %) and the training rounds
        (30 %) get more. Up to 1e5 calls; above, the proposal saturates and
        these stages grow as ``N^0.82`` only (VEGAS 10 % up to three
        dimensions, 13 % and 20 % above at 1e6 calls). At 1e5 calls on the
        thin ring the larger VEGAS share (15 % against 10 %) raised the
        lowest unweighting efficiency of seeds 0-5, relative to madnis's, from
        0.78x to 1.2x.
        """
        d = self._dims()
        N = self.max_evaluations
        taper = 1.0 if N is None else min(1.0, (1e5 / N) ** 0.18)
        if d is not None and d >= 4:
            return 0.2 * taper, 0.3 * taper, 0.35 * taper
        return 0.15 * taper, 0.2, 0.25

    def _plan(self):
        """Calls for (VEGAS, training rounds, per round, final integration)."""
        C = self.n_channels_
        if self.vegas_samples_per_iter is not None:
            v_per = int(self.vegas_samples_per_iter)
        elif self.max_evaluations is None:
            v_per = 2000
        else:
            v_per = int(self._shares()[0] * self.max_evaluations) // self.vegas_iter
        v_per = max(v_per, 2 * C) if self.vegas_init else 0
        v_iter = self.vegas_iter if self.vegas_init else 0
        rounds, per = self._rounds(), self._per_round()
        final = self.n_integration_samples
        N = self.max_evaluations
        if N is None:
            return v_iter, v_per, rounds, per, final
        if v_iter:
            v_cap = max(int(self._shares()[0] * N), 0)
            if v_iter * v_per > v_cap:
                v_per = max(2 * C, v_cap // v_iter)
                if v_iter * v_per > v_cap:
                    v_iter, v_per = 0, 0
        t_cap = int(self._shares()[2] * N)
        if rounds * per > t_cap:
            per = max(64, t_cap // rounds)
            rounds = t_cap // per
        final = N - v_iter * v_per - rounds * per
        if final < 4:
            raise ValueError(
                f"max_evaluations={N} is too small for this plan; give at least "
                f"{v_iter * v_per + rounds * per + 4} or fewer/smaller rounds."
            )
        return v_iter, v_per, rounds, per, final

    def _fit_online(self, X, rng, device):
        n_dims = self.n_dims
        if X is not None:
            X = validate_data(self, X, dtype=np.float64)
            n_dims = n_dims or X.shape[1]
        if n_dims is None and self.bounds is not None:
            n_dims = len(np.asarray(self.bounds).reshape(-1, 2))
        if n_dims is None:
            n_dims = getattr(self.integrand, "n_features", None)
        if n_dims is None:
            raise ValueError(
                "the dimension is unknown: give n_dims, bounds, X, or an integrand "
                "with an n_features attribute."
            )
        n_dims = int(n_dims)
        if X is not None and X.shape[1] != n_dims:
            raise ValueError(f"X has {X.shape[1]} features, but n_dims is {n_dims}.")
        self.n_features_in_ = n_dims
        self._set_bounds(n_dims)
        mappings = self._mappings(n_dims)
        self.n_channels_ = C = len(mappings)
        self.channel_fractions_ = np.full(C, 1.0 / C)
        v_iter, v_per, rounds, per, final = self._plan()
        evaluate = IntegrandCalls(
            self,
            self.integrand,
            self.bounds_[:, 0],
            self._width,
            self.integrand_backend,
            self.n_jobs,
            None if self.max_evaluations is None else self.max_evaluations,
        )
        evaluate.device = device
        self._evaluate = evaluate
        self.buffer_X_ = np.empty((0, n_dims))
        self.buffer_y_ = np.empty(0)
        self._buffer = None

        # ---- VEGAS stage: one grid per channel, adapted to its share of f.
        # Above four dimensions the grid is adapted by vegas.Integrator, whose
        # adaptive stratified sampling finds the hypercubes that carry the
        # integral among the 2^d of a separable grid; below, a bare
        # AdaptiveMap on uniform points gives the better map for the flow.
        use_integrator = n_dims > 4
        grids, records, vegas_parts = [], {}, []
        for i, mapping in enumerate(mappings):
            if not v_iter:
                grids.append(None)
                continue
            n_ch = split_counts(v_per, np.full(C, 1.0 / C))[i]

            def h(u, mapping=mapping, i=i):
                if mapping is not None:
                    with torch.no_grad():
                        xt, lj = mapping(torch.as_tensor(u, dtype=torch.float64))
                    x_unit, jac = np.clip(xt.numpy(), 0.0, 1.0), np.exp(lj.numpy())
                else:
                    x_unit, jac = u, 1.0
                f = evaluate(x_unit)
                self._append_buffer(x_unit, f / math.exp(self._log_volume))
                records.setdefault(i, []).append((x_unit, f, np.log(jac)))
                if C > 1 and self.prior_weights is not None:
                    lp = self._log_prior_raw(x_unit, C)
                    share = np.exp(lp[:, i] - _logsumexp(lp))
                else:
                    share = 1.0
                return f * jac * share

            n_bins, reduced_bins = self._grid_bins(n_dims)
            adapt = dict(
                n_iter=v_iter,
                n_per_iter=n_ch,
                n_bins=n_bins,
                reduced_bins=reduced_bins,
                rng=rng,
            )
            if use_integrator:
                grid, (mean, var, u_last, _, log_q_last) = adapt_vegas_integrator(
                    h, n_dims, **adapt
                )
                grids.append(grid)
                vegas_parts.append((mean, var))
                records[i] = _tail(records[i], len(u_last))
                records[i] = (*records[i][:2], log_q_last - records[i][2])
                continue
            grid, (_, h_last, neg_log_jac) = adapt_vegas_grid(h, n_dims, **adapt)
            grids.append(grid)
            records[i] = _tail(records[i], len(h_last))
            w = h_last * np.exp(-neg_log_jac)
            vegas_parts.append((w.mean(), w.var(ddof=1) / len(w)))

        seed = derive_seed(rng)
        self._make_net(grids, mappings, seed, device)

        # ---- the last VEGAS iteration: an independent estimate (mode check) and
        # the first training buffer (q_sample: the mixture of the final maps, an
        # approximation of the map these points came from, which only
        # reweights the first rounds' loss).
        self.vegas_integral_, self.vegas_integral_error_ = np.nan, np.nan
        if vegas_parts:
            means, variances = np.array(vegas_parts).T
            c = 1.0 if (C > 1 and self.prior_weights is not None) else 1.0 / C
            self.vegas_integral_ = float(c * means.sum())
            self.vegas_integral_error_ = float(c * np.sqrt(variances.sum()))
        self._scale = None
        if records:
            u_cat = np.concatenate([records[i][0] for i in sorted(records)])
            f_cat = np.concatenate([records[i][1] for i in sorted(records)])
            ch_cat = np.concatenate(
                [np.full(len(records[i][0]), i) for i in sorted(records)]
            )
            if use_integrator and (C == 1 or self._own_samples()):
                # the exact density of vegas's stratified last pass
                log_q = np.concatenate([records[i][2] for i in sorted(records)])
            else:
                # approximation: the final maps (own channel's, or their mixture)
                lq_v = self._forward_np(
                    lambda m, xb: torch.stack(
                        [c.log_prob_vegas(xb) for c in m.channels], -1
                    ),
                    u_cat,
                )
                if self._own_samples():
                    log_q = lq_v[np.arange(len(u_cat)), ch_cat]
                else:
                    log_q = _logsumexp(lq_v + np.log(self.channel_fractions_))
            self._scale = float(f_cat.mean()) if f_cat.mean() > 0 else 1.0
            self._buffer = self._training_rows(u_cat, ch_cat, f_cat, log_q)
            self._vegas_records = records

        # ---- online training rounds
        lr0 = self._setting("lr")
        for r in range(rounds):
            lr = lr0 * 0.5 * (1.0 + math.cos(math.pi * r / max(rounds, 1)))
            self.net_.set_params(lr=max(lr, 0.02 * lr0))
            # the criterion holds no parameters: switched in place, the
            # optimizer state is kept (set_params would reinitialise it)
            self.net_.criterion__loss = self._round_loss(r, rounds)
            self.net_.criterion_.loss = self.net_.criterion__loss
            draw = self._draw(
                per,
                rng,
                stratify=False,
                mixture_density=not self._own_samples(),
                channel_weights=False,
            )
            f = evaluate(draw["u"])
            self._append_buffer(draw["u"], f / math.exp(self._log_volume))
            if self._scale is None:
                self._scale = float(f.mean()) if f.mean() > 0 else 1.0
            new_X, new_Y = self._training_rows(
                draw["u"],
                draw["ch"],
                f,
                draw.get("log_q_sample", draw["log_g"]),
                draw["log_prior"],
            )
            train_X, train_Y = self._round_data(new_X, new_Y, rng, per)
            Y = train_Y.copy()
            Y[:, 0] /= self._scale
            self._train_round(train_X, Y, seed=derive_seed(rng))
        if rounds:
            history = self.net_.history
            self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
            self.n_iter_ = len(history)
        if rounds and C > 1:
            self._update_fractions()

        # ---- final integration with the rest of the budget
        if self.max_evaluations is not None:
            # the VEGAS stage may spend a few calls less than planned
            final = self.max_evaluations - self.n_evaluations_
        self.result_ = self._integrate(final, rng)
        self.integral_, self.integral_error_ = self.result_
        self._check_modes()
        self._sample_seed = derive_seed(rng)
        return self

    def _train_round(self, X, Y, *, seed):
        """One round of online training: ``net_.partial_fit`` on float32 tensors.

        The module stays in float32 for training and inference, so unlike
        :meth:`_train_net` nothing is cast between rounds.
        """
        net = self.net_
        dtype = self._module_dtype()
        X = torch.as_tensor(X).to(dtype)
        Y = torch.as_tensor(Y).to(dtype)
        with torch_seed(seed, net.device):
            net.partial_fit(X, Y)
        self._drop_inference_copy()

    def _own_samples(self):
        """Whether each channel trains on the points drawn from it only.

        A point then serves one channel (MadNIS's training): one backward pass
        through one flow instead of through all, and the round's draws need
        not evaluate the other channels' flows. Used for channels of distinct
        mappings, whose split of the integrand is set by their maps (the
        channel weights' prior): on the crossing resonances at 1e5 calls, as
        accurate in 0.43x the wall time. Identical channels must learn the
        split itself, from every point: trained on own samples their error
        was 1.5x (camel d4) to 3x (camel d8) larger.
        """
        return self.n_channels_ > 1 and not self._module().flow_prior

    def _training_rows(self, u, ch, f, log_q, log_prior=None):
        """``(X, Y)`` rows of the training buffer (the criterion's layout).

        ``X = [u, log prior]`` and ``Y = [f, log q_sample]``; training on own
        samples appends the channel to both, ``log q`` being the own channel's
        density, and ``q_sample`` becomes the joint density
        ``p_c g_c(u)`` of the point and its channel (``p_c``: the channel's
        share of the draw).
        """
        if log_prior is None:
            log_prior = self._log_prior(u)
        if not self._own_samples():
            return [np.hstack([u, log_prior]), np.column_stack([f, log_q])]
        log_q = log_q + np.log(self.channel_fractions_)[ch]
        return [
            np.hstack([u, log_prior, ch[:, None]]),
            np.column_stack([f, log_q, ch]),
        ]

    def _log_prior_raw(self, x_unit, C):
        X = self.bounds_[:, 0] + self._width * x_unit
        prior = np.asarray(self.prior_weights(X), dtype=np.float64).reshape(len(X), C)
        return np.log(np.clip(prior, 1e-300, None))

    def _append_buffer(self, u, y):
        X = self.bounds_[:, 0] + self._width * u
        cap = self.buffer_size or 10 * self._per_round()
        self.buffer_X_ = np.concatenate([self.buffer_X_, X])[-cap:]
        self.buffer_y_ = np.concatenate([self.buffer_y_, y])[-cap:]

    def _round_data(self, new_X, new_Y, rng, per):
        """Fresh points plus a draw from the buffer; update the buffer."""
        old = self._buffer
        cap = self.buffer_size or 10 * self._per_round()
        if old is None:
            self._buffer = [new_X, new_Y]
            return new_X, new_Y
        n_old = len(old[0])
        k = min(n_old, int(round(self._setting("buffer_reuse") * per)))
        pick = rng.choice(n_old, size=k, replace=False) if k else np.empty(0, int)
        train_X = np.concatenate([new_X, old[0][pick]])
        train_Y = np.concatenate([new_Y, old[1][pick]])
        self._buffer = [
            np.concatenate([old[0], new_X])[-cap:],
            np.concatenate([old[1], new_Y])[-cap:],
        ]
        return train_X, train_Y

    def _update_fractions(self):
        """Channel shares ∝ σ_i estimated on the buffer (floored)."""
        Xb, Yb = self._buffer
        lq, la = self._forward_np(lambda m, xb: m(xb), Xb)
        f, lqs = Yb[:, 0], Yb[:, 1]
        # the points that serve each channel (own samples: their channel's)
        serves = f[:, None] > 0
        if Yb.shape[1] > 2:
            serves = serves & (Yb[:, 2:3] == np.arange(self.n_channels_))
        log_f = np.log(np.clip(f, 1e-300, None))[:, None]
        with np.errstate(over="ignore", under="ignore"):
            ratio = np.where(serves, np.exp(la + log_f - lqs[:, None]), 0.0)
            integ = ratio.mean(0)
            sec = np.where(serves, ratio * np.exp(la + log_f - lq), 0.0).mean(0)
        sigma = np.sqrt(np.clip(sec - integ**2, 0.0, None))
        if not np.all(np.isfinite(sigma)) or sigma.sum() <= 0:
            return
        frac = sigma / sigma.sum()
        frac = np.maximum(frac, 0.1 / self.n_channels_)
        self.channel_fractions_ = frac / frac.sum()

    #: identical channels: channel weights times the channels' densities
    _flow_prior = True

    def _check_modes(self):
        """Warn on signs of a lost mode: dominant weights, disagreement with VEGAS."""
        share = getattr(self, "_max_weight_share", 0.0)
        if share > max(0.02, 10.0 / max(self.result_.n_evaluations, 1)):
            warnings.warn(
                f"one weight carries {share:.1%} of the integral: the proposal "
                "misses a region where the integrand is large (a lost mode?); the "
                "error estimate is unreliable. Raise defensive_fraction, the VEGAS "
                "stage or use channels.",
                RuntimeWarning,
                stacklevel=3,
            )
        if not np.isfinite(self.vegas_integral_):
            return
        diff = abs(self.integral_ - self.vegas_integral_)
        sigma = math.hypot(self.integral_error_, self.vegas_integral_error_)
        if sigma > 0 and diff > 5 * sigma:
            warnings.warn(
                f"the trained proposal's integral {self.integral_:.6g} ± "
                f"{self.integral_error_:.2g} disagrees with the VEGAS-stage estimate "
                f"{self.vegas_integral_:.6g} ± {self.vegas_integral_error_:.2g} by "
                f"{diff / sigma:.1f} σ: the proposal may have lost a mode; raise "
                "defensive_fraction or use channels.",
                RuntimeWarning,
                stacklevel=3,
            )

    # ------------------------------------------------------------ public API
    def _check_integrand(self, what):
        check_is_fitted(self)
        if self.integrand is None:
            raise ValueError(f"{what} needs an integrand (integrand=None).")
        if not hasattr(self, "_evaluate"):
            self._evaluate = IntegrandCalls(
                self,
                self.integrand,
                self.bounds_[:, 0],
                self._width,
                self.integrand_backend,
                self.n_jobs,
                None,
            )
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
        """Draw weighted (or unweighted) events; calls the integrand.

        Parameters
        ----------
        n_samples : int, default=1
            Points drawn (integrand calls). Unweighting keeps a fraction.
        unweighted : bool, default=False
            Hit-or-miss unweighting against the maximum weight, or against the
            ``quantile`` of the weights (partial unweighting; the overweight
            fraction is reported in ``unweighting_``).
        quantile : float, default=None
            Reference quantile for partial unweighting (e.g. 0.999).
        random_state : int, RandomState instance or None, default=None
            Seed.

        Returns
        -------
        X : ndarray of shape (n_kept, n_dims)
            Events in ``bounds``.
        w : ndarray of shape (n_kept,)
            Weights; ``w.sum() / n_samples`` estimates the integral.
        """
        self._check_integrand("sample")
        rng = check_random_state(random_state)
        draw = self._draw(
            int(n_samples),
            rng,
            stratify=False,
            mixture_density=False,
            fixed_components=False,
        )
        f = self._evaluate(draw["u"])
        h = self._weights(draw, f)
        _, _, w = stratified_estimate(h, draw["stratum"], draw["stratum_weight"])
        X = self.bounds_[:, 0] + self._width * draw["u"]
        order = rng.permutation(len(X))
        X, w = X[order], w[order]
        if unweighted:
            keep, w, info = unweight(w, quantile=quantile, random_state=rng)
            self.unweighting_ = info
            X = X[keep]
        return X, w

    def _log_density_unit(self, u):
        d = self.n_features_in_
        # a user-facing density: float64 on the CPU, so a point's value does not
        # depend on the other rows of its batch (float32 BLAS kernels of some
        # CPUs round a row differently by its position); the copy is cached
        module = self._module_in(torch.float64 if self.net_.device == "cpu" else None)
        lq = self._forward_np(lambda m, xb: m.log_probs(xb[:, :d]), u, module)
        return _logsumexp(lq + np.log(self.channel_fractions_))

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


def _tail(chunks, n):
    """The last ``n`` rows of recorded ``(x, f, log_jac)`` chunks, concatenated."""
    x = np.concatenate([c[0] for c in chunks])[-n:]
    f = np.concatenate([c[1] for c in chunks])[-n:]
    lj = [np.broadcast_to(c[2], (len(c[0]),)) for c in chunks]
    return x, f, np.concatenate(lj)[-n:]


def _logsumexp(a):
    a = np.asarray(a, dtype=np.float64)
    m = np.max(a, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return (m + np.log(np.exp(a - m).sum(-1, keepdims=True)))[..., 0]
