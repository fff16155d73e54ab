"""Slow, plain reference implementations that the tests compare getx's fast paths with."""

from __future__ import annotations

import numpy as np

from getx.motifs.alignment import Alignments, columns_and_null, exact_tables, grid_index
from getx.motifs.motifset import MotifSet
from getx.motifs.pvalues import PRECISION, _min_delta, _seq_sum, discretise


def score_distribution(
    matrix: np.ndarray, background: np.ndarray, precision: float = PRECISION
) -> tuple[np.ndarray, int]:
    """Probability of each integer score of the discretised matrix under ``background``, by the
    full DP over all scores (numpy). Returns (prob, offset): prob[r] = P(score == r + offset)."""
    ints = discretise(matrix, precision)
    bg = np.asarray(background, dtype=np.float64)
    W = ints.shape[0]
    min_v = int(ints.min())
    shifted = ints - min_v
    col_max = shifted.max(axis=1)
    size = int(col_max.sum()) + 1
    table = np.zeros(size)
    hi = int(col_max[0])
    for b in range(4):
        table[shifted[0, b]] += bg[b]
    nxt = np.zeros(size)
    for i in range(1, W):
        new_hi = hi + int(col_max[i])
        out = nxt[: new_hi + 1]
        out[:] = 0.0
        # Cells above the reachable range stay exactly 0, so skipping them changes no bit.
        for b in range(4):
            s = int(shifted[i, b])
            out[s : s + hi + 1] += bg[b] * table[: hi + 1]
        table, nxt = nxt, table
        hi = new_hi
    return table[: hi + 1].copy(), W * min_v


def reference_threshold_from_p(
    matrix: np.ndarray, background: np.ndarray, p_value: float, precision: float = PRECISION
) -> float:
    """``getx.motifs.pvalues.threshold_from_p`` from the full distribution (MOODS's method)."""
    prob, offset = score_distribution(matrix, background, precision)
    tail = np.cumsum(prob[::-1])  # sequential accumulation from the top score down
    over = np.flatnonzero(tail > p_value)
    if len(over) == 0:
        return _seq_sum(np.asarray(matrix).min(axis=1)) - 1.0
    k = int(over[0])
    if k == 0:
        return _seq_sum(np.asarray(matrix).max(axis=1)) - _min_delta(matrix) / 2
    r = len(prob) - 1 - k
    return float(r + offset + 1) / precision


def exact_nlog10p(motifs: MotifSet | list[np.ndarray], al: Alignments, score: str) -> np.ndarray:
    """Exact -log10 p of the alignments ``al`` (from ``align_all`` with this ``score``), looked
    up alignment by alignment in the exact null's tables."""
    W, Fq, Hq, _, cols_g, cols_h = columns_and_null(motifs, score)
    tab, base, lo_s, step = exact_tables(Fq, Hq, W, cols_g, cols_h)
    start = np.maximum(al.offset, 0)
    index = base[np.arange(len(W))[:, None], start, start + al.overlap]
    return tab[index + grid_index(al.score, al.overlap, lo_s, step)].astype(np.float64)
