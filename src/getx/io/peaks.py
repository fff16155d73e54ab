"""Peak (region) files: BED3+/BED4/BED6/narrowPeak reading with validation, resizing and merging.

Returned table columns (0-based half-open):
    chrom (str), start (int64), end (int64),
    name (str; BED4+ only), score (float64; BED5+ only, NaN for '.'),
    summit (int64 absolute 0-based summit position; narrowPeak only, -1 where col 10 is -1).
"""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.files import atomic_output, open_text, require_columns
from getx.io.genome import Genome, chrom_alias, harmonise_chroms, read_chrom_sizes

log = logging.getLogger(__name__)

__all__ = [
    "canonical_chrom",
    "chrom_sort_key",
    "read_chrom_sizes",
    "read_peaks",
    "sort_regions",
    "write_bed",
]

_NUMERIC = re.compile(r"^\d+$")
_NONCANONICAL = re.compile(
    r"(_random|_alt|_fix|_decoy|^chrUn|^Un_|^chrEBV$|^EBV$|^HLA-|^GL\d|^KI\d)"
)


def chrom_sort_key(name: str) -> tuple[int, int, str]:
    """Natural chromosome order: 1..22 (numerically), X, Y, M, then all others by name.

    Works with and without the 'chr' prefix (``chr10`` sorts after ``chr9``).
    """
    alias = chrom_alias(name)
    if _NUMERIC.match(alias):
        return (0, int(alias), name)
    rank = {"X": 1, "Y": 2, "MT": 3}.get(alias)
    if rank is not None:
        return (rank, 0, name)
    return (4, 0, name)


def canonical_chrom(name: str) -> bool:
    """True for primary-assembly chromosomes (1-22, X, Y, M); False for chrUn_*, *_random, *_alt,
    chrEBV, HLA and other contigs."""
    if _NONCANONICAL.search(name):
        return False
    return chrom_sort_key(name)[0] < 4


def sort_regions(df: pd.DataFrame) -> pd.DataFrame:
    """Sort a region table by natural chromosome order, then start, then end (index reset)."""
    if df.empty:
        return df.reset_index(drop=True)
    order = {c: i for i, c in enumerate(sorted(df["chrom"].unique(), key=chrom_sort_key))}
    rank = df["chrom"].map(order).to_numpy()
    idx = np.lexsort((df["end"].to_numpy(), df["start"].to_numpy(), rank))
    return df.iloc[idx].reset_index(drop=True)


def _resolve_sizes(chrom_sizes: Mapping[str, int] | Genome | str | Path | None) -> dict | None:
    if chrom_sizes is None:
        return None
    if isinstance(chrom_sizes, Genome):
        return dict(chrom_sizes.chrom_sizes)
    if isinstance(chrom_sizes, (str, Path)):
        return read_chrom_sizes(chrom_sizes)
    return {str(k): int(v) for k, v in chrom_sizes.items()}


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _parse(path: Path) -> pd.DataFrame:
    """Validate and parse every data line; keep the 1-based line number for later messages."""
    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    names: list[str] = []
    scores: list[float] = []
    summits: list[int] = []
    lines: list[int] = []
    ncols = None
    seen_data = False
    with open_text(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.split("\t")
            if len(fields) < 3:
                fields = line.split()
            require_columns(fields, ("chrom", "start", "end"), path, lineno)
            chrom, s, e = fields[0], fields[1].strip(), fields[2].strip()
            if not (_is_int(s) and _is_int(e)):
                if not seen_data and not (_is_int(s) or _is_int(e)):
                    log.info("%s: line %d taken as a header: %s", path, lineno, line[:80])
                    seen_data = True
                    continue
                raise InputError(
                    f"start/end must be integers, got {s!r} and {e!r}", path=path, line=lineno
                )
            seen_data = True
            start, end = int(s), int(e)
            if start < 0:
                raise InputError(f"start {start} is negative", path=path, line=lineno)
            if start >= end:
                raise InputError(
                    f"start {start} is not before end {end} (empty or inverted interval)",
                    path=path,
                    line=lineno,
                )
            if ncols is None:
                ncols = len(fields)
            chroms.append(chrom)
            starts.append(start)
            ends.append(end)
            lines.append(lineno)
            if ncols >= 4:
                names.append(fields[3] if len(fields) >= 4 else ".")
            if ncols >= 5:
                value = fields[4].strip() if len(fields) >= 5 else "."
                try:
                    scores.append(np.nan if value == "." else float(value))
                except ValueError:
                    raise InputError(
                        f"score {value!r} is not a number", path=path, line=lineno
                    ) from None
            if ncols >= 10:
                offset = fields[9].strip() if len(fields) >= 10 else "-1"
                if not _is_int(offset):
                    raise InputError(
                        f"narrowPeak summit offset (column 10) {offset!r} is not an integer",
                        path=path,
                        line=lineno,
                    )
                off = int(offset)
                if off >= end - start:
                    raise InputError(
                        f"narrowPeak summit offset {off} lies outside the peak "
                        f"(width {end - start})",
                        path=path,
                        line=lineno,
                    )
                summits.append(start + off if off >= 0 else -1)
    data: dict[str, object] = {
        "chrom": pd.Series(chroms, dtype=object),
        "start": np.asarray(starts, dtype=np.int64),
        "end": np.asarray(ends, dtype=np.int64),
    }
    if ncols is not None and ncols >= 4:
        data["name"] = pd.Series(names, dtype=object)
    if ncols is not None and ncols >= 5:
        data["score"] = np.asarray(scores, dtype=np.float64)
    if ncols is not None and ncols >= 10:
        data["summit"] = np.asarray(summits, dtype=np.int64)
    data["_line"] = np.asarray(lines, dtype=np.int64)
    return pd.DataFrame(data)


def _overlaps(df: pd.DataFrame) -> np.ndarray:
    """Boolean per row of a sorted table: starts before the end of an earlier peak on its chrom."""
    if len(df) == 0:
        return np.zeros(0, dtype=bool)
    prev_end = df.groupby("chrom", sort=False)["end"].cummax().shift(1)
    chrom = df["chrom"].to_numpy()
    same = np.r_[False, chrom[1:] == chrom[:-1]]
    return same & (df["start"].to_numpy() < prev_end.fillna(-1).to_numpy())


def _merge_overlaps(df: pd.DataFrame) -> pd.DataFrame:
    """Merge overlapping intervals of a sorted table; bookended intervals stay separate.

    The merged row keeps the first name, the highest score and that top-scoring peak's summit.
    """
    starts_run = ~_overlaps(df)
    group = np.cumsum(starts_run) - 1
    if starts_run.all():
        return df
    work = df.assign(_group=group)
    agg: dict[str, object] = {"chrom": "first", "start": "min", "end": "max", "_line": "first"}
    if "name" in df:
        agg["name"] = "first"
    if "score" in df:
        agg["score"] = "max"
    merged = work.groupby("_group", sort=True).agg(agg)
    if "summit" in df:
        if "score" in df:
            # summit of the top-scoring member (first one on ties; NaN scores rank last)
            best = work.assign(_s=work["score"].fillna(-np.inf)).groupby("_group")["_s"].idxmax()
        else:
            best = work.groupby("_group")["start"].idxmin()
        merged["summit"] = work.loc[best.to_numpy(), "summit"].to_numpy()
    return merged.reset_index(drop=True)[list(df.columns)]


def _resize(df: pd.DataFrame, width: int, sizes: dict | None, path: Path) -> pd.DataFrame:
    """Peaks of ``width`` bp centred on their summit (narrowPeak) or midpoint, clipped at the
    chromosome ends; where two resized neighbours overlap, both are cut at the midpoint between
    their centres, so regions never overlap (both steps are logged)."""
    centre = (df["start"] + df["end"]) // 2
    has_summit = df["summit"] >= 0 if "summit" in df else pd.Series(False, index=df.index)
    centre = centre.where(~has_summit, df.get("summit", centre))
    n_mid = int((~has_summit).sum())
    if n_mid == len(df):
        log.info("%s: no summit column: peaks resized to %d bp around their centres", path, width)
    elif n_mid:
        log.info("%s: %d peaks without a summit resized around their centres", path, n_mid)
    new_start = (centre - width // 2).clip(lower=0)
    new_end = centre - width // 2 + width
    if sizes is not None:
        new_end = np.minimum(new_end, df["chrom"].map(sizes).astype(np.int64))
    df = df.assign(start=new_start.astype(np.int64), end=new_end.astype(np.int64), _centre=centre)
    df = sort_regions(df)
    chrom = df["chrom"].to_numpy()
    start, end, mid = (df[c].to_numpy().copy() for c in ("start", "end", "_centre"))
    clash = np.flatnonzero((chrom[1:] == chrom[:-1]) & (start[1:] < end[:-1]))
    if len(clash):
        cut = (mid[clash] + mid[clash + 1] + 1) // 2
        end[clash] = np.minimum(end[clash], cut)
        start[clash + 1] = np.maximum(start[clash + 1], cut)
        log.info(
            "%s: %d pairs of resized peaks overlapped; each pair was cut at the midpoint between "
            "their centres",
            path,
            len(clash),
        )
    return df.assign(start=start, end=end).drop(columns="_centre")


def read_peaks(
    path: str | Path,
    chrom_sizes: Mapping[str, int] | Genome | str | Path | None = None,
    drop_chroms: Iterable[str] = ("chrM", "chrY"),
    canonical_only: bool = False,
    width: int | None = None,
    duplicates: str = "merge",
    min_width: int = 1,
    max_width: int | None = None,
) -> pd.DataFrame:
    """Read, validate and normalise a peak file (BED3+, BED4, BED6, narrowPeak; gzip or plain).

    Steps, in order: parse and validate every line (>= 3 columns, integer coordinates,
    0 <= start < end); drop ``drop_chroms`` (matched ignoring the 'chr' prefix) and, with
    ``canonical_only``, non-primary contigs; with ``chrom_sizes`` (dict, Genome or chrom.sizes
    path) rename chromosomes to its spelling and reject unknown ones or peaks past the end;
    drop peaks narrower than ``min_width`` or wider than ``max_width`` (e.g. MACS2 artefacts);
    sort by natural chromosome order; handle overlapping/identical peaks per ``duplicates``:
    "merge" (default; bookended peaks stay separate; a merged peak keeps the first name, the top
    score and the top-scoring summit), "reject" (InputError at the first overlap) or "keep";
    finally, with ``width``, resize to that fixed width centred on the summit (narrowPeak) or the
    midpoint, truncated at the chromosome start (and end, when sizes are known). Resizing comes
    after merging; resized neighbours that overlap are both cut at the midpoint between their
    centres, so the result never overlaps.
    """
    path = Path(path)
    if duplicates not in ("merge", "reject", "keep"):
        raise ValueError(f"duplicates must be 'merge', 'reject' or 'keep', not {duplicates!r}")
    if width is not None and width <= 0:
        raise ValueError(f"width must be positive, not {width}")
    sizes = _resolve_sizes(chrom_sizes)
    df = _parse(path)
    n_read = len(df)
    if n_read == 0:
        raise InputError("no peaks (the file has no data lines)", path)

    drop = {chrom_alias(c) for c in drop_chroms}
    keep = ~df["chrom"].map(chrom_alias).isin(drop)
    if canonical_only:
        keep &= df["chrom"].map(canonical_chrom)
    if (~keep).any():
        log.info("%s: dropped %d peaks on excluded chromosomes", path, int((~keep).sum()))
        df = df[keep].reset_index(drop=True)

    if sizes is not None and len(df):
        mapping = harmonise_chroms(df["chrom"].unique(), sizes, source=path, strict=False)
        unknown = ~df["chrom"].isin(list(mapping))
        if unknown.any():
            bad = df.loc[unknown, "chrom"].unique()
            first = int(df.loc[unknown, "_line"].iloc[0])
            raise InputError(
                f"chromosome {df.loc[unknown, 'chrom'].iloc[0]!r} is not in the chromosome sizes "
                f"({int(unknown.sum())} peaks on {len(bad)} unknown chromosome(s), e.g. "
                f"{', '.join(map(str, bad[:5]))}; known e.g. {', '.join(list(sizes)[:5])})",
                path=path,
                line=first,
            )
        df["chrom"] = df["chrom"].map(mapping)
        limit = df["chrom"].map(sizes).to_numpy(dtype=np.int64)
        past = df["end"].to_numpy() > limit
        if past.any():
            i = int(np.flatnonzero(past)[0])
            raise InputError(
                f"end {int(df['end'].iloc[i])} is beyond the length of {df['chrom'].iloc[i]} "
                f"({int(limit[i])}); {int(past.sum())} peak(s) affected (wrong genome build?)",
                path=path,
                line=int(df["_line"].iloc[i]),
            )

    widths = df["end"] - df["start"]
    bad_width = widths < min_width
    if max_width is not None:
        bad_width |= widths > max_width
    if bad_width.any():
        log.info(
            "%s: dropped %d peaks outside the width range [%d, %s]",
            path,
            int(bad_width.sum()),
            min_width,
            max_width,
        )
        df = df[~bad_width].reset_index(drop=True)

    df = sort_regions(df)

    if duplicates != "keep" and len(df) > 1:
        overlap = _overlaps(df)[1:]
        if overlap.any():
            if duplicates == "reject":
                i = int(np.flatnonzero(overlap)[0]) + 1
                row = df.iloc[i]
                raise InputError(
                    f"peak {row['chrom']}:{row['start']}-{row['end']} overlaps or duplicates an "
                    f"earlier peak ({int(overlap.sum())} overlapping peak(s) in all; use "
                    f"duplicates='merge' to merge them)",
                    path=path,
                    line=int(row["_line"]),
                )
            before = len(df)
            df = _merge_overlaps(df)
            log.info("%s: merged %d overlapping/duplicate peaks", path, before - len(df))

    if width is not None and len(df):
        df = _resize(df, width, sizes, path)

    log.info("%s: %d peaks read, %d kept", path, n_read, len(df))
    return df.drop(columns="_line").reset_index(drop=True)


def write_bed(df: pd.DataFrame, path: str | Path) -> None:
    """Write a region table as BED (chrom, start, end, then name/score when present), atomically.

    Gzip-compressed when ``path`` ends in .gz. Missing names are written as '.', NaN scores as 0.
    """
    path = Path(path)
    cols = ["chrom", "start", "end"]
    missing = [c for c in cols if c not in df]
    if missing:
        raise ValueError(f"write_bed: table lacks column(s) {missing}")
    out = df[cols].copy()
    if "name" in df or "score" in df:
        out["name"] = df["name"].fillna(".") if "name" in df else "."
    if "score" in df:
        out["score"] = df["score"].fillna(0)
    with atomic_output(path) as tmp:
        if path.suffix == ".gz":
            with gzip.open(tmp, "wt", encoding="utf-8", newline="") as handle:
                out.to_csv(handle, sep="\t", header=False, index=False)
        else:
            out.to_csv(tmp, sep="\t", header=False, index=False)
