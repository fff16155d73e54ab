"""Held-out evaluation helpers: the distance-weighted accessibility baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def test_distance_weighted_baseline_recovers_a_log_contact_sum_of_reads():
    from types import SimpleNamespace

    from getx.train.evaluate import distance_weighted_accessibility, regression_metrics

    rng = np.random.default_rng(0)
    n = 400
    mids = np.sort(rng.choice(np.arange(0, 4_000_000, 500), n, replace=False))
    regions = pd.DataFrame({"chrom": "chr1", "start": mids - 100, "end": mids + 100})
    reads = {ct: rng.gamma(2.0, 20.0, n) for ct in ("a", "b")}

    def cell_type(ct):
        raw = reads[ct]
        return SimpleNamespace(accessibility_raw=raw, accessibility=np.log10(raw + 1) / 3)

    store = SimpleNamespace(regions=regions, cell_type=cell_type)
    genes = rng.choice(n, 120, replace=False)
    rows = []
    for ct, raw in reads.items():
        linear = raw / raw.mean()
        for g in genes:
            drive = np.sum(np.exp(-np.abs(mids - mids[g]) / 20_000) * linear)  # self: weight 1
            rows.append({"cell_type": ct, "region": g, "observed": np.log1p(drive)})
    table = pd.DataFrame(rows).assign(predicted=np.nan)
    training = np.arange(len(table)) % 2 == 0
    out = distance_weighted_accessibility(store, table, training)
    assert out.attrs == {"scale_bp": 20_000, "accessibility": "log linear"}
    held = ~training
    assert regression_metrics(out["observed"][held], out["predicted"][held])["pearson"] > 0.95
