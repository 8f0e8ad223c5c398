"""The Markdown tables the benchmarks write into the docs: a header, its alignment, and rows of cells."""

from __future__ import annotations


def table(columns: dict[str, str], rows: list[list[str]]) -> str:
    """``columns``: each header and its alignment (``"left"`` or ``"right"``); ``rows``: the cells, as written."""
    rule = {"left": "---", "right": "---:"}
    lines = [list(columns), [rule[align] for align in columns.values()], *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
