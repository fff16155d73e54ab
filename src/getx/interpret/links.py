"""Enhancer-gene links: for every gene and every accessible region of its window, several
scores side by side.

* ``importance``: the region's summed |gradient x input| for the gene (GET's region
  importance; :mod:`getx.interpret.importance`), ``importance_signed`` its signed sum;
* ``knockout``: the change in the gene's prediction when the model is re-run with that region's
  motifs and accessibility set to 0 (negative: the region drives the gene), batched over every
  (window, region) pair;
* ``abc``: an activity-by-contact score, the region's reads x a power-law contact with the TSS,
  divided by the sum over the window's accessible regions (the TSS region included), as the ABC
  model normalises (Fulco et al. 2019). The contact is ABC's power law,
  ``exp(scale - gamma * ln(max(d, 5 kb) + 1))`` with its K562 Hi-C fit (gamma 1.0242, scale
  5.9595), d the distance between region centres;
* ``get_abc``: GET's combination of its importance with the contact term (gcell adds a
  power-law x accessibility term to its region importance): the region's share of the window's
  activating importance (``importance_signed`` where positive) plus its ``abc`` share, over 2;
* ``score``: the default ranking, ``get_abc`` (the best of these on the simulator's truth, just
  ahead of ``importance_signed`` and the knock-out, and it needs no extra model runs; see
  docs/interpret.md).

One row per (gene row, accessible region of its window); ``distance`` is signed (region centre
minus TSS region centre, bp) and ``tss_region`` the row of the gene's TSS region
(``is_tss`` marks the TSS region's own row).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from getx.interpret.context import CellTypeContext, Progress, cell_type_context, forward
from getx.interpret.importance import Importance, importance_of
from getx.io.files import table_kind

log = logging.getLogger(__name__)

COLUMNS = [
    "chrom",
    "start",
    "end",
    "region",
    "gene_id",
    "gene_name",
    "strand",
    "cell_type",
    "tss_region",
    "tss_start",
    "tss_end",
    "distance",
    "is_tss",
    "accessibility",
    "importance",
    "importance_signed",
    "knockout",
    "abc",
    "get_abc",
    "score",
]
DEFAULT_SCORE = "get_abc"
OUTPUT_KIND = table_kind("links table", COLUMNS)


@dataclass(frozen=True)
class PowerLaw:
    """ABC's power-law contact: exp(scale - gamma ln(max(d, min_distance) + 1)); K562 fit."""

    gamma: float = 1.024238616787792
    scale: float = 5.9594510043736655
    min_distance: float = 5000.0

    def __call__(self, distance: np.ndarray) -> np.ndarray:
        d = np.maximum(np.abs(np.asarray(distance, dtype=np.float64)), self.min_distance)
        return np.exp(self.scale - self.gamma * np.log(d + 1.0))


def knockouts(
    context: CellTypeContext,
    batch_size: int = 32,
    device: str | None = None,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each TSS window's accessible positions knocked out one at a time.

    Returns (window, position, change): the index of the window (one per TSS region, in
    ``np.unique(context.targets.region)`` order), the position knocked out, and the (K, 2)
    change in the prediction at the TSS on each strand.
    """
    targets = context.targets
    _, first = np.unique(targets.region, return_index=True)
    rows, focus = targets.rows[first], targets.focus[first]
    base = forward(context.predictor, context.inputs, rows, focus, None, batch_size, device)
    accessible = (rows >= 0) & context.inputs.accessible[np.maximum(rows, 0)]
    window, position = np.nonzero(accessible)
    knocked = forward(
        context.predictor,
        context.inputs,
        rows[window],
        focus[window],
        position,
        batch_size,
        device,
        progress,
    )
    return window, position, knocked - base[window]


def link_table(
    context: CellTypeContext,
    result: Importance,
    ko: tuple[np.ndarray, np.ndarray, np.ndarray],
    contact: PowerLaw | None = None,
) -> pd.DataFrame:
    """The links table of ``context`` from its importance and knock-outs (see module doc)."""
    contact = contact or PowerLaw()
    store, inputs, targets = context.store, context.inputs, context.targets
    window_of = np.searchsorted(np.unique(targets.region), targets.region)
    ko_window, ko_position, ko_change = ko
    R = targets.rows.shape[1]
    change = np.full((len(np.unique(targets.region)), R, 2), np.nan, dtype=np.float32)
    change[ko_window, ko_position] = ko_change
    raw = np.nan_to_num(np.asarray(store.cell_type(context.cell_type).accessibility_raw, float))
    regions = store.regions
    chrom = regions["chrom"].to_numpy().astype(str)
    start, end = regions["start"].to_numpy(), regions["end"].to_numpy()
    centre = inputs.centres
    genes = context.genes
    t = genes["target"].to_numpy()
    rows = targets.rows[t]  # (G, R)
    keep = (rows >= 0) & inputs.accessible[np.maximum(rows, 0)]
    g_index, pos = np.nonzero(keep)
    region = rows[g_index, pos]
    tss = targets.region[t][g_index]
    distance = centre[region] - centre[tss]
    activity = raw[region] * contact(distance)
    importance = result.region[t][g_index, pos]
    table = pd.DataFrame(
        {
            "chrom": chrom[region],
            "start": start[region],
            "end": end[region],
            "region": region,
            "gene_id": genes["gene_id"].to_numpy()[g_index],
            "gene_name": genes["gene_name"].to_numpy()[g_index],
            "strand": genes["strand"].to_numpy()[g_index],
            "cell_type": context.cell_type,
            "tss_region": tss,
            "tss_start": start[tss],
            "tss_end": end[tss],
            "distance": distance,
            "is_tss": region == tss,
            "accessibility": raw[region],
            "importance": importance,
            "importance_signed": result.region_signed[t][g_index, pos],
            "knockout": change[window_of[t][g_index], pos, targets.strand[t][g_index]],
        }
    )
    table["abc"] = activity / _per_row_sum(g_index, activity)
    drive = np.clip(table["importance_signed"].to_numpy(), 0.0, None)
    table["get_abc"] = (drive / _per_row_sum(g_index, drive) + table["abc"].to_numpy()) / 2
    table["score"] = table[DEFAULT_SCORE]
    return table[COLUMNS]


def _per_row_sum(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each entry, the sum of ``values`` over its group (0 -> 1, so shares stay 0)."""
    sums = np.bincount(group, weights=values)
    total = sums[group]
    return np.where(total > 0, total, 1.0)


def links(
    predictor: Any,
    store: Any,
    cell_type: str,
    genes: list[str] | None = None,
    *,
    contact: PowerLaw | None = None,
    batch_size: int = 32,
    device: str | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Enhancer-gene link scores in ``cell_type`` for ``genes`` (ids or names; None: all).
    ``progress(done, total)`` counts the knock-out runs."""
    context = cell_type_context(predictor, store, cell_type, genes)
    result = importance_of(context, batch_size, device)
    ko = knockouts(context, batch_size, device, progress)
    log.info("%s: %d knock-outs over %d TSS windows", cell_type, len(ko[0]), len(np.unique(ko[0])))
    return link_table(context, result, ko, contact)
