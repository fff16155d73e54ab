"""Per-peak features from a precomputed genome-wide motif-hit BED (GET's archetype track).

GET downloads Vierstra's ``hg38.archetype_motifs.v1.0.bed.gz`` (chrom, start, end, archetype,
score, strand, motif; sorted by chrom, then start) and sums, per peak and archetype, the scores
of the hits that overlap the peak (``tabix`` + ``bedtools intersect`` + ``groupby -o sum``).
:func:`aggregate_hit_bed` computes the same sums by one streaming pass over the sorted file, in
chunks, without bedtools, tabix or loading the file: a hit counts for every region it overlaps
by at least 1 bp (BED half-open coordinates).
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.files import open_text

log = logging.getLogger(__name__)

HIT_COLUMNS = ["chrom", "start", "end", "archetype", "score", "strand", "motif"]


def _region_index(regions: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """chrom -> (row indices, starts, ends), sorted by start."""
    for col in ("chrom", "start", "end"):
        if col not in regions.columns:
            raise InputError(f"regions lack the column {col!r}")
    out = {}
    chroms = regions["chrom"].astype(str).to_numpy()
    starts = regions["start"].to_numpy(dtype=np.int64)
    ends = regions["end"].to_numpy(dtype=np.int64)
    for chrom in pd.unique(chroms):
        rows = np.flatnonzero(chroms == chrom)
        rows = rows[np.argsort(starts[rows], kind="stable")]
        out[chrom] = (rows, starts[rows], ends[rows])
    return out


def _add_chunk(
    out: np.ndarray,
    regs: tuple[np.ndarray, np.ndarray, np.ndarray],
    h_start: np.ndarray,
    h_end: np.ndarray,
    h_cluster: np.ndarray,
    h_score: np.ndarray,
) -> None:
    """Add the hits of one chromosome piece (sorted by start) to the overlapping regions."""
    rows, r_start, r_end = regs
    if len(h_start) == 0 or len(rows) == 0:
        return
    max_w = int((h_end - h_start).max())
    # Candidates for region r: hits starting in [r.start - max_w + 1, r.end); then end > r.start.
    lo = np.searchsorted(h_start, r_start - max_w + 1, side="left")
    hi = np.searchsorted(h_start, r_end, side="left")
    n = hi - lo
    if n.sum() == 0:
        return
    reg = np.repeat(np.arange(len(rows)), n)
    hit = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
    ok = h_end[hit] > r_start[reg]
    np.add.at(out, (rows[reg[ok]], h_cluster[hit[ok]]), h_score[hit[ok]])


def aggregate_hit_bed(
    path: str | Path,
    regions: pd.DataFrame,
    clusters: list[str] | tuple[str, ...],
    chunksize: int = 1_000_000,
) -> np.ndarray:
    """(n_regions, n_clusters) float32: summed scores of the hits overlapping each region.

    ``path``: gzipped or plain BED with chrom, start, end, archetype (cluster name), score
    [, strand, motif], sorted by chrom (any chromosome order, each chromosome in one block)
    then start; unsorted input raises ``InputError`` with the line number. Hits whose archetype
    is not in ``clusters`` are skipped (and counted in the log).
    """
    path = Path(path)
    index = _region_index(regions)
    cl_index = {c: i for i, c in enumerate(clusters)}
    out = np.zeros((len(regions), len(clusters)), dtype=np.float64)
    seen: set[str] = set()
    current: str | None = None
    last_start = -1
    line0 = 0
    skipped = 0
    with open_text(path) as fh:
        reader = pd.read_csv(
            fh, sep="\t", header=None, usecols=[0, 1, 2, 3, 4], names=HIT_COLUMNS[:5],
            dtype={"chrom": str, "archetype": str}, chunksize=chunksize, comment="#",
        )  # fmt: skip
        try:
            for chunk in reader:
                _check_chunk(chunk, path, line0)
                chroms = chunk["chrom"].to_numpy()
                starts = chunk["start"].to_numpy(dtype=np.int64)
                ends = chunk["end"].to_numpy(dtype=np.int64)
                scores = chunk["score"].to_numpy(dtype=np.float64)
                arch = chunk["archetype"].map(cl_index)
                skipped += int(arch.isna().sum())
                cl = arch.fillna(-1).to_numpy(dtype=np.int64)
                breaks = np.flatnonzero(chroms[1:] != chroms[:-1]) + 1
                bounds = np.r_[0, breaks, len(chunk)]
                for b0, b1 in itertools.pairwise(bounds):
                    chrom = chroms[b0]
                    if chrom != current:
                        if chrom in seen:
                            raise InputError(
                                f"chromosome {chrom} appears in two blocks (file not sorted)",
                                path,
                                line0 + b0 + 1,
                            )
                        seen.add(chrom)
                        current, last_start = chrom, -1
                    s = starts[b0:b1]
                    bad = np.flatnonzero(np.diff(np.r_[last_start, s]) < 0)
                    if len(bad):
                        raise InputError(
                            f"start {s[bad[0]]} follows a larger start: not sorted by start",
                            path,
                            line0 + b0 + int(bad[0]) + 1,
                        )
                    last_start = int(s[-1])
                    if chrom in index:
                        keep = cl[b0:b1] >= 0
                        _add_chunk(
                            out, index[chrom], s[keep], ends[b0:b1][keep], cl[b0:b1][keep],
                            scores[b0:b1][keep],
                        )  # fmt: skip
                line0 += len(chunk)
        except (ValueError, pd.errors.ParserError) as e:
            if isinstance(e, InputError):
                raise
            raise InputError(f"malformed BED: {e}", path, line0 + 1) from e
    if skipped:
        log.info("%s: %d hits with archetypes outside the feature set skipped", path, skipped)
    return out.astype(np.float32)


def _check_chunk(chunk: pd.DataFrame, path: Path, line0: int) -> None:
    for col in ("start", "end", "score"):
        values = pd.to_numeric(chunk[col], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy())
        if len(bad):
            raise InputError(
                f"column {col} is not numeric: {chunk[col].iloc[bad[0]]!r}",
                path,
                line0 + bad[0] + 1,
            )
        chunk[col] = values
    bad = np.flatnonzero(
        (chunk["end"] <= chunk["start"]).to_numpy() | (chunk["start"] < 0).to_numpy()
    )
    if len(bad):
        raise InputError("hit has end <= start or start < 0", path, line0 + bad[0] + 1)
