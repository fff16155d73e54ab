"""Chromatin accessibility per cell type, aligned to a given peak table.

Three sources of raw counts, each returning values in the row order of ``peaks`` (a DataFrame
with columns ``chrom, start, end``; 0-based half-open):

- :func:`counts_from_bed`: a BED/bedGraph with one count (or signal) column, one cell type.
- :func:`counts_from_fragments`: a 10x ``fragments.tsv.gz``, pseudobulked per cell type by
  counting Tn5 insertion sites in peaks.
- :func:`counts_from_h5ad`: an AnnData cell x peak (or peak x cell) count matrix.

:func:`normalise_accessibility` turns raw counts into GET's input scale: per cell type,
``aCPM = log10(count / total * 1e5 + 1)`` with ``total`` the sum over the peaks, then divided by
its maximum over the peaks so that values lie in [0, 1]. Raw counts are kept by the caller;
nothing here discards them.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from getx.errors import InputError, examples
from getx.io.cells import CellTypes, cell_type_codes, cell_type_indicator, cell_type_mapping
from getx.io.files import open_text, read_string_table
from getx.io.genome import chrom_mapping, log_renamed
from getx.io.h5ad import read_h5ad
from getx.io.intervals import IntervalIndex

log = logging.getLogger(__name__)

_HEADER_PREFIXES = ("#", "track", "browser")
# Peak names as written by 10x, ArchR, Signac, scanpy: chr1:100-200, chr1-100-200, chr1_100_200.
# The chromosome part is greedy so contigs with '_' or '-' in their name still parse.
_PEAK_NAME = re.compile(r"^(.+)[:_-](\d+)[-_](\d+)$")


def _peak_keys(peaks: pd.DataFrame) -> pd.Index:
    return pd.Index(
        peaks["chrom"].astype(str)
        + ":"
        + peaks["start"].astype(np.int64).astype(str)
        + "-"
        + peaks["end"].astype(np.int64).astype(str)
    )


# --------------------------------------------------------------------------------------------
# BED / bedGraph


def _count_header_lines(path: Path) -> int:
    """Number of leading track/browser/'#' lines (only leading ones are skipped)."""
    n = 0
    with open_text(path) as handle:
        for line in handle:
            if line.startswith(_HEADER_PREFIXES):
                n += 1
            else:
                break
    return n


def _read_table_lines(path: Path, n_header: int) -> pd.DataFrame:
    """Data lines as strings: row i is file line ``n_header + i + 1``; blank lines are NaN rows."""
    return read_string_table(path, sep="\t", header=None, skiprows=n_header)


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def counts_from_bed(path: str | Path, peaks: pd.DataFrame, column: int | None = None) -> np.ndarray:
    """Values of a BED/bedGraph count or signal column, assigned to ``peaks`` (float64, n_peaks).

    ``column`` is the 0-based column holding the value; by default the last column (after the
    three coordinates) whose first-line value is numeric. Assignment: an interval identical to
    a peak (same chrom, start, end) goes to that peak only; any other interval adds its full
    value to every peak it overlaps (values are not split between peaks, so a peak-spanning
    interval counts in each). Peaks with no interval get 0. Intervals on chromosomes absent from
    ``peaks`` are ignored and counted in the log. Leading ``track``/``browser``/``#`` lines are
    skipped; blank lines are ignored; anything else malformed is an :class:`InputError` naming
    the line.
    """
    path = Path(path)
    n_header = _count_header_lines(path)
    raw = _read_table_lines(path, n_header)
    n_peaks = len(peaks)
    out = np.zeros(n_peaks, dtype=np.float64)
    if raw.empty:
        raise InputError("no intervals (the file has no data lines)", path)
    blank = raw.isna().all(axis=1).to_numpy()
    raw = raw.loc[~blank]
    lines = np.flatnonzero(~blank) + n_header + 1
    if raw.empty:
        raise InputError("no intervals (only blank lines)", path)
    if raw.shape[1] < 4:
        raise InputError(
            f"expected at least 4 columns (chrom, start, end, value), found {raw.shape[1]}",
            path,
            int(lines[0]),
        )
    if _is_header(raw.iloc[0]):
        log.info("%s: line %d taken as a header", path, int(lines[0]))
        raw, lines = raw.iloc[1:], lines[1:]
        if raw.empty:
            raise InputError("no intervals (the file has a header only)", path)
    if column is None:
        first = raw.iloc[0]
        numeric = [j for j in range(3, raw.shape[1]) if _is_number(first.iloc[j])]
        if not numeric:
            raise InputError(
                "no numeric value column after chrom, start, end; pass column=", path, int(lines[0])
            )
        column = numeric[-1]
    elif not 0 <= column < raw.shape[1] or column < 3:
        raise InputError(
            f"value column {column + 1} is not one of columns 4..{raw.shape[1]} (chrom, start "
            "and end are columns 1-3)",
            path,
        )

    chrom = raw[0].to_numpy(dtype=object)
    bad = pd.isna(chrom)
    if bad.any():
        raise InputError("missing chromosome", path, int(lines[_first_bad(bad)]))
    start = _int_column(raw[1], path, lines, "start")
    end = _int_column(raw[2], path, lines, "end")
    bad = (start < 0) | (start >= end)
    if bad.any():
        i = _first_bad(bad)
        raise InputError(
            f"invalid interval: start {start[i]} must be >= 0 and < end {end[i]}",
            path,
            int(lines[i]),
        )
    text = raw[column]
    values = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = _first_bad(bad)
        raise InputError(
            f"value {text.iloc[i]!r} in column {column + 1} is not a finite number",
            path,
            int(lines[i]),
        )

    chrom = _on_peak_chroms(chrom.astype(str), peaks, path)
    known = chrom != ""
    if not known.any():
        raise InputError(
            f"none of the {len(chrom):,} intervals lies on the peaks' chromosomes "
            f"({examples(peaks['chrom'].unique())}); this file has "
            f"{examples(np.unique(raw[0].astype(str)))}: other chromosome names, or another "
            "genome?",
            path,
        )
    if not known.all():
        log.info(
            "%s: ignored %d interval(s) (value sum %g) on chromosomes absent from the peaks: %s",
            path,
            int((~known).sum()),
            values[~known].sum(),
            examples(np.unique(raw[0].astype(str).to_numpy()[~known])),
        )
    chrom, start, end, values = chrom[known], start[known], end[known], values[known]

    # Exact matches first (the common case: counts computed on these very peaks).
    keys = pd.Index(
        pd.Series(chrom) + ":" + pd.Series(start).astype(str) + "-" + pd.Series(end).astype(str)
    )
    peak_rows = _peak_keys(peaks).get_indexer(keys)
    exact = peak_rows >= 0
    np.add.at(out, peak_rows[exact], values[exact])
    rest = ~exact
    n_pairs = 0
    if rest.any():
        index = IntervalIndex(peaks)
        for name in np.unique(chrom[rest]):
            sel = np.flatnonzero(rest & (chrom == name))
            q, rows = index.overlaps(name, start[sel], end[sel])
            out += np.bincount(rows, weights=values[sel][q], minlength=n_peaks)
            n_pairs += len(q)
        log.info(
            "%s: %d interval(s) matched peaks exactly; %d other(s) assigned by overlap"
            " (%d interval-peak pairs)",
            path,
            int(exact.sum()),
            int(rest.sum()),
            n_pairs,
        )
    if not exact.any() and n_pairs == 0:
        raise InputError(
            f"none of the {len(chrom):,} intervals on the peaks' chromosomes overlaps a peak: "
            "coordinates of another genome build?",
            path,
        )
    return out


def _on_peak_chroms(chrom: np.ndarray, peaks: pd.DataFrame, source: Path) -> np.ndarray:
    """``chrom`` spelled as the peaks spell it ('' where the peaks have no such chromosome);
    a renaming (``1`` -> ``chr1``) is logged once, naming ``source``."""
    names, codes = np.unique(chrom, return_inverse=True)
    mapping = chrom_mapping(names, peaks["chrom"].astype(str).unique())
    log_renamed(mapping, source, "the peaks'")
    spelled = np.array([mapping.get(name, "") for name in names], dtype=object)
    return spelled[codes.reshape(-1)] if len(chrom) else chrom.astype(object)


def _is_header(row: pd.Series) -> bool:
    """A first line whose start and end are both words (``chrom start end count``)."""
    return not _is_number(row.iloc[1]) and not _is_number(row.iloc[2])


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# 10x fragments


def counts_from_fragments(
    fragments_path: str | Path,
    barcode_to_cell_type: CellTypes,
    peaks: pd.DataFrame,
    chunksize: int = 2_000_000,
) -> pd.DataFrame:
    """Pseudobulk Tn5 insertion counts per peak and cell type from a 10x fragments file.

    Each fragment (chrom, start, end, barcode, duplicate count) contributes its two insertion
    sites, ``start`` and ``end - 1``, once each; the 5th column (PCR duplicates) is ignored, as
    ArchR and Signac do. Fragments of barcodes absent from ``barcode_to_cell_type`` (a mapping,
    or a 2-column barcode/cell-type table, see :func:`getx.io.cells.read_cell_type_table`)
    are ignored and counted in the log. Returns a DataFrame (n_peaks x cell types, int64) in
    the row order of ``peaks``, columns sorted by cell type name. Streams the file in chunks and
    assigns insertions per chromosome with ``searchsorted``.
    """
    path = Path(fragments_path)
    mapping = cell_type_mapping(barcode_to_cell_type)
    if mapping.empty:
        raise InputError("barcode -> cell type table is empty")
    names, barcode_ct = cell_type_codes(mapping)
    cell_types = np.array(names)
    barcodes = pd.Index(mapping.index)
    n_ct = len(cell_types)
    n_peaks = len(peaks)
    index = IntervalIndex(peaks)

    counts = np.zeros(n_peaks * n_ct, dtype=np.int64)
    fragments_per_ct = np.zeros(n_ct, dtype=np.int64)
    seen = np.zeros(len(barcodes), dtype=bool)
    n_unknown = n_total = n_other_chrom = 0
    n_header = _count_header_lines(path)
    line0 = n_header + 1
    peak_chroms = peaks["chrom"].astype(str).unique()
    spelling: dict[str, str] = {}  # fragment chromosome -> the peaks' name ('' for none)
    handle = open_text(path)
    try:
        reader = pd.read_csv(
            handle,
            sep="\t",
            header=None,
            skiprows=n_header,
            usecols=[0, 1, 2, 3],
            dtype={0: str, 3: str},
            skip_blank_lines=False,
            chunksize=chunksize,
        )
        for chunk in reader:
            lines = np.arange(len(chunk)) + line0
            line0 += len(chunk)
            blank = chunk.isna().all(axis=1).to_numpy()
            if blank.any():
                chunk, lines = chunk.loc[~blank], lines[~blank]
            start = _int_column(chunk[1], path, lines, "start")
            end = _int_column(chunk[2], path, lines, "end")
            if chunk[3].isna().any():
                raise InputError(
                    "missing barcode", path, int(lines[_first_bad(chunk[3].isna().to_numpy())])
                )
            bad = (start < 0) | (start >= end)
            if bad.any():
                i = _first_bad(bad)
                raise InputError(
                    f"invalid fragment: start {start[i]}, end {end[i]}", path, int(lines[i])
                )
            n_total += len(chunk)
            codes = barcodes.get_indexer(chunk[3].to_numpy())
            known = codes >= 0
            n_unknown += int((~known).sum())
            seen[codes[known]] = True
            ct = np.where(known, barcode_ct[codes], -1)
            fragments_per_ct += np.bincount(ct[known], minlength=n_ct)
            chrom_code, chrom_names = pd.factorize(chunk[0])
            new = [str(name) for name in chrom_names if str(name) not in spelling]
            if new:
                found = chrom_mapping(new, peak_chroms)
                spelling.update({name: found.get(name, "") for name in new})
            for k, raw_name in enumerate(chrom_names):
                sel = known & (chrom_code == k)
                if not sel.any():
                    continue
                name = spelling[str(raw_name)]
                if not name:
                    n_other_chrom += int(sel.sum())
                    continue
                pos = np.concatenate([start[sel], end[sel] - 1])
                cts = np.concatenate([ct[sel], ct[sel]])
                q, rows = index.overlaps(name, pos, pos + 1)
                counts += np.bincount(rows * n_ct + cts[q], minlength=n_peaks * n_ct)
    except pd.errors.EmptyDataError:
        pass
    except (pd.errors.ParserError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"malformed fragments file: {err}", path) from None
    finally:
        handle.close()

    if n_total == 0:
        raise InputError("no fragments", path)
    log_renamed({k: v for k, v in spelling.items() if v}, path, "the peaks'")
    if n_other_chrom == n_total - n_unknown and n_other_chrom:
        raise InputError(
            f"none of the fragments of listed barcodes lies on the peaks' chromosomes "
            f"({examples(peak_chroms)}); this file has "
            f"{examples([k for k, v in spelling.items() if not v])}: other chromosome names?",
            path,
        )
    log.info(
        "%s: %d fragments; %d (%.1f%%) from barcodes not in the cell-type table were ignored",
        path,
        n_total,
        n_unknown,
        100 * n_unknown / n_total,
    )
    if n_other_chrom:
        log.info("%s: %d fragments on chromosomes without peaks", path, n_other_chrom)
    for k, name in enumerate(cell_types):
        in_table = int((barcode_ct == k).sum())
        observed = int(seen[barcode_ct == k].sum())
        log.info(
            "cell type %s: %d cells in the table, %d with fragments, %d fragments,"
            " %d insertions in peaks",
            name,
            in_table,
            observed,
            fragments_per_ct[k],
            counts[k::n_ct].sum(),
        )
    if n_unknown == n_total:
        raise InputError("no fragment barcode is in the cell-type table", path)
    return pd.DataFrame(
        counts.reshape(n_peaks, n_ct),
        index=peaks.index,
        columns=pd.Index(cell_types, name="cell_type"),
    )


def _int_column(series: pd.Series, path: Path, lines: np.ndarray, what: str) -> np.ndarray:
    """A coordinate column as int64, or an error naming the first line that is not an integer."""
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.to_numpy(np.int64)
    num = pd.to_numeric(series, errors="coerce")
    bad = num.isna().to_numpy() | (num.to_numpy() % 1 != 0)
    if bad.any():
        i = _first_bad(bad)
        raise InputError(f"{what} {series.iloc[i]!r} is not an integer", path, int(lines[i]))
    return num.to_numpy().astype(np.int64)


# --------------------------------------------------------------------------------------------
# AnnData


def parse_peak_name(name: str) -> tuple[str, int, int] | None:
    """``chr1:100-200`` / ``chr1-100-200`` / ``chr1_100_200`` -> (chrom, start, end), else None.

    Coordinates are taken as written (0-based start, as in the BED the peaks came from).
    """
    m = _PEAK_NAME.match(str(name))
    if m is None:
        return None
    return m.group(1), int(m.group(2)), int(m.group(3))


def _peak_name_keys(
    names: pd.Index, spelling: dict[str, str] | None = None
) -> tuple[pd.Index, int]:
    """``chrom:start-end`` keys of peak names (None where a name does not parse), with the
    chromosome respelled through ``spelling``, and how many did not parse."""
    keys, n_bad = [], 0
    for name in names:
        parsed = parse_peak_name(name)
        if parsed is None:
            n_bad += 1
            keys.append(None)
        else:
            chrom = spelling.get(parsed[0], parsed[0]) if spelling else parsed[0]
            keys.append(f"{chrom}:{parsed[1]}-{parsed[2]}")
    return pd.Index(keys, dtype=object), n_bad


def counts_from_h5ad(path: str | Path, cell_type_column: str, peaks: pd.DataFrame) -> pd.DataFrame:
    """Pseudobulk peak counts per cell type from an AnnData file (n_peaks x cell types, float64).

    Peaks may be ``var`` (cells x peaks, the usual layout; ``cell_type_column`` in ``obs``) or
    ``obs`` (peaks x cells; ``cell_type_column`` in ``var``); the side whose names parse as peak
    names (see :func:`parse_peak_name`) is taken as peaks. Names must match the peak table's
    coordinates exactly; unmatched names are logged and dropped, unmatched table peaks get 0.
    Cells with a missing cell type are skipped. Sparse matrices are summed with a sparse
    cell-type indicator product, never densified.
    """
    import scipy.sparse as sp

    path = Path(path)
    adata = read_h5ad(path)
    obs_keys, obs_bad = _peak_name_keys(adata.obs_names)
    var_keys, var_bad = _peak_name_keys(adata.var_names)
    if var_bad < len(var_keys) and cell_type_column in adata.obs.columns and var_bad <= obs_bad:
        X, keys, labels, side = adata.X, var_keys, adata.obs[cell_type_column], "var"
    elif obs_bad < len(obs_keys) and cell_type_column in adata.var.columns:
        X, keys, labels, side = adata.X.T, obs_keys, adata.var[cell_type_column], "obs"
    else:
        raise InputError(
            f"cannot find peaks: need peak names (chr:start-end) as var names with column "
            f"{cell_type_column!r} in obs, or as obs names with it in var",
            path,
        )
    if X is None:
        raise InputError("AnnData has no X matrix", path)
    names_on_side = adata.var_names if side == "var" else adata.obs_names
    parsed = [parse_peak_name(name) for name in names_on_side]
    spelling = chrom_mapping(
        {p[0] for p in parsed if p is not None}, peaks["chrom"].astype(str).unique()
    )
    log_renamed(spelling, path, "the peaks'")
    keys, _ = _peak_name_keys(names_on_side, spelling)
    # X: cells x features (features = the peak side)
    names, ct = cell_type_codes(labels)
    if (ct < 0).any():
        log.info(
            "%s: %d cell(s) without a %s are skipped", path, int((ct < 0).sum()), cell_type_column
        )
    if not names:
        raise InputError(f"no cell has a {cell_type_column!r} value", path)
    cell_types = np.array(names)
    cells = np.flatnonzero(ct >= 0)
    indicator = cell_type_indicator(ct, len(names)).T
    summed = indicator @ X  # cell types x features
    summed = summed.toarray() if sp.issparse(summed) else np.asarray(summed)

    rows = _peak_keys(peaks).get_indexer(keys)
    matched = rows >= 0
    n_unmatched = int((~matched).sum())
    if n_unmatched:
        examples = [
            str(k)
            for k, ok in zip(
                adata.var_names if side == "var" else adata.obs_names, matched, strict=True
            )
            if not ok
        ][:5]
        log.warning(
            "%s: %d of %d peak names not in the peak table (e.g. %s)",
            path,
            n_unmatched,
            len(keys),
            examples,
        )
    if not matched.any():
        raise InputError(
            "no peak name matches the peak table (exact chrom, start, end needed)", path
        )
    if len(np.unique(rows[matched])) < matched.sum():
        log.warning("%s: several features name the same peak; their counts are summed", path)
    out = np.zeros((len(peaks), len(cell_types)), dtype=np.float64)
    np.add.at(out, rows[matched], summed[:, matched].T)
    log.info(
        "%s: %d of %d table peaks found; %d cells in %d cell types",
        path,
        len(np.unique(rows[matched])),
        len(peaks),
        len(cells),
        len(cell_types),
    )
    return pd.DataFrame(out, index=peaks.index, columns=pd.Index(cell_types, name="cell_type"))


# --------------------------------------------------------------------------------------------
# Normalisation


def normalise_accessibility(
    counts: np.ndarray | pd.Series | pd.DataFrame, name: str | None = None
) -> np.ndarray:
    """GET's accessibility scale: ``log10(count / total * 1e5 + 1)`` divided by its maximum.

    ``counts``: one cell type (n_peaks,) or several (n_peaks x cell types; each column is
    normalised on its own). Returns float32 of the same shape with values in [0, 1], max 1 per
    cell type. A cell type whose total is zero, or negative/non-finite counts, is an
    :class:`InputError` naming the cell type (``name``, the column, or its position).
    """
    if isinstance(counts, pd.DataFrame):
        names = [str(c) for c in counts.columns]
    elif isinstance(counts, pd.Series):
        names = [str(name if name is not None else counts.name)]
    else:
        names = None if name is None else [str(name)]
    arr = np.asarray(counts, dtype=np.float64)
    one = arr.ndim == 1
    if one:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise InputError(f"counts must be 1-D or 2-D, got shape {arr.shape}")
    names = names or [str(j) for j in range(arr.shape[1])]
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"cell type {names[j]}: count {arr[i, j]} at peak {i + 1} is negative or not finite"
        )
    total = arr.sum(axis=0)
    if (total <= 0).any():
        j = int(np.flatnonzero(total <= 0)[0])
        raise InputError(f"cell type {names[j]}: total count over the peaks is zero")
    acpm = np.log10(arr / total * 1e5 + 1.0)
    out = (acpm / acpm.max(axis=0)).astype(np.float32)
    return out[:, 0] if one else out
