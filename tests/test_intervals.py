"""The one interval-overlap index behind accessibility counts, motif hits and promoters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from getx.errors import InputError
from getx.io.intervals import IntervalIndex


def _table(chrom, starts, ends):
    return pd.DataFrame({"chrom": chrom, "start": starts, "end": ends})


def _brute_force(starts, ends, q_start, q_end):
    return [
        (i, j)
        for i in range(len(q_start))
        for j in range(len(starts))
        if starts[j] < q_end[i] and ends[j] > q_start[i]
    ]


def test_disjoint_regions_match_brute_force():
    rng = np.random.default_rng(1)
    starts = np.sort(rng.choice(np.arange(0, 100_000, 10), 300, replace=False))
    ends = starts + rng.integers(1, 10, 300)  # never reaches the next start
    index = IntervalIndex(_table("chr1", starts, ends))
    q_start = rng.integers(0, 100_000, 500)
    q_end = q_start + rng.integers(1, 2_000, 500)
    query, row = index.overlaps("chr1", q_start, q_end)
    got = set(zip(query.tolist(), row.tolist(), strict=True))
    assert got == set(_brute_force(starts, ends, q_start, q_end))


@pytest.mark.parametrize("n_queries, sort", [(300, False), (3_000, True)])
def test_nested_intervals_match_brute_force_in_order(n_queries, sort):
    """Peaks may nest and overlap and come in any order; pairs come query by query, and for
    one query in the table's (start, end) order, whichever way the index searches (many sorted
    queries, as in a motif-hit file, are searched interval by interval)."""
    rng = np.random.default_rng(2)
    n = 400
    chrom = rng.choice(["chr1", "chr2"], n)
    starts = rng.integers(0, 50_000, n)
    ends = starts + rng.choice([1, 50, 500, 20_000], n)  # a few long ones span many others
    index = IntervalIndex(_table(chrom, starts, ends))
    q_start = rng.integers(0, 60_000, n_queries)
    if sort:
        q_start = np.sort(q_start)
    q_end = q_start + rng.integers(1, 300, n_queries)
    for name in ("chr1", "chr2"):
        rows = np.flatnonzero(chrom == name)
        query, row = index.overlaps(name, q_start, q_end)
        expected = sorted(
            ((i, rows[j]) for i, j in _brute_force(starts[rows], ends[rows], q_start, q_end)),
            key=lambda pair: (pair[0], starts[pair[1]], ends[pair[1]], pair[1]),
        )
        assert list(zip(query.tolist(), row.tolist(), strict=True)) == expected


def test_half_open_edges_absent_chromosome_and_empty_queries():
    index = IntervalIndex(_table(["c", "c"], [0, 10], [5, 20]))
    query, row = index.overlaps("c", np.array([5, 4, 20]), np.array([10, 12, 30]))
    assert list(zip(query.tolist(), row.tolist(), strict=True)) == [(1, 0), (1, 1)]
    assert "c" in index and "d" not in index
    for starts in (np.array([1]), np.array([], np.int64)):
        q, r = index.overlaps("d" if len(starts) else "c", starts, starts + 1)
        assert q.size == 0 and r.size == 0 and q.dtype == r.dtype == np.int64


def test_missing_columns_are_an_input_error():
    with pytest.raises(InputError, match=r"lacks column\(s\) \['end'\]"):
        IntervalIndex(pd.DataFrame({"chrom": ["c"], "start": [1]}))
