"""Gene expression per cell type: ready-made gene tables, and pseudobulks from single-cell counts.

- :func:`read_gene_table`: a gene -> value table (CSV/TSV, gz ok), e.g. a pseudobulk that GET
  used as given (its values are already log10(CPM + 1)-like).
- :func:`read_pseudobulk`: sum single-cell UMI counts per cell type
  from a genes x cells CSV/TSV, an ``.h5ad``, a 10x MTX directory or a 10x ``.h5``, and return
  GET's expression scale ``log10(CPM + 1)`` (CPM = count / total * 1e6 per cell type) with the
  raw summed counts kept.
- :func:`match_genes`: which genes the annotation knows, by Ensembl id (versions stripped,
  :mod:`getx.io.gene_ids`) or name.

Cells are grouped into cell types by :mod:`getx.io.cells` (shared with accessibility).

Expression tables are indexed by gene (name ``gene``); pseudobulk tables have one column per
cell type (columns name ``cell_type``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.cells import CellTypes, cell_type_codes, cell_type_indicator, cell_type_mapping
from getx.io.files import (
    TextInput,
    is_gzipped,
    open_text,
    read_string_table,
    sniff_separator,
)
from getx.io.gene_ids import strip_versions
from getx.io.h5ad import read_h5ad

if TYPE_CHECKING:
    import scipy.sparse as sp

log = logging.getLogger(__name__)

_GENE_COLUMNS = (
    "gene_name",
    "gene_id",
    "gene",
    "gene_symbol",
    "symbol",
    "name",
    "id",
    "ensembl_id",
)
_VALUE_COLUMNS = ("tpm", "cpm", "value", "expression", "exp", "count", "counts", "fpkm", "rpkm")


# --------------------------------------------------------------------------------------------
# Gene tables


def _pick_column(columns: list[str], wanted: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for name in wanted:
        if name in lower:
            return lower[name]
    return None


def read_gene_table(
    path: str | Path,
    gene_column: str | None = None,
    value_column: str | None = None,
    transform: str = "none",
) -> pd.Series:
    """Gene -> value Series (float64, index ``gene``) from a CSV/TSV table with a header.

    Defaults: the gene column is the first named like gene_name/gene_id/gene/symbol (else the
    first column); the value column is the first named like TPM/value/expression/count (else
    the first other column). Versioned Ensembl ids are stripped of their version. Genes listed
    more than once keep their largest value (the values may already be log-scaled, so summing
    or averaging would be wrong; a duplicate is usually a second id mapping to the same name),
    and the duplicates are logged. A value that is not a finite number (NaN, inf, NA) or is
    negative is an :class:`InputError` naming the line: GET reads non-negative expression
    (log10(TPM + 1)), and a z-score or log ratio would be silently wrong. ``transform``:
    ``"none"`` (values as given, as GET used them), ``"log10cpm"`` (log10(x / sum * 1e6 + 1))
    or ``"log1p"`` (natural log(x + 1)).
    """
    path = Path(path)
    if transform not in ("none", "log10cpm", "log1p"):
        raise InputError(f"transform must be 'none', 'log10cpm' or 'log1p', not {transform!r}")
    sep = sniff_separator(path)
    table = read_string_table(path, sep=sep)
    columns = [str(c) for c in table.columns]
    if not columns:
        raise InputError("no header line with column names", path, 1)
    gene_column = gene_column or _pick_column(columns, _GENE_COLUMNS) or columns[0]
    if gene_column not in columns:
        raise InputError(f"no column {gene_column!r} (columns: {columns})", path, 1)
    others = [c for c in columns if c != gene_column]
    value_column = (
        value_column or _pick_column(others, _VALUE_COLUMNS) or (others[0] if others else None)
    )
    if value_column is None or value_column not in columns:
        raise InputError(f"no value column {value_column!r} (columns: {columns})", path, 1)
    lines = np.arange(len(table)) + 2
    blank = table.isna().all(axis=1).to_numpy()
    table, lines = table.loc[~blank], lines[~blank]
    if table.empty:
        raise InputError("no genes", path)
    genes = table[gene_column]
    if genes.isna().any():
        raise InputError(
            "missing gene", path, int(lines[np.flatnonzero(genes.isna().to_numpy())[0]])
        )
    values = pd.to_numeric(table[value_column], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{value_column} {table[value_column].iloc[i]!r} is not a finite number",
            path,
            int(lines[i]),
        )
    if (values < 0).any():
        i = int(np.flatnonzero(values < 0)[0])
        raise InputError(
            f"{value_column} {table[value_column].iloc[i]} of gene {genes.iloc[i]} is negative: "
            "expression must be 0 or more (TPM, counts or log10(TPM + 1); not z-scores or "
            "log ratios)",
            path,
            int(lines[i]),
        )
    series = pd.Series(
        values,
        index=pd.Index(strip_versions(genes.str.strip()), name="gene"),
        name=value_column,
    )
    dup = series.index.duplicated(keep=False)
    if dup.any():
        names = series.index[dup].unique()
        log.warning(
            "%s: %d gene(s) listed more than once (e.g. %s); keeping the largest value",
            path,
            len(names),
            list(names[:5]),
        )
        series = series.groupby(level=0, sort=False).max()
    if transform == "log10cpm":
        total = series.sum()
        if total <= 0:
            raise InputError(f"{value_column} sums to zero; cannot compute CPM", path)
        series = np.log10(series / total * 1e6 + 1.0)
    elif transform == "log1p":
        series = np.log1p(series)
    return series


# --------------------------------------------------------------------------------------------
# Pseudobulk from single-cell counts


@dataclass
class Pseudobulk:
    """Summed single-cell counts per cell type.

    ``counts``: genes x cell types (float64 raw UMI sums; index ``gene``, columns ``cell_type``).
    ``n_cells``: cells summed per cell type. ``log10cpm``: GET's expression scale.
    """

    counts: pd.DataFrame
    n_cells: pd.Series
    source: Path

    @property
    def log10cpm(self) -> pd.DataFrame:
        return log10_cpm(self.counts, self.source)


def log10_cpm(counts: pd.DataFrame, source: str | Path | None = None) -> pd.DataFrame:
    """``log10(count / total * 1e6 + 1)`` per column; a zero-total column is an InputError."""
    total = counts.sum(axis=0)
    if (total <= 0).any():
        bad = total.index[(total <= 0).to_numpy()][0]
        raise InputError(f"cell type {bad!r} has no counts; cannot compute CPM", source)
    return np.log10(counts / total * 1e6 + 1.0)


def read_pseudobulk(
    path: str | Path,
    cell_types: CellTypes | None = None,
    *,
    name: str | None = None,
    cell_type_column: str | None = None,
    layer: str | None = None,
    gene_ids: bool = False,
) -> Pseudobulk:
    """Sum single-cell counts per cell type.

    ``path``: a genes x cells CSV/TSV (gz ok; first column gene, header = barcodes), an
    ``.h5ad`` (cells x genes; ``layer`` picks a layer instead of X), a 10x MTX directory
    (matrix.mtx[.gz], features.tsv[.gz] or genes.tsv[.gz], barcodes.tsv[.gz]) or a 10x ``.h5``.
    10x inputs keep only "Gene Expression" features and are indexed by gene name (by feature
    id with ``gene_ids=True``); rows sharing a gene are summed (UMI counts add up).
    ``cell_types``: None (all cells form one pseudobulk named ``name`` or the file stem), or a
    barcode -> cell type mapping or table path (:func:`getx.io.cells.read_cell_type_table`);
    for ``.h5ad``, ``cell_type_column`` in obs may be given instead. Cells without a cell type
    are ignored.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or directory", path)
    if path.is_dir():
        reader = _read_mtx_dir
    elif path.suffix == ".h5ad":
        reader = _read_h5ad
    elif path.suffix == ".h5":
        reader = _read_10x_h5
    else:
        reader = _read_text_matrix
    if cell_type_column is not None and reader is not _read_h5ad:
        raise InputError("cell_type_column applies to .h5ad input only; pass cell_types", path)
    default_name = name or _stem(path)
    grouping = _Grouping(
        path,
        None if cell_types is None else cell_type_mapping(cell_types),
        default_name,
        cell_type_column,
    )
    counts = reader(path, grouping, layer=layer, gene_ids=gene_ids)
    counts.columns = pd.Index(grouping.names, name="cell_type")
    counts.index.name = "gene"
    if counts.index.duplicated().any():
        n = int(counts.index.duplicated().sum())
        log.info("%s: %d duplicate gene row(s) summed", path, n)
        counts = counts.groupby(level=0, sort=False).sum()
    n_cells = pd.Series(grouping.n_cells, index=counts.columns, name="n_cells")
    for ct in counts.columns:
        log.info("%s: cell type %s: %d cells, %d counts", path, ct, n_cells[ct], counts[ct].sum())
    empty = counts.columns[(counts.sum(axis=0) <= 0).to_numpy()]
    if len(empty):
        raise InputError(f"cell type {empty[0]!r} has no counts (empty matrix?)", path)
    return Pseudobulk(counts=counts, n_cells=n_cells, source=path)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".bgz", ".csv", ".tsv", ".txt", ".h5ad", ".h5"):
        name = name.removesuffix(suffix)
    return name


@dataclass
class _Grouping:
    """Assigns cells (by barcode) to cell types; filled in by the reader once barcodes are known."""

    path: Path
    mapping: pd.Series | None
    default_name: str
    cell_type_column: str | None
    names: list[str] = field(default_factory=list)
    n_cells: list[int] = field(default_factory=list)

    def codes(self, barcodes: pd.Index, labels: pd.Series | None = None) -> np.ndarray:
        """Cell-type index per cell (-1: ignored); sets ``names`` and ``n_cells``."""
        barcodes = pd.Index(barcodes).astype(str)
        if len(barcodes) == 0:
            raise InputError("no cells (empty matrix)", self.path)
        dup = barcodes.duplicated()
        if dup.any():
            raise InputError(f"barcode {barcodes[dup][0]!r} appears more than once", self.path)
        if labels is None and self.mapping is None:
            self.names = [self.default_name]
            self.n_cells = [len(barcodes)]
            return np.zeros(len(barcodes), dtype=np.int64)
        if labels is None:
            labels = self.mapping.reindex(barcodes)
            n_unlisted = int(labels.isna().sum())
            if n_unlisted:
                log.info(
                    "%s: %d of %d cells are not in the cell-type table and are ignored",
                    self.path,
                    n_unlisted,
                    len(barcodes),
                )
            n_absent = int((~self.mapping.index.isin(barcodes)).sum())
            if n_absent:
                log.info(
                    "%s: %d barcodes of the cell-type table are not in the matrix",
                    self.path,
                    n_absent,
                )
        names, codes = cell_type_codes(labels)
        if not names:
            raise InputError(
                "no cell of the matrix has a cell type (do the barcodes match?)", self.path
            )
        self.names = names
        self.n_cells = np.bincount(codes[codes >= 0], minlength=len(names)).tolist()
        return codes

    def indicator(self, codes: np.ndarray):
        """Sparse cells x cell types 0/1 matrix."""
        return cell_type_indicator(codes, len(self.names))


def _read_text_matrix(
    path: Path, grouping: _Grouping, *, layer=None, gene_ids=False, chunksize=8192
) -> pd.DataFrame:
    if layer is not None:
        raise InputError("layer applies to .h5ad input only", path)
    sep = sniff_separator(path)
    with open_text(path) as handle:
        header = handle.readline().rstrip("\r\n").split(sep)
        first_row = handle.readline().rstrip("\r\n").split(sep)
    if len(first_row) == len(header) + 1:
        # R's write.table(row.names=TRUE) omits the corner field: every header field is a barcode.
        header = ["", *header]
    barcodes = [b.strip().strip('"') for b in header[1:]]
    codes = grouping.codes(pd.Index(barcodes))
    G = grouping.indicator(codes)
    n_cols = len(header)
    dtype = {0: str, **{j: np.float32 for j in range(1, n_cols)}}
    kwargs = dict(
        sep=sep, header=None, skiprows=1, dtype=dtype, skip_blank_lines=False, na_filter=True
    )
    with open_text(path) as handle:
        return _sum_text_rows(path, handle, sep, barcodes, G, chunksize, kwargs)


def _sum_text_rows(
    path: Path,
    handle: TextInput,
    sep: str,
    barcodes: list[str],
    G: sp.csr_matrix,
    chunksize: int,
    kwargs: dict,
) -> pd.DataFrame:
    """Genes x cell types sums of a genes x cells text matrix read in chunks from ``handle``."""
    genes, sums = [], []
    rows_done = 0
    try:
        reader = pd.read_csv(handle, chunksize=chunksize, **kwargs)
    except pd.errors.EmptyDataError:
        raise InputError("no genes (empty matrix)", path) from None
    while True:
        try:
            chunk = next(reader)
        except StopIteration:
            break
        except InputError:
            raise
        except ValueError as err:  # a non-numeric count: find its line by re-reading as text
            _raise_bad_cell(path, sep, rows_done, chunksize, err)
        lines = np.arange(len(chunk)) + rows_done + 2
        rows_done += len(chunk)
        values = chunk.iloc[:, 1:].to_numpy(np.float32)
        gene = chunk[0]
        blank = gene.isna().to_numpy() & np.isnan(values).all(axis=1)
        if blank.any():
            values, gene, lines = values[~blank], gene[~blank], lines[~blank]
        if gene.isna().any():
            raise InputError(
                "missing gene name", path, int(lines[np.flatnonzero(gene.isna().to_numpy())[0]])
            )
        if values.shape[1] != len(barcodes):
            raise InputError(f"expected {len(barcodes)} counts per line", path, int(lines[0]))
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(
                f"count {values[i, j]} for cell {barcodes[j]!r} is missing or negative",
                path,
                int(lines[i]),
            )
        genes.append(gene.str.strip().to_numpy())
        sums.append(np.asarray(G.T @ values.T.astype(np.float64)).T)
    if not genes:
        raise InputError("no genes (empty matrix)", path)
    return pd.DataFrame(np.vstack(sums), index=pd.Index(np.concatenate(genes)))


def _raise_bad_cell(path: Path, sep: str, rows_done: int, chunksize: int, err: Exception):
    try:
        with open_text(path) as handle:
            text = pd.read_csv(
                handle,
                sep=sep,
                header=None,
                skiprows=1 + rows_done,
                nrows=chunksize,
                dtype=str,
                skip_blank_lines=False,
                keep_default_na=False,
            )
    except pd.errors.ParserError as perr:
        raise InputError(f"malformed matrix: {perr}", path) from None
    values = text.iloc[:, 1:]
    numeric = values.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy() & (values.to_numpy() != "")
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"count {values.iat[i, j]!r} is not a number", path, rows_done + 2 + int(i)
        ) from None
    raise InputError(f"malformed matrix: {err}", path) from None


def _read_h5ad(path: Path, grouping: _Grouping, *, layer=None, gene_ids=False) -> pd.DataFrame:
    import scipy.sparse as sp

    adata = read_h5ad(path)
    X = adata.X if layer is None else adata.layers.get(layer)
    if X is None:
        raise InputError(f"no {'X' if layer is None else 'layer ' + repr(layer)} matrix", path)
    labels = None
    if grouping.cell_type_column is not None:
        if grouping.cell_type_column not in adata.obs.columns:
            raise InputError(
                f"no obs column {grouping.cell_type_column!r}"
                f" (obs columns: {list(adata.obs.columns)})",
                path,
            )
        labels = (
            adata.obs[grouping.cell_type_column]
            .astype(object)
            .where(adata.obs[grouping.cell_type_column].notna(), None)
        )
        labels.index = labels.index.astype(str)
    codes = grouping.codes(adata.obs_names, labels)
    summed = grouping.indicator(codes).T @ X  # cell types x genes
    summed = summed.toarray() if sp.issparse(summed) else np.asarray(summed)
    _check_counts(summed, path)
    genes = adata.var_names
    if gene_ids and "gene_ids" in adata.var.columns:
        genes = pd.Index(adata.var["gene_ids"].astype(str))
    if len(genes) == 0:
        raise InputError("no genes (empty matrix)", path)
    return pd.DataFrame(summed.T.astype(np.float64), index=pd.Index(genes.astype(str)))


def _check_counts(summed: np.ndarray, path: Path) -> None:
    """Summed counts must be finite and non-negative (a NaN or a negative count in any cell
    shows in its cell type's sum)."""
    if not np.isfinite(summed).all():
        raise InputError("counts include NaN or infinite values", path)
    if (summed < 0).any():
        raise InputError("negative counts", path)


def _find(directory: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        for candidate in (directory / name, directory / (name + ".gz")):
            if candidate.exists():
                return candidate
    raise InputError(f"10x MTX directory lacks {' or '.join(names)}[.gz]", directory)


def _read_mtx_dir(path: Path, grouping: _Grouping, *, layer=None, gene_ids=False) -> pd.DataFrame:
    import gzip

    import scipy.io
    import scipy.sparse as sp

    if layer is not None:
        raise InputError("layer applies to .h5ad input only", path)
    matrix_path = _find(path, ("matrix.mtx",))
    features_path = _find(path, ("features.tsv", "genes.tsv"))
    barcodes_path = _find(path, ("barcodes.tsv",))
    features = read_string_table(features_path, sep="\t", header=None)
    barcodes = read_string_table(barcodes_path, sep="\t", header=None)
    for table, what in ((features, features_path), (barcodes, barcodes_path)):
        if table.empty:
            raise InputError("empty file", what)
        blank = table[0].isna().to_numpy()
        if blank.any():
            raise InputError("missing name", what, int(np.flatnonzero(blank)[0]) + 1)
    barcodes = barcodes[0]
    opener = gzip.open if is_gzipped(matrix_path) else open
    try:
        with opener(matrix_path, "rb") as handle:
            X = sp.csr_matrix(scipy.io.mmread(handle))
    except Exception as err:  # scipy raises ValueError/others for malformed MatrixMarket
        raise InputError(f"cannot read MatrixMarket: {err}", matrix_path) from None
    if X.shape != (len(features), len(barcodes)):
        raise InputError(
            f"matrix is {X.shape[0]} x {X.shape[1]} but there are {len(features)} features "
            f"and {len(barcodes)} barcodes",
            matrix_path,
        )
    ids = features[0].to_numpy()
    names = features[1].to_numpy() if features.shape[1] > 1 else ids
    types = features[2].to_numpy() if features.shape[1] > 2 else None
    return _sum_10x(path, grouping, X, ids, names, types, pd.Index(barcodes), gene_ids)


def _read_10x_h5(path: Path, grouping: _Grouping, *, layer=None, gene_ids=False) -> pd.DataFrame:
    import h5py
    import scipy.sparse as sp

    if layer is not None:
        raise InputError("layer applies to .h5ad input only", path)

    def text(ds) -> np.ndarray:
        return np.array(
            [v.decode() if isinstance(v, bytes) else str(v) for v in ds[()]], dtype=object
        )

    try:
        with h5py.File(path, "r") as h5:
            if "matrix" in h5:  # Cell Ranger >= 3
                group = h5["matrix"]
                feats = group["features"]
                ids, names = text(feats["id"]), text(feats["name"])
                types = text(feats["feature_type"]) if "feature_type" in feats else None
            else:  # Cell Ranger 2: one group per genome
                group = h5[next(iter(h5.keys()))]
                ids, names, types = text(group["genes"]), text(group["gene_names"]), None
            n_rows, n_cols = (int(v) for v in group["shape"][()])
            X = sp.csc_matrix(
                (group["data"][()], group["indices"][()], group["indptr"][()]),
                shape=(n_rows, n_cols),
            )
            barcodes = pd.Index(text(group["barcodes"]))
    except (OSError, KeyError, ValueError, StopIteration) as err:
        raise InputError(f"not a 10x HDF5 matrix: {err!r}", path) from None
    return _sum_10x(path, grouping, X, ids, names, types, barcodes, gene_ids)


def _sum_10x(path, grouping, X, ids, names, types, barcodes, gene_ids) -> pd.DataFrame:
    """Genes x cells sparse counts -> genes x cell types, Gene Expression features only."""
    if types is not None:
        keep = types == "Gene Expression"
        if not keep.all():
            log.info("%s: kept %d Gene Expression features of %d", path, int(keep.sum()), len(keep))
        X, ids, names = X[np.flatnonzero(keep)], ids[keep], names[keep]
    if X.shape[0] == 0:
        raise InputError("no Gene Expression features (empty matrix)", path)
    codes = grouping.codes(barcodes)
    summed = X @ grouping.indicator(codes)
    summed = summed.toarray() if hasattr(summed, "toarray") else np.asarray(summed)
    _check_counts(summed, path)
    genes = ids if gene_ids else names
    return pd.DataFrame(summed.astype(np.float64), index=pd.Index(genes.astype(str)))


# --------------------------------------------------------------------------------------------
# Gene matching


@dataclass
class MatchReport:
    """How a list of genes matches an annotation.

    ``mapping``: Series indexed by the matched input genes, values the annotation ``gene_id``
    (as written in the annotation). ``n_by_id``: matched by version-stripped Ensembl id;
    ``n_by_name``: the rest matched by gene name (first annotation gene of that name).
    """

    n_genes: int
    n_matched: int
    n_by_id: int
    n_by_name: int
    unmatched_examples: list[str]
    mapping: pd.Series

    @property
    def n_unmatched(self) -> int:
        return self.n_genes - self.n_matched


def match_genes(genes: pd.Index, annotation: pd.DataFrame, n_examples: int = 10) -> MatchReport:
    """Match genes (names or Ensembl ids, versioned or not) to ``annotation[gene_id, gene_name]``.

    An Ensembl id matches on its version-stripped form; otherwise the name is looked up in
    ``gene_name`` (exact, case-sensitive), taking the first annotation gene when a name has
    several ids (the count of such names is logged).
    """
    for col in ("gene_id", "gene_name"):
        if col not in annotation.columns:
            raise InputError(f"annotation lacks column {col!r}")
    genes = pd.Index(genes).astype(str)
    ann = annotation[["gene_id", "gene_name"]].dropna().astype(str).drop_duplicates()
    by_id = pd.Series(ann["gene_id"].to_numpy(), index=strip_versions(ann["gene_id"]))
    by_id = by_id[~by_id.index.duplicated()]
    names = ann.drop_duplicates("gene_id")
    ambiguous = names["gene_name"].duplicated(keep=False)
    if ambiguous.any():
        log.info(
            "%d annotation gene names have several gene ids; the first is used",
            names.loc[ambiguous, "gene_name"].nunique(),
        )
    by_name = pd.Series(names["gene_id"].to_numpy(), index=names["gene_name"].to_numpy())
    by_name = by_name[~by_name.index.duplicated()]

    stripped = strip_versions(genes)
    id_hit = by_id.reindex(stripped).to_numpy()
    name_hit = by_name.reindex(genes).to_numpy()
    has_id = pd.notna(id_hit)
    result = np.where(has_id, id_hit, name_hit)
    matched = pd.notna(result)
    mapping = pd.Series(result[matched], index=genes[matched], name="gene_id", dtype=object)
    report = MatchReport(
        n_genes=len(genes),
        n_matched=int(matched.sum()),
        n_by_id=int(has_id.sum()),
        n_by_name=int((matched & ~has_id).sum()),
        unmatched_examples=list(genes[~matched][:n_examples]),
        mapping=mapping,
    )
    log.info(
        "%d of %d genes matched the annotation (%d by id, %d by name)",
        report.n_matched,
        report.n_genes,
        report.n_by_id,
        report.n_by_name,
    )
    return report
