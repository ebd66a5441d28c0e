"""Durable evaluation store of :class:`~skhep_ml.ActiveScanner` (SQLite).

Every proposed point is written before the objective is called
(``proposals``) and every evaluated point is one row, committed as soon as its
objective call returns (``evaluations``), so an exception, a
``KeyboardInterrupt`` or a killed process loses nothing that was already
computed, and a resumed fit first finishes the interrupted batch. A point is
identified by the bytes of its float64 coordinates; a point that is already in
the store (evaluated or failed) is never sent to the objective again, except
when a failed point is retried on request (:meth:`EvaluationStore.update`).
Each row counts the objective calls spent on its point (``calls``: a chunk that
raised and was re-run point by point costs its points two calls each).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time

import numpy as np

__all__ = ["EvaluationStore", "point_keys"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
    seq INTEGER PRIMARY KEY,
    key TEXT UNIQUE NOT NULL,
    x BLOB NOT NULL,
    value REAL,
    status TEXT NOT NULL,
    error TEXT,
    iteration INTEGER NOT NULL,
    origin TEXT NOT NULL,
    time REAL NOT NULL,
    calls INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS proposals (
    seq INTEGER PRIMARY KEY,
    key TEXT UNIQUE NOT NULL,
    x BLOB NOT NULL,
    iteration INTEGER NOT NULL,
    origin TEXT NOT NULL
);
"""


def point_keys(X) -> list[str]:
    """Identity of each row of ``X``: a hash of its float64 bytes."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    return [hashlib.sha1(row.tobytes()).hexdigest() for row in X]


class EvaluationStore:
    """Evaluated points, values and failures in an SQLite file.

    Parameters
    ----------
    path : str or os.PathLike or None
        SQLite file; ``None`` keeps the store in memory (nothing survives the
        process).
    n_dim : int
        Dimension of the points; a store of another dimension is refused.
    """

    def __init__(self, path, n_dim: int):
        self.path = ":memory:" if path is None else str(path)
        self.n_dim = int(n_dim)
        self.conn = sqlite3.connect(self.path, timeout=60.0)
        self.conn.executescript(_SCHEMA)
        columns = {r[1] for r in self.conn.execute("PRAGMA table_info(evaluations)")}
        if "calls" not in columns:  # a store written before calls were counted
            with self.conn:
                self.conn.execute(
                    "ALTER TABLE evaluations "
                    "ADD COLUMN calls INTEGER NOT NULL DEFAULT 1"
                )
        row = self.conn.execute("SELECT value FROM meta WHERE name='n_dim'").fetchone()
        if row is None:
            with self.conn:
                self.conn.execute(
                    "INSERT INTO meta VALUES ('n_dim', ?)", (json.dumps(self.n_dim),)
                )
        elif json.loads(row[0]) != self.n_dim:
            self.conn.close()
            raise ValueError(
                f"store {self.path!r} holds {json.loads(row[0])}-dimensional points, "
                f"the scan has {self.n_dim} dimensions."
            )

    def close(self) -> None:
        """Close the connection (the file keeps everything committed)."""
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __len__(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]

    def next_seq(self) -> int:
        """Sequence number of the next proposed point."""
        row = self.conn.execute(
            "SELECT MAX(s) FROM (SELECT MAX(seq) AS s FROM evaluations "
            "UNION ALL SELECT MAX(seq) AS s FROM proposals)"
        ).fetchone()
        return 0 if row[0] is None else row[0] + 1

    def propose(self, X, iteration: int, origin) -> np.ndarray:
        """Record points about to be evaluated; return their sequence numbers.

        Points already proposed or evaluated are left out (their rows keep
        their sequence numbers); the returned array has -1 for them.
        """
        X = np.asarray(X, dtype=np.float64)
        keys = point_keys(X)
        known = self.known(keys) | self._keys_in("proposals", keys)
        start = self.next_seq()
        seq = np.full(len(X), -1, dtype=np.int64)
        rows: list[tuple[int, str, bytes, int, str]] = []
        for i, (k, x, o) in enumerate(zip(keys, X, origin)):
            if k in known:
                continue
            known.add(k)
            seq[i] = start + len(rows)
            rows.append((int(seq[i]), k, x.tobytes(), int(iteration), str(o)))
        with self.conn:
            self.conn.executemany("INSERT INTO proposals VALUES (?,?,?,?,?)", rows)
        return seq

    def _keys_in(self, table, keys) -> set[str]:
        """The subset of ``keys`` in ``table`` (SQL parameters in chunks of 500)."""
        found: set[str] = set()
        keys = list(keys)
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                f"SELECT key FROM {table} WHERE key IN ({marks})", part
            )
            found.update(r[0] for r in rows)
        return found

    def pending(self):
        """Proposed points without an evaluation (an interrupted batch).

        Returns
        -------
        seq : ndarray of int, X : ndarray of shape (n, d), iteration : ndarray
        of int, origin : ndarray of str
        """
        rows = self.conn.execute(
            "SELECT p.seq, p.x, p.iteration, p.origin FROM proposals p "
            "LEFT JOIN evaluations e ON p.key = e.key WHERE e.key IS NULL "
            "ORDER BY p.seq"
        ).fetchall()
        X = np.empty((len(rows), self.n_dim))
        for i, r in enumerate(rows):
            X[i] = np.frombuffer(r[1], dtype=np.float64)
        return (
            np.array([r[0] for r in rows], dtype=np.int64),
            X,
            np.array([r[2] for r in rows], dtype=np.int64),
            np.array([r[3] for r in rows], dtype=object),
        )

    def known(self, keys) -> set[str]:
        """The subset of ``keys`` already in the store."""
        return self._keys_in("evaluations", keys)

    def add(self, seq, X, values, errors, iteration: int, origin, calls=None) -> None:
        """Write one returned chunk and commit it.

        Parameters
        ----------
        seq : sequence of int
            Proposal index of each point (fixes the order on reload).
        X : ndarray of shape (n, d)
            Points.
        values : ndarray of shape (n,)
            Values; NaN where the point failed.
        errors : sequence of str or None
            Failure message per point (``None`` for a good value).
        iteration : int
            Scan iteration (0 is the initial design).
        origin : sequence of str
            How each point was proposed (``initial``, ``given``, ``select``,
            ``random``, ``rectify``).
        calls : sequence of int, optional
            Objective calls spent on each point (1 when None).
        """
        X = np.asarray(X, dtype=np.float64)
        keys = point_keys(X)
        now = time.time()
        calls = np.ones(len(X), dtype=np.int64) if calls is None else calls
        rows = []
        for s, k, x, v, e, o, c in zip(seq, keys, X, values, errors, origin, calls):
            failed = e is not None or not np.isfinite(v)
            rows.append(
                (
                    int(s),
                    k,
                    x.tobytes(),
                    None if failed else float(v),
                    "failed" if failed else "ok",
                    (e or "value is not finite") if failed else None,
                    int(iteration),
                    str(o),
                    now,
                    int(c),
                )
            )
        with self.conn:
            self.conn.executemany(
                "INSERT OR IGNORE INTO evaluations VALUES (?,?,?,?,?,?,?,?,?,?)", rows
            )

    def update(self, X, values, errors, calls) -> None:
        """Write the re-evaluation of stored (failed) points and commit it.

        The rows keep their sequence number, iteration and origin; their value,
        status and error are replaced and ``calls`` is added to their count.

        Parameters
        ----------
        X : ndarray of shape (n, d)
            Points already in the store.
        values : ndarray of shape (n,)
            New values; NaN where the point failed again.
        errors : sequence of str or None
            Failure message per point (``None`` for a good value).
        calls : sequence of int
            Objective calls spent on each point by the re-evaluation.
        """
        rows = []
        for k, v, e, c in zip(point_keys(X), values, errors, calls):
            failed = e is not None or not np.isfinite(v)
            rows.append(
                (
                    None if failed else float(v),
                    "failed" if failed else "ok",
                    (e or "value is not finite") if failed else None,
                    int(c),
                    k,
                )
            )
        with self.conn:
            self.conn.executemany(
                "UPDATE evaluations SET value=?, status=?, error=?, "
                "calls=calls+? WHERE key=?",
                rows,
            )

    def load(self):
        """Everything stored, in proposal order.

        Returns
        -------
        data : dict
            ``X`` (n, d), ``value`` (n,) with NaN for failures, ``failed`` (n,)
            bool, ``iteration`` (n,) int, ``origin`` (n,) str, ``error`` list,
            ``calls`` (n,) int (objective calls spent on each point).
        """
        rows = self.conn.execute(
            "SELECT x, value, status, iteration, origin, error, calls "
            "FROM evaluations ORDER BY seq"
        ).fetchall()
        n = len(rows)
        X = np.empty((n, self.n_dim))
        for i, r in enumerate(rows):
            X[i] = np.frombuffer(r[0], dtype=np.float64)
        return {
            "X": X,
            "value": np.array([np.nan if r[1] is None else r[1] for r in rows], float),
            "failed": np.array([r[2] == "failed" for r in rows], dtype=bool),
            "iteration": np.array([r[3] for r in rows], dtype=np.int64),
            "origin": np.array([r[4] for r in rows], dtype=object),
            "error": [r[5] for r in rows],
            "calls": np.array([r[6] for r in rows], dtype=np.int64),
        }
