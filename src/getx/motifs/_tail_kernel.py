"""numba kernel behind ``getx.motifs.pvalues``: the upper tail of MOODS's score-distribution DP
(imported lazily: compiling costs seconds)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def upper_tail_index(shifted, bg, p_value, r_lo):
    """MOODS's score-distribution DP, only for integer scores that can still end >= r_lo.

    ``shifted``: (W, 4) discretised matrix minus its smallest entry. Cells are computed in the
    same order and with the same operations as the full DP (per cell, bases added in A, C, G, T
    order), and a cell below lo_i = r_lo - (best rest after column i) can only feed final scores
    below r_lo, so every final cell >= r_lo is bit-identical to the full DP. Returns the top
    index k (counting down from the best score) where the upper tail first exceeds p_value, or
    -1 when it does not within the scores >= r_lo (the caller then lowers r_lo).
    """
    W = shifted.shape[0]
    col_max = np.empty(W, dtype=np.int64)
    for i in range(W):
        col_max[i] = shifted[i].max()
    size = col_max.sum() + 1
    rem = np.zeros(W, dtype=np.int64)  # best possible score of the columns after i
    for i in range(W - 2, -1, -1):
        rem[i] = rem[i + 1] + col_max[i + 1]
    table = np.zeros(size)
    nxt = np.zeros(size)
    for b in range(4):
        table[shifted[0, b]] += bg[b]
    hi = col_max[0]
    for i in range(1, W):
        new_hi = hi + col_max[i]
        lo = max(0, r_lo - rem[i])
        nxt[lo : new_hi + 1] = 0.0
        for b in range(4):  # base by base, so each cell adds A, C, G, T in order
            sb = shifted[i, b]
            w = bg[b]
            for r in range(max(lo, sb), hi + sb + 1):
                nxt[r] += w * table[r - sb]
        table, nxt = nxt, table
        hi = new_hi
    tail = 0.0
    for k in range(hi - max(r_lo, 0) + 1):
        tail += table[hi - k]
        if tail > p_value:
            return k
    return -1
