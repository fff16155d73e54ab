"""The demo's report: one self-contained page with the split, held-out accuracy against the
baselines, per-cell-type scores, training curves and stage timings (:func:`write_demo_report`)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from getx import plots
from getx.report import Section, write_report
from getx.train.config import TrainConfig


def write_demo_report(
    path: Path,
    summary: dict,
    scores: pd.DataFrame,
    per_cell_type: pd.DataFrame,
    predictions: pd.DataFrame,
    logs: dict[str, pd.DataFrame],
    timings: dict[str, float],
    finetune: TrainConfig,
    interpretation: list[Section] | None = None,
) -> Path:
    """The demo's report.html: held-out scatter plots, model comparison, curves, the
    ``interpretation`` sections (:mod:`getx.interpret.report`, when given), timings.

    ``summary``: the demo's summary.json; ``predictions``: the finetuned GET's, with a ``group``
    column; ``logs``: run name -> its metrics.csv; ``finetune``: the finetuning run's config.
    """
    held = [
        g
        for g in ("held-out chromosome", "held-out cell type", "held-out both")
        if (predictions["group"] == g).any()
    ]
    panels = [(g, predictions[predictions["group"] == g]) for g in held]
    wide = scores.pivot_table(index="model", columns="group", values="pearson").reset_index()
    wide.columns.name = None
    overview = Section("Data and split").add(
        f"Input: {summary['source']}. Store: {summary['regions']:,} regions x "
        f"{summary['features']} motif features, cell types {', '.join(summary['cell_types'])}. "
        f"Held out from training: chromosome {', '.join(summary['holdout_chroms'])}; cell type "
        f"{', '.join(summary['holdout_cell_types']) or '(none: fewer than 3 cell types)'}. "
        f"Model: the {summary['options']['model']} GET preset, "
        + (
            f"with a learned attention bias over {summary['options']['distance_buckets']} "
            "genomic-distance buckets."
            if summary["options"].get("distance_buckets")
            else "GET's attention (no genomic distances)."
        )
        + _training_choices(finetune)
    )
    accuracy = (
        Section("Held-out accuracy")
        .add(
            plots.observed_vs_predicted(panels),
            caption="Finetuned GET on genes it never saw in training: observed vs predicted "
            "expression per (gene, cell type).",
        )
        .add("Pearson correlation per model (rows) and split (columns):")
        .add(wide)
        .add("All metrics:")
        .add(scores)
        .add(
            "Baselines: the per-region MLP sees one region at a time (no context); "
            "distance-weighted accessibility is a least-squares fit on promoter accessibility "
            "plus neighbouring accessibility weighted by distance; mean of training cell types "
            "predicts a gene in a new cell type from its expression in the others (undefined on "
            "held-out chromosomes)."
        )
    )
    cells = Section("Per cell type").add(per_cell_type)
    curves = Section("Training").add(
        plots.training_curves(logs),
        caption="Training loss per step, validation loss and Pearson per epoch (validation: "
        "the held-out chromosome in the held-out cell type).",
    )
    timing = Section("Run time").add(
        pd.DataFrame({"stage": list(timings), "seconds": list(timings.values())})
    )
    return write_report(
        path,
        "getx demo report",
        [overview, accuracy, cells, curves, *(interpretation or []), timing],
        subtitle=time.strftime("%Y-%m-%d %H:%M"),
    )


def _training_choices(config: TrainConfig) -> str:
    """The finetuning's departures from GET's training, in words (empty when there are none)."""
    parts = []
    if config.model.get("motif_dropout"):
        parts.append(f"dropout {config.model['motif_dropout']:g} on the motif inputs")
    if config.data.min_context:
        parts.append(
            "a loss that counts a TSS only where its window gives it "
            f"{config.data.min_context} regions of context on each side"
        )
    return f" Trained with {' and '.join(parts)}." if parts else ""
