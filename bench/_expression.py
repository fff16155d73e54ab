"""Expression from chromatin on real cells: what ``bench/expression_*.py`` share.

Training settings are fixed in advance, never chosen on these data: GET's are the demo's
finetuning settings (``getx.demo.DemoOptions``, chosen on the simulator: the small preset,
100-region windows a quarter window apart with the loss on TSSs that have a quarter window of
context on each side, linear accessibility, the genomic-distance attention bias, learning rate
1e-4 with 20 warmup steps, batch 8, 5 epochs, seed 0); the per-region MLP's are the demo's too
(learning rate 5e-4, the same windows and loss). No pretraining (with accessibility alone there
is one input column to reconstruct). Validation is switched off (``limit_val_batches=0``): the
last checkpoint is used, so nothing is selected on the held-out part. Every model is scored on
the held-out rows only (genes whose TSS region is accessible, with a measured expression),
beside the distance-weighted accessibility baseline fitted on the training rows
(``getx.train.evaluate``). Intervals resample genes (all of a gene's TSS rows together).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger("bench.expression")

DISTANCE = "distance-weighted accessibility"


def get_settings(regions: int = 100, epochs: int = 5) -> dict[str, Any]:
    """The GET training settings (the demo's finetuning), for ``TrainConfig.updated``."""
    quarter = max(regions // 4, 1)
    return {
        "data": {
            "regions": regions,
            "step": quarter,
            "min_context": quarter,
            "accessibility": "linear",
        },
        "epochs": epochs,
        "lr": 1e-4,
        "warmup_steps": 20,
        "batch_size": 8,
        "model": {"distance_buckets": 32},
        "seed": 0,
        "deterministic": True,
        "progress": False,
        "limit_val_batches": 0.0,
    }


def mlp_settings(regions: int = 100, epochs: int = 5) -> dict[str, Any]:
    """The per-region MLP baseline's settings (the demo's): GET's windows and loss."""
    settings = get_settings(regions, epochs)
    settings.update(arch="mlp", lr=5e-4, model={})
    return settings


QUICK = {"epochs": 1, "max_steps": 2}  # a smoke run: the code path, not the method


def train_once(
    store: Path, out: Path, holdout_chroms: list[str], settings: dict, quick: bool
) -> Path:
    """Train a run with ``settings`` unless ``out`` holds a finished one with the same config
    (``done.json``); an unfinished or different run there is removed first."""
    from getx.train.config import TrainConfig
    from getx.train.run import train

    config = TrainConfig.from_preset("small", str(store), str(out))
    config = config.updated(settings).updated({"data": {"holdout_chroms": holdout_chroms}})
    if quick:
        config = config.updated(QUICK)
    key = json.dumps(config.to_dict(), sort_keys=True, default=str)
    done = out / "done.json"
    if done.exists() and done.read_text() == key:
        log.info("reusing the finished run %s", out)
        return out
    shutil.rmtree(out, ignore_errors=True)
    log.info("training %s (held out %s)", out, holdout_chroms or "nothing")
    train(config)
    done.write_text(key)
    return out


def held_out_rows(
    store: Any, runs: dict[str, Path], held_chroms: list[str], fold: str
) -> dict[str, pd.DataFrame]:
    """Each run's and the distance-weighted baseline's predictions on the rows of
    ``held_chroms`` with a measured expression, labelled with ``fold``."""
    from getx.train.evaluate import evaluate_runs

    tables = evaluate_runs(store, runs, held_chroms, [])
    out = {}
    for name, table in tables.items():
        keep = (table["group"] == "held-out chromosome").to_numpy()
        keep &= np.isfinite(table["observed"].to_numpy(dtype=float))
        out[name] = table[keep].assign(fold=fold).reset_index(drop=True)
    return out


def _weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pearson of x and y under each row of frequency weights ``w`` (resamples x rows)."""
    total = w.sum(axis=1, keepdims=True)
    mx, my = (w @ x)[:, None] / total, (w @ y)[:, None] / total
    dx, dy = x[None, :] - mx, y[None, :] - my
    cov = (w * dx * dy).sum(axis=1)
    var = np.sqrt((w * dx * dx).sum(axis=1) * (w * dy * dy).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / var


def gene_bootstrap(
    observed: np.ndarray,
    predictions: list[np.ndarray],
    genes: np.ndarray,
    n: int,
    seed: int = 0,
) -> list[np.ndarray]:
    """Pearson of each prediction over ``n`` resamples of the genes (with replacement, all of a
    gene's rows together), the same resamples for every prediction (so differences pair)."""
    codes, uniques = pd.factorize(pd.Series(genes))
    rng = np.random.default_rng(seed)
    counts = np.stack(
        [np.bincount(rng.integers(0, len(uniques), len(uniques)), minlength=len(uniques))
         for _ in range(n)]
    )  # fmt: skip
    weights = counts[:, codes].astype(np.float64)
    x = np.asarray(observed, np.float64)
    return [_weighted_pearson(x, np.asarray(p, np.float64), weights) for p in predictions]


def _interval(values: np.ndarray) -> list[float] | None:
    values = values[np.isfinite(values)]
    if len(values) < 10:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]


def finite(value: float) -> float | None:
    """The value, or None (JSON null) where it is NaN or infinite."""
    return float(value) if np.isfinite(value) else None


def score_table(
    title: str,
    pooled: dict[str, pd.DataFrame],
    inputs: dict[str, str],
    reference: str,
    intervals: int,
) -> dict:
    """One row per model: genes, rows, Pearson with its gene-bootstrap interval, Spearman, R2,
    and ``reference``'s Pearson minus the model's (paired over the same resamples)."""
    from getx.train.evaluate import regression_metrics

    first = pooled[reference]
    key = ["gene_id", "region", "strand", "fold"]
    frames = {
        name: first[key].merge(table[[*key, "predicted"]], on=key, how="left")
        for name, table in pooled.items()
    }
    observed = first["observed"].to_numpy(float)
    genes = first["gene_id"].to_numpy()
    predicted = {name: frame["predicted"].to_numpy(float) for name, frame in frames.items()}
    boot = dict(
        zip(
            predicted,
            gene_bootstrap(observed, list(predicted.values()), genes, intervals),
            strict=True,
        )
    )
    rows = []
    pearson = {}
    for name, values in predicted.items():
        ok = np.isfinite(values)
        metrics = regression_metrics(observed[ok], values[ok])
        pearson[name] = metrics["pearson"]
        difference = boot[reference] - boot[name]
        rows.append(
            [
                name,
                inputs.get(name, ""),
                int(pd.Series(genes[ok]).nunique()),
                int(ok.sum()),
                finite(metrics["pearson"]),
                _interval(boot[name]),
                finite(metrics["spearman"]),
                finite(metrics["r2"]),
                None if name == reference else finite(pearson[reference] - pearson[name]),
                None if name == reference else _interval(difference),
            ]
        )
    return {
        "title": title,
        "columns": [
            "model",
            "input",
            "genes",
            "TSS rows",
            "Pearson",
            "95% CI (genes resampled)",
            "Spearman",
            "R2",
            f"{reference} minus this (Pearson)",
            "95% CI of the difference",
        ],
        "rows": rows,
    }


def fold_table(title: str, pooled: dict[str, pd.DataFrame], folds: dict[str, str]) -> dict:
    """Pearson per held-out fold and model (``folds``: fold label -> its description)."""
    from getx.train.evaluate import regression_metrics

    names = list(pooled)
    rows = []
    for fold, description in folds.items():
        part = {name: table[table["fold"] == fold] for name, table in pooled.items()}
        first = part[names[0]]
        row: list = [fold, description, int(first["gene_id"].nunique()), len(first)]
        for name in names:
            table = part[name]
            ok = np.isfinite(table["predicted"].to_numpy(float))
            metrics = regression_metrics(
                table["observed"].to_numpy(float)[ok], table["predicted"].to_numpy(float)[ok]
            )
            row.append(finite(metrics["pearson"]))
        rows.append(row)
    return {
        "title": title,
        "columns": ["fold", "held out", "genes", "TSS rows", *(f"{n} Pearson" for n in names)],
        "rows": rows,
    }


def write_gene_table(values: pd.Series, path: Path) -> Path:
    """A gene -> value CSV that ``getx prepare --expression`` reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    values.rename("value").rename_axis("gene").reset_index().to_csv(path, index=False)
    return path
