"""Accessibility counts per peak (BED/bedGraph, 10x fragments, AnnData) and GET's normalisation."""

from __future__ import annotations

import gzip
import logging
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from conftest import shared_path
from getx.errors import InputError
from getx.io.accessibility import (
    counts_from_bed,
    counts_from_fragments,
    counts_from_h5ad,
    normalise_accessibility,
    parse_peak_name,
)

DNASE_PEAKS = "k562_chr22/abc_dnase.candidateRegions.bed"
DNASE_COUNTS = "k562_chr22/abc_dnase.Enhancers.DHS.ENCFF860XAE.CountReads.bedgraph"
ATAC_PEAKS = "k562_chr22/abc_atac.candidateRegions.bed"


def read_bed3(path) -> pd.DataFrame:
    return pd.read_csv(
        path, sep="\t", header=None, usecols=[0, 1, 2], names=["chrom", "start", "end"]
    )


def brute_overlap_sum(peaks: pd.DataFrame, ivs: pd.DataFrame) -> np.ndarray:
    """Sum of interval values over every peak they overlap, by dense comparison (no sorting)."""
    out = np.zeros(len(peaks))
    for chrom in peaks["chrom"].unique():
        p = np.flatnonzero(peaks["chrom"].to_numpy() == chrom)
        iv = ivs[ivs["chrom"] == chrom]
        for block in np.array_split(p, max(1, len(p) // 500)):
            ps = peaks["start"].to_numpy()[block][:, None]
            pe = peaks["end"].to_numpy()[block][:, None]
            hit = (iv["start"].to_numpy()[None, :] < pe) & (iv["end"].to_numpy()[None, :] > ps)
            out[block] = hit @ iv["value"].to_numpy(float)
    return out


# ---------------------------------------------------------------------------------- BED / bedGraph


def test_real_bedgraph_maps_one_to_one_and_normalises():
    peaks = read_bed3(shared_path(DNASE_PEAKS))
    path = shared_path(DNASE_COUNTS)
    counts = counts_from_bed(path, peaks)
    assert counts.dtype == np.float64 and counts.shape == (17_732,)
    # PROVENANCE: 277,975 reads in total, one row per candidate region in the same order.
    assert counts.sum() == 277_975
    expected = pd.read_csv(path, sep="\t", header=None)[3].to_numpy(float)
    np.testing.assert_array_equal(counts, expected)

    norm = normalise_accessibility(counts)
    assert norm.dtype == np.float32 and norm.shape == counts.shape
    assert norm.max() == 1.0
    assert norm.min() >= 0.0
    assert norm[counts == 0].max(initial=0) == 0.0
    assert np.argmax(norm) == np.argmax(counts)
    # Order-preserving transform: ranks of counts and normalised values agree.
    assert np.all(np.diff(norm[np.argsort(counts, kind="stable")]) >= 0)


def test_normalisation_formula_small_example():
    counts = np.array([0.0, 1.0, 9.0])
    top = math.log10(9 / 10 * 1e5 + 1)
    expected = [0.0, math.log10(1 / 10 * 1e5 + 1) / top, 1.0]
    np.testing.assert_allclose(normalise_accessibility(counts), expected, rtol=1e-6)
    frame = pd.DataFrame({"a": counts, "b": counts * 7})
    out = normalise_accessibility(frame)
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-6)
    assert out[:, 1].max() == 1.0


def test_normalisation_zero_total_names_cell_type():
    frame = pd.DataFrame({"erythroid": [1.0, 2.0], "T_cell": [0.0, 0.0]})
    with pytest.raises(InputError, match="T_cell"):
        normalise_accessibility(frame)
    with pytest.raises(InputError, match="K562"):
        normalise_accessibility(np.zeros(4), name="K562")


def test_bedgraph_on_other_peaks_sums_overlaps_like_brute_force():
    # DNase counts reassigned to the (different) ATAC candidate regions.
    peaks = read_bed3(shared_path(ATAC_PEAKS))
    path = shared_path(DNASE_COUNTS)
    ivs = pd.read_csv(path, sep="\t", header=None, names=["chrom", "start", "end", "value"])
    counts = counts_from_bed(path, peaks)
    np.testing.assert_array_equal(counts, brute_overlap_sum(peaks, ivs))
    assert counts.sum() > 0


def test_bed_overlap_rules_and_other_chromosomes(tmp_path, caplog):
    peaks = pd.DataFrame(
        {
            "chrom": ["chr1", "chr1", "chr1", "chr2"],
            "start": [100, 300, 350, 10],
            "end": [200, 400, 500, 20],
        }
    )
    bed = tmp_path / "signal.bedgraph"
    bed.write_text(
        "track type=bedGraph\n"
        "chr1\t100\t200\t4\n"  # identical to peak 0 -> peak 0 only
        "chr1\t150\t320\t2\n"  # overlaps peaks 0 and 1 -> full value to each
        "chr1\t50\t100\t5\n"  # abuts peak 0 (half-open): nothing
        "chr1\t400\t401\t1.5\n"  # in peak 2 only (peak 1 ends at 400)
        "chrUn\t0\t10\t7\n"  # chromosome absent from peaks: ignored
        "\n"
        "chr2\t10\t20\t3\n"
    )
    with caplog.at_level(logging.INFO, logger="getx.io.accessibility"):
        counts = counts_from_bed(bed, peaks)
    np.testing.assert_array_equal(counts, [6.0, 2.0, 1.5, 3.0])
    assert "ignored 1 interval" in caplog.text


def test_bed_value_column_choice(tmp_path):
    peaks = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [0, 100], "end": [50, 150]})
    bed = tmp_path / "peaks.bed"
    # BED6: name (text), score (numeric), strand (text): default = last numeric = score.
    bed.write_text("chr1\t0\t50\tp1\t10\t+\nchr1\t100\t150\tp2\t20\t-\n")
    np.testing.assert_array_equal(counts_from_bed(bed, peaks), [10, 20])
    bed2 = tmp_path / "two.bed"
    bed2.write_text("chr1\t0\t50\t1\t10\nchr1\t100\t150\t2\t20\n")
    np.testing.assert_array_equal(counts_from_bed(bed2, peaks), [10, 20])
    np.testing.assert_array_equal(counts_from_bed(bed2, peaks, column=3), [1, 2])
    with pytest.raises(InputError, match="no numeric value column"):
        bed3 = tmp_path / "names.bed"
        bed3.write_text("chr1\t0\t50\tp1\n")
        counts_from_bed(bed3, peaks)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("chr1\t10\t20\tabc", "'abc'"),
        ("chr1\t30\t20\t1", "start 30"),
        ("chr1\t1.5\t20\t1", "not an integer"),
        ("chr1\t10\t20\tnan", "not a finite number"),
    ],
)
def test_bed_malformed_lines_name_file_and_line(tmp_path, bad_line, message):
    peaks = pd.DataFrame({"chrom": ["chr1"], "start": [0], "end": [100]})
    bed = tmp_path / "bad.bedgraph.gz"
    with gzip.open(bed, "wt") as handle:
        handle.write(f"# comment\nchr1\t0\t5\t1\n{bad_line}\nchr1\t50\t60\t1\n")
    with pytest.raises(InputError) as err:
        counts_from_bed(bed, peaks)
    assert str(bed) in str(err.value) and "line 3" in str(err.value)
    assert message in str(err.value)
    assert err.value.line == 3


# ---------------------------------------------------------------------------------- fragments


def _write_fragments(path, frags: pd.DataFrame) -> None:
    with gzip.open(path, "wt") as handle:
        handle.write("# id=test\n# pipeline=cellranger-arc-like\n")
        frags.to_csv(handle, sep="\t", header=False, index=False)


def _brute_insertions(peaks: pd.DataFrame, frags: pd.DataFrame, cell_of: dict, cell_types):
    out = pd.DataFrame(0, index=peaks.index, columns=cell_types)
    rows = list(peaks.itertuples())
    for f in frags.itertuples(index=False):
        ct = cell_of.get(f.barcode)
        if ct is None:
            continue
        for pos in (f.start, f.end - 1):
            for p in rows:
                if p.chrom == f.chrom and p.start <= pos < p.end:
                    out.loc[p.Index, ct] += 1
    return out


@pytest.fixture
def fragment_case(tmp_path):
    rng = np.random.default_rng(7)
    peaks = read_bed3(shared_path(DNASE_PEAKS)).iloc[100:160].reset_index(drop=True)
    # Plus a peak nested in another (overlapping peaks count an insertion in each).
    extra = pd.DataFrame(
        {"chrom": ["chr22"], "start": [peaks.start[5] + 10], "end": [peaks.start[5] + 60]}
    )
    peaks = pd.concat([peaks, extra], ignore_index=True).sort_values(
        ["chrom", "start"], ignore_index=True
    )
    lo, hi = int(peaks.start.min()) - 2_000, int(peaks.end.max()) + 2_000
    n = 3_000
    starts = rng.integers(lo, hi, n)
    # Fragments starting and ending on and beside peak boundaries (half-open edges).
    ps, pe = peaks.start.to_numpy()[:30], peaks.end.to_numpy()[:30]
    starts[:120] = np.concatenate([ps, ps - 1, pe - 1, pe])
    lengths = rng.integers(40, 600, n)
    ends = np.concatenate([pe, pe + 1, ps, ps + 1])
    starts[120:240] = ends - lengths[120:240]
    lengths[240:250] = 1  # start == end - 1: both insertion sites at the same base
    barcodes = [f"AAAC{i:04d}-1" for i in range(40)]
    frags = pd.DataFrame(
        {
            "chrom": np.where(rng.random(n) < 0.05, "chr1", "chr22"),
            "start": starts,
            "end": starts + lengths,
            "barcode": rng.choice([*barcodes, "TTTT0000-1"], n),  # last one: not in the table
            "count": rng.integers(1, 4, n),
        }
    ).sort_values(["chrom", "start"], ignore_index=True)
    cell_of = {bc: ("erythroid" if i % 3 else "myeloid") for i, bc in enumerate(barcodes)}
    path = tmp_path / "atac_fragments.tsv.gz"
    _write_fragments(path, frags)
    return peaks, frags, cell_of, path


def test_fragments_match_brute_force(fragment_case, tmp_path, caplog):
    peaks, frags, cell_of, path = fragment_case
    table = tmp_path / "cells.tsv"
    pd.Series(cell_of, name="cell_type").rename_axis("barcode").to_csv(table, sep="\t")
    with caplog.at_level(logging.INFO):
        counts = counts_from_fragments(path, table, peaks, chunksize=700)
    expected = _brute_insertions(peaks, frags, cell_of, ["erythroid", "myeloid"])
    assert list(counts.columns) == ["erythroid", "myeloid"]
    assert counts.shape == (len(peaks), 2)
    np.testing.assert_array_equal(counts.to_numpy(), expected.to_numpy())
    assert counts.to_numpy().sum() > 100
    n_unknown = int((frags.barcode == "TTTT0000-1").sum())
    assert f"{n_unknown} (" in caplog.text
    assert "cell type myeloid:" in caplog.text
    # A dict gives the same; a CSV table without a header too.
    again = counts_from_fragments(path, cell_of, peaks)
    pd.testing.assert_frame_equal(counts, again)
    csv = tmp_path / "cells.csv"
    csv.write_text("".join(f"{b},{c}\n" for b, c in cell_of.items()))
    pd.testing.assert_frame_equal(counts, counts_from_fragments(path, csv, peaks))


def test_fragments_bad_line_and_no_known_barcode(tmp_path):
    peaks = pd.DataFrame({"chrom": ["chr1"], "start": [0], "end": [100]})
    path = tmp_path / "fragments.tsv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("# header\nchr1\t5\t50\tA\t1\nchr1\tfive\t50\tA\t1\n")
    with pytest.raises(InputError, match=r"line 3: start 'five'"):
        counts_from_fragments(path, {"A": "x"}, peaks)
    with gzip.open(path, "wt") as handle:
        handle.write("chr1\t5\t50\tA\t1\n")
    with pytest.raises(InputError, match="no fragment barcode"):
        counts_from_fragments(path, {"B": "x"}, peaks)


# ---------------------------------------------------------------------------------- AnnData


def test_parse_peak_name_variants():
    assert parse_peak_name("chr1:100-200") == ("chr1", 100, 200)
    assert parse_peak_name("chr1-100-200") == ("chr1", 100, 200)
    assert parse_peak_name("chr1_100_200") == ("chr1", 100, 200)
    assert parse_peak_name("chr1_KI270706v1_random:5-10") == ("chr1_KI270706v1_random", 5, 10)
    assert parse_peak_name("GATA1") is None


@pytest.mark.parametrize("orientation", ["cells_x_peaks", "peaks_x_cells"])
def test_h5ad_pseudobulk_both_orientations(tmp_path, orientation, caplog):
    import anndata

    peaks = read_bed3(shared_path(DNASE_PEAKS)).iloc[:50].reset_index(drop=True)
    rng = np.random.default_rng(3)
    n_cells = 30
    styles = ["{c}:{s}-{e}", "{c}-{s}-{e}", "{c}_{s}_{e}"]
    # The file holds 40 of the 50 peaks (shuffled) plus one peak the table lacks.
    chosen = rng.permutation(50)[:40]
    names = [
        styles[i % 3].format(c="chr22", s=peaks.start[j], e=peaks.end[j])
        for i, j in enumerate(chosen)
    ]
    names.append("chr22:1-2")
    X = sp.random(n_cells, len(names), density=0.3, format="csr", random_state=4, dtype=np.float32)
    X.data = np.ceil(X.data * 5)
    labels = rng.choice(["B", "A"], n_cells)
    obs = pd.DataFrame({"cell_type": labels}, index=[f"c{i}" for i in range(n_cells)])
    var = pd.DataFrame(index=names)
    if orientation == "cells_x_peaks":
        adata = anndata.AnnData(X=X, obs=obs, var=var)
    else:
        adata = anndata.AnnData(X=X.T.tocsr(), obs=var, var=obs)
    path = tmp_path / "atac.h5ad"
    adata.write_h5ad(path)

    with caplog.at_level(logging.WARNING):
        counts = counts_from_h5ad(path, "cell_type", peaks)
    assert "1 of 41 peak names not in the peak table" in caplog.text
    dense = pd.DataFrame(X.toarray(), columns=names).groupby(labels).sum()  # cell types x names
    expected = np.zeros((50, 2))
    for k, j in enumerate(chosen):
        expected[j] = dense.iloc[:, k].to_numpy()
    assert list(counts.columns) == ["A", "B"]
    np.testing.assert_allclose(counts.to_numpy(), expected)
    missing = np.setdiff1d(np.arange(50), chosen)
    assert (counts.to_numpy()[missing] == 0).all()


def test_h5ad_missing_cell_type_column(tmp_path):
    import anndata

    adata = anndata.AnnData(
        X=sp.csr_matrix(np.ones((2, 1), dtype=np.float32)),
        obs=pd.DataFrame(index=["a", "b"]),
        var=pd.DataFrame(index=["chr1:0-10"]),
    )
    path = tmp_path / "x.h5ad"
    adata.write_h5ad(path)
    peaks = pd.DataFrame({"chrom": ["chr1"], "start": [0], "end": [10]})
    with pytest.raises(InputError, match=str(path)):
        counts_from_h5ad(path, "cell_type", peaks)
