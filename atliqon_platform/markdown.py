"""Small markdown tables: the examples of a failed check, a table's preview and history in the UI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def markdown_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    """A small markdown table, for examples and previews in the UI."""
    if not rows:
        return "_no rows_"
    columns = list(rows[0].keys())
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[name]) for name in columns) + " |" for row in rows]
    return "\n".join(lines)
