"""Ranking metrics on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from getx.errors import InputError
from getx.interpret.metrics import (
    auprc,
    auroc,
    bootstrap_interval,
    precision_at_recall,
    ranking_summary,
)


def test_metrics_on_a_hand_ranked_list():
    # ranked: + - + - - + (scores decreasing)
    labels = np.array([1, 0, 1, 0, 0, 1], dtype=bool)
    scores = np.array([6, 5, 4, 3, 2, 1], dtype=float)
    # average precision: (1/1 + 2/3 + 3/6) / 3
    assert auprc(labels, scores) == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    # recall 2/3 first reached at rank 3 (precision 2/3); recall 0.7 needs all three (3/6)
    assert precision_at_recall(labels, scores, 0.6) == pytest.approx(2 / 3)
    assert precision_at_recall(labels, scores, 0.7) == pytest.approx(0.5)
    # AUROC: positive-negative pairs ordered right: 3 + 2 + 0 of 9
    assert auroc(labels, scores) == pytest.approx(5 / 9)
    # a NaN score ranks last
    scores[0] = np.nan
    assert auroc(labels, scores) == pytest.approx(2 / 9)  # + at 4 over two negatives


def test_bootstrap_brackets_the_estimate_and_degenerate_cases():
    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.2
    scores = labels + rng.normal(0, 0.8, 300)
    low, high = bootstrap_interval(auprc, labels, scores, n=200)
    assert low < auprc(labels, scores) < high
    summary = ranking_summary(labels, scores, intervals=100)
    assert summary["positives"] == int(labels.sum())
    assert summary["auprc_low"] < summary["auprc"] < summary["auprc_high"]
    assert summary["precision_at_70_recall_low"] <= summary["precision_at_70_recall"]
    assert np.isnan(auprc(np.zeros(4, bool), np.arange(4.0)))
    with pytest.raises(InputError, match="must be equal 1-d"):
        auroc(np.zeros(3, bool), np.zeros(4))
