"""Gradient x input importance: which regions and which motif features drive each gene.

For every target (TSS region, strand; see :mod:`getx.interpret.context`) the gradient of the
predicted expression at the TSS position on the gene's strand with respect to the whole window
input (R regions x F motif features + accessibility), times the input, as GET computed it. From
it, per target:

* ``region`` (N, R): summed |g x| over the features of each window region (motifs and
  accessibility), ``region_signed`` (N, R) the signed sum, and ``accessibility`` (N, R) the
  accessibility term alone;
* ``motif`` (N, F): the signed sum over the window's regions of each motif feature's term, and
  ``motif_abs`` (N, F) the summed |.|.

Per gene (over its TSS rows, usually one) :meth:`Importance.gene_motif` averages ``motif``: the
gene x motif matrix (GET's input of the causal network). Per accessible region,
:meth:`Importance.region_motif` sums each motif feature's term over the targets whose windows
hold the region: the region x motif matrix, where motifs that act together in the same elements
co-vary (the summed gene matrix mixes each gene's many regions, and loses that; see
docs/interpret.md). :func:`write_importance` stores one or more cell
types as a zarr v3 store (layout in docs/format.md), replacing any store at that path whole;
:func:`read_importance` reads it back; :func:`write_bedgraphs` writes a gene's region importance
as a bedGraph track.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.interpret.context import CellTypeContext, Progress, Targets, cell_type_context, gradients
from getx.io.checked_zarr import array_manifest, open_checked
from getx.io.files import atomic_output, folder_of, table_kind, text_kind, zarr_kind

log = logging.getLogger(__name__)

FORMAT = "getx-importance"
SCHEMA_VERSION = 2  # 2: the ``arrays`` manifest (getx.io.checked_zarr)
IMPORTANCE_KIND = zarr_kind("importance store", FORMAT)
BEDGRAPH_KIND = text_kind("importance bedGraph", "track type=bedGraph", "getx region importance")
BEDGRAPH_FOLDER_KIND = folder_of("bedGraph folder", {"*": BEDGRAPH_KIND})


def gene_motif_kind(feature_names: list[str]) -> Any:
    """The gene x motif table of a model with these motif features (``getx interpret
    --gene-motif-tsv``)."""
    return table_kind("gene x motif table", ["gene_id", *feature_names])


_IMPORTANCE_ARRAYS = ("region", "region_signed", "accessibility", "motif", "motif_abs")


@dataclass
class Importance:
    """Gradient x input importance of one cell type; arrays have one row per target."""

    cell_type: str
    feature_names: list[str]
    genes: pd.DataFrame  # gene_id, gene_name, strand ('+'/'-'), region, target
    targets: Targets
    predicted: np.ndarray  # (N,) float32 prediction at the TSS on its strand
    region: np.ndarray  # (N, R) float32 summed |grad x input| per window region
    region_signed: np.ndarray  # (N, R) float32 signed sum
    accessibility: np.ndarray  # (N, R) float32 the accessibility term
    motif: np.ndarray  # (N, F) float32 signed sum over regions per motif feature
    motif_abs: np.ndarray  # (N, F) float32 summed |.| over regions
    # (M,) int64 store rows of the accessible regions in any window and (M, F) float32 each motif
    # feature's term summed over the targets whose windows hold them; None when read from a
    # store written before getx kept it
    region_motif_rows: np.ndarray | None = None
    region_motif_values: np.ndarray | None = None

    def gene_motif(self) -> pd.DataFrame:
        """Genes (gene_id index, in first-seen order) x motif features: the mean of ``motif``
        over each gene's TSS rows."""
        ids = self.genes["gene_id"].to_numpy()
        unique, first, code = np.unique(ids, return_index=True, return_inverse=True)
        sums = np.zeros((len(unique), self.motif.shape[1]))
        np.add.at(sums, code, self.motif[self.genes["target"].to_numpy()])
        means = sums / np.bincount(code)[:, None]
        order = np.argsort(first)
        return pd.DataFrame(
            means[order].astype(np.float32),
            index=pd.Index(unique[order], name="gene_id"),
            columns=self.feature_names,
        )

    def region_motif(self) -> pd.DataFrame:
        """Accessible regions (store row index, in genome order) x motif features: each motif
        feature's gradient x input term summed over the targets whose windows hold the region."""
        if self.region_motif_values is None:
            raise InputError(
                f"this importance of {self.cell_type} has no region x motif matrix (written by "
                "an older getx): run `getx interpret` again"
            )
        return pd.DataFrame(
            self.region_motif_values,
            index=pd.Index(self.region_motif_rows, name="region"),
            columns=self.feature_names,
        )

    def gene_regions(self, gene: str, store: Any) -> pd.DataFrame:
        """Region importance of ``gene`` (id or name) summed over its TSS rows: one row per store
        region in any of its windows (chrom, start, end, region, importance, signed,
        accessibility), in genome order."""
        rows = self.genes[(self.genes["gene_id"] == gene) | (self.genes["gene_name"] == gene)]
        if rows.empty:
            raise InputError(f"gene {gene!r} has no importance in {self.cell_type}")
        targets = np.unique(rows["target"].to_numpy())
        window = self.targets.rows[targets].ravel()
        valid = window >= 0
        table = pd.DataFrame(
            {
                "region": window[valid],
                "importance": self.region[targets].ravel()[valid],
                "signed": self.region_signed[targets].ravel()[valid],
                "accessibility": self.accessibility[targets].ravel()[valid],
            }
        )
        table = table.groupby("region", as_index=False).sum()
        regions = store.regions
        table.insert(0, "end", regions["end"].to_numpy()[table["region"]])
        table.insert(0, "start", regions["start"].to_numpy()[table["region"]])
        table.insert(0, "chrom", regions["chrom"].to_numpy()[table["region"]])
        return table


def importance_of(
    context: CellTypeContext,
    batch_size: int = 32,
    device: str | None = None,
    progress: Progress | None = None,
) -> Importance:
    """Gradient x input importance of every target of ``context``, batched."""
    targets = context.targets
    N, R = targets.rows.shape
    F = context.inputs.features.shape[1]
    out = {
        "predicted": np.zeros(N, np.float32),
        "region": np.zeros((N, R), np.float32),
        "region_signed": np.zeros((N, R), np.float32),
        "accessibility": np.zeros((N, R), np.float32),
        "motif": np.zeros((N, F), np.float32),
        "motif_abs": np.zeros((N, F), np.float32),
    }
    accessible = (targets.rows >= 0) & context.inputs.accessible[np.maximum(targets.rows, 0)]
    by_region = np.zeros((len(context.inputs.accessible), F), np.float64)
    for part, x, grad, y in gradients(
        context.predictor, context.inputs, targets, batch_size, device, progress
    ):
        term = grad * x
        item, position = np.nonzero(accessible[part])
        np.add.at(by_region, targets.rows[part][item, position], term[item, position, :F])
        out["predicted"][part] = y
        out["region"][part] = np.abs(term).sum(axis=2)
        out["region_signed"][part] = term.sum(axis=2)
        out["accessibility"][part] = term[:, :, F]
        out["motif"][part] = term[:, :, :F].sum(axis=1)
        out["motif_abs"][part] = np.abs(term[:, :, :F]).sum(axis=1)
    rows = np.unique(targets.rows[accessible])
    return Importance(
        context.cell_type,
        list(context.store.feature_names),
        context.genes,
        targets,
        **out,
        region_motif_rows=rows,
        region_motif_values=by_region[rows].astype(np.float32),
    )


def importance(
    predictor: Any,
    store: Any,
    cell_type: str,
    genes: list[str] | None = None,
    *,
    batch_size: int = 32,
    device: str | None = None,
    progress: Progress | None = None,
) -> Importance:
    """Gradient x input importance for ``genes`` (ids or names; None: every gene with an
    accessible TSS region in ``cell_type``). ``progress(done, total)`` counts targets."""
    context = cell_type_context(predictor, store, cell_type, genes)
    return importance_of(context, batch_size, device, progress)


def file_checksum(path: str | Path) -> str:
    """sha256 of a file, or of a directory (every file's relative path and bytes, in order)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _array(group: Any, name: str, values: np.ndarray) -> None:
    values = np.asarray(values)
    dtype = str if values.dtype.kind in "OUS" else values.dtype
    chunks = (min(max(values.shape[0], 1), 4096), *values.shape[1:]) if values.ndim else None
    array = group.create_array(name, shape=values.shape, dtype=dtype, chunks=chunks)
    if values.size:
        array[...] = values.astype(str) if dtype is str else values


def write_importance(
    path: str | Path, results: list[Importance], run: str | Path, store: Any
) -> Path:
    """Write the importance of one or more cell types to a zarr v3 store at ``path``, atomically
    replacing an earlier importance store there (never appending; anything else is refused);
    ``run`` is the checkpoint they came from."""
    import zarr

    import getx

    if not results:
        raise InputError("nothing to write: no cell type was interpreted")
    path = Path(path)
    with atomic_output(path, IMPORTANCE_KIND) as tmp:
        root = zarr.open_group(tmp, mode="w", zarr_format=3)
        root.attrs.update(
            {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "getx_version": getx.__version__,
                "feature_names": list(results[0].feature_names),
                "cell_types": [r.cell_type for r in results],
                "run": str(run),
                "run_checksum": file_checksum(run),
                "store": str(store.path),
                "store_checksum": file_checksum(store.path),
                "method": "gradient x input at each TSS position on the gene's strand",
            }
        )
        for result in results:
            group = root.create_group(f"cell_types/{result.cell_type}")
            targets = group.create_group("targets")
            _array(targets, "region", result.targets.region.astype(np.int64))
            _array(targets, "strand", result.targets.strand.astype(np.int8))
            _array(targets, "window", result.targets.rows.astype(np.int64))
            _array(targets, "focus", result.targets.focus.astype(np.int64))
            _array(targets, "predicted", result.predicted.astype(np.float32))
            values = group.create_group("importance")
            for name in _IMPORTANCE_ARRAYS:
                _array(values, name, getattr(result, name).astype(np.float32))
            genes = group.create_group("genes")
            _array(genes, "gene_id", result.genes["gene_id"].astype(str).to_numpy())
            _array(genes, "gene_name", result.genes["gene_name"].astype(str).to_numpy())
            strand = (result.genes["strand"].to_numpy() == "-").astype(np.int8)
            _array(genes, "strand", strand)
            _array(genes, "region", result.genes["region"].to_numpy(np.int64))
            _array(genes, "target", result.genes["target"].to_numpy(np.int64))
            matrix = result.gene_motif()
            motif = group.create_group("gene_motif")
            _array(motif, "gene_id", matrix.index.to_numpy().astype(str))
            _array(motif, "values", matrix.to_numpy(np.float32))
            if result.region_motif_values is not None:
                by_region = group.create_group("region_motif")
                _array(by_region, "region", result.region_motif_rows.astype(np.int64))
                _array(by_region, "values", result.region_motif_values.astype(np.float32))
        root.attrs["arrays"] = array_manifest(tmp)
    log.info("importance of %d cell type(s) written to %s", len(results), path)
    return path


def read_importance(path: str | Path, cell_type: str | None = None) -> Importance:
    """One cell type (default: the only one) of a store written by :func:`write_importance`."""
    store = open_checked(
        path, "importance store", FORMAT, SCHEMA_VERSION, "run `getx interpret` again"
    )
    attrs = store.attrs
    cell_types = list(attrs.get("cell_types") or [])
    if cell_type is None:
        if len(cell_types) != 1:
            raise InputError(f"several cell types ({', '.join(cell_types)}): name one", path)
        cell_type = cell_types[0]
    if cell_type not in cell_types:
        raise InputError(
            f"cell type {cell_type!r} is not in this importance store (has: "
            f"{', '.join(cell_types)})",
            path,
        )
    prefix = f"cell_types/{cell_type}/"
    parts = {
        "targets": ("region", "strand", "window", "focus", "predicted"),
        "genes": ("gene_id", "gene_name", "strand", "region", "target"),
        "importance": _IMPORTANCE_ARRAYS,
    }
    store.require([f"{prefix}{group}/{name}" for group, names in parts.items() for name in names])

    def read(group: str, name: str) -> np.ndarray:
        return np.asarray(store.read(f"{prefix}{group}/{name}"))

    genes = pd.DataFrame(
        {
            "gene_id": store.read_strings(f"{prefix}genes/gene_id"),
            "gene_name": store.read_strings(f"{prefix}genes/gene_name"),
            "strand": np.where(read("genes", "strand") == 1, "-", "+"),
            "region": read("genes", "region"),
            "target": read("genes", "target"),
        }
    )
    targets = Targets(*(read("targets", name) for name in ("region", "strand", "window", "focus")))
    arrays = {name: read("importance", name) for name in _IMPORTANCE_ARRAYS}
    predicted = read("targets", "predicted")
    by_region = {}
    if f"{prefix}region_motif/values" in store.arrays:  # optional: interpret may skip it
        by_region = {
            "region_motif_rows": read("region_motif", "region"),
            "region_motif_values": read("region_motif", "values"),
        }
    return Importance(
        cell_type,
        list(attrs.get("feature_names", [])),
        genes,
        targets,
        predicted,
        **arrays,
        **by_region,
    )


def write_bedgraphs(
    folder: str | Path, result: Importance, store: Any, genes: list[str]
) -> list[Path]:
    """One bedGraph per gene (``<gene_name>.<cell type>.bedGraph``) of its region importance
    (summed |grad x input|), sorted, with a track line, for IGV or the UCSC browser."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for gene in genes:
        table = result.gene_regions(gene, store)
        name = str(
            result.genes.loc[
                (result.genes["gene_id"] == gene) | (result.genes["gene_name"] == gene), "gene_name"
            ].iloc[0]
        )
        path = folder / f"{_safe(name)}.{_safe(result.cell_type)}.bedGraph"
        header = (
            f'track type=bedGraph name="{name} {result.cell_type}" '
            f'description="getx region importance (gradient x input) of {name} in '
            f'{result.cell_type}" visibility=full autoScale=on\n'
        )
        body = table[["chrom", "start", "end", "importance"]].to_csv(
            sep="\t", header=False, index=False, float_format="%.6g"
        )
        with atomic_output(path, BEDGRAPH_KIND) as tmp:
            Path(tmp).write_text(header + body)
        paths.append(path)
    return paths


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
