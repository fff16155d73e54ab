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
    """Inputs for a store of the B-cell-like peaks inside the real hg38 chr2:1-2,333,275 piece
    (binary peaks as accessibility, GET's v1 motifs, the set's RNA table as given); skips when
    the data are absent. Returns (PrepareInputs, peak lines kept): ``bench._data``'s, which the
    benchmarks use too."""
    for relative in (
        "bcell_like/test.atac.bed.gz",
        "bcell_like/test.rna.csv",
        "genome/chr2_1-2333275.fa.gz",
        "annotation/gencode.v40.hg38.tss.tsv.gz",
        "motifs/nrmotif_v1.json",
    ):
        shared_path(relative)
    from bench._data import bcell_chr2_inputs as inputs

    return inputs(folder)


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """A finished ``getx demo`` at tiny size (``TINY_DEMO``), built once per session: the demo
    tests and the interpretation benchmark's smoke test read it; a test may re-run the demo
    there with ``TINY_DEMO`` (it reuses every stage) but must not change it otherwise."""
    from getx.demo import run_demo
    from tiny_dataset import TINY_DEMO

    return run_demo(tmp_path_factory.mktemp("demo"), options=TINY_DEMO)
