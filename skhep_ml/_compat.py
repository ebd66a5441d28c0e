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

Classes removed after release 0.1.0 (hand-written speed code that did not earn
its place, issue 18) are answered by what replaced them, listed in
:data:`REPLACED`; the old ``FlatAdam`` optimizer by :class:`FlatAdam` below,
which loads into a :class:`torch.optim.Adam` with the same moments.

Nothing else imports these paths: new code uses the new modules.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

import torch

#: old module -> the modules that hold its names now, searched in order
MOVED = {
    "skhep_ml.regression": ("skhep_ml.regression.regressor",),
    "skhep_ml.density": ("skhep_ml.density.flow_density",),
    "skhep_ml.ratio": (
        "skhep_ml.ratio.estimator",
        "skhep_ml.ratio._net",
        "skhep_ml.ratio._inputs",
        "skhep_ml.ratio.profile",
    ),
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
    "skhep_ml._final_integration": (
        "skhep_ml.integrate._final_integration",
        "skhep_ml.integrate._unweighting",
    ),
    "skhep_ml._integrand_calls": ("skhep_ml.integrate._integrand_calls",),
    "skhep_ml._unweighting": ("skhep_ml.integrate._unweighting",),
    "skhep_ml._vegas_init": ("skhep_ml.integrate._vegas_init",),
    "skhep_ml._scan_objective": ("skhep_ml.scan._objective",),
    "skhep_ml._scan_proposal": ("skhep_ml.scan._proposal",),
    "skhep_ml._store": ("skhep_ml.scan._store",),
    "skhep_ml.nn.splines": ("skhep_ml.nn.flows.splines",),
    "skhep_ml.base": (),
    "skhep_ml.nn.optim": (),
}

#: (old module, removed name) -> "module:name" of what stands in for it
REPLACED = {
    ("skhep_ml.base", "TorchNet"): "skorch:NeuralNet",
    ("skhep_ml.base", "_History"): "skorch.history:History",
    ("skhep_ml.base", "_EpochMean"): "skorch.callbacks:PassthroughScoring",
    ("skhep_ml.nn.optim", "FlatAdam"): "skhep_ml._compat:FlatAdam",
    ("skhep_ml.ratio", "_RatioMLP"): "skhep_ml.nn.mlp:MLP",
}


def _lookup(old: str, name: str):
    replacement = REPLACED.get((old, name))
    if replacement is not None:
        module_name, attribute = replacement.split(":")
        return getattr(importlib.import_module(module_name), attribute)
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


class FlatAdam(torch.optim.Adam):
    """Stands in for release 0.1.0's ``skhep_ml.nn.optim.FlatAdam`` in its pickles.

    ``FlatAdam`` was Adam with the parameters and moments of a group in one
    flat buffer (the same numbers as :class:`torch.optim.Adam`); it gained
    under 1.3x on whole fits and was removed. An old pickled ``FlatAdam``
    loads as a plain :class:`torch.optim.Adam`: its flat moments are split
    back into one tensor per parameter, so continued training
    (``partial_fit``) goes on with the same moments and step count. A net
    whose ``optimizer`` parameter is this class builds a torch Adam.
    """

    def __setstate__(self, state):
        for group in state["param_groups"]:
            params = group["params"]
            flat = state["state"].pop(params[0], None) if params else None
            if not flat:
                continue
            sizes = [p.numel() for p in params]
            moments = {key: flat[key].split(sizes) for key in ("exp_avg", "exp_avg_sq")}
            for i, p in enumerate(params):
                state["state"][p] = {
                    "step": flat["step"],
                    **{
                        key: parts[i].view_as(p).clone()
                        for key, parts in moments.items()
                    },
                }
        self.__class__ = torch.optim.Adam
        torch.optim.Adam.__setstate__(self, state)
