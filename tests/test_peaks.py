"""Peak reading on real ATAC/DNase peak files, plus one bad file per validation error."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from getx.errors import InputError
from getx.io.peaks import (
    canonical_chrom,
    chrom_sort_key,
    read_chrom_sizes,
    read_peaks,
    write_bed,
)

BCELL = "bcell_like/test.atac.bed.gz"
NARROW = "k562_chr22/abc_dnase.macs2_peaks.narrowPeak.gz"
CANDIDATES = "k562_chr22/abc_dnase.candidateRegions.bed"
SIZES = "annotation/GRCh38_EBV.no_alt.chrom.sizes.tsv"


def raw_rows(path) -> list[list[str]]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as handle:
        return [line.rstrip("\n").split("\t") for line in handle if line.strip()]


def assert_sorted_naturally(df: pd.DataFrame) -> None:
    chroms = list(dict.fromkeys(df["chrom"]))
    assert chroms == sorted(chroms, key=chrom_sort_key)
    for _, group in df.groupby("chrom", sort=False):
        keys = list(zip(group["start"], group["end"], strict=True))
        assert keys == sorted(keys)


def components(intervals: list[tuple[int, int]]) -> int:
    """Number of groups of overlapping intervals (bookended ones separate), by a plain sweep."""
    count, run_end = 0, None
    for start, end in sorted(intervals):
        if run_end is None or start >= run_end:
            count += 1
            run_end = end
        else:
            run_end = max(run_end, end)
    return count


# --- ordering and contig classes ---


def test_chrom_sort_key_natural_order():
    names = ["chrUn_KI270742v1", "chrM", "chr10", "chrY", "chr2", "chrX", "chr1", "chr22", "chrEBV"]
    assert sorted(names, key=chrom_sort_key) == [
        "chr1",
        "chr2",
        "chr10",
        "chr22",
        "chrX",
        "chrY",
        "chrM",
        "chrEBV",
        "chrUn_KI270742v1",
    ]
    assert sorted(["10", "9", "MT", "X"], key=chrom_sort_key) == ["9", "10", "X", "MT"]


def test_canonical_chrom():
    for name in ("chr1", "chr22", "chrX", "chrY", "chrM", "7", "MT"):
        assert canonical_chrom(name), name
    for name in ("chrUn_KI270742v1", "chr1_KI270706v1_random", "chr6_GL000250v2_alt", "chrEBV"):
        assert not canonical_chrom(name), name


# --- real data ---


def test_bcell_bed4_real():
    path = shared_path(BCELL)
    rows = raw_rows(path)
    assert len(rows) == 109_713
    n_chry = sum(r[0] == "chrY" for r in rows)
    assert n_chry > 0
    df = read_peaks(path, chrom_sizes=shared_path(SIZES), duplicates="keep")
    assert list(df.columns) == ["chrom", "start", "end", "name"]
    assert len(df) == 109_713 - n_chry  # chrY and chrM dropped by default
    assert "chrY" not in set(df["chrom"])
    assert df["start"].dtype == np.int64 and df["end"].dtype == np.int64
    assert_sorted_naturally(df)
    # Every row equals a raw row (no coordinate change without width=).
    raw = {(r[0], int(r[1]), int(r[2])) for r in rows}
    assert set(zip(df["chrom"], df["start"], df["end"], strict=True)) <= raw
    kept_all = read_peaks(path, drop_chroms=(), duplicates="keep")
    assert len(kept_all) == 109_713


def test_narrowpeak_real_summits_and_artefact():
    path = shared_path(NARROW)
    rows = raw_rows(path)
    assert len(rows) == 26_612
    df = read_peaks(path, chrom_sizes=shared_path(SIZES), duplicates="keep")
    assert len(df) == 26_612
    assert list(df.columns) == ["chrom", "start", "end", "name", "score", "summit"]
    # summit = start + column 10 offset, checked against the raw lines by name (names unique)
    raw_summit = {r[3]: int(r[1]) + int(r[9]) for r in rows}
    assert (df["summit"].to_numpy() == df["name"].map(raw_summit).to_numpy()).all()
    assert ((df["summit"] >= df["start"]) & (df["summit"] < df["end"])).all()
    # The first raw row is the chr22:0-10,709,810 MACS2 artefact; max_width drops it.
    assert rows[0][1:3] == ["0", "10709810"]
    n_wide = sum(int(r[2]) - int(r[1]) > 5_000 for r in rows)
    filtered = read_peaks(path, max_width=5_000, duplicates="keep")
    assert len(filtered) == 26_612 - n_wide
    assert (filtered["end"] - filtered["start"]).max() <= 5_000
    assert "macs2_peak_1" not in set(filtered["name"])


def test_narrowpeak_merge_matches_sweep_and_covers_all_peaks():
    path = shared_path(NARROW)
    kept = read_peaks(path, max_width=5_000, duplicates="keep")
    merged = read_peaks(path, max_width=5_000)  # merge is the default
    intervals = list(zip(kept["start"], kept["end"], strict=True))
    assert len(merged) == components(intervals) < len(kept)
    starts, ends = merged["start"].to_numpy(), merged["end"].to_numpy()
    assert (starts[1:] >= ends[:-1]).all()  # no overlaps left (bookended allowed)
    # Every original peak lies inside exactly one merged peak.
    idx = np.searchsorted(starts, kept["start"].to_numpy(), side="right") - 1
    assert (starts[idx] <= kept["start"].to_numpy()).all()
    assert (kept["end"].to_numpy() <= ends[idx]).all()
    # The merged summit belongs to a member with the highest score.
    best = kept.assign(group=idx).groupby("group")["score"].max()
    assert (merged["score"].to_numpy() == best.to_numpy()).all()
    assert ((merged["summit"] >= merged["start"]) & (merged["summit"] < merged["end"])).all()


def test_narrowpeak_fixed_width_centred_on_summit():
    path = shared_path(NARROW)
    df = read_peaks(path, chrom_sizes=shared_path(SIZES), width=400, max_width=5_000)
    start, end, summit = (df[c].to_numpy() for c in ("start", "end", "summit"))
    # Each region is summit +- 200 (chr22 peaks are far from the ends), except where it met a
    # resized neighbour: there both were cut at the midpoint between their summits.
    met_left = np.r_[False, start[1:] == end[:-1]]
    met_right = np.r_[end[:-1] == start[1:], False]
    assert ((start == summit - 200) | met_left).all() and ((end == summit + 200) | met_right).all()
    cut = np.flatnonzero(met_right & (end < summit + 200))
    assert len(cut) > 1000 and (end[cut] == (summit[cut] + summit[cut + 1] + 1) // 2).all()
    assert ((start <= summit) & (summit < end) & (end - start <= 400)).all()
    assert (start[1:] >= end[:-1]).all()  # one chromosome: no two regions overlap
    assert_sorted_naturally(df)


def test_candidate_regions_real_no_overlaps():
    path = shared_path(CANDIDATES)
    df = read_peaks(path, chrom_sizes=read_chrom_sizes(shared_path(SIZES)), duplicates="reject")
    assert len(df) == 17_732 == len(raw_rows(path))
    assert list(df.columns) == ["chrom", "start", "end"]
    # width without summit: centred on the midpoint
    resized = read_peaks(path, width=400)
    mids = ((df["start"] + df["end"]) // 2).sort_values().to_numpy()
    starts = resized["start"].to_numpy()
    met_left = np.r_[False, starts[1:] == resized["end"].to_numpy()[:-1]]
    assert (starts[~met_left] == mids[~met_left] - 200).all()
    assert (starts[met_left] == (mids[met_left] + np.r_[0, mids[:-1]][met_left] + 1) // 2).all()


# --- behaviour on small files ---


def write(tmp_path, text: str, name: str = "peaks.bed"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_header_comments_sorting_harmonisation(tmp_path):
    path = write(
        tmp_path,
        "track name=x\nbrowser position chr1:1-100\n# comment\nchrom\tstart\tend\n"
        "10\t500\t600\n2\t100\t200\n1\t300\t400\nX\t5\t10\n",
    )
    df = read_peaks(path, chrom_sizes={"chr1": 1000, "chr2": 1000, "chr10": 1000, "chrX": 1000})
    assert list(df["chrom"]) == ["chr1", "chr2", "chr10", "chrX"]
    assert list(df["start"]) == [300, 100, 500, 5]


def test_gzip_and_whitespace_separated(tmp_path):
    path = tmp_path / "p.bed.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("chr1 10 20\nchr1 30 40\n")
    df = read_peaks(path)
    assert list(df["start"]) == [10, 30]


def test_duplicates_modes(tmp_path, caplog):
    path = write(
        tmp_path,
        "chr1\t100\t200\ta\t5\nchr1\t100\t200\tb\t9\nchr1\t150\t250\tc\t1\n"
        "chr1\t250\t300\td\t2\nchr1\t400\t500\te\t3\n",
    )
    with caplog.at_level(logging.INFO, logger="getx.io.peaks"):
        merged = read_peaks(path)
    assert "merged 2" in caplog.text
    # identical + overlapping -> one; bookended 250-300 stays separate
    assert list(zip(merged["start"], merged["end"], strict=True)) == [
        (100, 250),
        (250, 300),
        (400, 500),
    ]
    assert merged["score"].tolist() == [9.0, 2.0, 3.0]
    assert len(read_peaks(path, duplicates="keep")) == 5
    with pytest.raises(InputError) as err:
        read_peaks(path, duplicates="reject")
    assert "peaks.bed, line 2" in str(err.value) and "chr1:100-200" in str(err.value)


def test_canonical_only_and_drop(tmp_path):
    path = write(
        tmp_path,
        "chr1\t1\t10\nchrUn_KI270742v1\t1\t10\nchr1_KI270706v1_random\t1\t10\n"
        "chrEBV\t1\t10\nMT\t1\t10\nchrY\t1\t10\nchr6_GL000250v2_alt\t1\t10\n",
    )
    assert list(read_peaks(path, canonical_only=True)["chrom"]) == ["chr1"]
    everything = read_peaks(path, drop_chroms=())
    assert len(everything) == 7
    assert "MT" not in set(read_peaks(path)["chrom"])  # chrM in drop_chroms matches MT


def test_width_clipped_at_chromosome_ends(tmp_path):
    path = write(tmp_path, "chr1\t50\t100\nchr1\t900\t990\n")
    df = read_peaks(path, chrom_sizes={"chr1": 1000}, width=400)
    assert list(zip(df["start"], df["end"], strict=True)) == [(0, 275), (745, 1000)]


def test_narrowpeak_without_summit_uses_midpoint(tmp_path):
    path = write(tmp_path, "chr1\t1000\t1100\tp\t10\t.\t1\t2\t3\t-1\n")
    df = read_peaks(path, width=10)
    assert df["summit"].tolist() == [-1]
    assert (df["start"].iloc[0], df["end"].iloc[0]) == (1045, 1055)


def test_write_bed_round_trip(tmp_path):
    df = read_peaks(shared_path(NARROW), max_width=5_000, duplicates="keep").head(500)
    for name in ("out.bed", "out.bed.gz"):
        out = tmp_path / name
        write_bed(df, out)
        back = read_peaks(out, duplicates="keep")
        assert back[["chrom", "start", "end", "name", "score"]].equals(
            df[["chrom", "start", "end", "name", "score"]]
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bed", "out.bed.gz"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("chr1\t1\t10\nchr1\t5\n", 2, "at least 3"),
        ("chr1\t1\t10\nchr1\tfive\t10\n", 2, "integer"),
        ("chr1\t1\t10\nchr1\t2.5\t10\n", 2, "integer"),
        ("chr1\t-5\t10\n", 1, "negative"),
        ("chr1\t1\t10\nchr1\t10\t10\n", 2, "not before end"),
        ("chr1\t1\t10\nchr1\t20\t10\n", 2, "not before end"),
        ("chr1\t1\t10\tp\tbig\n", 1, "score"),
        ("chr1\t1\t10\tp\t5\t.\t1\t2\t3\tx\n", 1, "summit"),
        ("chr1\t1\t10\tp\t5\t.\t1\t2\t3\t12\n", 1, "summit"),
        ("chr1\t1\t10\nchr3\t1\t10\n", 2, "chr3"),
        ("chr1\t1\t10\nchr2\t1\t2001\n", 2, "beyond the length"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, text, name="bad.bed")
    with pytest.raises(InputError) as err:
        read_peaks(path, chrom_sizes={"chr1": 1000, "chr2": 2000})
    msg = str(err.value)
    assert f"bad.bed, line {line}:" in msg
    assert words in msg
    assert err.value.line == line
