"""How well a score ranks true pairs above false ones: AUPRC, precision at a recall, AUROC, and
bootstrap intervals.

AUPRC is the average precision (scikit-learn's ``average_precision_score``: precision at each
positive, stepwise, no interpolation). Precision at recall r is the precision at the highest
score threshold whose recall reaches r (as the ENCODE-rE2G / CRISPR benchmark tables report
"precision at 70% recall"). Missing scores (NaN) rank below every score.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from getx.errors import InputError


def _clean(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise InputError(f"labels {labels.shape} and scores {scores.shape} must be equal 1-d")
    low = np.nanmin(scores) - 1.0 if np.isfinite(scores).any() else 0.0
    return labels, np.where(np.isfinite(scores), scores, low)


def _both_classes(labels: np.ndarray) -> bool:
    return bool(labels.any() and (~labels).any())


def auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of ``scores`` for the boolean ``labels`` (NaN without both classes)."""
    from sklearn.metrics import average_precision_score

    labels, scores = _clean(labels, scores)
    return float(average_precision_score(labels, scores)) if _both_classes(labels) else np.nan


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half; NaN without both classes)."""
    from sklearn.metrics import roc_auc_score

    labels, scores = _clean(labels, scores)
    return float(roc_auc_score(labels, scores)) if _both_classes(labels) else np.nan


def precision_at_recall(labels: np.ndarray, scores: np.ndarray, recall: float = 0.7) -> float:
    """Precision at the highest threshold whose recall is at least ``recall``."""
    from sklearn.metrics import precision_recall_curve

    labels, scores = _clean(labels, scores)
    if not _both_classes(labels):
        return np.nan
    precision, achieved, _ = precision_recall_curve(labels, scores)
    # the curve runs from the lowest threshold (recall 1) up; take the last point reaching r
    return float(precision[np.flatnonzero(achieved >= recall)[-1]])


def bootstrap_interval(
    metric: Callable[[np.ndarray, np.ndarray], float],
    labels: np.ndarray,
    scores: np.ndarray,
    n: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of ``metric`` over ``n`` resamples of the pairs (with replacement);
    resamples without both classes are skipped."""
    labels, scores = _clean(labels, scores)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        pick = rng.integers(0, len(labels), len(labels))
        if _both_classes(labels[pick]):
            values.append(metric(labels[pick], scores[pick]))
    if not values:
        return np.nan, np.nan
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def ranking_summary(
    labels: np.ndarray, scores: np.ndarray, recall: float = 0.7, intervals: int = 0
) -> dict[str, float]:
    """n, positives, AUPRC, precision at ``recall`` and AUROC; with ``intervals`` > 0 also
    bootstrap 95% intervals of the first two over that many resamples."""
    labels = np.asarray(labels, dtype=bool)
    row = {
        "n": len(labels),
        "positives": int(labels.sum()),
        "auprc": auprc(labels, scores),
        f"precision_at_{round(recall * 100)}_recall": precision_at_recall(labels, scores, recall),
        "auroc": auroc(labels, scores),
    }
    if intervals:
        for name, metric in (
            ("auprc", auprc),
            (f"precision_at_{round(recall * 100)}_recall", _at(recall)),
        ):
            low, high = bootstrap_interval(metric, labels, scores, n=intervals)
            row[f"{name}_low"], row[f"{name}_high"] = low, high
    return row


def _at(recall: float) -> Callable[[np.ndarray, np.ndarray], float]:
    return lambda labels, scores: precision_at_recall(labels, scores, recall)
