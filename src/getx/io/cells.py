"""Cells to cell types: the barcode table, and the grouping every pseudobulk sums over.

RNA counts and ATAC fragments are summed per cell type the same way (a cell's barcode or label
names its cell type; cells without one are left out; cell types are sorted by name), so both
readers take their grouping from here and a cell type means the same cells in both.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.files import read_string_table, sniff_separator

if TYPE_CHECKING:
    import scipy.sparse as sp

# First-line fields that mark a header rather than a cell (lower-cased).
_BARCODE_HEADERS = {
    "barcode",
    "barcodes",
    "cell",
    "cells",
    "cell_id",
    "cell_barcode",
    "obs_names",
    "index",
    "",
}
_CELL_TYPE_HEADERS = {
    "cell_type",
    "celltype",
    "cell type",
    "cluster",
    "label",
    "annotation",
    "group",
}

CellTypes = Mapping[str, str] | pd.Series | str | Path


def check_cell_type_name(name: object, source: str | Path | None = None) -> str:
    """``name`` if it can name a cell type, else an :class:`InputError` naming the value.

    A cell type names a group of the store and a column of every output: it must be
    non-blank, without leading or trailing whitespace, without ``/`` or ``\\``, control
    characters (a newline, a tab), and must not start with ``.`` or ``__`` (zarr reserves
    those). ``source`` (the file or option it came from) goes into the message.
    """
    text = str(name)
    problem = None
    if not text.strip():
        problem = "is blank"
    elif text != text.strip():
        problem = "has leading or trailing whitespace"
    elif any(c in text for c in "/\\"):
        problem = "contains '/' or '\\'"
    elif any(ord(c) < 32 or ord(c) == 127 for c in text):
        problem = "contains a control character (a newline or tab?)"
    elif text.startswith((".", "__")):
        problem = "starts with '.' or '__'"
    if problem is not None:
        given = f" ({source})" if source is not None else ""
        raise InputError(f"cell type name {text!r}{given} {problem}")
    return text


def cell_type_pairs(values: list[str] | None, option: str) -> dict[str, Path]:
    """``CELLTYPE=PATH`` strings (a repeated command-line option) -> {cell type: path}.

    Each name is checked (:func:`check_cell_type_name`); a cell type given twice, or a value
    without ``=`` or without a path, is an :class:`InputError` naming the option and value.
    """
    result: dict[str, Path] = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or not path.strip():
            raise InputError(f"{option}: expected CELLTYPE=PATH, got {value!r}")
        check_cell_type_name(name, option)
        if name in result:
            raise InputError(
                f"{option}: cell type {name!r} is given twice ({result[name]} and {path})"
            )
        result[name] = Path(path)
    return result


def read_cell_type_table(path: str | Path) -> pd.Series:
    """A 2-column barcode, cell_type table (TSV or CSV, gz ok) -> Series barcode -> cell type.

    The first line is a header when its first field looks like a barcode column name
    (barcode, cell, cell_id, ... or empty) or its second like a cell-type column name
    (cell_type, celltype, cluster, label, ...); otherwise it is data. Extra columns are
    ignored. A barcode listed twice with the same cell type is kept once; with different cell
    types it is an :class:`InputError` naming the line.
    """
    path = Path(path)
    table = read_string_table(path, sep=sniff_separator(path), header=None)
    if table.shape[1] < 2:
        raise InputError("expected 2 columns (barcode, cell_type)", path, 1)
    first = [str(v).strip().lower() if pd.notna(v) else "" for v in table.iloc[0, :2]]
    header = first[0] in _BARCODE_HEADERS or first[1] in _CELL_TYPE_HEADERS
    lines = np.arange(len(table)) + 1
    if header:
        table, lines = table.iloc[1:], lines[1:]
    blank = table.isna().all(axis=1).to_numpy()
    table, lines = table.loc[~blank], lines[~blank]
    missing = table.iloc[:, :2].isna().any(axis=1).to_numpy()
    if missing.any():
        raise InputError(
            "missing barcode or cell type", path, int(lines[np.flatnonzero(missing)[0]])
        )
    barcodes = table.iloc[:, 0].str.strip().to_numpy()
    cell_types = table.iloc[:, 1].str.strip().to_numpy()
    for name, first in zip(*np.unique(cell_types, return_index=True), strict=True):
        check_cell_type_name(name, f"{path}, line {int(lines[first])}")
    series = pd.Series(cell_types, index=pd.Index(barcodes, name="barcode"), name="cell_type")
    dup = series.index.duplicated(keep="first")
    if dup.any():
        first_type = series[~dup]
        conflict = dup & (first_type.reindex(series.index).to_numpy() != cell_types)
        if conflict.any():
            i = int(np.flatnonzero(conflict)[0])
            raise InputError(
                f"barcode {barcodes[i]!r} is listed with cell type {cell_types[i]!r} and, earlier, "
                f"{first_type[barcodes[i]]!r}",
                path,
                int(lines[i]),
            )
        series = series[~dup]
    if series.empty:
        raise InputError("no barcodes", path)
    return series


def cell_type_mapping(cell_types: CellTypes) -> pd.Series:
    """Barcode -> cell type (both str) from a mapping, or from a table path
    (:func:`read_cell_type_table`), so that callers accept either."""
    if isinstance(cell_types, (str, Path)):
        return read_cell_type_table(cell_types)
    series = pd.Series(cell_types, dtype=object)
    series.index = series.index.astype(str)
    return series.astype(str)


def cell_type_codes(labels: pd.Series) -> tuple[list[str], np.ndarray]:
    """Cell-type names (sorted) and each cell's position among them, -1 for a missing label.

    Sorting by name makes the order of cell types independent of the order of cells.
    """
    labels = pd.Series(labels, dtype=object)
    has = labels.notna().to_numpy()
    names = sorted(pd.unique(labels[has].astype(str)))
    codes = pd.Index(names).get_indexer(labels.astype(str).to_numpy())
    codes[~has] = -1
    return names, codes


def cell_type_indicator(codes: np.ndarray, n_cell_types: int) -> sp.csr_matrix:
    """Sparse cells x cell types 0/1 matrix: a product with it sums cells per cell type
    without densifying the counts."""
    import scipy.sparse as sp  # imported when counts are summed, not with getx.io

    cells = np.flatnonzero(codes >= 0)
    return sp.csr_matrix(
        (np.ones(len(cells)), (cells, codes[cells])), shape=(len(codes), n_cell_types)
    )
