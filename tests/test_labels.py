"""Promoter placement on regions: labels per strand, TSS flags and the gene index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from getx.errors import InputError
from getx.labels import gene_index, gene_values, region_labels


def _regions(rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def _tss(rows):
    return pd.DataFrame(rows, columns=["gene_id", "gene_name", "chrom", "tss", "strand"])


def test_bidirectional_promoter_keeps_both_genes_and_strands():
    regions = _regions([("chr1", 1_000, 1_400), ("chr1", 5_000, 5_400), ("chr2", 100, 500)])
    tss = _tss(
        [
            ("G1", "A", "chr1", 1_200, "+"),
            ("G2", "B", "chr1", 1_150, "-"),  # shares region 0, other strand
            ("G3", "C", "chr1", 1_300, "+"),  # shares region 0, same strand as A
            ("G1", "A", "chr1", 1_210, "+"),  # a second transcript of A: one row only
            ("G4", "D", "chr1", 4_750, "+"),  # 250 bp before region 1: its promoter reaches it
            ("G5", "E", "chr1", 4_690, "+"),  # 310 bp before: out of reach
        ]
    )
    genes = gene_index(regions, tss, flank=300)
    assert set(map(tuple, genes[["gene_id", "strand", "region"]].to_numpy())) == {
        ("G1", "+", 0),
        ("G2", "-", 0),
        ("G3", "+", 0),
        ("G4", "+", 1),
    }
    values, matched = gene_values(genes, pd.Series({"A": 2.0, "B": 1.0, "C": 4.0, "Z": 9.0}))
    assert matched == 3
    labels = region_labels(len(regions), genes, values)
    np.testing.assert_allclose(labels.expression[0], [3.0, 1.0])  # mean of A and C on +
    assert labels.tss.tolist() == [[1, 1], [0, 0], [0, 0]]  # D is not measured: no flag


def test_expression_keyed_by_versioned_ensembl_ids():
    regions = _regions([("chr1", 0, 1_000)])
    genes = gene_index(regions, _tss([("ENSG00000100170", "A", "chr1", 500, "-")]))
    values, matched = gene_values(
        genes, pd.Series({"ENSG00000100170.7": 1.5, "ENSG00000000002.1": 3.0})
    )
    assert matched == 1 and values.tolist() == [1.5]


def test_overlapping_regions_are_refused():
    regions = _regions([("chr1", 0, 500), ("chr1", 400, 900)])
    with pytest.raises(InputError, match="overlap"):
        gene_index(regions, _tss([("G", "A", "chr1", 10, "+")]))
