"""Shared fixtures. Real data lives in ../shared/data beside the repository; see ``shared_data``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get(
        "GETX_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)


def shared_path(relative: str) -> Path:
    """Path of a real-data file under ../shared/data; skips the test, saying why, when absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (set GETX_SHARED_DATA)")
    return path


def bcell_chr2_inputs(folder: Path):
    """Inputs for a store of the B-cell-like peaks inside the real hg38 chr2:1-2,333,275 piece.

    The peaks are binary (4th column 1), so they serve as accessibility too; GET's v1 motifs.
    Returns (PrepareInputs, peak lines kept).
    """
    import gzip

    from getx.prepare import PrepareInputs

    peaks = folder / "chr2_piece.atac.bed"
    with gzip.open(shared_path("bcell_like/test.atac.bed.gz"), "rt") as source:
        rows = [line for line in source if line.startswith("chr2\t")]
    rows = [line for line in rows if int(line.split("\t")[2]) <= 2_333_275]
    peaks.write_text("".join(rows))
    inputs = PrepareInputs(
        peaks=peaks,
        genome=shared_path("genome/chr2_1-2333275.fa.gz"),
        annotation=shared_path("annotation/gencode.v40.hg38.tss.tsv.gz"),
        motifs=str(shared_path("motifs")),
        accessibility={"bcell": peaks},
        expression={"bcell": shared_path("bcell_like/test.rna.csv")},
    )
    return inputs, rows
