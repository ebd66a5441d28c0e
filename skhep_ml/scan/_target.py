"""What "in target" means for :class:`~skhep_ml.ActiveScanner`, and the score.

Regression mode: a band ``(low, high)`` of the observable; the surrogate's
prediction ``Ô`` is ranked by the Gaussian likelihood ``exp(-χ²/2)`` with
``χ² = ((Ô - c)/h)²`` (centre ``c``, half-width ``h``), so the band edge is
``χ² = 1``. Classification mode: the objective returns 1/0 and the score is the
predicted probability, thresholded at 1/2.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import type_of_target

__all__ = ["TargetRule", "check_band", "encode_binary_labels"]

#: likelihood exp(-chi2/2) at the edge of the target band (chi2 = 1)
BAND_EDGE = float(np.exp(-0.5))


def check_band(target):
    """The band ``(low, high)`` of a ``target`` parameter, or None.

    ``"classification"`` and ``None`` have no band.

    Raises
    ------
    ValueError
        If ``target`` is not a pair of finite numbers with ``low < high``.
    """
    if target is None or (isinstance(target, str) and target == "classification"):
        return None
    try:
        low, high = (float(t) for t in target)
    except (TypeError, ValueError):
        raise ValueError(
            f"target must be (low, high), 'classification' or None, got {target!r}."
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"target band needs finite low < high, got {target!r}.")
    return low, high


def encode_binary_labels(y):
    """Class labels of a binary ``y`` and ``y`` encoded as 0/1 floats.

    Raises
    ------
    ValueError
        If ``y`` is continuous or has other than two classes.
    """
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
    return enc.classes_, enc.transform(y).astype(np.float64)


class TargetRule:
    """In-target labels and selection scores of objective values.

    Parameters
    ----------
    band : (float, float) or None
        The regression band; ``None`` for classification mode (values 1/0).
    """

    def __init__(self, band):
        self.band = band

    @property
    def threshold(self):
        """Score at the edge of the target."""
        return 0.5 if self.band is None else BAND_EDGE

    def label(self, values):
        """In-target mask of objective values."""
        values = np.asarray(values, dtype=np.float64)
        if self.band is None:
            return values >= 0.5
        low, high = self.band
        return (values >= low) & (values <= high)

    def training_target(self, values):
        """What the surrogate learns: 1/0 labels (classification) or the values."""
        if self.band is None:
            return self.label(values).astype(np.float64)
        return values

    def score(self, predicted):
        """Selection score in [0, 1]: likelihood ``exp(-χ²/2)`` or probability."""
        if self.band is None:
            return predicted
        low, high = self.band
        chi2 = ((predicted - 0.5 * (low + high)) / (0.5 * (high - low))) ** 2
        return np.exp(-0.5 * chi2)
