"""TSS annotation readers on real GENCODE/Ensembl-style files, cross-checked against each other."""

from __future__ import annotations

import gzip
import re
import shutil

import pandas as pd
import pytest

from conftest import shared_path
from getx.errors import InputError
from getx.io.annotation import (
    COLUMNS,
    is_get_tss_table,
    load_annotation,
    promoters,
    read_gene_bed,
    read_gtf,
    read_tss_table,
)

GTF = "annotation/gencode_human.gtf.gz"
CGB = "annotation/CollapsedGeneBounds.hg38.intGENCODEv43.bed.gz"
CGB22 = "k562_chr22/CollapsedGeneBounds.hg38.intGENCODEv43.chr22.bed"
CGB22_500 = "k562_chr22/CollapsedGeneBounds.hg38.intGENCODEv43.TSS500bp.chr22.bed"
V40_TSV = "annotation/gencode.v40.hg38.tss.tsv.gz"
V40_FEATHER = "annotation/gencode.v40.hg38.feather"


def raw_gtf_lines(path) -> list[list[str]]:
    with gzip.open(path, "rt") as handle:
        return [line.rstrip("\n").split("\t") for line in handle if not line.startswith("#")]


def test_promoters():
    start, end = promoters([100, 1_000], flank=300)
    assert start.tolist() == [0, 700] and end.tolist() == [401, 1_301]
    table = pd.DataFrame({"gene_id": ["a"], "chrom": ["chr1"], "tss": [5_000], "strand": ["-"]})
    out = promoters(table)
    assert list(out.columns[:4]) == ["gene_id", "chrom", "start", "end"]
    assert (out["end"] - out["start"]).tolist() == [601]
    assert out["start"].iloc[0] <= 5_000 < out["end"].iloc[0]


# --- GTF ---


def test_gtf_counts_and_layout():
    path = shared_path(GTF)
    rows = raw_gtf_lines(path)
    transcripts = [r for r in rows if r[2] == "transcript"]
    assert len(transcripts) == 470 and sum(r[2] == "gene" for r in rows) == 119
    every = read_gtf(path, deduplicate=False)
    assert list(every.columns) == COLUMNS
    assert len(every) == 470 and every["transcript_id"].nunique() == 470
    assert every["tss"].dtype == "int64"
    assert every["gene_id"].nunique() == 119
    assert not every["gene_id"].str.contains(r"\.").any()
    # dedup: one row per distinct (gene, chrom, tss, strand), counted from the raw lines
    distinct = {
        (
            re.search(r'gene_id "([^".]+)', r[8]).group(1),
            r[6],
            int(r[3]) if r[6] == "+" else int(r[4]),
        )
        for r in transcripts
    }
    dedup = read_gtf(path)
    assert len(dedup) == len(distinct) < 470
    genes = read_gtf(path, feature="gene")
    assert len(genes) == 119 and (genes["transcript_id"] == "").all()
    assert dedup["tss"].is_monotonic_increasing  # single chromosome, sorted


def test_gtf_known_gene_tss_from_raw_lines():
    path = shared_path(GTF)
    rows = raw_gtf_lines(path)
    table = read_gtf(path, deduplicate=False)
    for gene in ("WASH7P", "DDX11L1", "SAMD11"):
        raw = [r for r in rows if r[2] == "transcript" and f'gene_name "{gene}";' in r[8]]
        assert raw, gene
        strand = raw[0][6]
        # first transcribed base, 0-based: start-1 on +, end-1 on -
        expected = {int(r[3]) - 1 if strand == "+" else int(r[4]) - 1 for r in raw}
        got = table[table["gene_name"] == gene]
        assert set(got["tss"]) == expected
        assert set(got["strand"]) == {strand}
    assert set(table.loc[table["gene_name"] == "WASH7P", "strand"]) == {"-"}


def test_gtf_gene_types_filter():
    path = shared_path(GTF)
    n_pc = sum(r[2] == "gene" and 'gene_type "protein_coding"' in r[8] for r in raw_gtf_lines(path))
    pc = read_gtf(path, gene_types={"protein_coding"})
    assert (pc["gene_type"] == "protein_coding").all()
    assert pc["gene_id"].nunique() == n_pc


def test_ensembl_style_gtf_fallback_and_harmonisation(tmp_path):
    """Ensembl GTF: no 'chr', gene_biotype; a gene without transcript lines uses its gene line."""
    rows = raw_gtf_lines(shared_path(GTF))
    lost = "ENSG00000243485"  # MIR1302-2HG: drop its transcript lines
    lines = []
    for r in rows:
        if r[2] == "transcript" and lost in r[8]:
            continue
        r = [r[0].removeprefix("chr"), *r[1:8], r[8].replace("gene_type", "gene_biotype")]
        lines.append("\t".join(r))
    path = tmp_path / "ensembl.gtf"
    path.write_text("#!genome-build GRCh38\n" + "\n".join(lines) + "\n")
    table = read_gtf(path, chrom_sizes={"chr1": 248_956_422})
    assert set(table["chrom"]) == {"chr1"}
    assert table["gene_id"].nunique() == 119
    assert (table["gene_type"] != "").all()
    fallback = table[table["gene_id"] == lost]
    gene_line = next(r for r in rows if r[2] == "gene" and lost in r[8])
    assert len(fallback) == 1 and fallback["transcript_id"].iloc[0] == ""
    assert fallback["tss"].iloc[0] == int(gene_line[3]) - 1  # + strand gene
    with pytest.raises(InputError, match=r"ensembl\.gtf.*1 chromosome"):
        read_gtf(path, chrom_sizes={"chr2": 1_000})
    assert read_gtf(path, chrom_sizes={"chr2": 1_000}, unknown_chroms="drop").empty


# --- gene-bounds BED ---


def test_gene_bed_real_genome_wide_and_chr22_subset():
    genome_wide = read_gene_bed(shared_path(CGB))
    assert len(genome_wide) == 20_531
    assert genome_wide["gene_id"].str.startswith("ENSG").all()
    chr22 = read_gene_bed(shared_path(CGB22))
    assert len(chr22) == 458
    assert chr22.equals(genome_wide[genome_wide["chrom"] == "chr22"].reset_index(drop=True))
    raw = pd.read_csv(shared_path(CGB22), sep="\t")
    merged = chr22.merge(raw, left_on="gene_id", right_on="Ensembl_ID")
    plus = merged["strand_x"] == "+"
    assert (merged.loc[plus, "tss"] == merged.loc[plus, "start"]).all()
    assert (merged.loc[~plus, "tss"] == merged.loc[~plus, "end"] - 1).all()
    # The published TSS +-250 windows are centred on start (+) / end (-), i.e. on tss / tss+1.
    windows = pd.read_csv(shared_path(CGB22_500), sep="\t")
    both = chr22.merge(windows, left_on="gene_id", right_on="Ensembl_ID")
    centre = (both["start"] + both["end"]) // 2
    assert (centre == both["tss"] + (both["strand_x"] == "-")).all()


# --- TSS tables ---


def test_get_v40_table_tsv_and_feather_agree():
    tsv = read_tss_table(shared_path(V40_TSV))
    assert len(tsv) == 106_920
    assert tsv["gene_id"].nunique() == 61_498
    feather = read_tss_table(shared_path(V40_FEATHER))
    assert feather.equals(tsv)
    raw = pd.read_csv(shared_path(V40_TSV), sep="\t")
    assert is_get_tss_table(raw.columns, raw)
    # '+' keeps Start; '-' is Start - 1 (GET's table stores 0-based TSS + 1 there)
    by_row = raw.assign(tss=raw["Start"] - (raw["Strand"] == "-"))
    key = ["gene_id", "Chromosome", "tss", "Strand"]
    ours = tsv.rename(columns={"chrom": "Chromosome", "strand": "Strand"})
    assert len(by_row[key].merge(ours[key], on=key)) == 106_920
    unshifted = read_tss_table(shared_path(V40_TSV), minus_strand_shift=0)
    assert unshifted["tss"].sum() - tsv["tss"].sum() == int((raw["Strand"] == "-").sum())


def test_v40_table_shift_matches_gtf_and_gene_bounds():
    """Independent checks of the '-' strand convention against two other sources."""
    v40 = read_tss_table(shared_path(V40_TSV))
    v40_raw = read_tss_table(shared_path(V40_TSV), minus_strand_shift=0)
    gtf = read_gtf(shared_path(GTF))  # GENCODE v29 transcripts, TSS from the GTF directly
    key = ["gene_id", "chrom", "tss", "strand"]
    for strand in "+-":
        sub = gtf[gtf["strand"] == strand]
        hits = len(sub.merge(v40[key], on=key))
        hits_raw = len(sub.merge(v40_raw[key], on=key))
        assert hits / len(sub) > 0.3, strand  # measured: + 66/159, - 88/260
        if strand == "-":
            assert hits_raw / len(sub) < 0.05  # measured 3/260 without the shift
    # CollapsedGeneBounds (RefSeq-collapsed, GENCODE v43) vs the v40 table, protein-coding
    # genes: nearest v40 TSS of the same gene. Measured: 28.6% exact, 73% within 50 bp,
    # 96.7% within 500 bp; exact matches are as frequent on '-' as on '+' only with the shift.
    cgb = read_gene_bed(shared_path(CGB))
    pc = cgb[cgb["gene_type"] == "protein_coding"]

    def nearest(table: pd.DataFrame) -> pd.DataFrame:
        m = pc.merge(table[key], on=["gene_id", "chrom", "strand"], suffixes=("", "_v40"))
        m["d"] = (m["tss"] - m["tss_v40"]).abs()
        return m.groupby(["gene_id", "strand"])["d"].min().reset_index()

    best = nearest(v40)
    assert len(best) > 0.95 * len(pc)
    assert (best["d"] <= 50).mean() > 0.65
    assert (best["d"] <= 500).mean() > 0.93
    exact = best.groupby("strand")["d"].apply(lambda d: (d == 0).mean())
    assert exact["-"] > 0.2 and abs(exact["-"] - exact["+"]) < 0.05
    exact_raw = nearest(v40_raw).groupby("strand")["d"].apply(lambda d: (d == 0).mean())
    assert exact_raw["-"] < 0.05


def test_plain_tss_tables(tmp_path):
    path = tmp_path / "tss.csv"
    path.write_text("gene_name,chrom,tss,strand,gene_id\nA,chr2,100,+,G1.3\nB,chr1,50,-,G2\n")
    table = read_tss_table(path)
    assert list(table.columns) == COLUMNS
    assert table["chrom"].tolist() == ["chr1", "chr2"]  # sorted
    assert table["tss"].tolist() == [50, 100]  # no shift: not GET's layout
    assert table["gene_id"].tolist() == ["G2", "G1"]
    shifted = read_tss_table(path, minus_strand_shift=1)
    assert shifted["tss"].tolist() == [49, 100]
    tsv = tmp_path / "tss.tsv"
    tsv.write_text("Chromosome\tposition\tStrand\tgene_name\n1\t10\t+\tX\n")
    table = read_tss_table(tsv, chrom_sizes={"chr1": 1_000})
    assert table["chrom"].tolist() == ["chr1"] and table["gene_id"].tolist() == ["X"]


# --- dispatch ---


def test_load_annotation_dispatch(tmp_path):
    assert len(load_annotation(shared_path(GTF), deduplicate=False)) == 470
    assert len(load_annotation(shared_path(CGB22))) == 458
    assert len(load_annotation(shared_path(V40_FEATHER))) == 106_920
    no_suffix = tmp_path / "annotation"
    shutil.copy(shared_path(GTF), no_suffix)
    assert load_annotation(no_suffix).equals(read_gtf(shared_path(GTF)))
    bed = tmp_path / "genes"
    shutil.copy(shared_path(CGB22), bed)
    assert load_annotation(bed).equals(read_gene_bed(shared_path(CGB22)))


# --- bad input ---

GOOD_GTF = (
    'chr1\tHAVANA\tgene\t11869\t14409\t.\t+\t.\tgene_id "ENSG1.5"; gene_name "A";\n'
    'chr1\tHAVANA\ttranscript\t11869\t14409\t.\t+\t.\tgene_id "ENSG1.5"; transcript_id "T1";\n'
)


@pytest.mark.parametrize(
    ("bad_line", "words"),
    [
        ('chr1\tHAVANA\texon\t11869\t12227\t.\t+\tgene_id "ENSG1";', "9 tab-separated"),
        ('chr1\tHAVANA\texon\tabc\t12227\t.\t+\t.\tgene_id "ENSG1";', "not integers"),
        ('chr1\tHAVANA\texon\t12227\t11869\t.\t+\t.\tgene_id "ENSG1";', "bad coordinates"),
        ('chr1\tHAVANA\ttranscript\t0\t11869\t.\t+\t.\tgene_id "ENSG1";', "bad coordinates"),
        ('chr1\tHAVANA\texon\t11869\t12227\t.\tx\t.\tgene_id "ENSG1";', "strand"),
        ('chr1\tHAVANA\ttranscript\t11869\t12227\t.\t.\t.\tgene_id "ENSG1";', "no strand"),
        ("chr1\tHAVANA\ttranscript\t11869\t12227\t.\t+\t.\tgene_name x;", "gene_id"),
    ],
)
def test_bad_gtf_names_file_and_line(tmp_path, bad_line, words):
    path = tmp_path / "bad.gtf"
    path.write_text("##header\n" + GOOD_GTF + bad_line + "\n")
    with pytest.raises(InputError) as err:
        read_gtf(path)
    assert "bad.gtf, line 4:" in str(err.value) and words in str(err.value)


@pytest.mark.parametrize(
    ("bad_line", "words"),
    [
        ("chr1\t10\t20\tA\t0", "at least 6"),
        ("chr1\tten\t20\tA\t0\t+", "not integers"),
        ("chr1\t20\t20\tA\t0\t+", "bad interval"),
        ("chr1\t10\t20\tA\t0\t.", "strand"),
    ],
)
def test_bad_gene_bed_names_file_and_line(tmp_path, bad_line, words):
    path = tmp_path / "bad.bed"
    path.write_text(
        "#chr\tstart\tend\tname\tscore\tstrand\nchr1\t1\t5\tB\t0\t-\n" + bad_line + "\n"
    )
    with pytest.raises(InputError) as err:
        read_gene_bed(path)
    assert "bad.bed, line 3:" in str(err.value) and words in str(err.value)


@pytest.mark.parametrize(
    ("bad_row", "words"),
    [
        ("chr1\t1.5\t+\tA", "not an integer"),
        ("chr1\tx\t+\tA", "not an integer"),
        ("chr1\t5\t*\tA", "strand"),
    ],
)
def test_bad_tss_table_names_file_and_line(tmp_path, bad_row, words):
    path = tmp_path / "bad.tsv"
    path.write_text("chrom\ttss\tstrand\tgene_name\nchr1\t1\t+\tB\n" + bad_row + "\n")
    with pytest.raises(InputError) as err:
        read_tss_table(path)
    assert "bad.tsv, line 3:" in str(err.value) and words in str(err.value)


def test_tss_table_missing_columns(tmp_path):
    path = tmp_path / "cols.tsv"
    path.write_text("gene\tposition\nA\t5\n")
    with pytest.raises(InputError, match=r"cols\.tsv.*chrom"):
        read_tss_table(path)


def test_feather_bad_row_names_row(tmp_path):
    path = tmp_path / "t.feather"
    pd.DataFrame(
        {"chrom": ["chr1", "chr1"], "tss": [1, 2], "strand": ["+", "?"], "gene_name": ["A", "B"]}
    ).to_feather(path)
    with pytest.raises(InputError, match=r"t\.feather: row 1: strand"):
        read_tss_table(path)
