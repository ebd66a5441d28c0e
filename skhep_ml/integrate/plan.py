"""The plan of a :class:`~skhep_ml.NeuralImportanceIntegrator` fit, in one place.

:func:`make_plan` turns the dimension, the budget, the channels and the user's
parameters into a frozen :class:`Plan` once per ``fit``; every stage of the fit
reads its calls, schedule, network and switches from it, and nothing else
computes them. The rules and the measurements behind them are the table in the
:class:`Plan` docstring (repeated in the user guide).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..base import check_hidden_layer_sizes

__all__ = [
    "Plan",
    "integration_box",
    "make_plan",
    "resolve_n_dims",
    "with_peak_channels",
]

#: share of the budget of the exploration stage (``find_modes``)
EXPLORE_SHARE = 0.05

#: strata per axis ``k = (N / 2)^(1/d)`` at which the defaults are half-way
#: between their low- and high-dimensional limits (``blend = 1/2``): between
#: the 3-d (k = 37) and 4-d (k = 15) draws at 1e5 calls, where the measured
#: defaults switched before; and for the VEGAS grid (``grid_blend``) between
#: the 4-d and 5-d draws (k = 15 and 8.7)
K_FINAL = 24.0
K_GRID = 11.4
#: steepness of the blends in ``log k`` (a factor 2 in ``k`` moves a blend
#: from 1/2 to 1/17 or 16/17)
BLEND_POWER = 4.0
#: the budget the blends assume without ``max_evaluations``
REFERENCE_BUDGET = 1e5

#: the defaults at the two ends of the blend (``blend = 0`` and ``1``); a
#: numeric default is ``low * (high / low) ** blend``
LIMITS = dict(
    width=(16, 32),
    buffer_reuse=(0.0, 1.0),
    lr=(1e-2, 2e-2),
    rounds_per_sqrt_call=(1.0 / 64.0, 1.0 / 16.0),
    vegas_bins=(128, 64),
)


def strata_per_axis(d, N):
    """``k = (N / 2)^(1/d)``: cells per axis of a stratification of ``N`` calls."""
    N = REFERENCE_BUDGET if N is None else float(N)
    return (N / 2.0) ** (1.0 / d)


def blend(d, N, k_half=K_FINAL):
    """``1 / (1 + (k / k_half)^4)``: 0 where fine strata pay, 1 where they do not.

    Parameters
    ----------
    d : int
        Dimension.
    N : int or None
        Budget (``None``: ``REFERENCE_BUDGET``).
    k_half : float, default=K_FINAL
        Strata per axis at which the blend is 1/2.
    """
    return 1.0 / (1.0 + (strata_per_axis(d, N) / k_half) ** BLEND_POWER)


def _geometric(name, t):
    low, high = LIMITS[name]
    if low == 0:
        return low + (high - low) * t
    return low * (high / low) ** t


@dataclass(frozen=True)
class Plan:
    """Calls, schedule, network and stage switches of one integrator fit.

    Computed once by :func:`make_plan` at the start of ``fit`` and stored as
    ``plan_``; ``print(est.plan_)`` (or ``verbose=1``) shows it as one block.
    ``d`` is the dimension, ``N`` the budget ``max_evaluations``; a parameter
    given explicitly always wins over its rule. Each rule was measured in
    ``benchmarks/bench_integration.py``:

    .. list-table::
       :header-rows: 1
       :widths: 18 42 40

       * - entry
         - rule (parameter left at ``None``)
         - measurement behind it
       * - ``blend``, ``grid_blend``
         - ``1 / (1 + (k / k_half)^4)`` of the strata per axis
           ``k = (N / 2)^(1/d)`` (``N = 1e5`` without a budget), with
           ``k_half = 24`` (``blend``) and ``11.4`` (``grid_blend``): 0 where
           fine strata pay (low ``d``, large ``N``), 1 where they do not.
           Every numeric default below is ``low (high / low)^blend`` between
           its two limits, a smooth function of ``d`` and ``N``
         - the two limits are the measured defaults of the former regimes
           (``d <= 3`` and ``d >= 4``, and the VEGAS switch at ``d = 5``) at
           1e5 calls, so the blends are half-way at the former switches; the
           final stratified integration's error falls as
           ``N^(-1/2-1/d)``, so what matters is ``k``, not ``d`` alone:
           ``blend`` at 1e5 calls is 0.00, 0.15, 0.87, 0.99 for d = 2, 3,
           4, 6, and at 1e6 calls 0.00, 0.01, 0.40, 0.96. On 12 family
           draws at d = 2..16 and 1e5 calls (the table in the user guide,
           with the exploration stage) the draws where the blend moves
           (d = 3-5) keep ``|pull| < 3`` with equal or smaller errors at d = 3;
           the blend itself was not measured apart, and at 1e6 calls
           (where it moves 4-6-d towards the low limit) it is unmeasured
       * - ``hidden_layer_sizes``, ``activation``
         - two layers of ``16 · 2^blend`` (rounded); SiLU from ``blend >=
           1/2``, else ReLU
         - a ReLU (16, 16) pass costs ~0.45 µs per point against ~0.75 µs for
           SiLU (32, 32); with the two limits the overhead is
           <= 0.5x madnis on 10/12 task/budget pairs (was 2/12)
       * - ``buffer_reuse``
         - ``blend`` (buffered points trained on per fresh call)
         - the limits (above)
       * - ``lr``
         - ``1e-2 · 2^blend``; cosine-decayed over the rounds, floored at
           2 % of it
         - the limits (above)
       * - ``rounds``
         - ``n_iter``, else ``sqrt(N) · 4^blend / 64``, rounded, in [1, 50]
           (5 and 20 at 1e5 calls in the two limits); 50 without ``N``;
           fewer (down to 0) when the training cap binds
         - the rounds and the calls per round both grow as ``sqrt(N)``: the
           fixed cost of a round (a draw, its gradient steps) stays a small
           share of the overhead at small budgets
       * - ``calls_per_round``
         - ``n_samples_per_iter``, else the training share of ``N`` over the
           rounds (at least 64); 1000 without ``N``; if the rounds' calls pass
           the training cap: cap / rounds (at least 64), and the rounds
           shrink to cap / calls
         - the training compute grows with the budget
       * - budget shares
         - VEGAS ``15 % + 5 % blend``; training ``20 % + 10 % blend``,
           capped at ``25 % + 10 % blend``; above 1e5 calls the VEGAS share
           times ``(1e5 / N)^0.18`` and the training shares times
           ``(1e5 / N)^(0.18 blend)`` (VEGAS 10 % at low, 13 % at high blend
           at 1e6)
         - low blend: the final error falls as ``N^(-1/2-1/d)`` and gets the
           larger share; high: few fine strata, the proposal dominates. VEGAS
           15 % instead of 10 % on the thin ring at 1e5 calls: lowest
           unweighting efficiency vs madnis 0.78x -> 1.2x
       * - ``vegas_iter``, ``vegas_calls_per_iter``
         - ``vegas_iter`` iterations sharing the VEGAS share (2000 calls per
           iteration without ``N``; ``vegas_samples_per_iter`` wins), at
           least 2 per channel; fewer calls, or no VEGAS stage, when the
           share cannot hold them; none with ``vegas_init=False``
         - the grid improves with the budget
       * - ``final_calls``
         - the rest of ``N`` (at least 4, else a ValueError);
           ``n_integration_samples`` without ``N``
         - the final integration's estimate is the result
       * - ``explore_calls``
         - ``find_modes`` with one channel or a number of channels (not
           mappings) and a VEGAS stage: 5 % of ``N``
           (of the planned calls without ``N``), taken from the final
           integration, which also gets what the climbs leave; else 0
         - the climbs of :mod:`._explore` reach a Gaussian peak in about
           ``2 (d + 1)(d + 2)`` calls from its tail (115 at 6-d); 5 % holds
           a few such climbs per peak up to 16-d at 1e5 calls
       * - ``vegas_bins``
         - ``vegas_bins``, else ``128 · 2^-blend`` (rounded)
         - a finer grid pays in low dimensions (every bin of an axis sees all
           the points)
       * - ``grid_bins``
         - ``vegas_bins · 2^-grid_blend`` (rounded; never more than
           ``vegas_bins``)
         - a coarser grid keeps the phantom peaks of a separable grid broad
           for the flow
       * - ``vegas_integrator``
         - ``vegas.Integrator`` where ``grid_blend >= 1/2``; else a bare
           ``vegas.AdaptiveMap`` on uniform points
         - its adaptive stratified sampling finds the hypercubes that carry
           the integral among the ``2^d`` of a separable grid; where fine
           strata pay, the bare map is the better start for the flow
       * - ``batch_size``
         - ``batch_size``, else a third of a round's training points,
           ``(1 + buffer_reuse) calls_per_round / 3``, in [256, 1024]; 1024
           without an integrand
         - the number of steps, not the points per step, sets how well a
           thin structure (the ring) is learnt: larger rounds take more
           steps, not larger batches
       * - ``buffer_size``
         - ``buffer_size``, else 10 times the calls per round before the
           training cap
         - --
       * - ``loss``, ``variance_from``
         - ``"auto"``: KL for the first ``0.75 blend rounds`` rounds (rounded),
           then the variance loss (the variance loss throughout where that is
           0)
         - KL's gradient grows as ``w log w``, not ``w²``: stable while the
           weights are heavy-tailed. Camel d4 at 1e5 calls: 0.8x the error,
           lowest unweighting efficiency vs madnis 2.1x (was 0.95x); camel d8
           single channel: 0.9x the error
       * - ``n_transforms``
         - ``n_transforms``, else ``max(2, ceil(log2 d))``, one fewer (at
           least two) with several channels
         - camel d8 at 1e5 and 1e6 calls, two identical channels: as
           accurate with two blocks as with three, at 0.7x the wall time
       * - ``flow_bins``
         - ``flow_bins`` (default 4)
         - 4 spline bins instead of 8 meet the same goals (seeds 0-2, both
           budgets) in 0.75x-0.9x the wall time: the VEGAS map carries each
           axis's fine structure
       * - ``own_samples``
         - channels of distinct mappings train on their own points only;
           identical channels on every point
         - crossing resonances at 1e5 calls: as accurate in 0.43x the wall
           time; identical channels on own points had 1.5x (camel d4) to 3x
           (camel d8) the error
       * - ``map_prior``, ``flow_prior``, ``cw_init_std``,
           ``cw_hidden_layer_sizes``
         - channel weights (a (32,) SiLU network, with several channels)
           times the channels' VEGAS-map densities (distinct mappings) or
           full densities (identical channels); identical channels without
           prior weights start from random channel weights (std 0.5)
         - the balance heuristic: ``α_i f / g_i`` stays bounded by about
           ``f / Σ_j g_j``

    Attributes
    ----------
    n_dims, n_channels : int
        Dimension and number of channels.
    blend, grid_blend : float
        Where the defaults lie between their low- and high-dimensional
        limits (0 and 1), for the network and schedule and for the VEGAS grid.
    max_evaluations : int or None
        The budget.
    vegas_iter, vegas_calls_per_iter : int
        VEGAS adaptation iterations and calls per iteration (all channels; 0
        without a VEGAS stage).
    vegas_bins, grid_bins : int
        VEGAS bins during adaptation, and bins kept after reduction.
    vegas_integrator : bool
        Adapt with ``vegas.Integrator`` (else a bare ``vegas.AdaptiveMap``).
    rounds, calls_per_round, epochs_per_round : int
        Online training rounds, fresh calls and epochs per round (without an
        integrand: ``rounds * epochs_per_round`` epochs over the buffer).
    buffer_size : int
        Capacity of the buffer of evaluated points.
    buffer_reuse : float
        Buffered points trained on per fresh call.
    batch_size : int
        Mini-batch size.
    lr : float
        Initial learning rate.
    loss : {"variance", "kl"}
        Objective of the first round.
    variance_from : int
        First round trained with the variance loss after a KL start
        (``rounds`` when the objective never switches).
    final_calls : int
        Calls of the final integration (the budget's rest).
    n_transforms, flow_bins : int
        Coupling blocks and spline bins per flow.
    hidden_layer_sizes : tuple of int
        Conditioner widths.
    activation : str
        Conditioner activation.
    own_samples : bool
        Each channel trains on its own points only.
    map_prior, flow_prior : bool
        Channel weights include the VEGAS-map / full channel densities.
    cw_init_std : float
        Initial spread of the channel-weight network's last layer.
    cw_hidden_layer_sizes : tuple of int
        Hidden widths of the channel-weight network.
    explore_calls : int
        Most calls of the exploration stage (0: none).
    """

    n_dims: int
    n_channels: int
    blend: float
    grid_blend: float
    max_evaluations: int | None
    vegas_iter: int
    vegas_calls_per_iter: int
    vegas_bins: int
    grid_bins: int
    vegas_integrator: bool
    rounds: int
    calls_per_round: int
    epochs_per_round: int
    buffer_size: int
    buffer_reuse: float
    batch_size: int
    lr: float
    loss: str
    variance_from: int
    final_calls: int
    n_transforms: int
    flow_bins: int
    hidden_layer_sizes: tuple
    activation: str
    own_samples: bool
    map_prior: bool
    flow_prior: bool
    cw_init_std: float
    cw_hidden_layer_sizes: tuple = (32,)
    explore_calls: int = 0

    def round_loss(self, r):
        """The objective of training round ``r``."""
        return "variance" if r >= self.variance_from else self.loss

    def round_lr(self, r):
        """Learning rate of round ``r``: cosine-decayed, at least 2 % of ``lr``."""
        lr = self.lr * 0.5 * (1.0 + math.cos(math.pi * r / max(self.rounds, 1)))
        return max(lr, 0.02 * self.lr)

    @property
    def vegas_calls(self):
        """Integrand calls of the VEGAS stage."""
        return self.vegas_iter * self.vegas_calls_per_iter

    @property
    def training_calls(self):
        """Integrand calls of the training rounds."""
        return self.rounds * self.calls_per_round

    def __str__(self):
        """One readable block: the stages' calls, then every entry."""
        budget = "none" if self.max_evaluations is None else self.max_evaluations
        lines = [
            f"NeuralImportanceIntegrator plan: d={self.n_dims}, "
            f"{self.n_channels} channel(s), blend {self.blend:.2f} "
            f"(grid {self.grid_blend:.2f}), budget {budget}",
            f"  VEGAS stage     {self.vegas_iter} x {self.vegas_calls_per_iter} calls "
            f"({'vegas.Integrator' if self.vegas_integrator else 'AdaptiveMap'}, "
            f"{self.vegas_bins} -> {self.grid_bins} bins)",
            f"  training        {self.rounds} rounds x {self.calls_per_round} calls, "
            f"batch {self.batch_size}, lr {self.lr:g}, loss {self.loss}"
            + (
                f" -> variance from round {self.variance_from}"
                if self.variance_from < self.rounds
                else ""
            ),
            f"  exploration     up to {self.explore_calls} calls",
            f"  final           {self.final_calls} calls",
        ]
        width = max(len(k) for k in asdict(self))
        lines += [f"  {k:<{width}}  {v!r}" for k, v in asdict(self).items()]
        return "\n".join(lines)


def resolve_n_dims(n_dims, X, bounds, integrand):
    """The dimension from ``n_dims``, ``X``, ``bounds`` or the integrand."""
    if n_dims is None and X is not None:
        n_dims = X.shape[1]
    if n_dims is None and bounds is not None:
        n_dims = len(np.asarray(bounds).reshape(-1, 2))
    if n_dims is None:
        n_dims = getattr(integrand, "n_features", None)
    if n_dims is None:
        raise ValueError(
            "the dimension is unknown: give n_dims, bounds, X, or an integrand "
            "with an n_features attribute."
        )
    n_dims = int(n_dims)
    if X is not None and X.shape[1] != n_dims:
        raise ValueError(f"X has {X.shape[1]} features, but n_dims is {n_dims}.")
    return n_dims


def integration_box(bounds, n_dims, data=None):
    """The ``(n_dims, 2)`` integration box: ``bounds``, the data's, or the unit cube.

    Without ``bounds`` an evaluated buffer ``data`` gets its bounding box,
    padded so that every point lies strictly inside.
    """
    if bounds is not None:
        box = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)
        if len(box) != n_dims:
            raise ValueError(f"bounds has {len(box)} rows for {n_dims} dimensions.")
        if np.any(box[:, 1] <= box[:, 0]):
            raise ValueError("bounds must have low < high in every row.")
        return box
    if data is not None:
        lo, hi = data.min(0), data.max(0)
        pad = 1e-3 * (hi - lo) + 1e-6 * (1.0 + np.abs(lo) + np.abs(hi))
        return np.column_stack([lo - pad, hi + pad])
    return np.tile([0.0, 1.0], (n_dims, 1))


def _shares(t, N):
    """Budget shares ``(VEGAS, training, training cap)`` at blend ``t`` (the table)."""
    taper = 1.0 if N is None else min(1.0, (1e5 / N) ** 0.18)
    return (
        (0.15 + 0.05 * t) * taper,
        (0.2 + 0.1 * t) * taper**t,
        (0.25 + 0.1 * t) * taper**t,
    )


def _default_rounds(est, t):
    if est.n_iter is not None:
        return int(est.n_iter)
    if est.max_evaluations is None:
        return 50
    rounds = _geometric("rounds_per_sqrt_call", t) * math.sqrt(est.max_evaluations)
    return int(min(50, max(1, round(rounds))))


def _calls(est, shares, rounds, n_channels):
    """``(vegas_iter, vegas_per_iter, rounds, per_round, final)`` within the budget."""
    N = est.max_evaluations
    if est.n_samples_per_iter is not None:
        per = int(est.n_samples_per_iter)
    elif N is None:
        per = 1000
    else:
        per = max(64, int(shares[1] * N) // rounds)
    per_uncapped = per
    if est.vegas_samples_per_iter is not None:
        v_per = int(est.vegas_samples_per_iter)
    elif N is None:
        v_per = 2000
    else:
        v_per = int(shares[0] * N) // est.vegas_iter
    v_per = max(v_per, 2 * n_channels) if est.vegas_init else 0
    v_iter = est.vegas_iter if est.vegas_init else 0
    if N is None:
        return v_iter, v_per, rounds, per, est.n_integration_samples, per_uncapped
    if v_iter:
        v_cap = max(int(shares[0] * N), 0)
        if v_iter * v_per > v_cap:
            v_per = max(2 * n_channels, v_cap // v_iter)
            if v_iter * v_per > v_cap:
                v_iter, v_per = 0, 0
    t_cap = int(shares[2] * N)
    if rounds * per > t_cap:
        per = max(64, t_cap // rounds)
        rounds = t_cap // per
    final = N - v_iter * v_per - rounds * per
    if final < 4:
        raise ValueError(
            f"max_evaluations={N} is too small for this plan; give at least "
            f"{v_iter * v_per + rounds * per + 4} or fewer/smaller rounds."
        )
    return v_iter, v_per, rounds, per, final, per_uncapped


def _batch_size(est, online, reuse, per):
    """``batch_size``, else a third of a round's training points in [256, 1024]."""
    if est.batch_size is not None:
        return int(est.batch_size)
    if not online:
        return 1024
    return int(min(1024, max(256, math.ceil((1.0 + reuse) * per / 3))))


def make_plan(est, n_dims, n_channels):
    """The :class:`Plan` of a fit of ``est`` in ``n_dims`` with ``n_channels``.

    Parameters
    ----------
    est : NeuralImportanceIntegrator
        The estimator; only its parameters are read.
    n_dims : int
        Dimension.
    n_channels : int
        Number of channels.

    Returns
    -------
    plan : Plan
        Without an integrand (a fit to an evaluated buffer) no calls are
        planned and ``rounds`` counts the epochs over the buffer.

    Raises
    ------
    ValueError
        When ``max_evaluations`` cannot hold the planned stages.
    """
    d, C = int(n_dims), int(n_channels)
    t = blend(d, est.max_evaluations)
    t_grid = blend(d, est.max_evaluations, K_GRID)
    width = int(round(_geometric("width", t)))
    defaults = dict(
        hidden_layer_sizes=(width, width),
        activation="silu" if t >= 0.5 else "relu",
        buffer_reuse=_geometric("buffer_reuse", t),
        lr=_geometric("lr", t),
    )

    def setting(name):
        value = getattr(est, name)
        return defaults[name] if value is None else value

    rounds = _default_rounds(est, t)
    online = est.integrand is not None
    if online:
        v_iter, v_per, rounds, per, final, per0 = _calls(
            est, _shares(t, est.max_evaluations), rounds, C
        )
    else:
        v_iter, v_per, per, final, per0 = 0, 0, 0, 0, 0
    reuse = setting("buffer_reuse")
    # "auto": KL for the first 3/4 * blend of the rounds, then the variance
    kl_rounds = int(0.75 * t * rounds + 0.5) if est.loss == "auto" else 0
    loss = est.loss if est.loss != "auto" else ("kl" if kl_rounds else "variance")
    v_bins = est.vegas_bins or int(round(_geometric("vegas_bins", t)))
    g_bins = min(est.grid_bins or int(round(v_bins * 2.0**-t_grid)), v_bins)
    if est.n_transforms is not None:
        blocks = int(est.n_transforms)
    else:
        blocks = max(2, math.ceil(math.log2(d)) - (C > 1))
    identical = isinstance(est.channels, numbers.Integral) and est.channels > 1
    explore = 0
    # channels without mappings (None or a number) share the VEGAS grid's
    # blind spots: a peak that no channel's grid sees gets its own
    numbered = est.channels is None or isinstance(est.channels, numbers.Integral)
    if online and v_iter and est.find_modes and numbered:
        total = est.max_evaluations or (v_iter * v_per + rounds * per + final)
        explore = int(EXPLORE_SHARE * total)
        if est.max_evaluations is not None:
            explore = min(explore, max(final - 4, 0))
            final -= explore
    return Plan(
        n_dims=d,
        n_channels=C,
        blend=float(t),
        grid_blend=float(t_grid),
        max_evaluations=est.max_evaluations,
        vegas_iter=v_iter,
        vegas_calls_per_iter=v_per,
        vegas_bins=v_bins,
        grid_bins=g_bins,
        vegas_integrator=t_grid >= 0.5,
        rounds=rounds,
        calls_per_round=per,
        epochs_per_round=int(est.max_epochs),
        buffer_size=int(est.buffer_size or 10 * per0),
        buffer_reuse=float(reuse),
        batch_size=_batch_size(est, online, reuse, per),
        lr=float(setting("lr")),
        loss=loss,
        variance_from=kl_rounds if loss == "kl" and est.loss == "auto" else rounds,
        final_calls=int(final),
        n_transforms=blocks,
        flow_bins=int(est.flow_bins),
        hidden_layer_sizes=check_hidden_layer_sizes(setting("hidden_layer_sizes")),
        activation=setting("activation"),
        own_samples=C > 1 and not identical,
        map_prior=isinstance(est.channels, list) and C > 1,
        flow_prior=identical,
        cw_init_std=0.5 if identical and est.prior_weights is None else 0.0,
        explore_calls=int(explore),
    )


def with_peak_channels(plan, n_channels):
    """The plan with ``n_channels`` channels: the VEGAS one and found peaks'.

    The channels differ by their grids only, so they train on every point
    and are weighted by their densities (the balance heuristic), as
    identical channels are; the schedule stays that of the single channel.
    """
    return replace(
        plan,
        n_channels=int(n_channels),
        own_samples=False,
        map_prior=False,
        flow_prior=True,
        cw_init_std=0.0,
    )
