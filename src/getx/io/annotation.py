"""Gene annotation: one TSS point per transcript, from GTF, gene-bounds BED or TSS tables.

Every reader returns the same table (one row per distinct TSS of a gene):
    gene_id (str, version suffix stripped), gene_name (str), gene_type (str; '' when unknown),
    transcript_id (str; '' when the source has no transcripts), chrom (str),
    tss (int64, 0-based position of the transcript's first base), strand ('+' / '-').
TSS definition: GTF start-1 on '+', GTF end-1 on '-' (the first transcribed base), never a gene
body. Rows are sorted by natural chromosome order, then tss, then gene_id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.files import open_text, require_columns
from getx.io.gene_ids import strip_version
from getx.io.genome import Genome, harmonise_chroms, read_chrom_sizes
from getx.io.peaks import chrom_sort_key

log = logging.getLogger(__name__)

COLUMNS = ["gene_id", "gene_name", "gene_type", "transcript_id", "chrom", "tss", "strand"]

_GENE_BED_COLUMNS = ("chrom", "start", "end", "name", "score", "strand")
_ATTR = re.compile(r'\s*([^\s";]+)\s+(?:"([^"]*)"|([^;\s]+))\s*;?')

ChromSizes = Mapping[str, int] | Genome | str | Path | None


def promoters(tss: pd.DataFrame | Iterable[int], flank: int = 300):
    """Promoter intervals as GET defined them: [tss - flank, tss + flank + 1), clipped at 0.

    Given a TSS table, returns a copy with ``start``/``end`` columns (after ``chrom``); given
    positions, returns ``(start, end)`` int64 arrays.
    """
    if isinstance(tss, pd.DataFrame):
        pos = tss["tss"].to_numpy(dtype=np.int64)
        out = tss.copy()
        out.insert(out.columns.get_loc("chrom") + 1, "start", np.maximum(pos - flank, 0))
        out.insert(out.columns.get_loc("start") + 1, "end", pos + flank + 1)
        return out
    pos = np.asarray(list(tss) if not isinstance(tss, np.ndarray) else tss, dtype=np.int64)
    return np.maximum(pos - flank, 0), pos + flank + 1


def _finish(
    df: pd.DataFrame,
    path: Path,
    chrom_sizes: ChromSizes,
    unknown_chroms: str,
    deduplicate: bool = True,
) -> pd.DataFrame:
    """Harmonise chromosome names, deduplicate TSSs and sort into the common layout."""
    df = df[COLUMNS].copy()
    df["tss"] = df["tss"].astype(np.int64)
    if chrom_sizes is not None and len(df):
        if isinstance(chrom_sizes, Genome):
            sizes = dict(chrom_sizes.chrom_sizes)
        elif isinstance(chrom_sizes, (str, Path)):
            sizes = read_chrom_sizes(chrom_sizes)
        else:
            sizes = dict(chrom_sizes)
        if unknown_chroms not in ("error", "drop"):
            raise ValueError(f"unknown_chroms must be 'error' or 'drop', not {unknown_chroms!r}")
        mapping = harmonise_chroms(
            df["chrom"].unique(), sizes, source=path, strict=unknown_chroms == "error"
        )
        known = df["chrom"].isin(list(mapping))
        if not known.all():
            log.info("%s: dropped %d TSSs on chromosomes not in the genome", path, (~known).sum())
            df = df[known]
        df["chrom"] = df["chrom"].map(mapping)
        past = df["tss"].to_numpy() >= df["chrom"].map(sizes).to_numpy()
        if past.any():
            row = df[past].iloc[0]
            raise InputError(
                f"TSS {row['chrom']}:{row['tss']} of {row['gene_name']} lies beyond the "
                f"chromosome end ({int(past.sum())} TSSs affected; wrong genome build?)",
                path=path,
            )
    if deduplicate:
        before = len(df)
        df = df.drop_duplicates(["gene_id", "chrom", "tss", "strand"], keep="first")
        if len(df) < before:
            log.info("%s: %d transcripts share a gene's TSS; kept one each", path, before - len(df))
    if len(df):
        order = {c: i for i, c in enumerate(sorted(df["chrom"].unique(), key=chrom_sort_key))}
        df = df.assign(_rank=df["chrom"].map(order))
        df = df.sort_values(["_rank", "tss", "gene_id", "transcript_id"], kind="stable")
        df = df.drop(columns="_rank")
    return df.reset_index(drop=True)


def _coordinates(fields: list[str], column: int, path: Path, line: int) -> tuple[int, int]:
    """Start and end from ``fields[column]`` and the next field, or an error naming the line."""
    try:
        return int(fields[column]), int(fields[column + 1])
    except ValueError:
        raise InputError(
            f"start/end {fields[column]!r}/{fields[column + 1]!r} are not integers",
            path=path,
            line=line,
        ) from None


def _parse_attributes(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR.finditer(text):
        key = match.group(1)
        if key not in attrs:  # repeated keys (tag) keep the first value
            attrs[key] = match.group(2) if match.group(2) is not None else match.group(3)
    return attrs


def read_gtf(
    path: str | Path,
    feature: str = "transcript",
    gene_types: Iterable[str] | None = None,
    chrom_sizes: ChromSizes = None,
    unknown_chroms: str = "error",
    deduplicate: bool = True,
) -> pd.DataFrame:
    """TSS table from a GENCODE or Ensembl GTF (gzip or plain), streamed line by line.

    One row per ``feature`` line ("transcript", or "gene" for one TSS per gene); genes with no
    such line fall back to their gene line. ``gene_types`` keeps only those types (GENCODE
    gene_type or Ensembl gene_biotype). Identical (gene_id, chrom, tss, strand) rows are merged
    unless ``deduplicate`` is False. ``chrom_sizes`` (dict, Genome or chrom.sizes path) renames
    chromosomes to the genome's spelling; unknown ones raise, or are dropped with
    ``unknown_chroms="drop"``.
    """
    path = Path(path)
    wanted = None if gene_types is None else set(gene_types)
    records: list[tuple] = []
    gene_lines: dict[str, tuple] = {}
    genes_with_feature: set[str] = set()
    with open_text(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            if raw.startswith("#") or not raw.strip():
                continue
            fields = raw.rstrip("\r\n").split("\t")
            if len(fields) != 9:
                raise InputError(
                    f"expected 9 tab-separated GTF columns, found {len(fields)}",
                    path=path,
                    line=lineno,
                )
            kind = fields[2]
            start, end = _coordinates(fields, 3, path, lineno)
            if start < 1 or end < start:
                raise InputError(
                    f"bad coordinates {start}-{end} (GTF is 1-based, start <= end)",
                    path=path,
                    line=lineno,
                )
            strand = fields[6]
            if strand not in ("+", "-", "."):
                raise InputError(
                    f"strand {strand!r} is not '+', '-' or '.'", path=path, line=lineno
                )
            if kind != feature and kind != "gene":
                continue
            if strand == ".":
                raise InputError(f"{kind} has no strand ('.')", path=path, line=lineno)
            attrs = _parse_attributes(fields[8])
            raw_id = attrs.get("gene_id")
            if not raw_id:
                raise InputError(f"{kind} line has no gene_id attribute", path=path, line=lineno)
            gene_id = strip_version(raw_id)
            gene_type = attrs.get("gene_type", attrs.get("gene_biotype", ""))
            if wanted is not None and gene_type not in wanted:
                continue
            tss = start - 1 if strand == "+" else end - 1
            record = (
                gene_id,
                attrs.get("gene_name", gene_id),
                gene_type,
                attrs.get("transcript_id", "") if kind != "gene" else "",
                fields[0],
                tss,
                strand,
            )
            if kind == feature:
                records.append(record)
                genes_with_feature.add(gene_id)
            else:
                gene_lines.setdefault(gene_id, record)
    fallback = [rec for gid, rec in gene_lines.items() if gid not in genes_with_feature]
    if fallback and feature != "gene":
        log.info("%s: %d genes without %s lines use their gene line", path, len(fallback), feature)
    records.extend(fallback if feature != "gene" else [])
    if not records:
        log.warning("%s: no %s or gene lines found", path, feature)
    df = pd.DataFrame.from_records(records, columns=COLUMNS)
    return _finish(df, path, chrom_sizes, unknown_chroms, deduplicate)


def read_gene_bed(
    path: str | Path,
    chrom_sizes: ChromSizes = None,
    unknown_chroms: str = "error",
) -> pd.DataFrame:
    """TSS table from a gene-bounds BED6+ (e.g. CollapsedGeneBounds): TSS = start (+), end-1 (-).

    A '#' header naming ``Ensembl_ID`` / ``gene_type`` columns is used when present; otherwise
    columns 7 and 8 are taken as gene id and type. gene_id falls back to the name column.
    """
    path = Path(path)
    header: list[str] | None = None
    records: list[tuple] = []
    with open_text(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith(("track", "browser")):
                continue
            if line.startswith("#"):
                header = [c.strip().lower() for c in line.lstrip("#").split("\t")]
                continue
            fields = line.split("\t")
            require_columns(fields, _GENE_BED_COLUMNS, path, lineno)
            start, end = _coordinates(fields, 1, path, lineno)
            if start < 0 or end <= start:
                raise InputError(
                    f"bad interval {start}-{end} (need 0 <= start < end)", path=path, line=lineno
                )
            strand = fields[5]
            if strand not in ("+", "-"):
                raise InputError(f"strand {strand!r} is not '+' or '-'", path=path, line=lineno)
            id_col, type_col = 6, 7
            if header is not None:
                id_col = next(
                    (i for i, c in enumerate(header) if c in ("ensembl_id", "gene_id")), -1
                )
                type_col = next(
                    (i for i, c in enumerate(header) if c in ("gene_type", "gene_biotype")), -1
                )
            name = fields[3]
            gene_id = fields[id_col] if 0 <= id_col < len(fields) and fields[id_col] else name
            gene_type = fields[type_col] if 0 <= type_col < len(fields) else ""
            tss = start if strand == "+" else end - 1
            records.append((strip_version(gene_id), name, gene_type, "", fields[0], tss, strand))
    df = pd.DataFrame.from_records(records, columns=COLUMNS)
    return _finish(df, path, chrom_sizes, unknown_chroms)


_ALIASES = {
    "chrom": ("chrom", "chromosome", "chr", "seqname", "seqnames"),
    "tss": ("tss", "start", "position", "pos"),
    "strand": ("strand",),
    "gene_name": ("gene_name", "gene", "name", "gene_symbol", "symbol"),
    "gene_id": ("gene_id", "ensembl_id"),
    "gene_type": ("gene_type", "gene_biotype", "biotype"),
    "transcript_id": ("transcript_id",),
}


def _is_arrow(path: Path) -> bool:
    if path.is_dir():
        raise InputError("is a folder, not an annotation file", path=path)
    with open(path, "rb") as handle:
        return handle.read(6) == b"ARROW1"


def is_get_tss_table(columns: Iterable[str], table: pd.DataFrame | None = None) -> bool:
    """True for GET's own GENCODE TSS table layout: Chromosome/Start/End/Strand with Start == End.

    In that table (pyranges style) '+' Start is the 0-based TSS but '-' Start is the 0-based
    TSS + 1 (the 1-based GTF end).
    """
    cols = set(columns)
    if not {"Chromosome", "Start", "End", "Strand"} <= cols:
        return False
    return table is None or bool((table["Start"] == table["End"]).all())


def read_tss_table(
    path: str | Path,
    minus_strand_shift: int | None = None,
    chrom_sizes: ChromSizes = None,
    unknown_chroms: str = "error",
) -> pd.DataFrame:
    """TSS table from a TSV/CSV (gzip or plain) or Arrow feather file.

    Columns are matched case-insensitively: chrom|Chromosome, tss|Start|position, strand|Strand,
    gene_name, and optional gene_id, gene_type, transcript_id. ``minus_strand_shift`` is
    subtracted from '-' strand positions to make them 0-based TSSs; the default (None) detects
    GET's table (:func:`is_get_tss_table`, whose '-' Start is TSS + 1) and uses 1 there, else 0.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("TSS table does not exist", path=path)
    is_feather = _is_arrow(path)
    try:
        if is_feather:
            table = pd.read_feather(path)
        else:
            with open_text(path) as handle:
                first = handle.readline()
            sep = "\t" if "\t" in first else ","
            with open_text(path) as handle:
                table = pd.read_csv(handle, sep=sep, dtype=str, keep_default_na=False)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError("TSS table is empty", path=path) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read TSS table: {exc}", path=path) from exc
    lower = {c.lower(): c for c in table.columns}
    found: dict[str, str] = {}
    for key, names in _ALIASES.items():
        for name in names:
            if name in lower:
                found[key] = lower[name]
                break
    missing = [k for k in ("chrom", "tss", "strand") if k not in found]
    if missing:
        raise InputError(
            f"TSS table lacks column(s) {missing}; found {list(table.columns)[:10]}", path=path
        )

    def where(i: int) -> dict:
        # text tables: header is line 1; feather has rows, not lines
        return {"line": i + 2} if not is_feather else {}

    def row_label(i: int) -> str:
        return f"row {i}: " if is_feather else ""

    pos = pd.to_numeric(table[found["tss"]], errors="coerce")
    bad = pos.isna() | (pos != pos.round())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{row_label(i)}TSS position {table[found['tss']].iloc[i]!r} is not an integer",
            path=path,
            **where(i),
        )
    pos = pos.astype(np.int64)
    strand = table[found["strand"]].astype(str)
    bad = ~strand.isin(["+", "-"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{row_label(i)}strand {strand.iloc[i]!r} is not '+' or '-'", path=path, **where(i)
        )
    if minus_strand_shift is None:
        minus_strand_shift = 1 if is_get_tss_table(table.columns, table) else 0
        if minus_strand_shift:
            log.info("%s: GET TSS table layout; '-' strand Start shifted by -1", path)
    pos = pos - np.where(strand.to_numpy() == "-", minus_strand_shift, 0)
    if (pos < 0).any():
        i = int(np.flatnonzero((pos < 0).to_numpy())[0])
        raise InputError(f"{row_label(i)}TSS position is negative", path=path, **where(i))
    n = len(table)
    gene_name = table[found["gene_name"]].astype(str) if "gene_name" in found else None
    gene_id = table[found["gene_id"]].astype(str).map(strip_version) if "gene_id" in found else None
    if gene_id is None and gene_name is None:
        raise InputError("TSS table needs a gene_name or gene_id column", path=path)
    df = pd.DataFrame(
        {
            "gene_id": gene_id if gene_id is not None else gene_name,
            "gene_name": gene_name if gene_name is not None else gene_id,
            "gene_type": table[found["gene_type"]].astype(str) if "gene_type" in found else "",
            "transcript_id": (
                table[found["transcript_id"]].astype(str) if "transcript_id" in found else ""
            ),
            "chrom": table[found["chrom"]].astype(str),
            "tss": pos,
            "strand": strand,
        },
        index=range(n),
    )
    return _finish(df, path, chrom_sizes, unknown_chroms)


def load_annotation(path: str | Path, **kwargs) -> pd.DataFrame:
    """Read any supported annotation into the TSS table, choosing the reader by suffix/content.

    .gtf[.gz] -> :func:`read_gtf`; .bed[.gz] -> :func:`read_gene_bed`; .tsv/.csv/.txt[.gz] and
    .feather -> :func:`read_tss_table`. Other names are sniffed from the first data line.
    Keyword arguments go to the chosen reader.
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bgz")]
    last = suffixes[-1] if suffixes else ""
    if last in (".gtf", ".gff2"):
        return read_gtf(path, **kwargs)
    if last == ".bed":
        return read_gene_bed(path, **kwargs)
    if last in (".tsv", ".csv", ".txt", ".feather", ".arrow"):
        return read_tss_table(path, **kwargs)
    if _is_arrow(path):
        return read_tss_table(path, **kwargs)
    with open_text(path) as handle:
        for raw in handle:
            if raw.startswith("#") or not raw.strip():
                continue
            fields = raw.rstrip("\r\n").split("\t")
            if len(fields) == 9 and fields[3].isdigit() and fields[4].isdigit():
                return read_gtf(path, **kwargs)
            if len(fields) >= 6 and fields[1].isdigit() and fields[2].isdigit():
                return read_gene_bed(path, **kwargs)
            return read_tss_table(path, **kwargs)
    raise InputError("annotation file is empty", path=path)
