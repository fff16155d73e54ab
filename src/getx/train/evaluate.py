"""Held-out evaluation of expression predictions, and the baselines a GET model must beat.

Every table here has one row per (gene row of the store, cell type): the columns of
:data:`getx.train.predict.COLUMNS` (``predicted`` and ``observed`` among them). Rows are split
into the groups of :func:`split_rows` by where they sit relative to the training data, and
:func:`score` gives Pearson, Spearman and R2 per (model, group). :func:`evaluate_runs` predicts
with trained runs and fits the baselines; :func:`write_evaluation` writes the tables that
``getx evaluate`` and the demo write. :func:`choose_holdouts` picks a split for a new run.

Baselines, each fitted on training rows only:

* ``mean of training cell types``: a gene's mean expression over the training cell types (for
  new cell types only: on a held-out chromosome it would read the very labels being predicted);
* ``distance-weighted accessibility``: least squares on the promoter's accessibility and the sum
  of the accessibility around it weighted by ``exp(-distance / scale)``, the scale and the
  accessibility scale (GET's normalised log aCPM, or the log of summed linear reads) chosen on
  training rows (an activity-by-contact style guess without motifs);
* the per-region MLP (GET's no-context baseline) is a trained model: ``TrainConfig(arch="mlp")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.files import atomic_output, folder_of, table_kind
from getx.train.data import linear_accessibility, region_centres
from getx.train.predict import COLUMNS

GROUPS = ("training", "held-out chromosome", "held-out cell type", "held-out both")
SCALES_BP = (5_000, 20_000, 50_000, 100_000)


def regression_metrics(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Pearson, Spearman and R2 (of ``predicted`` as a forecast of ``observed``), with n."""
    from scipy import stats

    observed = np.asarray(observed, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    n = len(observed)
    if n < 3 or np.std(observed) == 0 or np.std(predicted) == 0:
        return {"n": n, "pearson": np.nan, "spearman": np.nan, "r2": np.nan}
    residual = np.sum((observed - predicted) ** 2)
    total = np.sum((observed - observed.mean()) ** 2)
    return {
        "n": n,
        "pearson": float(stats.pearsonr(observed, predicted)[0]),
        "spearman": float(stats.spearmanr(observed, predicted)[0]),
        "r2": float(1.0 - residual / total),
    }


def split_rows(
    table: pd.DataFrame, holdout_chroms: list[str], holdout_cell_types: list[str]
) -> pd.Series:
    """The group of each row: training, held-out chromosome / cell type, or both."""
    chrom = table["chrom"].isin(holdout_chroms).to_numpy()
    cell = table["cell_type"].isin(holdout_cell_types).to_numpy()
    group = np.select(
        [chrom & cell, chrom, cell], [GROUPS[3], GROUPS[1], GROUPS[2]], default=GROUPS[0]
    )
    return pd.Series(group, index=table.index, name="group")


SCORE_COLUMNS = ["model", "group", "n", "pearson", "spearman", "r2"]
CELL_TYPE_SCORE_COLUMNS = ["cell_type", *SCORE_COLUMNS[1:]]
# What `getx evaluate` writes into its folder, and how an earlier one is recognised.
EVALUATION_FILES = {
    "predictions.tsv": table_kind("evaluation predictions", COLUMNS[:3]),
    "scores.tsv": table_kind("score table", SCORE_COLUMNS),
    "per_cell_type.tsv": table_kind("per-cell-type score table", CELL_TYPE_SCORE_COLUMNS),
}
EVALUATION_KIND = folder_of("evaluation folder", dict(EVALUATION_FILES))


def score(predictions: dict[str, pd.DataFrame], groups: pd.Series | None = None) -> pd.DataFrame:
    """Metrics per model and group for tables that carry a ``group`` column (or ``groups``).

    Rows without an observed value (genes not measured in that cell type) or without a prediction
    (a baseline not defined there) are left out.
    """
    rows = []
    for model, table in predictions.items():
        group_of = table.get("group", groups)
        for group in GROUPS:
            sel = (group_of == group).to_numpy()
            sel &= np.isfinite(table["observed"].to_numpy(dtype=float))
            sel &= np.isfinite(table["predicted"].to_numpy(dtype=float))
            if sel.sum() == 0:
                continue
            metrics = regression_metrics(table["observed"][sel], table["predicted"][sel])
            rows.append({"model": model, "group": group, **metrics})
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def score_by_cell_type(table: pd.DataFrame) -> pd.DataFrame:
    """Metrics of one model's predictions per (cell type, group)."""
    rows = []
    for (cell_type, group), part in table.groupby(["cell_type", "group"], sort=True):
        part = part[np.isfinite(part["observed"].to_numpy(dtype=float))]
        if len(part):
            metrics = regression_metrics(part["observed"], part["predicted"])
            rows.append({"cell_type": cell_type, "group": group, **metrics})
    return pd.DataFrame(rows, columns=CELL_TYPE_SCORE_COLUMNS)


def mean_of_training_cell_types(
    table: pd.DataFrame, training_cell_types: list[str], holdout_chroms: list[str]
) -> pd.DataFrame:
    """Predict each gene row as its mean expression over the training cell types.

    Defined for rows of held-out cell types on training chromosomes; elsewhere NaN (on a held-out
    chromosome the mean would read the labels under test).
    """
    key = ["gene_id", "strand", "region"]
    seen = table[table["cell_type"].isin(training_cell_types)]
    means = seen.groupby(key, sort=False)["observed"].mean().rename("predicted")
    out = table.drop(columns="predicted").join(means, on=key)
    usable = ~out["cell_type"].isin(training_cell_types) & ~out["chrom"].isin(holdout_chroms)
    out.loc[~usable, "predicted"] = np.nan
    return out[table.columns]


def _weighted_sums(positions: np.ndarray, values: np.ndarray, scale: float) -> np.ndarray:
    """At each (sorted) position, the sum of the non-negative ``values`` weighted by
    exp(-|distance| / scale): left and right cumulative sums taken in log space, where
    exp(position / scale) cannot overflow."""
    z = positions / scale
    with np.errstate(divide="ignore"):
        log_values = np.log(values)
    left = np.exp(np.logaddexp.accumulate(log_values + z) - z)
    right = np.exp(np.logaddexp.accumulate((log_values - z)[::-1])[::-1] + z)
    return left + right - values


def distance_weighted_accessibility(
    store: Any,
    table: pd.DataFrame,
    training: np.ndarray,
    scales: tuple[int, ...] = SCALES_BP,
) -> pd.DataFrame:
    """Least-squares expression from promoter accessibility and distance-weighted neighbours.

    ``table``: rows to predict (gene rows x cell types, with ``region`` store rows); ``training``:
    boolean mask of the rows the fit may use. Returns ``table`` with ``predicted`` replaced.
    """
    regions = store.regions
    chroms = regions["chrom"].to_numpy().astype(str)
    mids = region_centres(regions).astype(np.float64)
    cell_types = list(pd.unique(table["cell_type"]))
    data = [store.cell_type(ct) for ct in cell_types]
    normalised = np.stack([np.nan_to_num(np.asarray(d.accessibility, np.float64)) for d in data])
    linear = np.stack([linear_accessibility(d.accessibility_raw) for d in data]).astype(np.float64)
    region_of = table["region"].to_numpy()
    cell_of = pd.Categorical(table["cell_type"], categories=cell_types).codes
    observed = table["observed"].to_numpy(dtype=float)
    fit_rows = training & np.isfinite(observed)
    chrom_rows = [np.flatnonzero(chroms == c) for c in pd.unique(chroms)]

    best = None
    # log of summed linear reads: expression follows a contact-weighted SUM of activity
    for name, access, transform in (
        ("normalised", normalised, lambda v: v),
        ("log linear", linear, np.log1p),
    ):
        promoter = access[cell_of, region_of]
        for scale in scales:
            around = np.zeros_like(access)  # per cell type and region
            for rows in chrom_rows:
                for c in range(len(cell_types)):
                    around[c, rows] = _weighted_sums(mids[rows], access[c, rows], scale)
            neighbours = np.maximum(around[cell_of, region_of] - promoter, 0.0)
            x = np.column_stack([np.ones(len(table)), transform(promoter), transform(neighbours)])
            coef, *_ = np.linalg.lstsq(x[fit_rows], observed[fit_rows], rcond=None)
            error = np.mean((x[fit_rows] @ coef - observed[fit_rows]) ** 2)
            if best is None or error < best[0]:
                best = (error, x @ coef, scale, name)
    out = table.copy()
    out["predicted"] = best[1]
    out.attrs["scale_bp"] = best[2]
    out.attrs["accessibility"] = best[3]
    return out


def choose_holdouts(
    store: Any, chrom: str | None = None, cell_type: str | None = None
) -> tuple[list[str], list[str]]:
    """Held-out chromosomes and cell types (``chrom``/``cell_type`` when given). Chromosome: the
    one holding closest to a fifth of the gene rows (ties: the later). Cell type: the last one,
    when at least three cell types leave two to train on."""
    chroms = store.regions["chrom"].to_numpy().astype(str)[store.genes["region"].to_numpy()]
    if chrom and chrom not in set(chroms):
        raise InputError(
            f"held-out chromosome {chrom!r} has no genes in the store "
            f"(chromosomes with genes: {', '.join(sorted(set(chroms))[:30])})",
            store.path,
        )
    if cell_type and cell_type not in store.cell_types:
        raise InputError(
            f"held-out cell type {cell_type!r} is not in the store "
            f"(has: {', '.join(store.cell_types)})",
            store.path,
        )
    if chrom:
        held_chroms = [chrom]
    else:
        names, counts = np.unique(chroms, return_counts=True)
        if len(names) < 2:
            raise InputError("a held-out chromosome needs genes on at least two", store.path)
        share = np.abs(counts / counts.sum() - 0.2)
        held_chroms = [str(names[len(share) - 1 - int(np.argmin(share[::-1]))])]
    if cell_type:
        held_cells = [cell_type]
    else:
        held_cells = [store.cell_types[-1]] if len(store.cell_types) >= 3 else []
    return held_chroms, held_cells


def evaluate_runs(
    store: Any,
    runs: dict[str, str | Path],
    held_chroms: list[str] | None = None,
    held_cells: list[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Predictions of each trained run (name -> run directory or checkpoint) in every cell type
    of ``store``, and of the fitted baselines, per (gene row, cell type), with a ``group`` column
    (training / held-out chromosome / cell type / both). The split is the one given, or else the
    first run's own held-out chromosomes and cell types, which every run must share."""
    from getx.train.predict import load_model

    predictors = {name: load_model(run) for name, run in runs.items()}
    if held_chroms is None and held_cells is None:
        splits = {name: p.holdouts for name, p in predictors.items()}
        held_chroms, held_cells = first = next(iter(splits.values()))
        for name, split in splits.items():
            if split != first:
                raise InputError(
                    f"held out {split}, the first run {first}: their scores would not compare",
                    name,
                )
    held_chroms, held_cells = list(held_chroms or []), list(held_cells or [])
    tables = {}
    for name, predictor in predictors.items():
        table = predictor.predict_cell_types(store)
        tables[name] = table.assign(group=split_rows(table, held_chroms, held_cells))
    reference = next(iter(tables.values()))
    training = (reference["group"] == "training").to_numpy()
    training_cells = [c for c in store.cell_types if c not in held_cells]
    tables["distance-weighted accessibility"] = distance_weighted_accessibility(
        store, reference, training
    )
    if held_cells:
        tables["mean of training cell types"] = mean_of_training_cell_types(
            reference, training_cells, held_chroms
        )
    return tables


def write_evaluation(
    out: str | Path, predictions: dict[str, pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write ``predictions.tsv`` (every model's rows, with ``model`` and ``group`` columns),
    ``scores.tsv`` (:func:`score`) and ``per_cell_type.tsv`` (:func:`score_by_cell_type` of the
    first model) into ``out``; returns the scores and the per-cell-type scores."""
    out = Path(out)
    scores = score(predictions)
    per_cell_type = score_by_cell_type(next(iter(predictions.values())))
    long = pd.concat([t.assign(model=m) for m, t in predictions.items()], ignore_index=True)
    for name, table in (
        ("predictions.tsv", long),
        ("scores.tsv", scores),
        ("per_cell_type.tsv", per_cell_type),
    ):
        with atomic_output(out / name, EVALUATION_FILES[name]) as tmp:
            table.to_csv(tmp, sep="\t", index=False)
    return scores, per_cell_type
