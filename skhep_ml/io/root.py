"""ROOT trees: branches in as ``X, sample_weight``; samples and scans out.

uproot does all the reading and writing: :func:`uproot.concatenate` and
:func:`uproot.iterate` read; ``file.mktree`` + ``tree.extend`` write one basket per
chunk, so a write of any length holds one chunk in memory; metadata are
``TObjString`` entries (JSON text) in the file's ``metadata`` directory.
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Iterable, Iterator, Mapping

import numpy as np
from sklearn.utils import check_random_state

from ._optional import require

#: branch that holds the event weights
WEIGHT_BRANCH = "weight"
#: directory of the metadata ``TObjString`` entries
METADATA_DIR = "metadata"
#: events per basket (and per ``estimator.sample`` call when streaming)
DEFAULT_CHUNK_SIZE = 1_000_000


def _uproot():
    return require("uproot", purpose="reading and writing ROOT files")


# --------------------------------------------------------------------- reading
def _file_specs(files, tree):
    """uproot's ``[{path: tree}, ...]`` (a list, so a repeated path reads twice)."""
    paths = [files] if isinstance(files, str | os.PathLike) else list(files)
    if not paths:
        raise ValueError("files is empty: give at least one ROOT file.")
    if tree is None:
        with _uproot().open(paths[0]) as f:
            trees = f.keys(filter_classname="TTree", cycle=False)
        if len(trees) != 1:
            raise ValueError(
                f"{os.fspath(paths[0])!r} holds {len(trees)} trees {trees}: "
                "name one with tree=..."
            )
        tree = trees[0]
    return [{os.fspath(p): tree} for p in paths]


def _split(arrays, branches, weight, library):
    """``(X, sample_weight)`` from what uproot read."""
    w = None if weight is None else np.asarray(arrays[weight], dtype=np.float64)
    if library == "np":
        try:
            X = np.column_stack([np.asarray(arrays[b], np.float64) for b in branches])
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "library='np' needs flat numeric branches (one value per event); "
                f"{branches} has a jagged or non-numeric one: read it with "
                "library='ak' and reduce it first."
            ) from exc
    else:
        X = arrays[list(branches)]
    return X, w


def _expressions(branches, weight, library):
    if isinstance(branches, str):
        raise ValueError(f"branches must be a list of names, got {branches!r}.")
    branches = list(branches)
    if not branches:
        raise ValueError("branches is empty: name the branches to read.")
    if library not in ("np", "ak", "pd"):
        raise ValueError(f"library must be 'np', 'ak' or 'pd', got {library!r}.")
    return branches, branches + ([weight] if weight and weight not in branches else [])


def read_root(files, branches, *, weight=None, tree=None, cut=None, library="np"):
    """Read branches of one or several ROOT files into ``X, sample_weight``.

    Parameters
    ----------
    files : str, path or list of them
        ROOT file(s); every file must hold the tree.
    branches : list of str
        Branches (or uproot expressions) that become the columns of ``X``, in
        this order.
    weight : str, default=None
        Branch of per-event weights, returned as ``sample_weight``.
    tree : str, default=None
        Tree name; ``None`` takes the only tree of the first file.
    cut : str, default=None
        uproot selection, e.g. ``"MET_px > 0"``.
    library : {"np", "ak", "pd"}, default="np"
        ``"np"``: ``X`` is a 2-d float64 ndarray; ``"ak"``: an awkward record
        array; ``"pd"``: a DataFrame. The last two keep the branch names, which
        the estimators store in ``feature_names_in_``.

    Returns
    -------
    X : ndarray of shape (n_events, len(branches)), awkward Array or DataFrame
    sample_weight : ndarray of shape (n_events,) or None

    Raises
    ------
    ValueError
        On an empty list, an ambiguous tree, or (for ``"np"``) jagged branches.

    Examples
    --------
    >>> from skhep_ml.io import read_root  # doctest: +SKIP
    >>> X, w = read_root(
    ...     ["a.root", "b.root"], ["MET_px", "MET_py"], weight="EventWeight"
    ... )  # doctest: +SKIP
    """
    branches, expressions = _expressions(branches, weight, library)
    arrays = _uproot().concatenate(
        _file_specs(files, tree),
        expressions,
        cut=cut,
        library="np" if library == "np" else "ak",
    )
    X, w = _split(arrays, branches, weight, library)
    if library == "pd":
        X = require("awkward").to_dataframe(X)
    return X, w


def iterate_root(
    files,
    branches,
    *,
    weight=None,
    tree=None,
    cut=None,
    step_size="100 MB",
    library="np",
) -> Iterator[tuple]:
    """Read branches chunk by chunk, for data larger than memory.

    Same arguments as :func:`read_root`, plus ``step_size``.

    Parameters
    ----------
    files, branches, weight, tree, cut, library
        As in :func:`read_root`.
    step_size : int or str, default="100 MB"
        Events per chunk, or the memory of a chunk (``"100 MB"``), as in
        :func:`uproot.iterate`.

    Yields
    ------
    X : ndarray of shape (n_chunk, len(branches)), awkward Array or DataFrame
    sample_weight : ndarray of shape (n_chunk,) or None

    Examples
    --------
    >>> for X, w in iterate_root(
    ...     files, ["x0", "x1"], weight="weight", step_size=100_000
    ... ):  # doctest: +SKIP
    ...     density.partial_fit(X, sample_weight=w)
    """
    branches, expressions = _expressions(branches, weight, library)
    for arrays in _uproot().iterate(
        _file_specs(files, tree),
        expressions,
        cut=cut,
        step_size=step_size,
        library="np" if library == "np" else "ak",
    ):
        X, w = _split(arrays, branches, weight, library)
        if library == "pd":
            X = require("awkward").to_dataframe(X)
        yield X, w


def read_metadata(path) -> dict:
    """The metadata written beside the events by the ``write_*`` functions.

    Parameters
    ----------
    path : str or path
        A ROOT file written by :func:`write_root`, :func:`write_samples` or
        :func:`write_scan`.

    Returns
    -------
    metadata : dict
        ``{key: value}``, the values decoded from their JSON text.
    """
    with _uproot().open(path) as f:
        if METADATA_DIR not in f:
            return {}
        directory = f[METADATA_DIR]
        return {
            key: json.loads(str(directory[key])) for key in directory.keys(cycle=False)
        }


# --------------------------------------------------------------------- writing
def _compression(compression):
    uproot = _uproot()
    if compression is None or not isinstance(compression, str):
        return compression
    name, _, level = compression.partition(":")
    try:
        return getattr(uproot, name.upper())(int(level or 1))
    except AttributeError:
        raise ValueError(
            f"compression must be one of 'zstd', 'lz4', 'zlib', 'lzma' (optionally "
            f"':level'), None or an uproot compression object, got {compression!r}."
        ) from None


def _write_tree(path, chunks: Iterable[Mapping], *, metadata, tree, compression):
    """Stream ``chunks`` (``{branch: 1-d array}``) into a new tree; entries written."""
    uproot = _uproot()
    n = 0
    with uproot.recreate(path, compression=_compression(compression)) as f:
        out = None
        for chunk in chunks:
            if out is None:
                out = f.mktree(tree, {k: np.asarray(v).dtype for k, v in chunk.items()})
            out.extend(dict(chunk))
            n += len(next(iter(chunk.values())))
        if out is None:
            raise ValueError("no events to write.")
        for key, value in (metadata or {}).items():
            f[f"{METADATA_DIR}/{key}"] = json.dumps(value, default=_to_json)
    return n


def _to_json(value):
    """JSON for what ``get_params`` may hold: arrays, numpy scalars, callables."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if callable(value):
        name = getattr(value, "__qualname__", repr(value))
        return f"{getattr(value, '__module__', '')}.{name}"
    return repr(value)


def _feature_names(names, n_features):
    if names is None:
        return [f"x{j}" for j in range(n_features)]
    names = [str(name) for name in names]
    if len(names) != n_features or len(set(names)) != n_features:
        raise ValueError(
            f"feature_names must be {n_features} distinct names, got {names}."
        )
    return names


def _columns(X, sample_weight, branches, feature_names):
    X = np.asarray(X)
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise ValueError(
            f"X must be a 2-d numeric array, got dtype {X.dtype}, shape {X.shape}."
        )
    names = _feature_names(feature_names, X.shape[1])
    columns = {name: X[:, j] for j, name in enumerate(names)}
    if sample_weight is not None:
        columns[WEIGHT_BRANCH] = np.asarray(sample_weight, dtype=np.float64)
    for key, value in (branches or {}).items():
        if key in columns:
            raise ValueError(f"branch {key!r} is given twice.")
        columns[key] = np.asarray(value)
    for key, value in columns.items():
        if value.shape != (len(X),):
            raise ValueError(
                f"branch {key!r} has shape {value.shape}, expected ({len(X)},)."
            )
    return columns


def _check_chunk_size(chunk_size):
    if not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}.")
    return int(chunk_size)


def _sliced(columns, chunk_size):
    n = len(next(iter(columns.values())))
    for start in range(0, max(n, 1), chunk_size):
        yield {k: v[start : start + chunk_size] for k, v in columns.items()}


def write_root(
    path,
    X,
    *,
    sample_weight=None,
    branches=None,
    feature_names=None,
    metadata=None,
    tree="events",
    chunk_size=DEFAULT_CHUNK_SIZE,
    compression="zstd",
) -> int:
    """Write events to a new ROOT file, one basket per chunk of ``chunk_size``.

    Parameters
    ----------
    path : str or path
        The file, created (or replaced).
    X : array-like of shape (n_events, n_features)
        One branch per column.
    sample_weight : array-like of shape (n_events,), default=None
        Written as the ``weight`` branch.
    branches : dict of str to array-like of shape (n_events,), default=None
        More branches (e.g. ``{"value": scan.values_}``).
    feature_names : list of str, default=None
        Branch names of the columns; ``x0, x1, ...`` by default.
    metadata : dict, default=None
        Written as ``TObjString`` JSON entries in the ``metadata`` directory (read
        back by :func:`read_metadata`).
    tree : str, default="events"
        Tree name.
    chunk_size : int, default=1_000_000
        Events per basket.
    compression : str, uproot compression or None, default="zstd"
        ``"zstd"``, ``"lz4"``, ``"zlib"`` or ``"lzma"`` (level 1, or
        ``"zlib:4"``), an uproot compression object, or ``None``.

    Returns
    -------
    n_events : int

    Raises
    ------
    ValueError
        On mis-shaped input, duplicate branch names or a bad ``chunk_size``.
    """
    chunk_size = _check_chunk_size(chunk_size)
    columns = _columns(X, sample_weight, branches, feature_names)
    return _write_tree(
        path,
        _sliced(columns, chunk_size),
        metadata=metadata,
        tree=tree,
        compression=compression,
    )


def estimator_metadata(estimator, **extra) -> dict:
    """What a file should record about the estimator that made its events.

    Parameters
    ----------
    estimator : estimator instance
        A fitted skhep_ml estimator.
    **extra
        More entries (e.g. ``seed=3``).

    Returns
    -------
    metadata : dict
        ``estimator`` (class name), ``params`` (``get_params(deep=False)``,
        JSON-safe: callables by their qualified name), ``skhep_ml_version``, the
        ``integral``/``integral_error`` of an integrator, then ``extra``.
    """
    from skhep_ml import __version__

    params = json.loads(json.dumps(estimator.get_params(deep=False), default=_to_json))
    meta = {
        "estimator": type(estimator).__name__,
        "params": params,
        "skhep_ml_version": __version__,
    }
    for key in ("integral", "integral_error"):
        value = getattr(estimator, key + "_", None)
        if value is not None:
            meta[key] = float(value)
    meta.update(extra)
    return meta


def write_samples(
    path,
    estimator,
    n_samples,
    *,
    random_state=None,
    chunk_size=DEFAULT_CHUNK_SIZE,
    feature_names=None,
    metadata=None,
    tree="events",
    compression="zstd",
    **sample_kwargs,
) -> int:
    """Draw ``estimator.sample`` chunk by chunk and stream the draws to a tree.

    For ``FlowDensity`` (points) and ``NeuralImportanceIntegrator`` (points and
    weights; ``unweighted=True`` passes through). Memory stays that of one
    chunk whatever ``n_samples``.

    Parameters
    ----------
    path : str or path
        The file, created (or replaced).
    estimator : FlowDensity or NeuralImportanceIntegrator
        Fitted.
    n_samples : int
        Draws in all (``estimator.sample`` is called with at most ``chunk_size``
        at a time; hit-or-miss unweighting keeps a fraction of them).
    random_state : int, RandomState instance or None, default=None
        One seed for the whole stream; an int is stored as metadata ``seed``.
    chunk_size : int, default=1_000_000
        Draws per call and per basket.
    feature_names : list of str, default=None
        Branch names; the estimator's ``feature_names_in_`` if it has them, else
        ``x0, x1, ...``.
    metadata : dict, default=None
        More metadata, added to :func:`estimator_metadata`.
    tree, compression
        As in :func:`write_root`.
    **sample_kwargs
        Passed to ``estimator.sample`` (e.g. ``unweighted=True``).

    Returns
    -------
    n_events : int
        Events written.

    Examples
    --------
    >>> write_samples(
    ...     "nis.root", integrator, 10_000_000, random_state=0, unweighted=True
    ... )  # doctest: +SKIP
    """
    chunk_size = _check_chunk_size(chunk_size)
    if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    seed = int(random_state) if isinstance(random_state, numbers.Integral) else None
    rng = check_random_state(random_state)
    names = feature_names
    if names is None:
        names = getattr(estimator, "feature_names_in_", None)

    def draws():
        for start in range(0, int(n_samples), chunk_size):
            out = estimator.sample(
                min(chunk_size, n_samples - start), random_state=rng, **sample_kwargs
            )
            X, w = out if isinstance(out, tuple) else (out, None)
            if len(X):
                yield _columns(X, w, None, names)

    meta = estimator_metadata(
        estimator,
        seed=seed,
        n_samples=int(n_samples),
        sample_kwargs=sample_kwargs,
        **(metadata or {}),
    )
    return _write_tree(path, draws(), metadata=meta, tree=tree, compression=compression)


def write_scan(
    path,
    scanner,
    *,
    metadata=None,
    tree="scan",
    chunk_size=DEFAULT_CHUNK_SIZE,
    compression="zstd",
) -> int:
    """Write an ``ActiveScanner``'s evaluated points with their values.

    Branches: one per parameter (its ``feature_names_in_`` or ``x0, ...``),
    ``value`` (``values_``) and ``in_target`` (``in_target_``).

    Parameters
    ----------
    path : str or path
        The file, created (or replaced).
    scanner : ActiveScanner
        Fitted.
    metadata : dict, default=None
        More metadata, added to :func:`estimator_metadata`.
    tree, chunk_size, compression
        As in :func:`write_root`.

    Returns
    -------
    n_points : int
    """
    return write_root(
        path,
        scanner.points_,
        branches={"value": scanner.values_, "in_target": scanner.in_target_},
        feature_names=getattr(scanner, "feature_names_in_", None),
        metadata=estimator_metadata(scanner, **(metadata or {})),
        tree=tree,
        chunk_size=chunk_size,
        compression=compression,
    )
