"""Barcode -> cell type tables and the cell-type grouping shared by RNA and ATAC pseudobulks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from getx.errors import InputError
from getx.io.cells import (
    cell_type_codes,
    cell_type_indicator,
    cell_type_mapping,
    read_cell_type_table,
)


def test_conflicting_barcodes_name_line(tmp_path):
    table = tmp_path / "cells.csv"
    table.write_text("barcode,cell_type\nAAA,T\nCCC,B\nAAA,T\nAAA,B\n")
    with pytest.raises(InputError) as err:
        read_cell_type_table(table)
    assert err.value.line == 5 and str(table) in str(err.value) and "'AAA'" in str(err.value)
    table.write_text("AAA\tT\nCCC\tB\nAAA\tT\n")  # no header; exact duplicate is fine
    series = read_cell_type_table(table)
    assert series.to_dict() == {"AAA": "T", "CCC": "B"}


def test_codes_sort_cell_types_and_skip_missing_labels():
    labels = pd.Series(pd.Categorical(["T", None, "B", "T"]), index=["c1", "c2", "c3", "c4"])
    names, codes = cell_type_codes(labels)
    assert names == ["B", "T"] and codes.tolist() == [1, -1, 0, 1]
    counts = np.array([[1.0, 2.0], [100.0, 100.0], [3.0, 4.0], [5.0, 6.0]])  # cells x features
    summed = cell_type_indicator(codes, len(names)).T @ counts
    assert summed.tolist() == [[3.0, 4.0], [6.0, 8.0]]


def test_mapping_from_dict_or_table(tmp_path):
    table = tmp_path / "cells.tsv"
    table.write_text("barcode\tcell_type\nAAA\tT\n")
    assert cell_type_mapping({"AAA": "T"}).to_dict() == cell_type_mapping(table).to_dict()
    assert cell_type_mapping(pd.Series({1: 2})).to_dict() == {"1": "2"}
