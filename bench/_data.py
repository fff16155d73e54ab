"""The real inputs the benchmarks (and some tests) share: where they are and how they are read.

Everything lives under ``../shared/data`` (``$GETX_SHARED_DATA``); see its PROVENANCE.md.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from bench.suite import SHARED

CHR2_PIECE_END = 2_333_275  # hg38 chr2:1-2,333,275 is the only chr2 sequence on disk
K562 = SHARED / "k562_chr22"
BCELL = SHARED / "bcell_like"
CHROM_SIZES = SHARED / "annotation" / "GRCh38_EBV.no_alt.chrom.sizes.tsv"
GENCODE_TSS = SHARED / "annotation" / "gencode.v40.hg38.tss.tsv.gz"
CHR2_PIECE = SHARED / "genome" / "chr2_1-2333275.fa.gz"
V1_MOTIFS = SHARED / "motifs"


def missing(*paths: Path) -> str | None:
    """None when every path exists, else a one-line reason naming the first absent one."""
    for path in paths:
        if not path.exists():
            return f"{path} is absent (set GETX_SHARED_DATA to the shared data folder)"
    return None


def read_fasta(path: Path) -> tuple[list[str], list[str]]:
    """(names, sequences) of a FASTA file, plain or gzipped."""
    opener = gzip.open if path.suffix == ".gz" else open
    names: list[str] = []
    parts: list[list[str]] = []
    with opener(path, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                names.append(line[1:].strip())
                parts.append([])
            elif parts:
                parts[-1].append(line.strip())
    return names, ["".join(p) for p in parts]


def read_sequence(path: Path) -> str:
    """The sequence of a one-record FASTA file (plain or gzipped), e.g. the chr2 piece."""
    return "".join(read_fasta(path)[1])


def bcell_chr2_inputs(folder: Path, expression: Path | None = None, motifs: str | None = None):
    """Inputs for a store of the B-cell-like peaks inside the real hg38 chr2:1-2,333,275 piece.

    The peaks are binary (4th column 1), so they serve as accessibility too; GET's v1 motifs by
    default; expression: ``expression`` (a gene table) or the set's own RNA table as given.
    Returns (PrepareInputs, peak lines kept).
    """
    from getx.prepare import PrepareInputs

    peaks = folder / "chr2_piece.atac.bed"
    with gzip.open(BCELL / "test.atac.bed.gz", "rt") as source:
        rows = [line for line in source if line.startswith("chr2\t")]
    rows = [line for line in rows if int(line.split("\t")[2]) <= CHR2_PIECE_END]
    folder.mkdir(parents=True, exist_ok=True)
    peaks.write_text("".join(rows))
    inputs = PrepareInputs(
        peaks=peaks,
        genome=CHR2_PIECE,
        annotation=GENCODE_TSS,
        motifs=motifs or str(V1_MOTIFS),
        accessibility={"bcell": peaks},
        expression={"bcell": expression or BCELL / "test.rna.csv"},
    )
    return inputs, rows
