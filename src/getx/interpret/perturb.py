"""In-silico perturbations: region knock-outs, TF (motif cluster) knock-outs and overexpression.

A perturbation edits the model inputs of a cell type (:class:`~getx.train.predict.WindowInputs`):
a region knock-out sets the regions' motif features and accessibility to 0; a TF knock-out sets
a motif cluster's feature to 0 in every region (``motif_columns`` finds the clusters of a TF gene
through the store's ``cluster_genes``), overexpression multiplies it by a factor (scaled features
may then exceed the [0, 1] of training). :func:`perturbation_effects` re-runs the model on every
window that holds an edited region and reports, per gene row, the prediction before and after and
the first-order (gradient) estimate of the change, sum over the window of gradient x (edited
input - input), beside it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.interpret.context import CellTypeContext, Progress, Targets, forward, gradients
from getx.io.files import table_kind
from getx.train.predict import COLUMNS as PREDICTION_COLUMNS

# Prediction's columns (getx.train.predict.COLUMNS) without "observed", then the effect.
COLUMNS = [c for c in PREDICTION_COLUMNS if c != "observed"] + [
    "perturbed",
    "change",
    "first_order",
]
OUTPUT_KIND = table_kind("perturbation table", COLUMNS)


def knock_out_regions(inputs: Any, rows: np.ndarray) -> Any:
    """``inputs`` with the motifs and accessibility of store ``rows`` set to 0."""
    features, access = inputs.features.copy(), inputs.access.copy()
    features[rows] = 0.0
    access[rows] = 0.0
    return dataclasses.replace(inputs, features=features, access=access)


def scale_motifs(inputs: Any, columns: list[int], factor: float) -> Any:
    """``inputs`` with motif feature ``columns`` multiplied by ``factor`` in every region (0: a
    TF knock-out)."""
    features = inputs.features.copy()
    features[:, columns] *= np.float32(factor)
    return dataclasses.replace(inputs, features=features)


def motif_columns(store: Any, tfs: list[str] = (), motifs: list[str] = ()) -> list[int]:
    """Feature columns of motif clusters named in ``motifs`` and of every cluster whose
    ``cluster_genes`` holds a TF gene in ``tfs`` (case-insensitive)."""
    names = list(store.feature_names)
    columns: list[int] = []
    for motif in motifs:
        if motif not in names:
            raise InputError(f"motif cluster {motif!r} is not a feature of the store", store.path)
        columns.append(names.index(motif))
    genes = {c: {g.upper() for g in store.cluster_genes.get(c, [])} for c in names}
    for tf in tfs:
        found = [i for i, c in enumerate(names) if tf.upper() in genes[c]]
        if not found:
            raise InputError(f"TF gene {tf!r} is in no motif cluster of the store", store.path)
        columns.extend(found)
    if not columns:
        raise InputError("name a TF gene or a motif cluster to perturb")
    return sorted(set(columns))


def regions_in_bed(store: Any, path: str | Path) -> np.ndarray:
    """Store rows overlapping the intervals of a BED file; a chromosome the store lacks, or a
    file overlapping no region, is refused."""
    from getx.io.intervals import IntervalIndex
    from getx.io.peaks import read_peaks

    bed = read_peaks(path, drop_chroms=(), duplicates="keep")
    known = set(store.regions["chrom"].astype(str))
    unknown = sorted(set(bed["chrom"].astype(str)) - known)
    if unknown:
        raise InputError(
            f"chromosome(s) {', '.join(unknown[:5])} are not in the store "
            f"(has {', '.join(sorted(known)[:10])})",
            path,
        )
    index = IntervalIndex(store.regions)
    hits = []
    for chrom, part in bed.groupby("chrom", sort=False):
        _, rows = index.overlaps(str(chrom), part["start"].to_numpy(), part["end"].to_numpy())
        hits.append(rows)
    rows = np.unique(np.concatenate(hits)) if hits else np.empty(0, np.int64)
    if not len(rows):
        raise InputError("no store region overlaps the BED intervals", path)
    return rows


def changed_rows(inputs: Any, edited: Any) -> np.ndarray:
    """(n,) bool: the regions whose input differs between ``inputs`` and ``edited``."""
    return (inputs.features != edited.features).any(axis=1) | (inputs.access != edited.access)


def first_order(
    context: CellTypeContext,
    edited: Any,
    targets: Targets,
    batch_size: int = 32,
    device: str | None = None,
) -> np.ndarray:
    """(N,) the first-order change of each target's prediction: sum of gradient x
    (edited input - input) over its window."""
    out = np.zeros(len(targets), dtype=np.float64)
    for part, x, grad, _ in gradients(
        context.predictor, context.inputs, targets, batch_size, device
    ):
        x_edit, _, _ = edited.batch(targets.rows[part])
        out[part] = (grad * (x_edit - x)).sum(axis=(1, 2))
    return out


def perturbation_effects(
    context: CellTypeContext,
    edited: Any,
    batch_size: int = 32,
    device: str | None = None,
    estimate: bool = True,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Per gene row of ``context`` whose window holds an edited region: predicted, perturbed
    (the model re-run on ``edited``), change, and the first-order estimate (NaN when
    ``estimate`` is False). Rows sorted by change, most lowered first."""
    changed = changed_rows(context.inputs, edited)
    targets = context.targets
    hit = (changed[np.maximum(targets.rows, 0)] & (targets.rows >= 0)).any(axis=1)
    index = np.flatnonzero(hit)
    sub = Targets(targets.region[index], targets.strand[index], targets.rows[index],
                  targets.focus[index])  # fmt: skip
    strand = sub.strand.astype(np.int64)
    pick = np.arange(len(index))
    run = {"batch_size": batch_size, "device": device}
    before = forward(context.predictor, context.inputs, sub.rows, sub.focus, **run)[pick, strand]
    after = forward(context.predictor, edited, sub.rows, sub.focus, progress=progress, **run)
    after = after[pick, strand]
    estimate_of = (
        first_order(context, edited, sub, **run) if estimate else np.full(len(sub), np.nan)
    )
    slot = np.full(len(targets), -1)
    slot[index] = pick
    genes = context.genes[slot[context.genes["target"].to_numpy()] >= 0]
    s = slot[genes["target"].to_numpy()]
    regions = context.store.regions
    region = genes["region"].to_numpy()
    table = pd.DataFrame(
        {
            "gene_id": genes["gene_id"].to_numpy(),
            "gene_name": genes["gene_name"].to_numpy(),
            "cell_type": context.cell_type,
            "region": region,
            "chrom": regions["chrom"].to_numpy()[region],
            "start": regions["start"].to_numpy()[region],
            "end": regions["end"].to_numpy()[region],
            "strand": genes["strand"].to_numpy(),
            "predicted": before[s],
            "perturbed": after[s],
            "change": after[s] - before[s],
            "first_order": estimate_of[s],
        },
        columns=COLUMNS,
    )
    return table.sort_values("change", kind="stable", ignore_index=True)
