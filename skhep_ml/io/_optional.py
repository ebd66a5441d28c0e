"""Optional dependencies of the ``hep`` extra, imported only when used."""

from __future__ import annotations

import importlib

#: pip distribution of each importable module (where the names differ)
_DISTRIBUTIONS = {
    "skhep_testdata": "scikit-hep-testdata",
    "matplotlib.pyplot": "matplotlib",
}


def require(module: str, *, extra: str = "hep", purpose: str = ""):
    """Import ``module`` or raise an ImportError naming the extra that installs it.

    Parameters
    ----------
    module : str
        Module name, e.g. ``"uproot"``.
    extra : str, default="hep"
        The skhep_ml extra providing it.
    purpose : str, default=""
        What needs it, for the message.

    Returns
    -------
    module : module
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = f"{purpose} needs" if purpose else "this needs"
        dist = _DISTRIBUTIONS.get(module, module)
        raise ImportError(
            f"{what} {dist}, part of the optional '{extra}' extra: "
            f"pip install 'skhep_ml[{extra}]'"
        ) from exc
