"""Gene tables, single-cell pseudobulks (CSV, h5ad, 10x MTX, 10x h5) and gene matching."""

from __future__ import annotations

import gzip
import logging
import math

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse as sp

from conftest import shared_path
from getx.errors import InputError
from getx.io.expression import match_genes, read_gene_table, read_pseudobulk

CLUSTER1 = "k562_chr22/scE2G_cluster1.rna_count_matrix.csv.gz"
CLUSTER2 = "k562_chr22/scE2G_cluster2.rna_count_matrix.csv.gz"


# ---------------------------------------------------------------------------------- real K562


@pytest.fixture(scope="module")
def cluster1():
    return read_pseudobulk(shared_path(CLUSTER1), name="K562_c1")


def test_k562_pseudobulk_raw_sums_match_provenance(cluster1):
    counts = cluster1.counts
    assert list(counts.columns) == ["K562_c1"]
    assert counts.shape == (62_757, 1)
    assert cluster1.n_cells["K562_c1"] == 500
    c = counts["K562_c1"]
    # PROVENANCE.md: pseudobulk UMIs of the scE2G K562 cluster 1.
    assert c["HBG1"] == 4_844
    assert c["GATA1"] == 1_152
    assert c["MYC"] == 1_286
    assert c["TAL1"] == 404
    assert c["SLC5A1"] == 0
    assert c.sum() == 8_860_991


def test_k562_log10cpm_and_erythroid_markers(cluster1):
    expr = cluster1.log10cpm["K562_c1"]
    assert expr["HBG1"] == pytest.approx(math.log10(4_844 / 8_860_991 * 1e6 + 1))
    assert expr["SLC5A1"] == 0.0
    rank = expr.rank(ascending=False, pct=True)
    # K562 is erythroleukaemic: fetal globin among the top 1 % of 62,757 genes, GATA1 top 5 %.
    assert rank["HBG1"] < 0.01
    assert rank["GATA1"] < 0.05
    assert expr["GATA1"] > expr.quantile(0.9)


def test_pseudobulk_raw_and_log10cpm(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text("gene\tc1\tc2\nA\t1\t3\nB\t0\t4\n")
    bulk = read_pseudobulk(path)
    raw = bulk.counts
    assert raw.columns.tolist() == ["m"] and raw["m"].tolist() == [4.0, 4.0]
    logged = bulk.log10cpm
    assert logged["m"].tolist() == pytest.approx([math.log10(0.5e6 + 1)] * 2)


@pytest.fixture(scope="module")
def two_clusters(tmp_path_factory):
    """First 3,000 genes + markers of both real clusters, combined into one genes x cells matrix."""
    parts = []
    for rel in (CLUSTER1, CLUSTER2):
        full = pd.read_csv(shared_path(rel), index_col=0, nrows=3_000, dtype={0: str})
        parts.append(full)
    combined = pd.concat(parts, axis=1)
    combined.index.name = None
    barcodes = pd.Series(
        ["cluster1"] * parts[0].shape[1] + ["cluster2"] * parts[1].shape[1], index=combined.columns
    )
    directory = tmp_path_factory.mktemp("two_clusters")
    csv = directory / "k562_two_clusters.csv.gz"
    combined.to_csv(csv)
    table = directory / "barcodes.tsv"
    barcodes.rename_axis("barcode").rename("cell_type").to_csv(table, sep="\t")
    return combined, barcodes, csv, table


def _expected(combined, barcodes):
    return combined.T.groupby(barcodes).sum().T.astype(float)


def test_two_clusters_from_barcode_table(two_clusters):
    combined, barcodes, csv, table = two_clusters
    bulk = read_pseudobulk(csv, table)
    expected = _expected(combined, barcodes)
    assert bulk.counts.columns.tolist() == ["cluster1", "cluster2"]
    np.testing.assert_array_equal(bulk.counts.to_numpy(), expected.to_numpy())
    assert bulk.counts.index.tolist() == expected.index.tolist()
    assert bulk.n_cells.tolist() == [500, 500]
    # Cells missing from the table are ignored.
    half = barcodes.iloc[::2].to_dict()
    sub = read_pseudobulk(csv, half)
    np.testing.assert_array_equal(
        sub.counts.to_numpy(), _expected(combined[list(half)], barcodes.iloc[::2]).to_numpy()
    )


def test_cluster2_totals_match_provenance():
    counts = read_pseudobulk(shared_path(CLUSTER2)).counts.iloc[:, 0]
    assert counts.sum() == 8_849_906
    assert counts["HBG1"] == 4_695
    assert counts["GATA1"] == 910


def _tenx_parts(combined):
    n_genes = combined.shape[0]
    ids = np.array([f"ENSG{i:011d}" for i in range(n_genes)])
    X = sp.csc_matrix(combined.to_numpy(np.int32))
    # One antibody-capture feature that must be left out.
    X = sp.vstack([X, sp.csc_matrix(np.full((1, X.shape[1]), 99, dtype=np.int32))]).tocsc()
    ids = np.append(ids, "CD3_TotalSeqB")
    names = np.append(combined.index.to_numpy(str), "CD3")
    types = np.array(["Gene Expression"] * n_genes + ["Antibody Capture"])
    return X, ids, names, types


def test_10x_mtx_directory(two_clusters, tmp_path):
    combined, barcodes, _, table = two_clusters
    X, ids, names, types = _tenx_parts(combined)
    d = tmp_path / "filtered_feature_bc_matrix"
    d.mkdir()
    with gzip.open(d / "matrix.mtx.gz", "wb") as handle:
        scipy.io.mmwrite(handle, X)
    pd.DataFrame({"id": ids, "name": names, "type": types}).to_csv(
        d / "features.tsv.gz", sep="\t", header=False, index=False
    )
    pd.Series(combined.columns).to_csv(d / "barcodes.tsv.gz", header=False, index=False)
    bulk = read_pseudobulk(d, table)
    expected = _expected(combined, barcodes).groupby(level=0, sort=False).sum()
    assert "CD3" not in bulk.counts.index
    pd.testing.assert_frame_equal(
        bulk.counts, expected.loc[bulk.counts.index], check_names=False, check_like=True
    )
    by_id = read_pseudobulk(d, table, gene_ids=True)
    assert by_id.counts.index[0] == "ENSG00000000000"
    assert by_id.counts.shape[0] == combined.shape[0]


def test_10x_h5(two_clusters, tmp_path):
    import h5py

    combined, barcodes, _, table = two_clusters
    X, ids, names, types = _tenx_parts(combined)
    path = tmp_path / "filtered_feature_bc_matrix.h5"
    with h5py.File(path, "w") as h5:
        m = h5.create_group("matrix")
        m["data"], m["indices"], m["indptr"] = X.data, X.indices, X.indptr
        m["shape"] = np.array(X.shape, dtype=np.int32)
        m["barcodes"] = np.array(combined.columns, dtype="S")
        f = m.create_group("features")
        f["id"], f["name"], f["feature_type"] = (
            np.array(v, dtype="S") for v in (ids, names, types)
        )
    bulk = read_pseudobulk(path, table)
    expected = _expected(combined, barcodes).groupby(level=0, sort=False).sum()
    assert bulk.counts.columns.tolist() == ["cluster1", "cluster2"]
    assert "CD3" not in bulk.counts.index
    np.testing.assert_array_equal(
        bulk.counts.to_numpy(), expected.loc[bulk.counts.index].to_numpy()
    )
    one = read_pseudobulk(path, name="all")
    assert one.counts["all"].sum() == combined.to_numpy().sum()


def test_h5ad_cells_by_genes(two_clusters, tmp_path):
    import anndata

    combined, barcodes, _, _ = two_clusters
    obs = pd.DataFrame({"cluster": barcodes.to_numpy()}, index=combined.columns)
    adata = anndata.AnnData(
        X=sp.csr_matrix(combined.T.to_numpy(np.float32)),
        obs=obs,
        var=pd.DataFrame(index=combined.index.astype(str)),
    )
    path = tmp_path / "rna.h5ad"
    adata.write_h5ad(path)
    bulk = read_pseudobulk(path, cell_type_column="cluster")
    np.testing.assert_array_equal(bulk.counts.to_numpy(), _expected(combined, barcodes).to_numpy())
    with pytest.raises(InputError, match="no obs column 'nope'"):
        read_pseudobulk(path, cell_type_column="nope")


# ---------------------------------------------------------------------------------- bad inputs


def test_header_without_corner_field(tmp_path):
    path = tmp_path / "r_style.tsv"
    path.write_text("c1\tc2\nA\t1\t3\nB\t0\t4\n")
    bulk = read_pseudobulk(path, {"c1": "x", "c2": "y"})
    assert bulk.counts.to_dict() == {"x": {"A": 1.0, "B": 0.0}, "y": {"A": 3.0, "B": 4.0}}


def test_non_numeric_count_names_line(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(",c1,c2\nA,1,2\nB,3,x7\nC,0,0\n")
    with pytest.raises(InputError) as err:
        read_pseudobulk(path)
    assert str(path) in str(err.value) and err.value.line == 3 and "'x7'" in str(err.value)


def test_negative_count_and_empty_matrix(tmp_path):
    path = tmp_path / "neg.csv"
    path.write_text(",c1,c2\nA,1,2\nB,3,-1\n")
    with pytest.raises(InputError, match=r"line 3: .*negative"):
        read_pseudobulk(path)
    empty = tmp_path / "empty.csv"
    empty.write_text(",c1,c2\n")
    with pytest.raises(InputError, match=r"empty\.csv.*no genes"):
        read_pseudobulk(empty)
    zeros = tmp_path / "zeros.csv"
    zeros.write_text(",c1\nA,0\n")
    with pytest.raises(InputError, match="'zeros' has no counts"):
        read_pseudobulk(zeros)


def test_no_barcode_matches(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(",c1,c2\nA,1,2\n")
    with pytest.raises(InputError, match="no cell of the matrix has a cell type"):
        read_pseudobulk(path, {"zz": "T"})


# ---------------------------------------------------------------------------------- gene tables


def test_read_real_bcell_table():
    expr = read_gene_table(shared_path("bcell_like/test.rna.csv"))
    assert len(expr) == 36_601
    assert expr.index.name == "gene"
    assert expr["MS4A1"] == pytest.approx(6.98, abs=0.005)
    assert expr["PTPRC"] == pytest.approx(8.52, abs=0.005)
    assert (expr > 0).sum() == 25_050
    log1p = read_gene_table(shared_path("bcell_like/test.rna.csv"), transform="log1p")
    assert log1p["PTPRC"] == pytest.approx(math.log1p(expr["PTPRC"]))
    cpm = read_gene_table(shared_path("bcell_like/test.rna.csv"), transform="log10cpm")
    assert cpm["PTPRC"] == pytest.approx(math.log10(expr["PTPRC"] / expr.sum() * 1e6 + 1))


def test_read_astrocyte_strips_versions():
    expr = read_gene_table(shared_path("bcell_like/astrocyte.rna.csv.gz"))
    assert len(expr) == 63_561
    assert not expr.index.str.contains(r"\.").any()
    assert expr.index.str.startswith("ENSG").all()
    assert expr["ENSG00000227232"] == pytest.approx(0.21413379429860316)
    assert (expr > 0).sum() == 37_435


def test_gene_table_duplicates_keep_max_and_columns(tmp_path, caplog):
    path = tmp_path / "g.tsv"
    path.write_text(
        "gene_id\tother\tTPM\nENSG00000000001.3\tx\t2\nENSG00000000001.4\ty\t5\nGATA1\tz\t1\n"
    )
    with caplog.at_level(logging.WARNING):
        expr = read_gene_table(path)
    assert expr.to_dict() == {"ENSG00000000001": 5.0, "GATA1": 1.0}
    assert "1 gene(s) listed more than once" in caplog.text
    with pytest.raises(InputError, match="no column 'symbol'"):
        read_gene_table(path, gene_column="symbol")
    with pytest.raises(InputError, match="no value column 'FPKM'"):
        read_gene_table(path, value_column="FPKM")
    bad = tmp_path / "bad.csv"
    bad.write_text("gene_name,TPM\nA,1\nB,high\n")
    with pytest.raises(InputError) as err:
        read_gene_table(bad)
    assert err.value.line == 3 and "'high'" in str(err.value)


# ---------------------------------------------------------------------------------- matching


def test_match_genes_small():
    annotation = pd.DataFrame(
        {
            "gene_id": [
                "ENSG00000000001.2",
                "ENSG00000000001.2",
                "ENSG00000000002",
                "ENSG00000000003",
            ],
            "gene_name": ["GATA1", "GATA1", "TAL1", "TAL1"],
            "chrom": ["chrX", "chrX", "chr1", "chr1"],
        }
    )
    report = match_genes(
        pd.Index(["ENSG00000000001.7", "TAL1", "GATA1", "NOPE", "ENSG00000000009.1"]), annotation
    )
    assert (report.n_genes, report.n_matched, report.n_unmatched) == (5, 3, 2)
    assert (report.n_by_id, report.n_by_name) == (1, 2)
    assert report.mapping.to_dict() == {
        "ENSG00000000001.7": "ENSG00000000001.2",
        "TAL1": "ENSG00000000002",
        "GATA1": "ENSG00000000001.2",
    }
    assert report.unmatched_examples == ["NOPE", "ENSG00000000009.1"]


def test_match_real_tables(caplog):
    annotation = pd.read_csv(
        shared_path("annotation/gencode.v40.hg38.tss.tsv.gz"),
        sep="\t",
        usecols=["gene_id", "gene_name"],
    )
    astro = read_gene_table(shared_path("bcell_like/astrocyte.rna.csv.gz"))
    with caplog.at_level(logging.INFO, logger="getx.io.expression"):
        report = match_genes(astro.index, annotation)
    assert f"{report.n_matched} of 63561 genes matched the annotation" in caplog.text
    assert report.n_by_id == report.n_matched  # ids, not names
    assert report.n_matched > 0.75 * report.n_genes
    # Every mapped id is an annotation id with the same (unversioned) value.
    assert (report.mapping.index == report.mapping.to_numpy()).all()
    names = read_gene_table(shared_path("bcell_like/test.rna.csv")).index
    by_name = match_genes(names, annotation)
    assert by_name.n_by_name == by_name.n_matched > 0.6 * len(names)
    assert by_name.mapping["GATA1"] == "ENSG00000102145"
