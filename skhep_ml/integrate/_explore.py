"""Exploration stage: find the peaks the VEGAS stage missed, one channel each.

A separable VEGAS grid finds a narrow peak only where its marginals happen to
point at it; two peaks of rotated covariances in six dimensions already leave
one of them to a handful of lucky points (or none). This stage climbs from
several of the points the VEGAS stage evaluated to the local maxima of the
integrand with a quadratic model of ``log f`` (exact in the tail of a
Gaussian peak, so one step usually lands on the peak), and returns each
distinct peak with the local covariance of the fit. The integrator gives
every peak a channel of its own (a VEGAS grid built from the peak's marginal
widths, under a flow that learns the rest), next to the VEGAS channel; the
channels are weighted by the balance heuristic.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["climb", "explore_peaks", "peak_grid", "uncovered_peaks"]

#: the most peaks given a channel (a cost bound: each channel is one flow)
MAX_PEAKS = 4
#: the most climbs, and the failed steps in a row that end one (a plateau,
#: such as the inside of an indicator, has no maximum to climb to)
N_SEEDS = 8
MAX_FAILURES = 3
#: a peak gets a channel where the VEGAS map's density at it is below this
#: share of the density a proposal for the peaks alone would have there (a
#: weight above four times the mean at the peak)
COVERED = 0.25
#: a peak channel's grid: marginal widths times WIDEN, and a uniform share
WIDEN = 2.0
UNIFORM_SHARE = 0.2


def _quadratic_fit(D, log_f):
    """Gradient ``b`` and Hessian ``H`` of ``log f ≈ a + b·D + D^T H D / 2``."""
    d = D.shape[1]
    iu = np.triu_indices(d)
    Q = (D[:, :, None] * D[:, None, :])[:, iu[0], iu[1]]
    A = np.hstack([np.ones((len(D), 1)), D, Q])
    coef = np.linalg.lstsq(A, log_f, rcond=None)[0]
    H = np.zeros((d, d))
    H[iu] = coef[d + 1 :]
    return coef[1 : d + 1], H + H.T


def climb(evaluate, x0, scale, calls, rng):
    """Climb from ``x0`` to a local maximum of ``f`` with a quadratic model.

    Each step evaluates ``(d + 1)(d + 2)`` points around the current point
    (Gaussian, of per-axis spread ``s``), fits ``log f`` by a quadratic and
    moves to its maximum (at most 20 spreads away) or, where the fit is not
    concave, along its gradient; the spread becomes the fitted local width
    on success and halves on failure (``MAX_FAILURES`` failures in a row
    end the climb).

    Parameters
    ----------
    evaluate : callable
        ``evaluate(u) -> f`` at unit-cube points (counted calls).
    x0 : ndarray of shape (d,)
        Start, with ``f(x0) > 0``.
    scale : float
        Initial spread.
    calls : int
        Most integrand calls spent.
    rng : numpy RandomState

    Returns
    -------
    x : ndarray of shape (d,)
        The point reached.
    log_f : float
        ``log f(x)``.
    cov : ndarray of shape (d, d) or None
        ``-H^{-1}`` at the last concave fit (the local covariance of a
        Gaussian peak); ``None`` if no fit was concave.
    spent : int
        Calls spent.
    """
    d = len(x0)
    x = np.asarray(x0, dtype=np.float64)
    f0 = evaluate(x[None])[0]
    spent = 1
    if not f0 > 0:
        return x, -math.inf, None, spent
    log_fx = math.log(f0)
    s = np.full(d, float(scale))
    n_pts = (d + 1) * (d + 2)
    cov = None
    failures = 0
    while spent + n_pts + 1 <= calls and s.max() > 1e-9 and failures < MAX_FAILURES:
        X = np.clip(x + s * rng.standard_normal((n_pts, d)), 0.0, 1.0)
        F = evaluate(X)
        spent += n_pts
        ok = F > 0
        if ok.sum() < n_pts // 2:
            s = s / 3.0
            continue
        D = (X - x) / s
        with np.errstate(divide="ignore"):
            b, H = _quadratic_fit(D[ok], np.log(F[ok]))
        concave = bool(np.all(np.linalg.eigvalsh(H) < 0))
        if concave:
            step = -np.linalg.solve(H, b)
            fit_cov = np.linalg.inv(-H) * np.outer(s, s)
        else:
            step = 2.0 * b / (np.linalg.norm(b) + 1e-300)
        norm = float(np.linalg.norm(step))
        if norm > 20.0:
            step = step * (20.0 / norm)
        x_new = np.clip(x + s * step, 0.0, 1.0)
        f_new = evaluate(x_new[None])[0]
        spent += 1
        best = int(np.argmax(F))
        cands = [(f_new, x_new, True), (F[best], X[best], False)]
        f_c, x_c, from_fit = max(cands, key=lambda t: t[0])
        if f_c > 0 and math.log(f_c) > log_fx + 1e-3:
            failures = 0
            x, log_fx = x_c, math.log(f_c)
            if concave and from_fit:
                cov = fit_cov
                s = np.clip(np.sqrt(np.diag(fit_cov)), 1e-6, 0.5)
            else:
                s = s * 1.5
        elif concave and norm < 1.0:
            cov = fit_cov
            break  # at the maximum of a concave fit
        else:
            failures += 1
            s = s / 2.0
    return x, log_fx, cov, spent


def _laplace_log_f(u, peaks):
    """``log`` of the sum of the peaks' Gaussian (Laplace) models at ``u``."""
    if not peaks:
        return np.full(len(u), -np.inf)
    terms = []
    for x, log_f, cov in peaks:
        D = u - x
        terms.append(log_f - 0.5 * np.einsum("ij,jk,ik->i", D, np.linalg.inv(cov), D))
    return np.logaddexp.reduce(np.stack(terms), axis=0)


def _distinct(peak, peaks):
    """Whether ``peak`` lies more than three local widths from every other."""
    x, _, cov = peak
    width = np.sqrt(np.diag(cov))
    for y, _, cov_y in peaks:
        scale = np.maximum(width, np.sqrt(np.diag(cov_y)))
        if np.max(np.abs(x - y) / scale) <= 3.0:
            return False
    return True


def explore_peaks(evaluate, u, f, calls, rng):
    """Peaks of ``f`` found by climbs from points seen (at most ``MAX_PEAKS``).

    A fifth of the calls draw uniform points, which join the points seen.
    The first climb starts at the largest value; every later one at the
    point where ``f`` most exceeds the Gaussian (Laplace) models of the peaks
    found so far, by at least a factor ``e`` (a point the found peaks do not
    explain), so the climbs spread over distinct peaks; a climb that ends
    without a peak removes the points of its level. At most
    ``N_SEEDS`` climbs, each spending at most a quarter of the calls left.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(u) -> f`` at unit-cube points (counted calls).
    u, f : ndarray
        Points evaluated so far and their values.
    calls : int
        The stage's calls.
    rng : numpy RandomState

    Returns
    -------
    peaks : list of (centre, log_f, cov)
        Distinct local maxima with a concave fit, in the order found.
    spent : int
        Calls spent.
    """
    n_uniform = calls // 5
    u_new = rng.uniform(size=(n_uniform, u.shape[1]))
    u = np.concatenate([u, u_new])
    f = np.concatenate([f, evaluate(u_new)])
    spent = n_uniform
    keep = f > 0
    u, log_f = u[keep], np.log(f[keep])
    peaks = []
    for _ in range(N_SEEDS):
        if not len(u) or len(peaks) == MAX_PEAKS:
            break
        excess = log_f - _laplace_log_f(u, peaks)
        j = int(np.argmax(excess))
        if excess[j] < 1.0:
            break
        x0 = u[j]
        u, log_f = np.delete(u, j, axis=0), np.delete(log_f, j)
        x, log_fx, cov, used = climb(evaluate, x0, 0.05, (calls - spent) // 4, rng)
        spent += used
        peak = (x, log_fx, cov)
        if cov is not None and np.all(np.isfinite(cov)):
            if _distinct(peak, peaks):
                peaks.append(peak)
        else:
            # no peak (a plateau or a ridge): its level is explained
            same = np.abs(log_f - log_fx) < 1.0
            u, log_f = u[~same], log_f[~same]
    return peaks, spent


def peak_grid(centre, cov, n_bins):
    """A VEGAS grid of a peak channel: marginal quantiles of a widened peak.

    Per axis, the ``n_bins + 1`` equal-probability edges of the mixture of a
    normal at the peak (``WIDEN`` times its marginal width, truncated to the
    unit interval) and a uniform share ``UNIFORM_SHARE``.
    """
    from scipy.special import ndtr

    t = np.linspace(0.0, 1.0, 4097)
    probs = np.linspace(0.0, 1.0, n_bins + 1)
    grid = np.empty((len(centre), n_bins + 1))
    for a, (c, var) in enumerate(zip(centre, np.diag(cov))):
        s = WIDEN * math.sqrt(max(var, 1e-12))
        lo, hi = ndtr((0.0 - c) / s), ndtr((1.0 - c) / s)
        normal = (ndtr((t - c) / s) - lo) / max(hi - lo, 1e-300)
        cdf = (1.0 - UNIFORM_SHARE) * normal + UNIFORM_SHARE * t
        grid[a] = np.interp(probs, cdf, t)
    grid[:, 0], grid[:, -1] = 0.0, 1.0
    return np.maximum.accumulate(grid, axis=1)


def uncovered_peaks(peaks, grids):
    """The peaks at which the mixture of the VEGAS maps of ``grids`` is thin.

    ``grids``: a list of reduced grids (``None``: the identity map), mixed
    with equal shares; see ``COVERED``.

    The ideal density at peak ``k`` is its share of the peaks' Laplace masses
    ``f_k (2π)^{d/2} |Σ_k|^{1/2}`` times its normalised Gaussian density
    there, ``(2π)^{-d/2} |Σ_k|^{-1/2}``: ``f_k / Σ_j m_j``.
    """
    import torch

    from ..nn.vegas import VegasMap

    if not peaks:
        return []
    d = len(peaks[0][0])
    log_mass = np.array(
        [
            log_f + 0.5 * d * math.log(2 * math.pi) + 0.5 * np.linalg.slogdet(cov)[1]
            for _, log_f, cov in peaks
        ]
    )
    log_total = np.logaddexp.reduce(log_mass)
    centres = np.array([x for x, _, _ in peaks])
    log_qs = []
    for grid in grids:
        if grid is None:
            log_qs.append(np.zeros(len(peaks)))
            continue
        vmap = VegasMap(grid, n_dims=d).double()
        with torch.no_grad():
            log_qs.append(vmap.log_density(torch.as_tensor(centres)).numpy())
    log_q = np.logaddexp.reduce(log_qs, axis=0) - math.log(len(grids))
    ideal = np.array([log_f for _, log_f, _ in peaks]) - log_total
    return [p for p, lq, li in zip(peaks, log_q, ideal) if lq < li + math.log(COVERED)]
