"""The TF genes of each motif cluster and their expression in a cell type, from the region store.

A cluster's TF genes are the store's ``cluster_genes`` (upper-case symbols from the motif
names). A gene's expression in a cell type is the store's ``gene_expression`` (log10(CPM+1)) of
its gene rows, matched by symbol without regard to case, the largest where a gene has several
rows (several TSS regions). A TF gene the store's gene index lacks, or that was not measured in
the cell type, has no expression (None): it is neither expressed nor silent, and the catalog's
score does not use expression, so its absence changes no ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class ClusterExpression:
    """Per cluster (store feature order): its TF genes, their expression (None: absent or not
    measured) and the largest of them (NaN when none is known)."""

    genes: list[list[str]]
    expression: list[list[float | None]]
    highest: np.ndarray


def measured_genes(store: Any, cell_type: str) -> dict[str, float]:
    """Upper-case gene symbol -> expression in ``cell_type`` for every measured gene."""
    values = np.asarray(store.cell_type(cell_type).gene_expression, dtype=np.float64)
    names = store.genes["gene_name"].astype(str).str.upper().to_numpy()
    known = np.isfinite(values)
    result: dict[str, float] = {}
    for name, value in zip(names[known], values[known], strict=True):
        result[name] = max(value, result.get(name, -np.inf))
    return result


def cluster_expression(store: Any, features: list[str], cell_type: str) -> ClusterExpression:
    """The TF genes of each of ``features`` and their expression in ``cell_type``."""
    measured = measured_genes(store, cell_type)
    genes = [[str(g).upper() for g in store.cluster_genes.get(name, [])] for name in features]
    expression = [[measured.get(g) for g in names] for names in genes]
    highest = np.array(
        [max((v for v in values if v is not None), default=np.nan) for values in expression]
    )
    return ClusterExpression(genes, expression, highest)
