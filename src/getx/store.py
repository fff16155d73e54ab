"""The region dataset store: GET's model input on disk, as a zarr v3 directory.

One store holds one region (peak) set: the regions, their motif-cluster features, and per cell
type the accessibility, the expression labels on each strand and the TSS flags. A gene index
lists, for every annotated gene with a TSS in a region, the (gene, strand, region) pairs, so
genes sharing a bidirectional promoter are all kept. The layout is documented in
``docs/format.md``; bump ``SCHEMA_VERSION`` whenever it changes.

Every store records, per array, its shape, number of chunk files, their bytes and a CRC-32 of
their contents (root attribute ``arrays``). Opening a store checks that every array is there with
its chunk files at their recorded sizes (file metadata only, cheap at any size); reading an array
whole checks its CRC first. A store whose files were lost or damaged is refused, naming the array,
rather than read as zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.checked_zarr import CheckedZarr, array_manifest, open_checked
from getx.io.files import atomic_output, zarr_kind

SCHEMA_VERSION = 2  # 2: the ``arrays`` manifest of chunk files and checksums
_FORMAT = "getx-region-store"
STORE_KIND = zarr_kind("region store", _FORMAT)
_ROW_CHUNK = 4096

GENE_COLUMNS = ("gene_id", "gene_name", "strand", "region")


@dataclass
class CellTypeData:
    """Per-cell-type arrays, aligned to the store's regions (n = number of regions).

    ``expression`` and ``tss`` have one column per strand (0 = +, 1 = -). ``gene_expression``
    is aligned to the store's gene table (NaN where the gene has no measurement).
    """

    accessibility_raw: np.ndarray  # (n,) float32 raw counts (or signal)
    accessibility: np.ndarray  # (n,) float32 GET's aCPM scaled to max 1
    expression: np.ndarray  # (n, 2) float32 mean log10(CPM+1) of genes with a promoter here
    tss: np.ndarray  # (n, 2) int8: 1 where a measured gene's promoter overlaps the region
    gene_expression: np.ndarray  # (n_gene_rows,) float32

    def validate(self, n_regions: int, n_gene_rows: int, name: str) -> None:
        shapes = {
            "accessibility_raw": (n_regions,),
            "accessibility": (n_regions,),
            "expression": (n_regions, 2),
            "tss": (n_regions, 2),
            "gene_expression": (n_gene_rows,),
        }
        for key, shape in shapes.items():
            got = np.shape(getattr(self, key))
            if got != shape:
                raise ValueError(f"cell type {name!r}: {key} has shape {got}, expected {shape}")


@dataclass
class RegionStore:
    """A store opened for reading. Large arrays are read lazily through zarr."""

    path: Path
    regions: pd.DataFrame  # chrom, start, end
    feature_names: list[str]
    cluster_genes: dict[str, list[str]]
    cell_types: list[str]
    genes: pd.DataFrame  # gene_id, gene_name, strand ('+'/'-'), region (row index)
    attrs: dict[str, Any] = field(default_factory=dict)
    _store: CheckedZarr | None = None

    @property
    def n_regions(self) -> int:
        return len(self.regions)

    @property
    def features(self) -> Any:
        """The (n_regions, n_features) float32 zarr array; index it to read rows."""
        return self._store.root["features"]

    def read_features(self) -> np.ndarray:
        return np.asarray(self.read("features"), dtype=np.float32)

    def read(self, name: str) -> np.ndarray:
        """The whole array ``name`` (a path such as ``cell_types/ct1/tss``), its chunk files
        checked against the store's manifest first."""
        return self._store.read(name)

    def cell_type(self, name: str) -> CellTypeData:
        if name not in self.cell_types:
            raise InputError(
                f"cell type {name!r} is not in this store (has: {', '.join(self.cell_types)})",
                path=self.path,
            )
        prefix = f"cell_types/{name}/"
        return CellTypeData(
            accessibility_raw=self.read(prefix + "accessibility_raw"),
            accessibility=self.read(prefix + "accessibility"),
            expression=self.read(prefix + "expression"),
            tss=self.read(prefix + "tss"),
            gene_expression=self.read(prefix + "gene_expression"),
        )


def write_store(
    path: str | Path,
    regions: pd.DataFrame,
    features: np.ndarray,
    feature_names: list[str],
    cluster_genes: dict[str, list[str]],
    cell_types: dict[str, CellTypeData],
    genes: pd.DataFrame,
    attrs: dict[str, Any] | None = None,
) -> Path:
    """Write a complete store to ``path`` atomically, replacing an earlier getx store there
    (anything else at ``path`` is refused, never deleted)."""
    import zarr

    path = Path(path)
    n = len(regions)
    features = np.asarray(features, dtype=np.float32)
    if features.shape != (n, len(feature_names)):
        raise ValueError(f"features shape {features.shape} != ({n}, {len(feature_names)})")
    missing = [c for c in GENE_COLUMNS if c not in genes.columns]
    if missing:
        raise ValueError(f"gene table lacks columns {missing}")
    if len(genes) and (genes["region"].min() < 0 or genes["region"].max() >= n):
        raise ValueError("gene table refers to regions outside the store")
    for name, data in cell_types.items():
        if not name or "/" in name or name.startswith("."):
            raise InputError(
                f"cell type name {name!r} cannot name a zarr group (no '/', no leading '.')"
            )
        data.validate(n, len(genes), name)

    with atomic_output(path, STORE_KIND) as tmp:
        root = zarr.open_group(tmp, mode="w", zarr_format=3)
        root.attrs.update(
            {
                "format": _FORMAT,
                "schema_version": SCHEMA_VERSION,
                "feature_names": list(feature_names),
                "cluster_genes": {k: list(v) for k, v in cluster_genes.items()},
                "cell_types": list(cell_types),
                **(attrs or {}),
            }
        )
        reg = root.create_group("regions")
        _put(reg, "chrom", regions["chrom"].astype(str).to_numpy(), str)
        _put(reg, "start", regions["start"].to_numpy(np.int64), np.int64)
        _put(reg, "end", regions["end"].to_numpy(np.int64), np.int64)
        _put(root, "features", features, np.float32)
        gene_group = root.create_group("genes")
        _put(gene_group, "gene_id", genes["gene_id"].astype(str).to_numpy(), str)
        _put(gene_group, "gene_name", genes["gene_name"].astype(str).to_numpy(), str)
        strand = (genes["strand"].astype(str).to_numpy() == "-").astype(np.int8)
        _put(gene_group, "strand", strand, np.int8)
        _put(gene_group, "region", genes["region"].to_numpy(np.int64), np.int64)
        ct_root = root.create_group("cell_types")
        for name, data in cell_types.items():
            group = ct_root.create_group(name)
            _put(group, "accessibility_raw", data.accessibility_raw, np.float32)
            _put(group, "accessibility", data.accessibility, np.float32)
            _put(group, "expression", data.expression, np.float32)
            _put(group, "tss", data.tss, np.int8)
            _put(group, "gene_expression", data.gene_expression, np.float32)
        root.attrs["arrays"] = array_manifest(tmp)
    return path


def _put(group: Any, name: str, values: np.ndarray, dtype: Any) -> None:
    values = np.asarray(values)
    shape = values.shape
    chunks = (min(max(shape[0], 1), _ROW_CHUNK), *shape[1:]) if shape else ()
    array = group.create_array(name, shape=shape, dtype=dtype, chunks=chunks or None)
    if values.size:
        array[...] = values.astype(dtype) if dtype is not str else values.astype(str)


# Arrays every store has (besides those of each cell type, which the manifest lists).
_REQUIRED = (
    "regions/chrom",
    "regions/start",
    "regions/end",
    "features",
    "genes/gene_id",
    "genes/gene_name",
    "genes/strand",
    "genes/region",
)
_PER_CELL_TYPE = ("accessibility_raw", "accessibility", "expression", "tss", "gene_expression")


def open_store(path: str | Path) -> RegionStore:
    """Open a store written by :func:`write_store`, checking its format, schema version and
    manifest (:func:`getx.io.checked_zarr.open_checked`): a store with lost or damaged files is
    refused, naming the array."""
    checked = open_checked(
        path, "getx store", _FORMAT, SCHEMA_VERSION, "rebuild it with `getx prepare`", _REQUIRED
    )
    cell_types = list(checked.attrs.get("cell_types") or [])
    checked.require([f"cell_types/{c}/{a}" for c in cell_types for a in _PER_CELL_TYPE])
    read = checked.read
    regions = pd.DataFrame(
        {
            "chrom": checked.read_strings("regions/chrom"),
            "start": np.asarray(read("regions/start")),
            "end": np.asarray(read("regions/end")),
        }
    )
    genes = pd.DataFrame(
        {
            "gene_id": checked.read_strings("genes/gene_id"),
            "gene_name": checked.read_strings("genes/gene_name"),
            "strand": np.where(np.asarray(read("genes/strand")) == 1, "-", "+"),
            "region": np.asarray(read("genes/region")),
        }
    )
    return RegionStore(
        path=checked.path,
        regions=regions,
        feature_names=list(checked.attrs.get("feature_names", [])),
        cluster_genes=dict(checked.attrs.get("cluster_genes", {})),
        cell_types=cell_types,
        genes=genes,
        attrs=checked.attrs,
        _store=checked,
    )


def summary(store: RegionStore) -> dict[str, Any]:
    """Numbers that ``getx inspect`` prints."""
    features = store.read_features()
    per_cell_type = {}
    for name in store.cell_types:
        data = store.cell_type(name)
        measured = ~np.isnan(data.gene_expression)
        tss_rows = data.tss.any(axis=1)
        per_cell_type[name] = {
            "accessible_regions": int((data.accessibility_raw > 0).sum()),
            "tss_regions": int(tss_rows.sum()),
            "genes_measured": int(store.genes.loc[measured, "gene_id"].nunique()),
        }
    return {
        "path": str(store.path),
        "schema_version": store.attrs.get("schema_version"),
        "regions": store.n_regions,
        "chromosomes": int(store.regions["chrom"].nunique()),
        "features": len(store.feature_names),
        "nonzero_feature_fraction": float((features != 0).mean()) if features.size else 0.0,
        "cell_types": store.cell_types,
        "genes_with_tss_regions": int(store.genes["gene_id"].nunique()),
        "gene_region_pairs": len(store.genes),
        "per_cell_type": per_cell_type,
        "motif_set": store.attrs.get("motif_set"),
    }
