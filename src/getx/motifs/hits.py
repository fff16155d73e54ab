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

from getx.errors import InputError, examples
from getx.io.files import open_text
from getx.io.genome import chrom_mapping, log_renamed
from getx.io.intervals import IntervalIndex

log = logging.getLogger(__name__)

HIT_COLUMNS = ["chrom", "start", "end", "archetype", "score", "strand", "motif"]


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
    index = IntervalIndex(regions)
    cl_index = {c: i for i, c in enumerate(clusters)}
    out = np.zeros((len(regions), len(clusters)), dtype=np.float64)
    seen: set[str] = set()
    current: str | None = None
    last_start = -1
    line0 = 0
    skipped = 0
    region_chroms = regions["chrom"].astype(str).unique()
    spelling: dict[str, str] = {}  # the file's chromosome -> the regions' name ('' for none)
    with open_text(path) as fh:
        reader = pd.read_csv(
            fh, sep="\t", header=None, usecols=[0, 1, 2, 3, 4], names=HIT_COLUMNS[:5],
            dtype={"chrom": str, "archetype": str}, chunksize=chunksize, comment="#",
        )  # fmt: skip
        try:
            for chunk in reader:
                if chunk.empty:
                    continue
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
                    if chrom not in spelling:
                        spelling[chrom] = chrom_mapping([chrom], region_chroms).get(chrom, "")
                    if spelling[chrom]:
                        chrom = spelling[chrom]
                        keep = np.flatnonzero(cl[b0:b1] >= 0) + b0
                        # Pairs come hit by hit, so each region adds its hits in file order.
                        hit, row = index.overlaps(chrom, starts[keep], ends[keep])
                        np.add.at(out, (row, cl[keep[hit]]), scores[keep[hit]])
                line0 += len(chunk)
        except pd.errors.EmptyDataError:
            pass
        except (ValueError, pd.errors.ParserError) as e:
            if isinstance(e, InputError):
                raise
            raise InputError(f"malformed BED: {e}", path, line0 + 1) from None
    if not seen:
        raise InputError("no motif hits (the file has no data lines)", path)
    log_renamed({k: v for k, v in spelling.items() if v}, path, "the peaks'")
    if spelling and not any(spelling.values()):
        raise InputError(
            f"no hit lies on the peaks' chromosomes ({examples(region_chroms)}); this file has "
            f"{examples(spelling)}: other chromosome names?",
            path,
        )
    if skipped:
        log.info("%s: %d hits with archetypes outside the feature set skipped", path, skipped)
    return out.astype(np.float32)


def _check_chunk(chunk: pd.DataFrame, path: Path, line0: int) -> None:
    for col in ("start", "end", "score"):
        values = pd.to_numeric(chunk[col], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy())
        if len(bad):
            raise InputError(
                f"column {HIT_COLUMNS.index(col) + 1} ({col}) is not a number: "
                f"{chunk[col].iloc[bad[0]]!r}",
                path,
                line0 + bad[0] + 1,
            )
        chunk[col] = values
    bad = np.flatnonzero(
        (chunk["end"] <= chunk["start"]).to_numpy() | (chunk["start"] < 0).to_numpy()
    )
    if len(bad):
        raise InputError("hit has end <= start or start < 0", path, line0 + bad[0] + 1)
