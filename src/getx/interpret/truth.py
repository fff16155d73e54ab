"""Interpretation checked against the simulator's truth (``getx simulate``, docs/simulator.md).

The simulated peaks are the simulated elements, so a store region and a truth region are the
same interval; :func:`region_ids` maps one to the other. Positives:

* enhancer-gene links: a ``truth/enhancer_gene.tsv`` pair whose ``effect_<ct>`` (the link's
  share of the gene's drive in that cell type) is at least ``LINK_EFFECT`` (5% of the drive;
  expression goes as drive^3 in the simulator, so removing such a link lowers expression by
  ~15% or more);
* TF -> gene: a ``truth/tf_gene.tsv`` row with ``fraction`` (the TF's share of the drive) at
  least ``TF_FRACTION``;
* cooperative TF pairs: ``truth/tf_pairs.tsv``, mapped to the store's motif clusters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.interpret.metrics import ranking_summary

LINK_EFFECT = 0.05
TF_FRACTION = 0.05
TABLES = ("regions", "genes", "enhancer_gene", "tf_gene", "tf_pairs", "tf_activity", "sites")


def read_truth(sim_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The ``truth/*.tsv`` tables of a simulated folder."""
    folder = Path(sim_dir) / "truth"
    if not folder.is_dir():
        raise InputError("no truth/ folder: not written by `getx simulate`", sim_dir)
    return {name: pd.read_csv(folder / f"{name}.tsv", sep="\t") for name in TABLES}


def region_ids(store: Any, truth_regions: pd.DataFrame) -> np.ndarray:
    """(n,) the truth region_id of each store region ('' where none has its interval)."""
    key = pd.MultiIndex.from_frame(truth_regions[["chrom", "start", "end"]])
    ids = pd.Series(truth_regions["region_id"].to_numpy(), index=key)
    store_key = pd.MultiIndex.from_frame(
        store.regions[["chrom", "start", "end"]].astype(
            {"chrom": str, "start": np.int64, "end": np.int64}
        )
    )
    return ids.reindex(store_key).fillna("").to_numpy(dtype=object)


def link_labels(
    links: pd.DataFrame, store: Any, truth: dict[str, pd.DataFrame], effect: float = LINK_EFFECT
) -> np.ndarray:
    """True for the rows of a links table whose (region, gene) is a true link with
    ``effect_<cell type>`` >= ``effect`` in the row's cell type."""
    ids = region_ids(store, truth["regions"])
    table = truth["enhancer_gene"]
    labels = np.zeros(len(links), dtype=bool)
    for cell_type, part in links.groupby("cell_type", sort=False):
        strong = table[table[f"effect_{cell_type}"] >= effect]
        true = set(zip(strong["region_id"], strong["gene_name"], strict=True))
        pairs = zip(ids[part["region"].to_numpy()], part["gene_name"], strict=True)
        labels[part.index.to_numpy()] = [pair in true for pair in pairs]
    return labels


def link_benchmark(
    links: pd.DataFrame,
    labels: np.ndarray,
    scores: dict[str, np.ndarray],
    intervals: int = 0,
) -> pd.DataFrame:
    """AUPRC, precision at 70% recall and AUROC of each score (higher = more likely a link),
    and of distance alone (closer first), over the rows of ``links``."""
    rows = []
    for name, values in {**scores, "distance alone": -np.abs(links["distance"])}.items():
        rows.append(
            {"score": name, **ranking_summary(labels, np.asarray(values), intervals=intervals)}
        )
    return pd.DataFrame(rows)


def tf_clusters(truth: dict[str, pd.DataFrame], feature_names: list[str]) -> dict[str, int]:
    """TF -> its store feature column (the simulator plants each TF from its own cluster)."""
    columns = {name: i for i, name in enumerate(feature_names)}
    activity = truth["tf_activity"]
    missing = sorted(set(activity["cluster"]) - set(columns))
    if missing:
        raise InputError(f"truth clusters {missing} are not features of the store")
    return {tf: columns[c] for tf, c in zip(activity["tf"], activity["cluster"], strict=True)}


def pair_labels(
    truth: dict[str, pd.DataFrame], feature_names: list[str], cell_type: str
) -> list[tuple[int, int]]:
    """The planted cooperative pairs active in ``cell_type`` as (column, column)."""
    columns = {name: i for i, name in enumerate(feature_names)}
    pairs = truth["tf_pairs"]
    pairs = pairs[pairs["cell_type"] == cell_type]
    return [
        (columns[a], columns[b])
        for a, b in zip(pairs["cluster_a"], pairs["cluster_b"], strict=True)
    ]
