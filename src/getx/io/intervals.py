"""Interval overlap: which intervals of a table each query interval touches.

One index serves every reader that places features on peaks or regions (accessibility counts,
Tn5 insertions, motif hits, promoters). Coordinates are 0-based half-open, so ``[s, e)`` and
``[e, f)`` do not overlap. The table's intervals may overlap or nest and come in any row order.

Why not a library: bioframe and ncls answer the same question, but return the pairs in their own
order, and the readers sum floating-point values over the pairs, where the order of additions
shows in the last bits. Two binary searches per query give the pairs query by query, in the
order the queries come, with no new dependency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from getx.errors import InputError


@dataclass(frozen=True)
class _ChromIntervals:
    """One chromosome's intervals sorted by (start, end), with the table row of each."""

    starts: np.ndarray
    ends: np.ndarray
    rows: np.ndarray
    # Running maximum of the ends: monotone even where intervals nest, so one binary search
    # finds the first interval that can still reach a query's start.
    reach: np.ndarray


class IntervalIndex:
    """Per-chromosome overlap index of a table with columns ``chrom, start, end``.

    >>> index = IntervalIndex(pd.DataFrame({"chrom": ["c", "c"], "start": [0, 10], "end": [5, 20]}))
    >>> index.overlaps("c", np.array([4, 20]), np.array([12, 30]))
    (array([0, 0]), array([0, 1]))
    """

    def __init__(self, intervals: pd.DataFrame):
        missing = {"chrom", "start", "end"} - set(intervals.columns)
        if missing:
            raise InputError(f"interval table lacks column(s) {sorted(missing)}")
        chrom = intervals["chrom"].astype(str).to_numpy()
        starts = intervals["start"].to_numpy(np.int64)
        ends = intervals["end"].to_numpy(np.int64)
        self._chroms: dict[str, _ChromIntervals] = {}
        for name in pd.unique(chrom):
            rows = np.flatnonzero(chrom == name)
            rows = rows[np.lexsort((ends[rows], starts[rows]))]
            self._chroms[name] = _ChromIntervals(
                starts=starts[rows],
                ends=ends[rows],
                rows=rows,
                reach=np.maximum.accumulate(ends[rows]),
            )

    def __contains__(self, chrom: object) -> bool:
        return chrom in self._chroms

    def overlaps(
        self, chrom: str, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """All pairs (query index, table row) with ``row.start < query end`` and ``row.end >
        query start``, for queries ``[starts[i], ends[i])`` on ``chrom``.

        Pairs come in query order, and for one query in the order of the table's starts; a
        chromosome absent from the table has no pairs.
        """
        empty = np.empty(0, np.int64), np.empty(0, np.int64)
        table = self._chroms.get(chrom)
        if table is None or len(starts) == 0:
            return empty
        starts = np.asarray(starts, np.int64)
        ends = np.asarray(ends, np.int64)
        if len(starts) > len(table.starts) and (np.diff(starts) >= 0).all():
            # Many queries sorted by start (a motif-hit file): search the table's fewer
            # intervals among the queries (work in intervals and pairs, not in queries).
            query, candidate = _by_interval(table, starts, ends)
        else:
            query, candidate = _by_query(table, starts, ends)
        # Candidates are bounds: an interval may still end before the query starts (a long
        # earlier interval raised the running maximum) or start after the query ends (the
        # widest query bounded the search): drop those.
        keep = (table.ends[candidate] > starts[query]) & (table.starts[candidate] < ends[query])
        return query[keep], table.rows[candidate[keep]]


def _ranges(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, k) with first[i] <= k < last[i], grouped by i in order."""
    n = np.maximum(last - first, 0)
    total = int(n.sum())
    owner = np.repeat(np.arange(len(n)), n)
    return owner, np.repeat(first, n) + np.arange(total) - np.repeat(np.cumsum(n) - n, n)


def _by_query(
    table: _ChromIntervals, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (query, interval) pairs found query by query in the table."""
    first = np.searchsorted(table.reach, starts, side="right")
    last = np.searchsorted(table.starts, ends, side="left")
    return _ranges(first, last)


def _by_interval(
    table: _ChromIntervals, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The same candidates found interval by interval among queries sorted by start, then put
    in query order (a stable sort keeps the table's order within a query)."""
    widest = int((ends - starts).max())
    first = np.searchsorted(starts, table.starts - widest, side="right")
    last = np.searchsorted(starts, table.ends, side="left")
    candidate, query = _ranges(first, last)
    order = np.argsort(query, kind="stable")
    return query[order], candidate[order]
