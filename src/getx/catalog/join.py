"""Structure scores of TF complexes joined onto motif-cluster pairs.

``getx structures score`` writes ``pairs.parquet``: one row per predicted complex (its best
model), with ``pair_key`` = the two proteins' names sorted and joined by ``|``. The catalog
joins on TF gene symbols: a complex of genes g and h counts for every cluster pair (a, b) with
g among a's TF genes and h among b's (either order). Only wild-type complexes count (rows
without a ``variant``); a complex predicted twice (two jobs of one pair) counts once, by its
higher pDockQ. Where several complexes fall on one cluster pair (clusters hold several TF
genes), the one with the highest pDockQ is reported, named in ``structure_pair``, and
``n_structures`` says how many there were. Complexes whose proteins are not named (no manifest
and a job name that is not ``A_B``) or named by UniProt accession rather than gene symbol match
no TF gene: score them with ``--manifest`` naming gene symbols.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from getx.errors import InputError

log = logging.getLogger(__name__)

# Columns taken from the structure table (pDockQ first: every model has it).
STRUCTURE_METRICS = ("pdockq", "iptm", "ipsae", "interface_plddt", "n_contacts")
STRUCTURE_COLUMNS = ("structure_pair", "n_structures", *STRUCTURE_METRICS)


def read_structure_pairs(path: str | Path) -> pd.DataFrame:
    """The wild-type complexes of a ``getx structures score`` folder (or its ``pairs.parquet``
    / ``pairs.tsv``): ``gene_a``, ``gene_b`` (upper-case, sorted) and the metrics, one row per
    unordered pair of genes."""
    path = Path(path)
    if path.is_dir():
        path = path / "pairs.parquet"
    if not path.exists():
        raise InputError("no structure scores here (run `getx structures score`)", path)
    try:
        if path.suffix == ".parquet":
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["NA"])
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read structure scores ({error})", path) from None
    missing = {"pair_key", "variant", *STRUCTURE_METRICS} - set(table.columns)
    if missing:
        raise InputError(
            f"not a `getx structures score` pairs table: no {', '.join(sorted(missing))}", path
        )
    keys = table["pair_key"].fillna("").astype(str)
    wild = table["variant"].fillna("").astype(str).eq("")
    unnamed = int((wild & keys.eq("")).sum())
    if unnamed:
        log.warning("%s: %d complexes have no protein names and join no TF pair", path, unnamed)
    table = table[wild & keys.ne("")]
    genes = keys[table.index].str.upper().str.split("|", n=1, expand=True)
    table = table.assign(gene_a=genes[0], gene_b=genes[1])
    table = table[table["gene_a"] != table["gene_b"]]
    table = table.sort_values("pdockq", ascending=False, kind="stable")
    table = table.drop_duplicates(["gene_a", "gene_b"])
    return table[["gene_a", "gene_b", *STRUCTURE_METRICS]].reset_index(drop=True)


def structure_evidence(genes: list[list[str]], complexes: pd.DataFrame) -> pd.DataFrame:
    """Per unordered cluster pair (i < j, indices of ``genes``, each cluster's TF genes) with at
    least one complex: the best complex's metrics, its name and the number of complexes."""
    clusters_of: dict[str, list[int]] = {}
    for index, names in enumerate(genes):
        for name in dict.fromkeys(names):
            clusters_of.setdefault(name, []).append(index)
    best: dict[tuple[int, int], tuple[int, int]] = {}  # cluster pair -> (row, count)
    for row, (g, h) in enumerate(zip(complexes["gene_a"], complexes["gene_b"], strict=True)):
        pairs = {
            (min(i, j), max(i, j))
            for i in clusters_of.get(g, [])
            for j in clusters_of.get(h, [])
            if i != j
        }
        for pair in pairs:  # rows come best pDockQ first: the first row seen is the best
            first, count = best.get(pair, (row, 0))
            best[pair] = (first, count + 1)
    columns = ["index_a", "index_b", *STRUCTURE_COLUMNS]
    if not best:
        return pd.DataFrame(columns=columns)
    keys = np.array(list(best.keys()), dtype=np.int64)
    rows = np.array([v[0] for v in best.values()], dtype=np.int64)
    chosen = complexes.iloc[rows].reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "index_a": keys[:, 0],
            "index_b": keys[:, 1],
            "structure_pair": chosen["gene_a"] + "|" + chosen["gene_b"],
            "n_structures": np.array([v[1] for v in best.values()], dtype=np.int64),
        }
    )
    for name in STRUCTURE_METRICS:
        frame[name] = chosen[name].to_numpy(np.float64)
    return frame[columns]
