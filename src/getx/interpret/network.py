"""The causal motif network of a cell type: DirectLiNGAM on a motif importance matrix.

The matrix's rows are samples, its columns motif features: genes (``Importance.gene_motif``,
GET's input) or accessible regions (``Importance.region_motif``, where motifs that act in the
same elements co-vary; docs/interpret.md compares the two on the simulator's planted pairs).
``causal_network(matrix)`` fits DirectLiNGAM (:mod:`getx.interpret.directlingam`) ``runs`` times
on the ``top_motifs`` most important motif columns (mean |importance| over the rows), each run
on a bootstrap sample of the rows (at most ``max_samples``) with the motif columns in a random
order and z-scored,
and keeps for each directed pair (cause -> effect) its **stability** (the fraction of runs that
kept the edge) and its mean weight over the runs (0 where a run dropped it), as GET averaged its
LiNGAM runs. ``MotifNetwork.graph`` thresholds them into a ``networkx.DiGraph`` whose edges point
from cause to effect; :func:`write_network` writes it as GraphML or JSON (node-link),
:func:`read_network` reads either back, and :func:`neighbours` answers the queries of
``getx network query``: a motif's parents (its causes), children (its effects) or both.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.files import OutputKind, atomic_output, read_json_object, table_kind

log = logging.getLogger(__name__)

EDGE_COLUMNS = ["cause", "effect", "weight", "stability"]

RELATIONS = ("parents", "children", "neighbours")
# Motifs in the network by default: the most important ones. DirectLiNGAM costs ~ samples x
# motifs^3 (100 motifs: seconds per run on 800 genes; all 217 of the demo: minutes), and motifs
# with little importance add edges between noise.
TOP_MOTIFS = 100
# Rows (samples) per bootstrap run at most: a region matrix has ten times a gene matrix's rows
# and the cost grows with them.
MAX_SAMPLES = 2000
SAMPLES = ("genes", "regions")


@dataclass
class MotifNetwork:
    """Edge statistics over the runs; matrices are indexed [effect, cause] like LiNGAM's B."""

    motifs: list[str]
    weight: np.ndarray  # (p, p) mean coefficient over the runs (0 where a run dropped the edge)
    stability: np.ndarray  # (p, p) fraction of runs that kept the edge
    runs: int
    cell_type: str = ""

    def edges(self) -> pd.DataFrame:
        """Every edge kept by at least one run: cause, effect, weight, stability; most stable
        first."""
        effect, cause = np.nonzero(self.stability)
        table = pd.DataFrame(
            {
                "cause": np.asarray(self.motifs, dtype=object)[cause],
                "effect": np.asarray(self.motifs, dtype=object)[effect],
                "weight": self.weight[effect, cause],
                "stability": self.stability[effect, cause],
            },
            columns=EDGE_COLUMNS,
        )
        order = np.lexsort((-np.abs(table["weight"].to_numpy()), -table["stability"].to_numpy()))
        return table.iloc[order].reset_index(drop=True)

    def pair_scores(self) -> np.ndarray:
        """(p, p) symmetric: per unordered pair, the larger stability of its two directions."""
        return np.maximum(self.stability, self.stability.T)

    def graph(self, min_stability: float = 0.5, min_weight: float = 0.0) -> Any:
        """A DiGraph (cause -> effect) of the edges with stability >= ``min_stability`` and
        |weight| >= ``min_weight``; every motif is a node."""
        import networkx as nx

        graph = nx.DiGraph(cell_type=self.cell_type, runs=self.runs, min_stability=min_stability)
        graph.add_nodes_from(self.motifs)
        table = self.edges()
        keep = (table["stability"] >= min_stability) & (table["weight"].abs() >= min_weight)
        for row in table[keep].itertuples(index=False):
            graph.add_edge(
                row.cause, row.effect, weight=float(row.weight), stability=float(row.stability)
            )
        return graph


def motif_matrix(result: Any, samples: str = "genes") -> pd.DataFrame:
    """The network's input from an :class:`~getx.interpret.importance.Importance`: its gene x
    motif (``genes``) or region x motif (``regions``) matrix."""
    if samples not in SAMPLES:
        raise InputError(f"samples {samples!r} is not one of {', '.join(SAMPLES)}")
    return result.gene_motif() if samples == "genes" else result.region_motif()


def causal_network(
    matrix: pd.DataFrame,
    runs: int = 10,
    seed: int = 0,
    cell_type: str = "",
    top_motifs: int | None = TOP_MOTIFS,
    progress: Callable[[int, int], None] | None = None,
    max_samples: int | None = None,
) -> MotifNetwork:
    """DirectLiNGAM over ``runs`` bootstrap samples of ``matrix`` (samples x motifs: genes or
    regions), each of min(rows, ``max_samples``) rows, with the columns permuted and z-scored.
    Only the ``top_motifs`` columns with the largest mean |value| over the rows take part (None:
    all); columns constant over the rows never do."""
    from getx.interpret.directlingam import direct_lingam

    values = np.asarray(matrix, dtype=np.float64)
    motifs = [str(c) for c in matrix.columns]
    if runs < 1:
        raise InputError(f"runs must be at least 1 (got {runs})")
    if not np.isfinite(values).all():
        raise InputError("the gene x motif matrix holds NaN or infinite values")
    varying = np.flatnonzero(values.std(axis=0) > 0)
    if top_motifs is not None and len(varying) > top_motifs:
        strength = np.abs(values[:, varying]).mean(axis=0)
        varying = np.sort(varying[np.argsort(-strength, kind="stable")[:top_motifs]])
    n, p = len(values), len(varying)
    if n <= p + 1:
        raise InputError(
            f"{n} rows for {p} varying motif columns: DirectLiNGAM needs more samples than motifs"
        )
    draw = n if max_samples is None else min(n, max_samples)
    if draw <= p + 1:
        raise InputError(f"max_samples {max_samples} must exceed the {p} motifs + 1")
    rng = np.random.default_rng(seed)
    total = np.zeros((len(motifs), len(motifs)))
    kept = np.zeros_like(total)
    for run in range(runs):
        rows = rng.integers(0, n, draw)
        columns = varying[rng.permutation(p)]
        sample = values[np.ix_(rows, columns)]
        std = sample.std(axis=0)
        usable = std > 0  # a bootstrap sample can make a sparse column constant
        z = (sample[:, usable] - sample[:, usable].mean(axis=0)) / std[usable]
        _, B = direct_lingam(z)
        index = columns[usable]
        total[np.ix_(index, index)] += B
        kept[np.ix_(index, index)] += B != 0
        if progress is not None:
            progress(run + 1, runs)
    return MotifNetwork(motifs, total / runs, kept / runs, runs, cell_type)


def _is_network(path: Path) -> bool:
    """A network written by :func:`write_network`: its graph holds ``min_stability``."""
    if path.suffix == ".json":
        graph = (read_json_object(path) or {}).get("graph")
        return isinstance(graph, dict) and "min_stability" in graph
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return False
    return b"<graphml" in head and b'attr.name="min_stability"' in head


NETWORK_KIND = OutputKind("motif network", recognise=_is_network)
EDGES_KIND = table_kind("edge table", EDGE_COLUMNS)


def network_path(path: str | Path) -> Path:
    """``path`` checked for a network file's suffix (.graphml or .json)."""
    path = Path(path)
    if path.suffix not in (".graphml", ".json"):
        raise InputError("network file must end in .graphml or .json", path)
    return path


def write_network(graph: Any, path: str | Path) -> Path:
    """Write ``graph`` as GraphML (``.graphml``) or node-link JSON (``.json``), atomically,
    replacing only an earlier network file."""
    import networkx as nx

    path = network_path(path)
    with atomic_output(path, NETWORK_KIND) as tmp:
        if path.suffix == ".graphml":
            nx.write_graphml(graph, tmp)
        else:
            data = nx.node_link_data(graph, edges="edges")
            Path(tmp).write_text(json.dumps(data, indent=1))
    return path


def read_network(path: str | Path) -> Any:
    """A network written by :func:`write_network` (GraphML or JSON)."""
    import networkx as nx

    path = Path(path)
    if not path.exists():
        raise InputError("network file not found", path)
    try:
        if path.suffix == ".graphml":
            return nx.read_graphml(path)
        if path.suffix == ".json":
            return nx.node_link_graph(json.loads(path.read_text()), edges="edges")
    except (ValueError, KeyError, json.JSONDecodeError) as error:
        raise InputError(f"not a network file: {error}", path) from error
    raise InputError("network file must end in .graphml or .json", path)


def neighbours(graph: Any, motif: str, relation: str = "neighbours") -> pd.DataFrame:
    """Edges of ``motif``: its parents (causes -> motif), children (motif -> effects) or both,
    as a table relation, motif, weight, stability (most stable first)."""
    if relation not in RELATIONS:
        raise InputError(f"relation {relation!r} is not one of {', '.join(RELATIONS)}")
    if motif not in graph:
        close = [m for m in graph.nodes if motif.lower() in str(m).lower()][:10]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise InputError(f"motif {motif!r} is not in the network{hint}")
    rows = []
    if relation in ("parents", "neighbours"):
        for cause, _, data in graph.in_edges(motif, data=True):
            rows.append(("parent", cause, data.get("weight"), data.get("stability")))
    if relation in ("children", "neighbours"):
        for _, effect, data in graph.out_edges(motif, data=True):
            rows.append(("child", effect, data.get("weight"), data.get("stability")))
    table = pd.DataFrame(rows, columns=["relation", "motif", "weight", "stability"])
    return table.sort_values(["stability", "motif"], ascending=[False, True], ignore_index=True)
