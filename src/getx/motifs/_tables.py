"""The scanner's k-mer tables: every motif's both strands packed for ``_scan_kernels``.

Scores are first bounded in integers from k-mer tables: each matrix's most informative ``LA``
(7) columns, the anchor, index a table that lists only the 7-mers that can still reach the
threshold; the other columns are covered by ``K``-mer (5-mer) tables, looked up most informative
first, stopping when the best possible rest can no longer reach the threshold (MOODS's lookahead
idea). Each table entry is rounded once, so integer totals are within a proven bound of the
float score (the scan re-scores windows within that bound as a plain float64 sum). Tables are
built once per motif set and thresholds and kept in memory (:func:`pack`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from getx.motifs.motifset import MotifSet, reverse_complement

# Anchor width (4**LA codes; MOODS's default window is 7) and block width of the k-mer tables.
LA = 7
K = 5
# Integer scores are round(SCALE * float score) per table entry.
SCALE = float(1 << 16)
_SENTINEL = -(1 << 30)


@dataclass(frozen=True)
class Packed:
    """Both strands of every motif as k-mer tables for the kernels (see ``_scan_kernels``)."""

    LA: int
    flat: np.ndarray  # all matrices stacked, float64 (plain re-score)
    offsets: np.ndarray  # entry e's rows: flat[offsets[e]:offsets[e] + widths[e]]
    widths: np.ndarray
    thr: np.ndarray  # float threshold per entry
    wide: np.ndarray  # entries scored through tables (width >= LA) ...
    wpos: np.ndarray  # ... their anchor column
    need: np.ndarray  # ... the integer score that a hit must reach
    a_ptr: np.ndarray  # ... their anchor codes a_code[a_ptr[i]:a_ptr[i + 1]], values a_val
    a_code: np.ndarray
    a_val: np.ndarray
    blk_ptr: np.ndarray  # ... their blocks blk_ptr[i]:blk_ptr[i + 1]: first column, table,
    blk_col: np.ndarray  # and the running total to reach (pruning)
    blk_tab: np.ndarray
    blk_lim: np.ndarray
    adj_left: np.ndarray  # ... whether their first block is the K-mer before the anchor
    narrow: np.ndarray  # entries narrower than LA ...
    narrow_tab: np.ndarray  # ... and their scores per k-mer (``_scan_kernels.narrow_tables``)
    max_w: int
    col_order: np.ndarray  # per entry, columns by decreasing spread, and the best score of
    rest: np.ndarray  # the columns after each in that order (``_scan_kernels.best_rest``)

    def args(self) -> tuple:
        return (
            self.LA, self.flat, self.offsets, self.widths, self.thr, self.wide, self.wpos,
            self.need, self.a_ptr, self.a_code, self.a_val, self.blk_ptr, self.blk_col,
            self.blk_tab, self.blk_lim, self.adj_left, self.narrow, self.narrow_tab,
        )  # fmt: skip


def _blocks(spread: np.ndarray, wp: int) -> tuple[list[tuple[int, int]], bool]:
    """K-column blocks (first column, bit mask of the columns they score) covering every column
    outside the anchor [wp, wp + LA) exactly once, and whether the first block is on the left.

    The first block is the K-mer right after the anchor (or right before it, when the columns
    on the left are more informative); it may reach past the window (its outside columns score
    0), as the kernel reads it beside the anchor position. Each further block is the in-window
    K-mer with the largest summed max-min spread of the columns still uncovered, so that the
    first lookups prune the most.
    """
    W = len(spread)
    left = np.ones(W, dtype=bool)
    left[wp : wp + LA] = False
    if not left.any():
        return [], False
    on_left = spread[:wp].sum() > spread[wp + LA :].sum()
    first = wp - K if on_left else wp + LA
    cols = [j for j in range(K) if 0 <= first + j < W and left[first + j]]
    out = [(first, int(np.sum(1 << np.array(cols))))]
    left[[first + j for j in cols]] = False
    while left.any():
        gain = np.convolve(np.where(left, spread + 1e-9, 0.0), np.ones(K), mode="valid")
        first = int(np.argmax(gain))
        cols = np.flatnonzero(left[first : first + K])
        out.append((first, int(np.sum(1 << cols))))
        left[first + cols] = False
    return out, bool(on_left)


def pack(motifs: MotifSet, thr: np.ndarray) -> Packed:
    """Tables for both strands of every motif (memoised on the motif set and thresholds)."""
    thr_flat = np.ascontiguousarray(thr, dtype=np.float64).reshape(-1)
    if len(thr_flat) != 2 * len(motifs):
        raise ValueError("thresholds must have one value per motif (or per motif and strand)")
    key = (motifs.checksum(), thr_flat.tobytes())
    if key not in PACKED:
        if len(PACKED) >= 2:
            PACKED.pop(next(iter(PACKED)))
        PACKED[key] = _build_pack(motifs, thr_flat)
    return PACKED[key]


PACKED: dict = {}  # (checksum, thresholds) -> Packed, the last two


def _build_pack(motifs: MotifSet, thr_flat: np.ndarray) -> Packed:
    """Integer tables: anchor = the LA contiguous columns of largest summed max-min spread;
    blocks from ``_blocks``. Each table entry is rounded once, so an integer total is within
    (1 + number of blocks) / 2 of SCALE x the float score: ``need`` subtracts that (and one
    more), so no window whose float score reaches the threshold can be missed."""
    import getx.motifs._scan_kernels as k

    mats = []
    for m in motifs.matrices:
        mats.append(np.ascontiguousarray(m, dtype=np.float64))
        mats.append(reverse_complement(m))
    widths = np.array([m.shape[0] for m in mats], dtype=np.int64)
    offsets = np.zeros(len(mats) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(widths)
    flat = np.concatenate(mats, axis=0)
    scale = min(SCALE, 2.0**28 / (max(LA, K) * float(np.abs(flat).max()) + 1.0))
    wide = np.flatnonzero(widths >= LA)
    wpos = np.zeros(len(wide), dtype=np.int64)
    adj_left = np.zeros(len(wide), dtype=np.bool_)
    blk_ptr = np.zeros(len(wide) + 1, dtype=np.int64)
    blk_row, blk_col, blk_mask = [], [], []
    for i, e in enumerate(wide):
        spread = mats[e].max(axis=1) - mats[e].min(axis=1)
        wpos[i] = int(np.argmax(np.convolve(spread, np.ones(LA), mode="valid")))
        blocks, adj_left[i] = _blocks(spread, int(wpos[i]))
        blk_ptr[i + 1] = blk_ptr[i] + len(blocks)
        for first, mask in blocks:
            blk_row.append(offsets[e] + first)
            blk_col.append(first)
            blk_mask.append(mask)
    blk_tab = np.empty((len(blk_row), 4**K + 1), dtype=np.int32)
    rows, masks = np.array(blk_row, dtype=np.int64), np.array(blk_mask, dtype=np.int64)
    k.fill_block_tables(flat, rows, masks, K, scale, _SENTINEL, blk_tab)
    n_blk = np.diff(blk_ptr)
    # A first block's K-mer may hold a non-ACGT base outside the window: there the sentinel
    # must not prune (the re-score checks the window itself).
    firsts = blk_ptr[:-1][n_blk > 0]
    blk_tab[firsts, 4**K] = blk_tab[firsts, : 4**K].max(axis=1)
    need = np.floor(thr_flat[wide] * scale).astype(np.int64) - n_blk - 2
    # blk_lim[q]: the running total after block q must reach it, else the best of the
    # entry's later blocks cannot lift it to ``need``.
    best = blk_tab[:, : 4**K].max(axis=1).astype(np.int64)
    cum = np.r_[0, np.cumsum(best)]
    blk_entry = np.repeat(np.arange(len(wide)), n_blk)
    blk_lim = need[blk_entry] - (cum[blk_ptr[1:]][blk_entry] - cum[1:])
    best_rest = cum[blk_ptr[1:]] - cum[blk_ptr[:-1]]
    a_ptr, a_code, a_val = k.build_anchors(flat, offsets, wide, wpos, LA, scale, need - best_rest)
    narrow = np.flatnonzero(widths < LA)
    return Packed(LA, flat, offsets, widths, thr_flat, wide, wpos, need, a_ptr, a_code, a_val,
                  blk_ptr, np.array(blk_col, dtype=np.int64), blk_tab, blk_lim, adj_left,
                  narrow, k.narrow_tables(flat, offsets, widths, narrow, LA - 1),
                  int(widths.max()), *k.best_rest(flat, offsets, widths))  # fmt: skip
