"""Build the catalog: one row per cell type and unordered pair of motif clusters, with the TF
genes of both clusters, the regulatory evidence (:mod:`getx.catalog.evidence`), the TF genes'
expression (:mod:`getx.catalog.expression`), structure scores where a complex of the TF genes
was predicted (:mod:`getx.catalog.join`) and the ranked score (:mod:`getx.catalog.score`).

Inputs are checked against each other before anything is computed: the importance store and the
region store must share their motif clusters (same names, same order), every cell type must be
in both, and a network file must belong to its cell type and the store's motif set. The table is
written as one parquet file (schema in docs/format.md), atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from getx.catalog.evidence import (
    NetworkEdges,
    motif_importance,
    network_from_graph,
    network_from_matrices,
    pair_evidence,
    reference_importance,
)
from getx.catalog.expression import cluster_expression
from getx.catalog.join import STRUCTURE_COLUMNS, read_structure_pairs, structure_evidence
from getx.catalog.schema import (
    CATALOG_KIND,
    FORMAT,
    METADATA_KEY,
    SCHEMA_VERSION,
    arrow_schema,
)
from getx.catalog.score import SCORE_VERSION, catalog_score, regulatory_score
from getx.errors import InputError


@dataclass
class CatalogSources:
    """What a catalog is built from (docs/catalog.md)."""

    importance: Path  # `getx interpret` store
    store: Path  # the region store it was computed on
    networks: dict[str, Path] = field(default_factory=dict)  # cell type -> network file
    structures: Path | None = None  # `getx structures score` folder or pairs table
    cell_types: list[str] | None = None  # default: every cell type of the importance store


@dataclass
class NetworkOptions:
    """The causal network computed for cell types without a network file
    (:func:`getx.interpret.network.causal_network`)."""

    runs: int = 10
    top_motifs: int | None = 100
    seed: int = 0


def importance_cell_types(path: Path) -> tuple[list[str], list[str]]:
    """(cell types, motif clusters) of an importance store, checking it is one, whole."""
    from getx.interpret.importance import FORMAT, SCHEMA_VERSION
    from getx.io.checked_zarr import open_checked

    store = open_checked(
        path, "importance store", FORMAT, SCHEMA_VERSION, "run `getx interpret` again"
    )
    return list(store.attrs["cell_types"]), list(store.attrs["feature_names"])


def _check_features(importance: list[str], store: list[str], sources: CatalogSources) -> None:
    if importance == store:
        return
    first = next(
        (i for i, (x, y) in enumerate(zip(importance, store, strict=False)) if x != y),
        min(len(importance), len(store)),
    )
    shown = [importance[first] if first < len(importance) else "none"]
    shown.append(store[first] if first < len(store) else "none")
    raise InputError(
        f"the importance store ({len(importance)} motif clusters) and the region store "
        f"{sources.store} ({len(store)}) have different motif sets: cluster {first + 1} is "
        f"{shown[0]!r} in one and {shown[1]!r} in the other",
        sources.importance,
    )


def _cell_types(sources: CatalogSources, available: list[str], store_cells: list[str]):
    wanted = list(dict.fromkeys(sources.cell_types or available))
    if not wanted:
        raise InputError("no cell types to catalogue", sources.importance)
    for name in wanted:
        if name not in available:
            raise InputError(
                f"cell type {name!r} is not in the importance store (has: {', '.join(available)})",
                sources.importance,
            )
        if name not in store_cells:
            raise InputError(
                f"cell type {name!r} of the importance store is not in the region store (has: "
                f"{', '.join(store_cells)})",
                sources.store,
            )
    for name, path in sources.networks.items():
        if name not in wanted:
            raise InputError(
                f"a network is given for cell type {name!r}, which is not catalogued "
                f"({', '.join(wanted)})",
                path,
            )
        if not Path(path).exists():
            raise InputError("no such network file", path)
    return wanted


def _network_file(path: Path, cell_type: str, features: list[str]) -> NetworkEdges:
    from getx.interpret.network import read_network

    graph = read_network(path)
    own = str(graph.graph.get("cell_type", "") or "")
    if own and own != cell_type:
        raise InputError(f"this network is of cell type {own!r}, given for {cell_type!r}", path)
    return network_from_graph(graph, features, path)


def _computed_network(
    matrix: pd.DataFrame, cell_type: str, options: NetworkOptions, features: list[str]
) -> NetworkEdges:
    from getx.interpret.network import causal_network

    net = causal_network(
        matrix, runs=options.runs, seed=options.seed, cell_type=cell_type,
        top_motifs=options.top_motifs,
    )  # fmt: skip
    source = f"computed: {options.runs} runs, top {options.top_motifs} motifs, seed {options.seed}"
    return network_from_matrices(net.motifs, net.weight, net.stability, features, source)


def build_catalog(
    sources: CatalogSources,
    options: NetworkOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """The catalog table (docs/format.md, "The catalog") and its metadata."""
    from getx.interpret.importance import read_importance
    from getx.store import open_store

    options = options or NetworkOptions()
    sources = CatalogSources(
        Path(sources.importance),
        Path(sources.store),
        {k: Path(v) for k, v in sources.networks.items()},
        None if sources.structures is None else Path(sources.structures),
        sources.cell_types,
    )
    available, features = importance_cell_types(sources.importance)
    if not sources.store.exists():
        raise InputError("no such region store", sources.store)
    store = open_store(sources.store)
    _check_features(features, list(store.feature_names), sources)
    if len(features) < 2:
        raise InputError("the store has fewer than two motif clusters: no pairs", sources.store)
    cell_types = _cell_types(sources, available, list(store.cell_types))
    complexes = None if sources.structures is None else read_structure_pairs(sources.structures)
    # every cell type of the importance store sets the reference of the specificity
    matrices = {name: read_importance(sources.importance, name).gene_motif() for name in available}
    reference = reference_importance([motif_importance(m) for m in matrices.values()])
    frames, networks = [], {}
    for cell_type in cell_types:
        if progress:
            progress(cell_type)
        matrix = matrices[cell_type]
        if cell_type in sources.networks:
            edges = _network_file(sources.networks[cell_type], cell_type, features)
        else:
            edges = _computed_network(matrix, cell_type, options, features)
        networks[cell_type] = edges.source
        evidence = pair_evidence(matrix, edges, features, reference)
        frames.append(_cell_type_table(evidence, store, cell_type, features, complexes))
    table = pd.concat(frames, ignore_index=True)
    metadata = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "score_version": SCORE_VERSION,
        "importance": str(sources.importance),
        "store": str(sources.store),
        "structures": None if sources.structures is None else str(sources.structures),
        "networks": networks,
        "network_options": asdict(options),
        "cell_types": cell_types,
        "reference_cell_types": available,
        "motif_clusters": len(features),
    }
    return table, metadata


def _cell_type_table(
    evidence: pd.DataFrame,
    store,
    cell_type: str,
    features: list[str],
    complexes: pd.DataFrame | None,
) -> pd.DataFrame:
    a, b = np.triu_indices(len(features), 1)
    expression = cluster_expression(store, features, cell_type)
    evidence.insert(0, "cell_type", cell_type)
    evidence.insert(3, "tfs_a", [expression.genes[i] for i in a])
    evidence.insert(4, "tfs_b", [expression.genes[j] for j in b])
    evidence["tf_expression_a"] = [expression.expression[i] for i in a]
    evidence["tf_expression_b"] = [expression.expression[j] for j in b]
    evidence["expression_a"] = expression.highest[a]
    evidence["expression_b"] = expression.highest[b]
    structures = pd.DataFrame(
        {"structure_pair": pd.Series([None] * len(evidence), dtype=object),
         "n_structures": np.zeros(len(evidence), np.int64)}
    )  # fmt: skip
    for name in STRUCTURE_COLUMNS[2:]:
        structures[name] = np.nan
    if complexes is not None and len(complexes):
        found = structure_evidence(expression.genes, complexes)
        if len(found):
            # row of pair (i, j), i < j, in the upper-triangle order of np.triu_indices
            F = len(features)
            i, j = found["index_a"].to_numpy(), found["index_b"].to_numpy()
            rows = i * F - i * (i + 1) // 2 + (j - i - 1)
            for name in STRUCTURE_COLUMNS:
                structures.loc[rows, name] = found[name].to_numpy()
    evidence = pd.concat([evidence, structures], axis=1)
    evidence["regulatory_score"] = regulatory_score(evidence)
    evidence["score"] = catalog_score(evidence["regulatory_score"], evidence["pdockq"])
    order = np.lexsort((np.arange(len(evidence)), -evidence["score"].to_numpy()))
    evidence = evidence.iloc[order].reset_index(drop=True)
    evidence.insert(1, "rank", np.arange(1, len(evidence) + 1, dtype=np.int64))
    return evidence


def write_catalog(table: pd.DataFrame, metadata: dict, path: str | Path) -> Path:
    """Write the catalog as one parquet file (``.parquet``), atomically, with its metadata
    (JSON under the key ``getx_catalog``) in the file's key-value metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from getx.io.files import atomic_output

    path = Path(path)
    if path.suffix != ".parquet":
        raise InputError("the catalog is written as parquet: give a .parquet path", path)
    schema = arrow_schema().with_metadata({METADATA_KEY: json.dumps(metadata).encode()})
    arrow = pa.Table.from_pandas(table, schema=schema, preserve_index=False)
    with atomic_output(path, CATALOG_KIND) as tmp:
        pq.write_table(arrow, tmp)
    return path
