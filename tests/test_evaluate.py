"""Held-out evaluation helpers: the distance-weighted accessibility sums."""

from __future__ import annotations

import numpy as np

from getx.train.evaluate import _weighted_sums


def test_weighted_sums_equal_the_dense_sum_at_chromosome_scale_positions():
    rng = np.random.default_rng(0)
    positions = np.sort(rng.integers(0, 240_000_000, 400)).astype(np.float64)
    values = rng.random(400)
    values[::7] = 0.0  # closed regions
    for scale in (5_000.0, 100_000.0):
        weights = np.exp(-np.abs(positions[:, None] - positions[None, :]) / scale)
        dense = weights @ values
        np.testing.assert_allclose(_weighted_sums(positions, values, scale), dense, rtol=1e-9)
