"""Exact score thresholds for a p-value, from each matrix's score distribution under the background.

The method is MOODS's (Korhonen et al. 2009; ``threshold_from_p``), reproduced so that our hits
equal MOODS's hits:

1. Discretise: every ln-odds entry x becomes the integer round-half-away-from-zero(x * 2000)
   (``PRECISION``; MOODS's ``DEFAULT_DP_PRECISION``).
2. Dynamic programming over columns gives the exact distribution of the integer score of a
   random background sequence (probability mass on an integer grid; offsets by the smallest
   entry of the whole matrix, as MOODS does).
3. Walk down from the maximum, accumulating the upper tail; at the first integer score r whose
   tail P(S >= r) exceeds p, the threshold is (r + 1) / PRECISION, so P(S >= threshold) <= p on
   the integer grid. If even the maximum score alone exceeds p, the threshold is
   max_score - min_delta / 2 (only the best word matches); if the tail never exceeds p, every
   window matches (min_score - 1).

The floating-point operations are done in the same order as MOODS (per score cell, bases added
in A, C, G, T order; tail accumulated from the top), so the thresholds are bit-identical.
Speed: the DP runs in numba (no GIL, so motifs are spread over threads) and only over the
scores that can still end above a proven lower bound of the threshold (from a coarse DP), which
leaves every cell that matters bit-identical (``_tail_kernel.upper_tail_index``).
A threshold is computed for both strands (the reverse-complement matrix has the same
distribution only for a strand-symmetric background, and even then its float sums can differ
in the last bit), and cached on disk by (motif-set checksum, p-value, background).
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from getx.cache import cached, entry_path, write_entry
from getx.motifs.motifset import MotifSet, reverse_complement

PRECISION = 2000.0


def discretise(matrix: np.ndarray, precision: float = PRECISION) -> np.ndarray:
    """(W, 4) ln-odds -> integers: round half away from zero of ``precision * x``."""
    scaled = precision * np.asarray(matrix, dtype=np.float64)
    return np.trunc(np.where(scaled > 0.0, scaled + 0.5, scaled - 0.5)).astype(np.int64)


def _seq_sum(values: np.ndarray) -> float:
    """Left-to-right float sum (as a C loop does), not numpy's pairwise sum."""
    total = 0.0
    for v in values:
        total += float(v)
    return total


def _min_delta(matrix: np.ndarray) -> float:
    best = np.inf
    for col in matrix:
        top = np.unique(col)
        if len(top) > 1:
            best = min(best, float(top[-1] - top[-2]))
    return best


def threshold_from_p(
    matrix: np.ndarray, background: np.ndarray, p_value: float, precision: float = PRECISION
) -> float:
    """The smallest score threshold t (on MOODS's grid) with P(score >= t) <= p under background.

    Only the upper part of the distribution is computed (see ``_tail_kernel.upper_tail_index``),
    from a lower bound of the threshold given by a coarse (precision / 50) DP; should that fail,
    from the top 40 %, then all of it. The result is bit-identical to the full DP (the tests
    compare it with one).
    """
    from getx.motifs._tail_kernel import upper_tail_index

    bg = np.ascontiguousarray(background, dtype=np.float64)
    W = matrix.shape[0]
    coarse = precision / 50.0
    c_ints = discretise(matrix, coarse)
    c_min = int(c_ints.min())
    c_shift = np.ascontiguousarray(c_ints - c_min)
    c_hi = int(c_shift.max(axis=1).sum())
    k_c = int(upper_tail_index(c_shift, bg, float(p_value), 0))
    ints = discretise(matrix, precision)
    min_v = int(ints.min())
    shifted = np.ascontiguousarray(ints - min_v)
    hi = int(shifted.max(axis=1).sum())
    starts = [int(hi * 0.6), 0]
    if k_c > 0:
        # Each integer score is within W / 2 grid steps of the real one on either grid, so
        # the fine threshold lies above the coarse one minus a step and both rounding spans.
        t_c = (c_hi - k_c + W * c_min + 1) / coarse
        x = t_c - 1.0 / coarse - W * (0.5 / coarse + 0.5 / precision)
        starts.insert(0, max(0, int(np.floor(x * precision)) - W * min_v - 2))
    k = -1
    for r_lo in starts:
        k = int(upper_tail_index(shifted, bg, float(p_value), r_lo))
        if k >= 0:
            break
    if k < 0:
        return _seq_sum(np.asarray(matrix).min(axis=1)) - 1.0
    if k == 0:
        return _seq_sum(np.asarray(matrix).max(axis=1)) - _min_delta(matrix) / 2
    return float(hi - k + matrix.shape[0] * min_v + 1) / precision


def _cache_path(motifs: MotifSet, p_value: float, background: np.ndarray) -> Path:
    key = hashlib.sha256()
    key.update(motifs.checksum().encode())
    key.update(np.float64(p_value).tobytes())
    key.update(np.ascontiguousarray(background, dtype="<f8").tobytes())
    key.update(np.float64(PRECISION).tobytes())
    return entry_path("thresholds", key.hexdigest(), ".npz")


def _read_thresholds(path: Path, n_motifs: int) -> np.ndarray:
    with np.load(path, allow_pickle=False) as z:
        cached_thresholds = z["thresholds"]
    if cached_thresholds.shape != (n_motifs, 2):
        raise ValueError(f"thresholds of shape {cached_thresholds.shape}, not ({n_motifs}, 2)")
    return cached_thresholds


def strand_thresholds(
    motifs: MotifSet,
    p_value: float = 1e-4,
    background: np.ndarray | None = None,
    use_cache: bool = True,
    workers: int | None = None,
) -> np.ndarray:
    """(n_motifs, 2) thresholds for the forward matrix and its reverse complement.

    ``background`` defaults to the motif set's own. Cached on disk (see module docstring).
    """
    if not 0.0 < p_value < 1.0:
        raise ValueError(f"p-value must be in (0, 1), got {p_value}")
    bg = motifs.background if background is None else np.asarray(background, dtype=np.float64)
    path = _cache_path(motifs, p_value, bg)

    def one(m: np.ndarray) -> tuple[float, float]:
        return (
            threshold_from_p(m, bg, p_value),
            threshold_from_p(reverse_complement(m), bg, p_value),
        )

    def compute() -> np.ndarray:
        with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
            return np.array(list(pool.map(one, motifs.matrices)), dtype=np.float64).reshape(-1, 2)

    return cached(
        path,
        "threshold cache",
        lambda: _read_thresholds(path, len(motifs)),
        compute,
        lambda out: write_entry(path, {"thresholds": out}),
        use_cache,
    )


def thresholds(
    motifs: MotifSet,
    p_value: float = 1e-4,
    background: np.ndarray | None = None,
    use_cache: bool = True,
) -> np.ndarray:
    """(n_motifs,) forward-strand score thresholds for ``p_value`` (see module docstring)."""
    return strand_thresholds(motifs, p_value, background, use_cache)[:, 0].copy()
