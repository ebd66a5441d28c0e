"""Where the names of release 0.1.0 live now, so that its pickles load.

Release 0.1.0 kept every estimator in one flat module (``skhep_ml.integrate``,
``skhep_ml.losses``, ``skhep_ml._channels``, ...). A pickle names the module and
the class of every object it holds, so a fitted estimator pickled by 0.1.0 asks
for, e.g., ``skhep_ml.regression._BayesNet`` or ``skhep_ml.losses.WeightedNLL``.
:data:`MOVED` maps each old module to the modules that hold its names now:

* old modules that are packages now (``skhep_ml.regression``) answer the old
  private names through :func:`moved_attribute` (a module ``__getattr__``,
  PEP 562), called only for names the package does not have;
* old modules that are gone (``skhep_ml.losses``) are served by
  :class:`_MovedModuleFinder` as alias modules that look their names up in the
  new modules.

Nothing else imports these paths: new code uses the new modules.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

#: old module -> the modules that hold its names now, searched in order
MOVED = {
    "skhep_ml.regression": ("skhep_ml.regression.regressor",),
    "skhep_ml.density": ("skhep_ml.density.flow_density",),
    "skhep_ml.ratio": ("skhep_ml.ratio.estimator",),
    "skhep_ml.scan": ("skhep_ml.scan.scanner",),
    "skhep_ml.integrate": ("skhep_ml.integrate.integrator",),
    "skhep_ml.losses": (
        "skhep_ml.regression.loss",
        "skhep_ml.density.loss",
        "skhep_ml.integrate.loss",
        "skhep_ml.ratio.loss",
        "skhep_ml.nn.functional",
    ),
    "skhep_ml._channels": ("skhep_ml.integrate._channels",),
    "skhep_ml._final_integration": ("skhep_ml.integrate._final_integration",),
    "skhep_ml._integrand_calls": ("skhep_ml.integrate._integrand_calls",),
    "skhep_ml._unweighting": ("skhep_ml.integrate._unweighting",),
    "skhep_ml._vegas_init": ("skhep_ml.integrate._vegas_init",),
    "skhep_ml._scan_objective": ("skhep_ml.scan._objective",),
    "skhep_ml._scan_proposal": ("skhep_ml.scan._proposal",),
    "skhep_ml._store": ("skhep_ml.scan._store",),
    "skhep_ml.nn.splines": ("skhep_ml.nn.flows.splines",),
}


def _lookup(old: str, name: str):
    for new in MOVED[old]:
        module = importlib.import_module(new)
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {old!r} has no attribute {name!r}")


def moved_attribute(old: str):
    """A module ``__getattr__`` answering the names ``old`` had in release 0.1.0."""

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        return _lookup(old, name)

    return __getattr__


class _AliasLoader(importlib.abc.Loader):
    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        vars(module)["__getattr__"] = moved_attribute(spec.name)  # PEP 562 hook
        return module

    def exec_module(self, module):
        pass


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Serve the removed modules of :data:`MOVED` as alias modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        if importlib.machinery.PathFinder.find_spec(fullname, path) is not None:
            return None  # still a real module or package: it answers itself
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader())


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (done by ``import skhep_ml``)."""
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
