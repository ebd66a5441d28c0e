"""The initial Gaussian mixture of :class:`~skhep_ml.FlowDensity` (``base="gmm"``).

scikit-learn's :class:`~sklearn.mixture.GaussianMixture` has no
``sample_weight``; :func:`fit_gmm` adds weighted EM steps, and
:func:`initial_mixture` fits the ``mixture_fits`` mixtures on the training rows.
"""

from __future__ import annotations

import numpy as np
from skorch.dataset import ValidSplit

__all__ = ["fit_gmm", "initial_mixture", "weighted_m_step"]


def weighted_m_step(S, resp, covariance_type, reg_covar):
    """Weighted M step of EM: mixture weights, means and precision Cholesky.

    ``resp`` holds responsibilities times event weights. Returns
    ``(weights, means, covariances, precisions_cholesky)`` in the layout of
    ``sklearn.mixture.GaussianMixture`` for ``covariance_type``.
    """
    n, d = S.shape
    nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
    means = resp.T @ S / nk[:, None]
    eye = np.eye(d)
    if covariance_type in ("full", "tied"):
        covs = np.empty((len(nk), d, d))
        for j in range(len(nk)):
            diff = S - means[j]
            covs[j] = (resp[:, j, None] * diff).T @ diff / nk[j]
        if covariance_type == "tied":
            covs = (nk[:, None, None] * covs).sum(axis=0) / nk.sum() + reg_covar * eye
            c = np.linalg.cholesky(covs)
            prec_chol = np.linalg.solve(c, eye).T  # upper: P = U U^T
        else:
            covs += reg_covar * eye
            prec_chol = np.linalg.solve(np.linalg.cholesky(covs), eye).transpose(
                0, 2, 1
            )
    else:
        avg_sq = resp.T @ (S * S) / nk[:, None]
        covs = avg_sq - means**2 + reg_covar  # diag
        if covariance_type == "spherical":
            covs = covs.mean(axis=1)
        prec_chol = 1.0 / np.sqrt(covs)
    return nk / nk.sum(), means, covs, prec_chol


def fit_gmm(
    S, weight, n_components, seed, n_em=20, reg_covar=1e-6, covariance_type="full"
):
    """GaussianMixture of ``S`` with ``covariance_type``, weighted by ``weight``.

    scikit-learn's GaussianMixture has no ``sample_weight``: with non-uniform
    weights it is initialised on a weighted resample of ``S`` and refined by
    ``n_em`` weighted EM steps on ``S`` itself.
    """
    from sklearn.mixture import GaussianMixture

    n = len(S)
    k = int(min(n_components, n))
    gmm = GaussianMixture(
        k, covariance_type=covariance_type, reg_covar=reg_covar, random_state=seed
    )
    uniform = np.all(weight == weight[0])
    if uniform:
        return gmm.fit(S)
    p = weight / weight.sum()
    rows = np.random.RandomState(seed).choice(n, size=n, replace=True, p=p)
    gmm.fit(S[rows])
    for _ in range(n_em):
        resp = gmm.predict_proba(S) * weight[:, None]
        weights, means, covs, prec_chol = weighted_m_step(
            S, resp, covariance_type, reg_covar
        )
        gmm.weights_ = weights
        gmm.means_ = means
        gmm.covariances_ = covs
        gmm.precisions_cholesky_ = prec_chol
        if covariance_type == "full":
            gmm.precisions_ = prec_chol @ prec_chol.transpose(0, 2, 1)
        elif covariance_type == "tied":
            gmm.precisions_ = prec_chol @ prec_chol.T
        else:
            gmm.precisions_ = prec_chol**2
    return gmm


def initial_mixture(
    S,
    weight,
    *,
    n_components,
    covariance_type,
    mixture_fits,
    seed,
    validation_fraction=None,
):
    """The mixture(s) that start the flow's latent, fitted on its training rows.

    Parameters
    ----------
    S : ndarray of shape (n_samples, n_features)
        Standardised training data.
    weight : ndarray of shape (n_samples,)
        Event weights.
    n_components : int
        Components of each fit (capped at the rows).
    covariance_type : {"full", "tied", "diag", "spherical"}
        Covariance structure of the fits.
    mixture_fits : int
        Fits from the seeds ``seed, seed + 1, ...`` (mod 2**32).
    seed : int
        Seed of the first fit, and of skorch's validation split.
    validation_fraction : float, default=None
        With early stopping: the share skorch's ``ValidSplit`` (same seed) holds
        out; the mixtures see only the rows it trains on.

    Returns
    -------
    gmm : GaussianMixture or list of GaussianMixture
        One fit, or the ``mixture_fits`` fits (averaged by
        :meth:`~skhep_ml.nn.flows.GaussianMixtureBase.from_sklearn`).
    """
    train = np.arange(len(S))
    if validation_fraction is not None:
        train, _ = ValidSplit(validation_fraction, random_state=seed)(train)
        train = np.asarray(train.indices)
    fits = [
        fit_gmm(
            S[train],
            weight[train],
            n_components,
            (seed + i) % (2**32),
            covariance_type=covariance_type,
        )
        for i in range(mixture_fits)
    ]
    return fits[0] if len(fits) == 1 else fits
