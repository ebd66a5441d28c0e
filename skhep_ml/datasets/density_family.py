"""A procedural family of densities with exact log-densities (benchmarks).

:func:`make_density_family` draws, from one integer seed, a density in ``d``
dimensions (2 to 32 by default) built from exact low-dimensional *blocks*:

* ``gaussian_mixture`` - rotated anisotropic Gaussian mixtures,
* ``student_t`` - mixtures of multivariate Student-t components (``nu`` in
  ``[2, 10]``),
* ``shell`` - a Gaussian radial profile around a sphere (a ring in 2-d),
* ``spiral`` - a 2-d spiral with a Gaussian cross-section,
* ``boxes`` / ``ball`` - uniform pieces with sharp edges,
* ``dalitz`` - a Dalitz-like triangle with phase space and resonance bands,
* ``peak`` - a Breit-Wigner peak over a falling background in a mass window,
* ``power_law`` - a steep spectrum ``x^-alpha`` on ``[x_min, inf)``.

The blocks are independent, then the coordinates of the smooth blocks
(Gaussian, Student-t, shell, spiral) are rotated together by a random
orthogonal matrix, shifted by a bounded function of the other coordinates
(a triangular map with unit Jacobian) and all columns are permuted. Every step
has Jacobian 1, so the log-density stays exact in any dimension.
:func:`make_weighted` turns a density into weighted events from a proposal
with a requested effective sample size.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, ndtr
from sklearn.utils import check_random_state

from .densities import _as_2d, _log_diff_ndtr

__all__ = [
    "DENSITY_FAMILY_KINDS",
    "DefensiveProposal",
    "FamilyDensity",
    "make_density_family",
    "make_weighted",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


def _random_rotation(k, rng):
    """Haar-distributed orthogonal ``(k, k)`` matrix (QR of a Gaussian)."""
    q, r = np.linalg.qr(rng.standard_normal((k, k)))
    return q * np.sign(np.diag(r))


def _logsumexp_rows(a):
    """``log(sum(exp(a), axis=1))`` (rows of ``-inf`` give ``-inf``)."""
    top = a.max(axis=1)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return shift + np.log(np.exp(a - shift[:, None]).sum(axis=1))


def _log_uniform(rng, low, high):
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


class _Block:
    """One exact density in ``n_features`` dimensions (a factor of the family)."""

    kind = ""
    smooth = False  # smooth blocks take part in the rotation
    n_features = 1

    def sample(self, n, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def log_density(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self):
        params = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return {"kind": self.kind, **params}


class _EllipticalMixture(_Block):
    """Mixture of Gaussian (``df = inf``) or Student-t components."""

    smooth = True

    def __init__(self, kind, weights, means, scale_chol, dfs):
        self.kind = kind
        self.weights = np.asarray(weights, dtype=float)
        self.means = np.asarray(means, dtype=float)
        self.scale_chol = np.asarray(scale_chol, dtype=float)
        self.dfs = np.asarray(dfs, dtype=float)
        self.n_features = self.means.shape[1]
        self._chol_inv = np.linalg.inv(self.scale_chol)
        self._log_det = np.log(np.abs(np.diagonal(self.scale_chol, axis1=1, axis2=2)))
        self._log_det = self._log_det.sum(axis=1)

    @classmethod
    def draw(cls, kind, k, rng):
        n_comp = rng.randint(1, 5) if kind == "gaussian_mixture" else rng.randint(1, 4)
        weights = rng.dirichlet(2.0 * np.ones(n_comp))
        means = rng.normal(0.0, 2.0, size=(n_comp, k))
        chols = []
        for _ in range(n_comp):
            # principal widths: the largest in [0.3, 1.5], the smallest up to
            # 10x smaller (covariance anisotropy up to 100), rotated at random
            top = rng.uniform(0.3, 1.5)
            ratio = _log_uniform(rng, 1.0, 10.0)
            u = rng.uniform(size=k)
            u[0], u[-1] = 0.0, 1.0
            widths = top * ratio ** (-u[:k]) if k > 1 else np.array([top])
            rot = _random_rotation(k, rng)
            cov = (rot * widths**2) @ rot.T
            chols.append(np.linalg.cholesky(cov))
        if kind == "gaussian_mixture":
            dfs = np.full(n_comp, np.inf)
        else:
            dfs = rng.uniform(2.0, 10.0, size=n_comp)
        return cls(kind, weights, means, np.stack(chols), dfs)

    def sample(self, n, rng):
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        z = rng.standard_normal((n, self.n_features))
        if self.kind == "student_t":
            df = self.dfs[comp]
            z /= np.sqrt(rng.chisquare(df) / df)[:, None]
        out = np.empty_like(z)
        for j in range(len(self.weights)):
            rows = comp == j
            out[rows] = self.means[j] + z[rows] @ self.scale_chol[j].T
        return out

    def log_density(self, X):
        k = self.n_features
        terms = []
        for j in range(len(self.weights)):
            z = (X - self.means[j]) @ self._chol_inv[j].T
            delta = (z * z).sum(axis=1)
            nu = self.dfs[j]
            if not np.isfinite(nu):
                log_c = -0.5 * delta - 0.5 * k * _LOG_2PI
            else:
                log_c = (
                    gammaln(0.5 * (nu + k))
                    - gammaln(0.5 * nu)
                    - 0.5 * k * np.log(nu * np.pi)
                    - 0.5 * (nu + k) * np.log1p(delta / nu)
                )
            terms.append(np.log(self.weights[j]) - self._log_det[j] + log_c)
        return _logsumexp_rows(np.stack(terms, axis=1))


def _log_radial_moment(k, radius, width):
    """``log int_0^inf r^k exp(-(r - R)^2 / (2 s^2)) dr`` (exact recursion).

    ``M_0 = s sqrt(2 pi) Phi(R/s)``, ``M_1 = R M_0 + s^2 exp(-R^2 / 2 s^2)``,
    ``M_k = R M_{k-1} + (k - 1) s^2 M_{k-2}`` (integration by parts).
    """
    m_prev = width * np.sqrt(2.0 * np.pi) * ndtr(radius / width)
    if k == 0:
        return float(np.log(m_prev))
    m = radius * m_prev + width**2 * np.exp(-0.5 * (radius / width) ** 2)
    for j in range(2, k + 1):
        m_prev, m = m, radius * m + (j - 1) * width**2 * m_prev
    return float(np.log(m))


class _Shell(_Block):
    """``p(x) ∝ exp(-(|x - c| - R)^2 / (2 s^2))`` in ``k >= 2`` dimensions."""

    kind = "shell"
    smooth = True

    def __init__(self, centre, radius, width):
        self.centre = np.asarray(centre, dtype=float)
        self.radius = float(radius)
        self.width = float(width)
        self.n_features = len(self.centre)
        k = self.n_features
        log_area = np.log(2.0) + 0.5 * k * np.log(np.pi) - gammaln(0.5 * k)
        self._log_norm = log_area + _log_radial_moment(k - 1, radius, width)

    @classmethod
    def draw(cls, k, rng):
        radius = rng.uniform(1.0, 3.0)
        return cls(
            rng.normal(0.0, 1.0, size=k), radius, radius * rng.uniform(0.03, 0.15)
        )

    def _sample_radius(self, n, rng):
        # r^k' exp(-(r-R)^2/2s^2) <= r*^k' exp(k'(r-r*)/r*) exp(...) = C N(r; r*, s^2)
        # (tangent of log r at the mode r*): rejection from N(r*, s^2), r > 0
        kp, s = self.n_features - 1, self.width
        mode = 0.5 * (self.radius + np.sqrt(self.radius**2 + 4.0 * kp * s**2))
        out = np.empty(0)
        while len(out) < n:
            r = mode + s * rng.standard_normal(2 * (n - len(out)) + 16)
            r = r[r > 0.0]
            log_acc = kp * (np.log(r / mode) - (r - mode) / mode)
            out = np.concatenate([out, r[np.log(rng.uniform(size=len(r))) < log_acc]])
        return out[:n]

    def sample(self, n, rng):
        u = rng.standard_normal((n, self.n_features))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        return self.centre + self._sample_radius(n, rng)[:, None] * u

    def log_density(self, X):
        r = np.linalg.norm(X - self.centre, axis=1)
        return -0.5 * ((r - self.radius) / self.width) ** 2 - self._log_norm


class _Spiral(_Block):
    """Uniform along a polyline spiral, smeared by an isotropic Gaussian.

    Each straight segment integrates to ``Phi`` differences in closed form, so
    the log-density is exact (no quadrature).
    """

    kind = "spiral"
    smooth = True
    n_features = 2
    _n_segments = 48

    def __init__(self, vertices, width):
        self.vertices = np.asarray(vertices, dtype=float)
        self.width = float(width)
        seg = np.diff(self.vertices, axis=0)
        self._lengths = np.linalg.norm(seg, axis=1)
        self._dirs = seg / self._lengths[:, None]
        self._total = float(self._lengths.sum())
        self._scaled_vertices = self.vertices / self.width

    @classmethod
    def draw(cls, rng):
        turns = rng.uniform(0.75, 1.75)
        r0, r1 = rng.uniform(0.2, 0.5), rng.uniform(2.0, 3.0)
        t = np.linspace(0.0, 2.0 * np.pi * turns, cls._n_segments + 1)
        r = r0 + (r1 - r0) * t / t[-1]
        angle = rng.choice([-1.0, 1.0]) * t + rng.uniform(0.0, 2.0 * np.pi)
        vertices = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
        return cls(vertices + rng.normal(0.0, 1.0, size=2), rng.uniform(0.05, 0.15))

    def sample(self, n, rng):
        seg = rng.choice(len(self._lengths), size=n, p=self._lengths / self._total)
        s = rng.uniform(size=n) * self._lengths[seg]
        centre = self.vertices[seg] + s[:, None] * self._dirs[seg]
        return centre + self.width * rng.standard_normal((n, 2))

    def _parts(self, X):
        """Position along each segment and squared distance across (widths)."""
        start = self._scaled_vertices[:-1]
        rx = X[:, :1] / self.width - start[:, 0]
        ry = X[:, 1:] / self.width - start[:, 1]
        along = rx * self._dirs[:, 0]
        along += ry * self._dirs[:, 1]
        across = rx * self._dirs[:, 1]
        across -= ry * self._dirs[:, 0]
        return along, np.square(across, out=across)

    def log_density(self, X):
        chunks = range(0, len(X), 4096)  # cache-sized (4096, n_segments) arrays
        return np.concatenate([self._log_density(X[i : i + 4096]) for i in chunks])

    def _log_density(self, X):
        along, perp2 = self._parts(X)
        lengths = self._lengths / self.width
        # a segment's term exp(-perp2/2) (Phi(a) - Phi(a - L)) is at most
        # exp(-dist2/2) (dist2: squared distance to the segment); terms below
        # e^-50 of the nearest segment's bound change the sum by < 1e-17
        # relative, so Phi is evaluated on the others only
        beyond = np.maximum(along - lengths, -along)
        np.maximum(beyond, 0.0, out=beyond)
        dist2 = np.square(beyond, out=beyond)
        dist2 += perp2
        rows, cols = np.nonzero(dist2 <= dist2.min(axis=1, keepdims=True) + 100.0)
        hi, lo = along[rows, cols], along[rows, cols] - lengths[cols]
        flip = hi + lo > 0.0  # upper tail: Phi(a) - Phi(b) = Phi(-b) - Phi(-a)
        diff = np.where(flip, ndtr(-lo) - ndtr(-hi), ndtr(hi) - ndtr(lo))
        part = np.exp(-0.5 * perp2[rows, cols]) * diff
        with np.errstate(divide="ignore"):
            log_sum = np.log(np.bincount(rows, weights=part, minlength=len(X)))
        # below e^-600 a kept term may have underflowed: the full sum in logs
        far = ~np.isfinite(log_sum) | (log_sum < -600.0)
        if far.any():
            a, p2 = along[far], perp2[far]
            log_sum[far] = _logsumexp_rows(-0.5 * p2 + _log_diff_ndtr(a, a - lengths))
        return log_sum - np.log(self.width * np.sqrt(2.0 * np.pi) * self._total)


class _UniformBoxes(_Block):
    """Mixture of uniform densities on axis-aligned boxes."""

    kind = "boxes"

    def __init__(self, weights, lows, highs):
        self.weights = np.asarray(weights, dtype=float)
        self.lows = np.asarray(lows, dtype=float)
        self.highs = np.asarray(highs, dtype=float)
        self.n_features = self.lows.shape[1]
        self._log_vol = np.log(self.highs - self.lows).sum(axis=1)

    @classmethod
    def draw(cls, k, rng):
        n_box = rng.randint(1, 4)
        lows = rng.uniform(-2.0, 1.0, size=(n_box, k))
        highs = lows + rng.uniform(0.5, 2.5, size=(n_box, k))
        return cls(rng.dirichlet(2.0 * np.ones(n_box)), lows, highs)

    def sample(self, n, rng):
        box = rng.choice(len(self.weights), size=n, p=self.weights)
        u = rng.uniform(size=(n, self.n_features))
        return self.lows[box] + u * (self.highs[box] - self.lows[box])

    def log_density(self, X):
        inside = ((X[:, None] >= self.lows) & (X[:, None] <= self.highs)).all(-1)
        log_terms = np.where(inside, np.log(self.weights) - self._log_vol, -np.inf)
        return _logsumexp_rows(log_terms)


class _UniformBall(_Block):
    """Uniform density on a ball."""

    kind = "ball"

    def __init__(self, centre, radius):
        self.centre = np.asarray(centre, dtype=float)
        self.radius = float(radius)
        self.n_features = k = len(self.centre)
        self._log_vol = (
            0.5 * k * np.log(np.pi) + k * np.log(radius) - gammaln(0.5 * k + 1)
        )

    @classmethod
    def draw(cls, k, rng):
        return cls(rng.normal(0.0, 1.0, size=k), rng.uniform(0.5, 2.0))

    def sample(self, n, rng):
        u = rng.standard_normal((n, self.n_features))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        r = self.radius * rng.uniform(size=n) ** (1.0 / self.n_features)
        return self.centre + r[:, None] * u

    def log_density(self, X):
        inside = np.linalg.norm(X - self.centre, axis=1) <= self.radius
        return np.where(inside, -self._log_vol, -np.inf)


def _bw_cdf(x, mass, gamma):
    return np.arctan((x - mass) / (0.5 * gamma)) / np.pi + 0.5


def _bw_sample(n, mass, gamma, low, high, rng):
    """Breit-Wigner truncated to ``[low, high]`` by inverting its CDF."""
    u = rng.uniform(_bw_cdf(low, mass, gamma), _bw_cdf(high, mass, gamma), size=n)
    return mass + 0.5 * gamma * np.tan(np.pi * (u - 0.5))


def _bw_log_density(x, mass, gamma, low, high):
    half = 0.5 * gamma
    norm = _bw_cdf(high, mass, gamma) - _bw_cdf(low, mass, gamma)
    log_p = np.log(half / np.pi) - np.log((x - mass) ** 2 + half**2) - np.log(norm)
    return np.where((x >= low) & (x <= high), log_p, -np.inf)


class _Dalitz(_Block):
    """Dalitz-like triangle ``y1, y2 > 0, y1 + y2 < 1`` (scaled, shifted).

    A mixture of a Dirichlet ``(a1, a2, a3)`` phase-space part and resonance
    bands: a Breit-Wigner (truncated to ``[0, 1]``) in one of ``y1``, ``y2``,
    ``y3 = 1 - y1 - y2`` times a uniform density along the orthogonal side of
    the triangle (unit Jacobian), so every part is normalised in closed form.
    """

    kind = "dalitz"
    n_features = 2

    def __init__(self, offset, scale, weights, alphas, bands):
        self.offset = np.asarray(offset, dtype=float)
        self.scale = float(scale)
        self.weights = np.asarray(weights, dtype=float)  # phase space, then bands
        self.alphas = np.asarray(alphas, dtype=float)
        self.bands = [(int(a), float(m), float(g)) for a, m, g in bands]

    @classmethod
    def draw(cls, rng):
        n_band = rng.randint(0, 3)
        bands = [
            (rng.randint(3), rng.uniform(0.2, 0.7), rng.uniform(0.01, 0.05))
            for _ in range(n_band)
        ]
        weights = rng.dirichlet(2.0 * np.ones(n_band + 1))
        offset = rng.normal(0.0, 1.0, size=2)
        return cls(
            offset, rng.uniform(1.0, 4.0), weights, rng.uniform(1.0, 2.5, 3), bands
        )

    def sample(self, n, rng):
        part = rng.choice(len(self.weights), size=n, p=self.weights)
        y = rng.dirichlet(self.alphas, size=n)
        for j, (axis, mass, gamma) in enumerate(self.bands):
            rows = np.flatnonzero(part == j + 1)
            v = _bw_sample(len(rows), mass, gamma, 0.0, 1.0, rng)
            t = rng.uniform(size=len(rows)) * (1.0 - v)
            others = [a for a in range(3) if a != axis]
            y[rows, axis], y[rows, others[0]] = v, t
            y[rows, others[1]] = 1.0 - v - t
        return self.offset + self.scale * y[:, :2]

    def log_density(self, X):
        y = (X - self.offset) / self.scale
        y = np.column_stack([y, 1.0 - y.sum(axis=1)])
        inside = (y > 0.0).all(axis=1)
        ys = np.where(inside[:, None], y, 0.5)
        a = self.alphas
        log_dir = gammaln(a.sum()) - gammaln(a).sum() + ((a - 1.0) * np.log(ys)).sum(1)
        terms = [np.log(self.weights[0]) + log_dir]
        for j, (axis, mass, gamma) in enumerate(self.bands):
            v = ys[:, axis]
            log_band = _bw_log_density(v, mass, gamma, 0.0, 1.0) - np.log1p(-v)
            terms.append(np.log(self.weights[j + 1]) + log_band)
        log_p = _logsumexp_rows(np.stack(terms, axis=1)) - 2.0 * np.log(self.scale)
        return np.where(inside, log_p, -np.inf)


class _Peak(_Block):
    """Truncated Breit-Wigner over an exponential or power-law background."""

    kind = "peak"

    def __init__(self, low, high, mass, gamma, signal_fraction, background, slope):
        self.low, self.high = float(low), float(high)
        self.mass, self.gamma = float(mass), float(gamma)
        self.signal_fraction = float(signal_fraction)
        self.background = str(background)  # "exponential" (rate) or "power" (index)
        self.slope = float(slope)

    @classmethod
    def draw(cls, rng):
        low = rng.uniform(0.5, 2.0)
        span = rng.uniform(4.0, 10.0)
        mass = low + span * rng.uniform(0.25, 0.75)
        gamma = span * _log_uniform(rng, 0.02, 0.1)
        if rng.uniform() < 0.5:
            background, slope = "exponential", rng.uniform(1.0, 5.0) / span
        else:
            background, slope = "power", rng.uniform(2.0, 5.0)
        return cls(
            low, low + span, mass, gamma, rng.uniform(0.05, 0.5), background, slope
        )

    def _bg_sample(self, n, rng):
        u, lo, hi, s = rng.uniform(size=n), self.low, self.high, self.slope
        if self.background == "exponential":
            return lo - np.log1p(-u * (1.0 - np.exp(-s * (hi - lo)))) / s
        a, b = lo ** (1.0 - s), hi ** (1.0 - s)
        return (a + u * (b - a)) ** (1.0 / (1.0 - s))

    def _bg_log_density(self, x):
        lo, hi, s = self.low, self.high, self.slope
        xs = np.clip(x, lo, hi)
        if self.background == "exponential":
            return np.log(s) - s * (xs - lo) - np.log1p(-np.exp(-s * (hi - lo)))
        norm = (lo ** (1.0 - s) - hi ** (1.0 - s)) / (s - 1.0)
        return -s * np.log(xs) - np.log(norm)

    def sample(self, n, rng):
        signal = rng.uniform(size=n) < self.signal_fraction
        bw = _bw_sample(n, self.mass, self.gamma, self.low, self.high, rng)
        return np.where(signal, bw, self._bg_sample(n, rng))[:, None]

    def log_density(self, X):
        x = X[:, 0]
        f = self.signal_fraction
        log_p = np.logaddexp(
            np.log(f) + _bw_log_density(x, self.mass, self.gamma, self.low, self.high),
            np.log1p(-f) + self._bg_log_density(x),
        )
        return np.where((x >= self.low) & (x <= self.high), log_p, -np.inf)


class _PowerLaw(_Block):
    """``p(x) = (alpha - 1) x_min^(alpha - 1) x^-alpha`` on ``[x_min, inf)``."""

    kind = "power_law"

    def __init__(self, alpha, x_min):
        self.alpha, self.x_min = float(alpha), float(x_min)

    @classmethod
    def draw(cls, rng):
        return cls(rng.uniform(2.0, 6.0), rng.uniform(0.5, 2.0))

    def sample(self, n, rng):
        u = 1.0 - rng.uniform(size=n)  # in (0, 1]
        return (self.x_min * u ** (-1.0 / (self.alpha - 1.0)))[:, None]

    def log_density(self, X):
        x, a = X[:, 0], self.alpha
        xs = np.maximum(x, self.x_min)
        log_p = np.log(a - 1.0) + (a - 1.0) * np.log(self.x_min) - a * np.log(xs)
        return np.where(x >= self.x_min, log_p, -np.inf)


# kind -> (smallest, largest block dimension, drawer(k, rng))
_KINDS = {
    "gaussian_mixture": (
        1,
        4,
        lambda k, rng: _EllipticalMixture.draw("gaussian_mixture", k, rng),
    ),
    "student_t": (1, 4, lambda k, rng: _EllipticalMixture.draw("student_t", k, rng)),
    "shell": (2, 4, _Shell.draw),
    "spiral": (2, 2, lambda k, rng: _Spiral.draw(rng)),
    "boxes": (1, 3, _UniformBoxes.draw),
    "ball": (2, 3, _UniformBall.draw),
    "dalitz": (2, 2, lambda k, rng: _Dalitz.draw(rng)),
    "peak": (1, 1, lambda k, rng: _Peak.draw(rng)),
    "power_law": (1, 1, lambda k, rng: _PowerLaw.draw(rng)),
}

#: names of the block kinds :func:`make_density_family` draws from
DENSITY_FAMILY_KINDS = tuple(_KINDS)


class FamilyDensity:
    """A density of the family: independent blocks, rotated, sheared, permuted.

    ``x = P(y_o, Q y_g + A tanh((y_o - c) / s))`` where ``y = (y_g, y_o)`` are
    the block variables (``g``: smooth blocks, ``o``: the others), ``Q`` is
    orthogonal, ``A`` a coupling matrix and ``P`` a column permutation. The map
    has Jacobian 1, so ``log p(x) = sum_b log p_b(y_b)`` exactly.

    Build it with :func:`make_density_family`.

    Attributes
    ----------
    n_features : int
        Dimension ``d``.
    name : str
        ``"family-<seed>"``.
    blocks : list
        The block densities, in the order of ``y``.
    components : list of dict
        Kind, dimension and parameters of every block, plus the transform.
    """

    def __init__(self, name, blocks, rotation, coupling, centre, spread, permutation):
        self.name = name
        self.blocks = list(blocks)
        self.rotation = np.asarray(rotation, dtype=float)
        self.coupling = np.asarray(coupling, dtype=float)
        self.centre = np.asarray(centre, dtype=float)
        self.spread = np.asarray(spread, dtype=float)
        self.permutation = np.asarray(permutation, dtype=int)
        self.n_features = int(sum(b.n_features for b in self.blocks))
        self._n_smooth = len(self.rotation)
        self._inverse_permutation = np.argsort(self.permutation)

    @property
    def components(self):
        """Description of every block and of the transform."""
        blocks = [{"n_features": b.n_features, **b.describe()} for b in self.blocks]
        return {
            "blocks": blocks,
            "n_rotated": self._n_smooth,
            "coupled": bool(np.any(self.coupling)),
            "permutation": self.permutation.tolist(),
        }

    def _shift(self, y_other):
        return np.tanh((y_other - self.centre) / self.spread) @ self.coupling.T

    def _blocks_sample(self, n, rng):
        return np.concatenate([b.sample(n, rng) for b in self.blocks], axis=1)

    def sample(self, n_samples, random_state=None):
        """Draw ``n_samples`` points.

        Parameters
        ----------
        n_samples : int
            Number of points.
        random_state : int, RandomState instance or None, default=None
            Seed.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        y = self._blocks_sample(int(n_samples), check_random_state(random_state))
        g, o = y[:, : self._n_smooth], y[:, self._n_smooth :]
        x = np.concatenate([g @ self.rotation.T + self._shift(o), o], axis=1)
        return x[:, self.permutation]

    def log_density(self, X):
        """Exact log-density (``-inf`` outside the support).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        X = _as_2d(X, self.n_features, f"{self.name}.log_density")
        x = X[:, self._inverse_permutation]
        xg, o = x[:, : self._n_smooth], x[:, self._n_smooth :]
        y = np.concatenate([(xg - self._shift(o)) @ self.rotation, o], axis=1)
        out = np.zeros(len(X))
        start = 0
        for b in self.blocks:
            out += b.log_density(y[:, start : start + b.n_features])
            start += b.n_features
        return out

    def __repr__(self):
        kinds = ", ".join(f"{b.kind}({b.n_features})" for b in self.blocks)
        return f"FamilyDensity({self.name!r}, d={self.n_features}: {kinds})"


def _draw_dimension(rng, dims):
    low, high = dims
    d = int(np.exp(rng.uniform(np.log(low), np.log(high + 1))))
    return min(max(d, low), high)


def _draw_blocks(d, kinds, rng):
    blocks, left = [], d
    while left:
        allowed = [k for k in kinds if _KINDS[k][0] <= left]
        if not allowed:  # only kinds of >= 2 dims remain: pad with a 1-d block
            allowed = [k for k in DENSITY_FAMILY_KINDS if _KINDS[k][0] == 1]
        kind = allowed[rng.randint(len(allowed))]
        low, high, draw = _KINDS[kind]
        k = rng.randint(low, min(high, left) + 1)
        blocks.append(draw(k, rng))
        left -= k
    return blocks


def make_density_family(seed, *, n_dims=None, dims=(2, 32), kinds=None):
    """Draw a density of the benchmark family, exact log-density included.

    Random choices (all from ``seed``):

    * ``d``: ``n_dims`` or log-uniform in ``dims`` (low dimensions as often
      as high ones per octave);
    * blocks until ``d`` is filled: a kind uniformly among ``kinds`` that
      fit, its dimension uniformly in the kind's range (Gaussian/Student-t
      1-4, shell 2-4, spiral 2, boxes 1-3, ball 2-3, Dalitz 2, peak 1,
      power law 1), its parameters as documented on each block (e.g. mixture
      components 1-4, widths 0.3-1.5 with anisotropy up to 10 in width,
      Student-t ``nu ~ U(2, 10)``, shell radius 1-3 and width 3-15 % of it,
      power-law ``alpha ~ U(2, 6)``, Breit-Wigner width 2-10 % of the window);
    * a Haar-random rotation of all smooth-block coordinates together;
    * with probability 1/2 a coupling: each entry of ``A`` is nonzero with
      probability 0.3, then ``N(0, 1)``; ``c``, ``s`` are the median and
      half the inter-quartile range of the other coordinates (a 4096-point
      pilot sample);
    * a uniformly random column permutation.

    If only kinds of two or more dimensions are allowed and one dimension is
    left, a 1-d block of any kind fills it.

    Parameters
    ----------
    seed : int
        The draw; other seeds give a held-out set of the same kind.
    n_dims : int or None, default=None
        Dimension; drawn from ``dims`` when None.
    dims : tuple of int, default=(2, 32)
        Range of the drawn dimension.
    kinds : sequence of str or None, default=None
        Block kinds to draw from (subset of :data:`DENSITY_FAMILY_KINDS`).

    Returns
    -------
    density : FamilyDensity
        With ``sample(n, random_state)``, ``log_density(X)``, ``n_features``,
        ``name`` and ``components``.
    """
    kinds = DENSITY_FAMILY_KINDS if kinds is None else tuple(kinds)
    unknown = sorted(set(kinds) - set(DENSITY_FAMILY_KINDS))
    if unknown or not kinds:
        raise ValueError(
            f"kinds must be a non-empty subset of {DENSITY_FAMILY_KINDS}, "
            f"got {unknown}."
        )
    if len(dims) != 2 or not 1 <= dims[0] <= dims[1]:
        raise ValueError(f"dims must be (low, high) with 1 <= low <= high, got {dims}.")
    rng = np.random.RandomState(seed)
    d = _draw_dimension(rng, dims) if n_dims is None else int(n_dims)
    if d < 1:
        raise ValueError(f"n_dims must be >= 1, got {n_dims}.")
    blocks = _draw_blocks(d, kinds, rng)
    blocks.sort(key=lambda b: not b.smooth)  # stable: smooth blocks first
    n_smooth = sum(b.n_features for b in blocks if b.smooth)
    rotation = _random_rotation(n_smooth, rng) if n_smooth else np.zeros((0, 0))
    n_other = d - n_smooth
    coupling = np.zeros((n_smooth, n_other))
    if n_smooth and n_other and rng.uniform() < 0.5:
        mask = rng.uniform(size=coupling.shape) < 0.3
        coupling = np.where(mask, rng.standard_normal(coupling.shape), 0.0)
    pilot = np.concatenate(
        [b.sample(4096, rng) for b in blocks if not b.smooth] or [np.zeros((4096, 0))],
        axis=1,
    )
    q1, centre, q3 = np.percentile(pilot, [25, 50, 75], axis=0)
    spread = np.maximum(0.5 * (q3 - q1), 1e-3)
    permutation = rng.permutation(d)
    return FamilyDensity(
        f"family-{seed}", blocks, rotation, coupling, centre, spread, permutation
    )


class DefensiveProposal:
    """``q = (1 - mix) p + mix g``: the density itself and a broad Student-t.

    ``g`` is a diagonal multivariate Student-t (``df`` 3) at ``loc`` with
    widths ``broadening * scale``. Weights ``p/q <= 1 / (1 - mix)``.

    Parameters
    ----------
    density : FamilyDensity
        The target ``p`` (anything with ``sample`` and ``log_density``).
    loc, scale : ndarray of shape (n_features,)
        Location and widths of ``g``.
    mix : float
        Fraction of events from ``g``.
    broadening : float
        Factor on the widths of ``g``.
    df : float, default=3.0
        Degrees of freedom of ``g``.
    """

    def __init__(self, density, loc, scale, mix, broadening, df=3.0):
        self.density = density
        self.loc = np.asarray(loc, dtype=float)
        self.scale = np.asarray(scale, dtype=float)
        self.mix = float(mix)
        self.broadening = float(broadening)
        self.df = float(df)

    def _g_from_normal(self, z, chi2):
        return (
            self.loc
            + self.broadening * self.scale * z / np.sqrt(chi2 / self.df)[:, None]
        )

    def _log_g(self, X):
        k, nu = X.shape[1], self.df
        z = (X - self.loc) / (self.broadening * self.scale)
        delta = (z * z).sum(axis=1)
        return (
            gammaln(0.5 * (nu + k))
            - gammaln(0.5 * nu)
            - 0.5 * k * np.log(nu * np.pi)
            - np.log(self.broadening * self.scale).sum()
            - 0.5 * (nu + k) * np.log1p(delta / nu)
        )

    def log_q_and_p(self, X):
        """Exact ``log q`` and ``log p`` at the same points (one pass of ``p``).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Points.

        Returns
        -------
        log_q, log_p : ndarray of shape (n_samples,)
        """
        log_p = self.density.log_density(X)
        with np.errstate(divide="ignore"):
            log_q = np.logaddexp(
                np.log1p(-self.mix) + log_p, np.log(self.mix) + self._log_g(X)
            )
        return log_q, log_p

    def log_density(self, X):
        """Exact ``log q(X)``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Points.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        return self.log_q_and_p(X)[0]

    def sample(self, n_samples, random_state=None):
        """Draw ``n_samples`` events from ``q``.

        Parameters
        ----------
        n_samples : int
            Number of events.
        random_state : int, RandomState instance or None, default=None
            Seed.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        rng = check_random_state(random_state)
        from_g = rng.uniform(size=n_samples) < self.mix
        X = self.density.sample(n_samples, rng)
        z = rng.standard_normal(X.shape)
        chi2 = rng.chisquare(self.df, size=n_samples)
        return np.where(from_g[:, None], self._g_from_normal(z, chi2), X)


def _ess_fraction(w):
    return float(w.sum() ** 2 / (len(w) * (w * w).sum()))


def _weights(proposal, X):
    log_q, log_p = proposal.log_q_and_p(X)
    return np.exp(log_p - log_q)


def make_weighted(
    density, n_samples, ess_fraction, *, random_state=None, max_broadening=1e3
):
    """Weighted events ``w = p/q`` from a proposal tuned to an ESS fraction.

    The proposal is :class:`DefensiveProposal`, ``q_t``, with one tempering
    parameter ``t`` in ``[0, 2]``: for ``t <= 1`` the mixture fraction of the
    broad Student-t ``g`` is ``t`` (``g``: median and 1.5x the inter-quartile
    width/1.349 of a pilot sample); for ``t > 1`` everything comes from ``g``,
    widened by ``max_broadening ** (t - 1)``. The effective sample size
    fraction ``(sum w)^2 / (n sum w^2)`` falls with ``t``; ``t`` is found by
    bisection (40 steps) on a pilot sample of ``max(n_samples, 20000)``
    events drawn once (common random numbers), then a fresh sample of
    ``n_samples`` is drawn. For ``n_samples >= 1e4`` the achieved fraction is
    typically within 0.02 of the request.

    Parameters
    ----------
    density : FamilyDensity
        Target ``p`` (``sample`` and exact ``log_density``).
    n_samples : int
        Number of events.
    ess_fraction : float
        Requested effective sample size fraction, in ``[0.1, 0.9]``.
    random_state : int, RandomState instance or None, default=None
        Seed.
    max_broadening : float, default=1e3
        Largest width factor of ``g``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Events from ``q``.
    w : ndarray of shape (n_samples,)
        Weights ``p(X) / q(X)`` (exact; mean 1 in expectation).
    achieved : float
        The ESS fraction of ``w``.
    """
    if not 0.1 <= ess_fraction <= 0.9:
        raise ValueError(f"ess_fraction must be in [0.1, 0.9], got {ess_fraction}.")
    if int(n_samples) < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}.")
    rng = check_random_state(random_state)
    n_pilot = max(int(n_samples), 20_000)
    X_p = density.sample(n_pilot, rng)
    q1, loc, q3 = np.percentile(X_p, [25, 50, 75], axis=0)
    scale = 1.5 * np.maximum((q3 - q1) / 1.349, 1e-3)
    u = rng.uniform(size=n_pilot)
    z = rng.standard_normal(X_p.shape)
    chi2 = rng.chisquare(3.0, size=n_pilot)

    log_p_pilot = density.log_density(X_p)
    g_cache = {}  # broadening -> (events of g, their log p): computed once each

    def proposal(t):
        return DefensiveProposal(
            density, loc, scale, min(t, 1.0), max_broadening ** max(t - 1.0, 0.0)
        )

    def pilot_ess(t):
        q = proposal(t)
        if q.broadening not in g_cache:
            G = q._g_from_normal(z, chi2)
            g_cache[q.broadening] = G, density.log_density(G)
        G, log_p_g = g_cache[q.broadening]
        from_g = u < q.mix
        X = np.where(from_g[:, None], G, X_p)
        log_p = np.where(from_g, log_p_g, log_p_pilot)
        with np.errstate(divide="ignore"):
            log_q = np.logaddexp(np.log1p(-q.mix) + log_p, np.log(q.mix) + q._log_g(X))
        return _ess_fraction(np.exp(log_p - log_q))

    low, high = 0.0, 2.0
    for _ in range(40):
        mid = 0.5 * (low + high)
        if pilot_ess(mid) > ess_fraction:
            low = mid
        else:
            high = mid
    q = proposal(0.5 * (low + high))
    X = q.sample(int(n_samples), rng)
    w = _weights(q, X)
    return X, w, _ess_fraction(w)
