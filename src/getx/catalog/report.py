"""The catalog's section of the demo report: the top pairs of a cell type with the simulator's
planted cooperative pairs marked, and where each cell type's planted pair ranks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from getx.report import Section


def planted_pairs(truth: dict[str, pd.DataFrame]) -> dict[tuple[str, frozenset], str]:
    """(cell type, {cluster, cluster}) -> 'TFA-TFB (kappa 1.2)' for the simulator's pairs."""
    pairs = truth["tf_pairs"]
    return {
        (row.cell_type, frozenset((row.cluster_a, row.cluster_b))): (
            f"{row.tf_a}-{row.tf_b} (synergy {row.kappa:.2f})"
        )
        for row in pairs.itertuples(index=False)
    }


def truth_ranks(table: pd.DataFrame, truth: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per cell type with a planted pair: the pair, its rank among all cluster pairs and the
    AUROC of the score (planted pairs against every other pair; ties count one half)."""
    from getx.interpret.metrics import auroc

    planted = planted_pairs(truth)
    rows = []
    for cell_type, part in table.groupby("cell_type", sort=False):
        label = _labels(part, planted, cell_type)
        if not label.any():
            continue
        for row in part[label].itertuples(index=False):
            rows.append(
                {
                    "cell type": cell_type,
                    "planted pair": planted[(cell_type, frozenset((row.cluster_a, row.cluster_b)))],
                    "clusters": f"{row.cluster_a} / {row.cluster_b}",
                    "rank": int(row.rank),
                    "of pairs": len(part),
                    "AUROC": auroc(label, part["score"].to_numpy()),
                }
            )
    return pd.DataFrame(rows)


def _labels(part: pd.DataFrame, planted: dict, cell_type: str) -> np.ndarray:
    keys = [frozenset(p) for p in zip(part["cluster_a"], part["cluster_b"], strict=True)]
    return np.array([(cell_type, k) in planted for k in keys], dtype=bool)


def top_pairs(table: pd.DataFrame, truth: dict[str, pd.DataFrame], cell_type: str, count: int = 10):
    """The ``count`` best pairs of ``cell_type`` with the planted pair marked (and appended
    with its rank when it is not among them)."""
    planted = planted_pairs(truth)
    part = table[table["cell_type"] == cell_type]
    label = _labels(part, planted, cell_type)
    shown = part[(part["rank"] <= count) | label]
    return pd.DataFrame(
        {
            "rank": shown["rank"].to_numpy(),
            "cluster a": shown["cluster_a"].to_numpy(),
            "cluster b": shown["cluster_b"].to_numpy(),
            "TF genes": [
                f"{_few(a)} / {_few(b)}"
                for a, b in zip(shown["tfs_a"], shown["tfs_b"], strict=True)
            ],
            "specificity a": shown["specificity_a"].to_numpy(),
            "specificity b": shown["specificity_b"].to_numpy(),
            "edge stability": shown["stability"].to_numpy(),
            "co-importance": shown["co_importance"].to_numpy(),
            "score": shown["score"].to_numpy(),
            "planted pair": [
                planted.get((cell_type, frozenset((a, b))), "")
                for a, b in zip(shown["cluster_a"], shown["cluster_b"], strict=True)
            ],
        }
    )


def _few(genes: Any, limit: int = 3) -> str:
    genes = list(genes)
    return ",".join(genes[:limit]) + (f" +{len(genes) - limit}" if len(genes) > limit else "")


def catalog_sections(
    table: pd.DataFrame, truth: dict[str, pd.DataFrame], cell_type: str
) -> list[Section]:
    """The report section: ``cell_type``'s top pairs and every cell type's planted pair."""
    ranks = truth_ranks(table, truth)
    section = Section(f"Catalog: TF pairs of {cell_type}").add(
        "Every pair of motif clusters in each cell type, ranked by the catalog's score "
        "(docs/catalog.md): the geometric mean of how specifically the cell type's genes rest "
        "on each of the two motifs (a motif's importance there over its mean over all cell "
        "types). The causal network's edge stability and the co-importance (correlation of the "
        "two motifs' importance over genes) are shown beside it; they are not in the score. "
        "Built from the importance of a sample of genes (the same in every cell type) and a "
        "small network. The simulator plants one cooperative TF pair per training cell type "
        "(its synergy acts only where both TFs bind) and has no structures, so this is "
        f"regulatory evidence alone. Top pairs of {cell_type}, its planted pair marked:"
    )
    section.add(top_pairs(table, truth, cell_type))
    if len(ranks):
        section.add("Where each cell type's planted pair ranks among all its cluster pairs:")
        section.add(ranks)
    return [section]
