"""Genome access on real hg38 sequence: bgzip FASTA, plain FASTA with offsets, self-written 2bit."""

from __future__ import annotations

import gc
import gzip
import struct
from pathlib import Path

import pytest

from conftest import shared_path
from getx.errors import InputError
from getx.io.genome import (
    chrom_alias,
    harmonise_chroms,
    open_genome,
    read_chrom_sizes,
)

CHR2 = "genome/chr2_1-2333275.fa.gz"
CHR22 = "genome/hg38_chr22_32000000_32300000.fa"
CHR22_OFFSET = 32_000_000


def raw_fasta(path: Path) -> tuple[str, str]:
    """(header name, sequence with original case) of a single-record FASTA, read without pyfaidx."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        lines = handle.read().split("\n")
    return lines[0][1:].split()[0], "".join(lines[1:])


# --- a minimal UCSC 2bit writer, written from the format spec, independent of the reader ---
_CODE = {"T": 0, "C": 1, "A": 2, "G": 3}


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    runs, start = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def write_2bit(path: Path, records: dict[str, str]) -> None:
    """Write ``records`` as 2bit: N runs as N blocks, lowercase runs as mask blocks."""
    names = list(records)
    header = struct.pack("<IIII", 0x1A412743, 0, len(names), 0)
    index_size = sum(1 + len(n.encode()) + 4 for n in names)
    bodies = []
    for name in names:
        seq = records[name]
        nblocks = _runs([c in "Nn" for c in seq])
        mblocks = _runs([c.islower() for c in seq])
        body = struct.pack("<II", len(seq), len(nblocks))
        body += b"".join(struct.pack("<I", s) for s, _ in nblocks)
        body += b"".join(struct.pack("<I", n) for _, n in nblocks)
        body += struct.pack("<I", len(mblocks))
        body += b"".join(struct.pack("<I", s) for s, _ in mblocks)
        body += b"".join(struct.pack("<I", n) for _, n in mblocks)
        body += struct.pack("<I", 0)
        packed = bytearray()
        upper = seq.upper()
        for i in range(0, len(upper), 4):
            chunk = upper[i : i + 4].ljust(4, "T")
            byte = 0
            for base in chunk:
                byte = (byte << 2) | _CODE.get(base, 0)
            packed.append(byte)
        bodies.append(body + bytes(packed))
    offset = len(header) + index_size
    index = b""
    for name, body in zip(names, bodies, strict=True):
        index += struct.pack("<B", len(name.encode())) + name.encode() + struct.pack("<I", offset)
        offset += len(body)
    path.write_bytes(header + index + b"".join(bodies))


# --- chromosome names ---


def test_chrom_alias_and_harmonise():
    assert chrom_alias("chr1") == chrom_alias("1")
    assert chrom_alias("chrM") == chrom_alias("MT") == chrom_alias("chrMT")
    assert chrom_alias("chrX") == chrom_alias("X")
    assert chrom_alias("chr1") != chrom_alias("chr11")
    mapping = harmonise_chroms(["1", "MT", "X", "chr2"], ["chr1", "chr2", "chrX", "chrM"])
    assert mapping == {"1": "chr1", "MT": "chrM", "X": "chrX", "chr2": "chr2"}
    mapping = harmonise_chroms(["chr1", "chrM"], ["1", "MT"])
    assert mapping == {"chr1": "1", "chrM": "MT"}


def test_harmonise_unknown_reports_file_count_and_examples():
    with pytest.raises(InputError) as err:
        harmonise_chroms(["chr1", "scaffold_9", "chrUn_x"], ["chr1", "chr2"], source="peaks.bed")
    msg = str(err.value)
    assert "peaks.bed" in msg and "2 chromosome" in msg
    assert "scaffold_9" in msg and "chrUn_x" in msg
    assert harmonise_chroms(["chr1", "zz"], ["chr1"], strict=False) == {"chr1": "chr1"}


def test_read_chrom_sizes_real_and_bad(tmp_path):
    sizes = read_chrom_sizes(shared_path("annotation/GRCh38_EBV.no_alt.chrom.sizes.tsv"))
    assert sizes["chr22"] == 50_818_468
    assert sizes["chr1"] == 248_956_422
    assert len(sizes) == 25
    assert list(sizes)[:2] == ["chr1", "chr2"]
    bad = tmp_path / "bad.sizes"
    bad.write_text("chr1\t100\nchr2\tlots\n")
    with pytest.raises(InputError, match=r"bad\.sizes, line 2: .*not an integer"):
        read_chrom_sizes(bad)


# --- FASTA ---


def test_bgzip_fasta_matches_raw_file():
    path = shared_path(CHR2)
    name, raw = raw_fasta(path)
    assert name == "chr2"
    with open_genome(path) as genome:
        assert genome.chrom_sizes == {"chr2": len(raw)} == {"chr2": 2_333_275}
        # hg38 chr2 starts with 10,000 N (telomere gap); first base after the gap at index 10,000.
        assert genome.fetch("chr2", 0, 10_000) == "N" * 10_000
        assert genome.fetch("chr2", 10_000, 10_001) != "N"
        for start in (10_000, 123_457, 1_000_003, 2_333_000):
            assert genome.fetch("chr2", start, start + 275) == raw[start : start + 275].upper()
        assert genome.fetch("2", 20_000, 20_010) == raw[20_000:20_010].upper()


def test_fetch_pads_with_n_outside_chromosome():
    path = shared_path(CHR2)
    _, raw = raw_fasta(path)
    with open_genome(path) as genome:
        end = genome.chrom_sizes["chr2"]
        assert genome.fetch("chr2", end - 5, end + 5) == raw[-5:].upper() + "N" * 5
        assert genome.fetch("chr2", -7, 3) == "N" * 10
        assert genome.fetch("chr2", end + 10, end + 20) == "N" * 10
        assert genome.fetch("chr2", 5, 5) == ""


def test_unknown_chromosome_names_it_and_known_ones():
    with open_genome(shared_path(CHR2)) as genome:
        with pytest.raises(InputError) as err:
            genome.fetch("chr3", 0, 10)
        assert "chr3" in str(err.value) and "chr2" in str(err.value)
        assert "chr2_1-2333275.fa.gz" in str(err.value)


def test_offset_fasta_genomic_coordinates():
    path = shared_path(CHR22)
    name, raw = raw_fasta(path)
    assert name == "chr22" and len(raw) == 300_000
    with open_genome(path, offsets={"chr22": CHR22_OFFSET}) as genome:
        assert genome.offsets == {"chr22": CHR22_OFFSET}
        assert genome.chrom_sizes["chr22"] == CHR22_OFFSET + 300_000
        tss = 32_043_260  # SLC5A1 TSS, 0-based; local index 43,260 (PROVENANCE)
        local = tss - CHR22_OFFSET
        assert genome.fetch("chr22", tss - 300, tss + 301) == raw[local - 300 : local + 301].upper()
        # Positions outside the stored piece read as N: flanks at both piece edges.
        assert genome.fetch("chr22", CHR22_OFFSET - 4, CHR22_OFFSET + 4) == "N" * 4 + raw[:4]
        end = CHR22_OFFSET + 300_000
        assert genome.fetch("chr22", end - 3, end + 2) == raw[-3:] + "NN"
        assert genome.fetch("chr22", 0, 10) == "N" * 10
    with open_genome(path) as genome:  # without the offset, local coordinates
        assert genome.fetch("chr22", 43_260, 43_270) == raw[43_260:43_270]


def test_offset_for_unknown_sequence_is_rejected():
    with pytest.raises(InputError, match="chr9"):
        open_genome(shared_path(CHR22), offsets={"chr9": 5})


def test_plain_fasta_lowercase_multiline_and_no_index_written(tmp_path):
    _, raw = raw_fasta(shared_path(CHR2))
    seq_a = raw[9_950:12_000]  # gap edge + soft-masked lowercase
    seq_b = raw[100_000:100_333]
    path = tmp_path / "two.fa"
    wrapped = "\n".join(seq_a[i : i + 60] for i in range(0, len(seq_a), 60))
    path.write_text(f">chrA some description\n{wrapped}\n>chrB\n{seq_b}\n")
    with open_genome(path) as genome:
        assert list(genome.chrom_sizes) == ["chrA", "chrB"]
        assert genome.chrom_sizes == {"chrA": len(seq_a), "chrB": len(seq_b)}
        assert genome.fetch("chrA", 0, len(seq_a)) == seq_a.upper()
        assert genome.fetch("chrB", 30, 90) == seq_b[30:90].upper()
    # Reading must not write an index beside the input.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.fa"]


def test_temporary_index_is_removed_on_close_and_when_dropped(tmp_path):
    path = tmp_path / "one.fa"
    path.write_text(">chrA\nACGTACGTAC\n")
    with open_genome(path) as genome:
        index_dir = Path(genome._tmpdir)
        assert index_dir.is_dir()
    assert not index_dir.exists()
    genome = open_genome(path)  # never closed: the index goes with the object
    index_dir = Path(genome._tmpdir)
    assert index_dir.is_dir()
    del genome
    gc.collect()
    assert not index_dir.exists()


def test_plain_gzip_fasta_asks_for_bgzip(tmp_path):
    path = tmp_path / "plain.fa.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(">chr1\nACGTACGT\n")
    with pytest.raises(InputError) as err:
        open_genome(path)
    assert "plain.fa.gz" in str(err.value) and "bgzip" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.fa"):
        open_genome(tmp_path / "nope.fa")


# --- 2bit ---


def test_twobit_matches_fasta(tmp_path):
    _, raw2 = raw_fasta(shared_path(CHR2))
    _, raw22 = raw_fasta(shared_path(CHR22))
    # Real slices: the chr2 telomere gap (N run) into soft-masked repeats; a chr22 piece of a
    # length not divisible by 4 with an N run placed inside it.
    seq1 = raw2[9_000:31_000]
    seq2 = raw22[43_000:43_500] + "N" * 37 + raw22[43_500:44_003].lower()
    assert any(c.islower() for c in seq1) and seq1.startswith("N")
    path = tmp_path / "test.2bit"
    write_2bit(path, {"chr2": seq1, "chr22": seq2})
    with open_genome(path, offsets={"chr2": 9_000}) as genome:
        assert list(genome.chrom_sizes) == ["chr2", "chr22"]
        assert genome.chrom_sizes == {"chr2": 31_000, "chr22": len(seq2)}
        with open_genome(shared_path(CHR2)) as fasta:
            for start, end in ((9_000, 9_100), (9_990, 10_050), (10_000, 31_000)):
                assert genome.fetch("chr2", start, end) == fasta.fetch("chr2", start, end)
            # Beyond the stored piece: N, before it (offset) too.
            assert (
                genome.fetch("chr2", 30_990, 31_010)
                == fasta.fetch("chr2", 30_990, 31_000) + "N" * 10
            )
            assert genome.fetch("chr2", 8_990, 9_000) == "N" * 10
        assert genome.fetch("chr22", 0, len(seq2)) == seq2.upper()
        assert genome.fetch("chr22", 495, 545) == seq2[495:545].upper()
        assert genome.fetch("chr22", len(seq2) - 2, len(seq2) + 2) == seq2[-2:].upper() + "NN"
        with pytest.raises(InputError, match="chr1"):
            genome.fetch("chr1", 0, 1)
