"""Pages of the benchmarks: thread setup, RST tables, ``docs/benchmarks/<name>.rst``.

The loop, the records and the ratio statistics are in ``runner.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

DOCS_BENCH = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


def setup_threads(n_threads: int) -> None:
    """Fix torch's intra-op threads (and OpenMP's) for comparable timings."""
    os.environ.setdefault("OMP_NUM_THREADS", str(n_threads))
    torch.set_num_threads(n_threads)


def rst_table(rows: list[dict], columns: list[str], floatfmt: str = ".4g") -> str:
    """Rows of dicts as an RST-compatible grid ("simple") table string."""
    cells = [
        [
            format(r.get(c, ""), floatfmt)
            if isinstance(r.get(c), float)
            else str(r.get(c, ""))
            for c in columns
        ]
        for r in rows
    ]
    widths = [
        max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)
    ]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(c.ljust(w) for c, w in zip(columns, widths)), rule]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    lines.append(rule)
    return "\n".join(lines)


def write_page(
    name: str,
    title: str,
    intro: str,
    tables: list[tuple[str, str]],
    command: str,
    out_dir: Path = DOCS_BENCH,
):
    """Write ``<out_dir>/<name>.rst`` (``docs/benchmarks``) with the tables."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = [
        title,
        "=" * len(title),
        "",
        intro,
        "",
        "Produced by::",
        "",
        f"    {command}",
        "",
    ]
    for caption, table in tables:
        parts += [caption, "-" * len(caption), "", table, ""]
    (out_dir / f"{name}.rst").write_text("\n".join(parts))
