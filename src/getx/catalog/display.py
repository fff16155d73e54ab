"""Catalog rows for people: a rich table on the terminal, a flat CSV (lists joined by ``;``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# Columns shown on the terminal, in order (the CSV has every column).
SHOWN = (
    "cell_type",
    "rank",
    "score",
    "cluster_a",
    "tfs_a",
    "cluster_b",
    "tfs_b",
    "stability",
    "direction",
    "co_importance",
    "expression_a",
    "expression_b",
    "structure_pair",
    "pdockq",
)
LIST_COLUMNS = ("tfs_a", "tfs_b", "tf_expression_a", "tf_expression_b")


def _item(value) -> str:
    # duckdb hands list entries that are null over as numpy's masked constant
    if value is None or value is np.ma.masked:
        return "NA"
    if isinstance(value, float | np.floating):
        return "NA" if math.isnan(value) else f"{value:.3g}"
    return str(value)


def _joined(values, limit: int | None = None) -> str:
    if values is None:
        return ""
    items = [_item(v) for v in values]
    if limit is not None and len(items) > limit:
        return ";".join(items[:limit]) + f";+{len(items) - limit}"
    return ";".join(items)


def flat_table(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with every list column joined by ``;`` (``NA`` for a missing expression)."""
    flat = rows.copy()
    for column in LIST_COLUMNS:
        if column in flat.columns:
            flat[column] = [_joined(v) for v in flat[column]]
    return flat


def console_table(rows: pd.DataFrame, limit: int, title: str) -> None:
    """Print the first ``limit`` rows' main columns as a rich table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    columns = [c for c in SHOWN if c in rows.columns]
    if "pdockq" in columns and rows["pdockq"].isna().all():
        columns = [c for c in columns if c not in ("structure_pair", "pdockq")]
    for column in columns:
        numeric = rows[column].dtype.kind in "fiu"
        table.add_column(column, justify="right" if numeric else "left")
    for row in rows.head(limit)[columns].itertuples(index=False):
        cells = []
        for column, value in zip(columns, row, strict=True):
            if column in LIST_COLUMNS:
                cells.append(_joined(value, limit=4))
            elif isinstance(value, float):
                cells.append("" if math.isnan(value) else f"{value:.3f}")
            else:
                cells.append("" if value is None else str(value))
        table.add_row(*cells)
    if len(rows) > limit:
        table.caption = f"first {limit} rows shown; more match (raise --limit or write --csv)"
    if rows.empty:
        table.caption = "no pair matches"
    console = Console()
    if not console.is_terminal:  # piped or captured: wide enough not to cut the columns
        console = Console(width=220)
    console.print(table)
