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
leaves every cell that matters bit-identical (``_kernels.upper_tail_index``).
A threshold is computed for both strands (the reverse-complement matrix has the same
distribution only for a strand-symmetric background, and even then its float sums can differ
in the last bit), and cached on disk by (motif-set checksum, p-value, background).
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from getx.io.files import atomic_output
from getx.motifs.databases import MotifSet

log = logging.getLogger(__name__)

PRECISION = 2000.0


def discretise(matrix: np.ndarray, precision: float = PRECISION) -> np.ndarray:
    """(W, 4) ln-odds -> integers: round half away from zero of ``precision * x``."""
    scaled = precision * np.asarray(matrix, dtype=np.float64)
    return np.trunc(np.where(scaled > 0.0, scaled + 0.5, scaled - 0.5)).astype(np.int64)


def score_distribution(
    matrix: np.ndarray, background: np.ndarray, precision: float = PRECISION
) -> tuple[np.ndarray, int]:
    """Probability of each integer score of the discretised matrix under ``background``.

    Returns (prob, offset): prob[r] = P(integer score == r + offset).
    """
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

    Only the upper part of the distribution is computed (see ``_kernels.upper_tail_index``),
    from a lower bound of the threshold given by a coarse (precision / 50) DP; should that fail,
    from the top 40 %, then all of it. The result is bit-identical to the full DP
    (:func:`reference_threshold_from_p`).
    """
    from getx.motifs._kernels import upper_tail_index

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


def reference_threshold_from_p(
    matrix: np.ndarray, background: np.ndarray, p_value: float, precision: float = PRECISION
) -> float:
    """:func:`threshold_from_p` from the full distribution (numpy; slow, for tests)."""
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


def reverse_complement(matrix: np.ndarray) -> np.ndarray:
    """(W, 4) matrix of the reverse strand: rows reversed, A<->T and C<->G swapped."""
    return np.ascontiguousarray(np.asarray(matrix)[::-1, ::-1])


def cache_dir() -> Path:
    return Path(os.environ.get("GETX_CACHE_DIR", Path.home() / ".cache" / "getx"))


def _cache_path(motifs: MotifSet, p_value: float, background: np.ndarray) -> Path:
    key = hashlib.sha256()
    key.update(motifs.checksum().encode())
    key.update(np.float64(p_value).tobytes())
    key.update(np.ascontiguousarray(background, dtype="<f8").tobytes())
    key.update(np.float64(PRECISION).tobytes())
    return cache_dir() / "thresholds" / f"{key.hexdigest()[:32]}.npz"


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
    if use_cache and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                cached = z["thresholds"]
            if cached.shape == (len(motifs), 2):
                return cached
        except (OSError, ValueError, KeyError):
            log.warning("ignoring unreadable threshold cache %s", path)

    def one(m: np.ndarray) -> tuple[float, float]:
        return (
            threshold_from_p(m, bg, p_value),
            threshold_from_p(reverse_complement(m), bg, p_value),
        )

    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        out = np.array(list(pool.map(one, motifs.matrices)), dtype=np.float64).reshape(-1, 2)
    if use_cache:
        try:
            with atomic_output(path) as tmp, open(tmp, "wb") as fh:
                np.savez(fh, thresholds=out)
        except OSError as e:  # a read-only cache must not stop a scan
            log.warning("could not write threshold cache %s: %s", path, e)
    return out


def thresholds(
    motifs: MotifSet,
    p_value: float = 1e-4,
    background: np.ndarray | None = None,
    use_cache: bool = True,
) -> np.ndarray:
    """(n_motifs,) forward-strand score thresholds for ``p_value`` (see module docstring)."""
    return strand_thresholds(motifs, p_value, background, use_cache)[:, 0].copy()
