"""Regulatory evidence about pairs of motif clusters in one cell type.

From the cell type's gene x motif importance matrix (``getx interpret``; genes x F motif
clusters) and its causal motif network (``getx network build``, or computed here), for every
unordered pair (a, b) of clusters, a before b in the store's feature order:

* ``importance_a``, ``importance_b``: each motif's mean |importance| over the genes (how much the
  model's predictions in this cell type rest on it);
* ``specificity_a``, ``specificity_b``: that importance over a reference, the motif's mean
  importance over all cell types of the importance store (:func:`reference_importance`): above
  1 where the cell type's genes rest on the motif more than the average cell type's;
* ``co_importance``: Pearson's r of the two columns over the genes (NaN where a column is
  constant);
* ``stability``, ``direction``, ``edge_weight``: the network's edge between them, the more
  stable of its two directions (ties: the larger |weight|): the fraction of bootstrap runs that
  kept it (0: none), ``a->b`` or ``b->a`` ('' without an edge) and its mean coefficient.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from getx.errors import InputError


@dataclass
class NetworkEdges:
    """A cell type's network as (F, F) matrices in the store's feature order, indexed
    [effect, cause] like LiNGAM's B; ``source`` says where it came from."""

    weight: np.ndarray
    stability: np.ndarray
    source: str


def network_from_matrices(
    motifs: list[str], weight: np.ndarray, stability: np.ndarray, features: list[str], source: str
) -> NetworkEdges:
    """Edges over ``motifs`` (e.g. a ``MotifNetwork``'s) placed into the store's feature order."""
    index = _feature_index(motifs, features, source)
    F = len(features)
    full_weight, full_stability = np.zeros((F, F)), np.zeros((F, F))
    full_weight[np.ix_(index, index)] = weight
    full_stability[np.ix_(index, index)] = stability
    return NetworkEdges(full_weight, full_stability, source)


def network_from_graph(graph: Any, features: list[str], source: str | Path) -> NetworkEdges:
    """Edges of a graph written by ``getx network build`` (cause -> effect, ``weight`` and
    ``stability`` attributes); pairs without an edge in the file get stability 0."""
    motifs = [str(node) for node in graph.nodes]
    index = dict(zip(motifs, _feature_index(motifs, features, source), strict=True))
    F = len(features)
    weight, stability = np.zeros((F, F)), np.zeros((F, F))
    for cause, effect, data in graph.edges(data=True):
        try:
            weight[index[str(effect)], index[str(cause)]] = float(data["weight"])
            stability[index[str(effect)], index[str(cause)]] = float(data["stability"])
        except (KeyError, TypeError, ValueError):
            raise InputError(
                f"edge {cause} -> {effect} lacks a numeric weight or stability: not written "
                "by `getx network build`?",
                source,
            ) from None
    return NetworkEdges(weight, stability, str(source))


def _feature_index(motifs: list[str], features: list[str], source: str | Path) -> np.ndarray:
    position = {name: i for i, name in enumerate(features)}
    unknown = [m for m in motifs if m not in position]
    if unknown:
        raise InputError(
            f"motif clusters {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''} are "
            "not features of the region store: the network comes from another motif set",
            source,
        )
    return np.asarray([position[m] for m in motifs], dtype=np.int64)


def co_importance(values: np.ndarray) -> np.ndarray:
    """(F, F) Pearson correlation of the columns of a genes x motifs matrix; NaN wherever a
    column is constant over the genes."""
    values = np.asarray(values, dtype=np.float64)
    centred = values - values.mean(axis=0)
    norm = np.sqrt((centred**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = centred / np.where(norm > 0, norm, np.nan)
    return np.clip(scaled.T @ scaled, -1.0, 1.0)


def motif_importance(matrix: pd.DataFrame) -> np.ndarray:
    """(F,) each motif's mean |importance| over the genes of a genes x motifs matrix."""
    return np.abs(matrix.to_numpy(np.float64)).mean(axis=0)


def reference_importance(per_cell_type: list[np.ndarray]) -> np.ndarray:
    """(F,) the reference a motif's importance is compared with: its mean over the cell types;
    with one cell type, the median motif's importance (specificity is then importance relative
    to the typical motif)."""
    values = np.asarray(per_cell_type, dtype=np.float64)
    if len(values) > 1:
        return values.mean(axis=0)
    return np.full(values.shape[1], np.median(values[0]))


def pair_evidence(
    matrix: pd.DataFrame,
    network: NetworkEdges,
    features: list[str],
    reference: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per unordered pair of the store's motif clusters (a before b in ``features``)
    with the evidence of the module docstring. ``matrix``: genes x motif clusters, its columns
    the store's features; ``reference``: (F,) from :func:`reference_importance` (default: this
    matrix alone)."""
    if list(matrix.columns) != list(features):
        raise InputError(
            "the gene x motif matrix's motif clusters are not the region store's features "
            "(another motif set?)"
        )
    values = matrix.to_numpy(np.float64)
    a, b = np.triu_indices(len(features), 1)
    strength = np.abs(values).mean(axis=0)
    if reference is None:
        reference = reference_importance([strength])
    with np.errstate(invalid="ignore", divide="ignore"):
        specificity = np.where(reference > 0, strength / reference, 0.0)
    correlation = co_importance(values)
    forward = network.stability[b, a]  # a -> b sits at [effect b, cause a]
    backward = network.stability[a, b]
    forward_weight, backward_weight = network.weight[b, a], network.weight[a, b]
    take_forward = (forward > backward) | (
        (forward == backward) & (np.abs(forward_weight) >= np.abs(backward_weight))
    )
    stability = np.maximum(forward, backward)
    names = np.asarray(features, dtype=object)
    return pd.DataFrame(
        {
            "cluster_a": names[a],
            "cluster_b": names[b],
            "importance_a": strength[a],
            "importance_b": strength[b],
            "specificity_a": specificity[a],
            "specificity_b": specificity[b],
            "co_importance": correlation[a, b],
            "stability": stability,
            "direction": np.where(stability > 0, np.where(take_forward, "a->b", "b->a"), ""),
            "edge_weight": np.where(
                stability > 0, np.where(take_forward, forward_weight, backward_weight), 0.0
            ),
        }
    )
