"""PWM scanning: motif hits in a sequence, and GET's per-region motif-cluster features.

Scoring. A window of width W starting at s scores sum_k M[k, x[s + k]] with M the motif's (W, 4)
ln-odds matrix; on the reverse strand the reverse-complement matrix M[::-1, ::-1] is scanned the
same way (so reverse hits are reported at their + strand start, as MOODS does). A window is a
hit when its score >= the motif's threshold for the p-value (``getx.motifs.pvalues``, MOODS's
exact method, one threshold per strand). Windows that overlap any base other than A/C/G/T
(N, IUPAC codes, gaps) are never scored: some thresholds are <= 0, so treating N as 0 would
create hits in assembly gaps.

Speed. A numba kernel (parallel over chunks or regions) visits the columns of each matrix in
decreasing max-min spread and stops as soon as the partial score plus the best possible rest
falls below the threshold (MOODS's lookahead idea). Windows that survive are rescored as a plain
sum in natural column order, so scores equal a straightforward reference scan.

Long sequences are scanned in chunks (``CHUNK`` bp plus W-1 bp of overlap, each window owned
by exactly one chunk): memory is bounded by the hit output, never by positions x motifs.

Region features (GET's definition). GET's input feature for region r and cluster c is the SUM of
archetype hit scores over the archetype hits of cluster c that overlap r (GET intersects the
peaks with Vierstra's genome-wide archetype track, ``bedtools intersect -wa -wb`` then
``groupby ... sum``). In the archetype track, overlapping hits of one cluster's motifs (any
motif, any strand) are one archetype hit, scored by its best motif score. We build that track
on the fly: all hits of one cluster whose intervals overlap by >= 1 bp are merged transitively
(book-ended hits are not merged) into one interval (their union) scored by the maximum; a merged
hit counts for a region when its interval overlaps the region by >= 1 bp. Each region is
scanned with a flank of 2 x (max width - 1) bp; when a merged hit that counts comes within one
motif width of the scanned edge (so an unseen hit could extend it) the region is rescanned with
a doubled flank, so the result equals merging a genome-wide scan.

``background="gc"``: the matrices are re-expressed against a strand-symmetric background with
the regions' own pooled GC content (A = T = (1 - gc) / 2, C = G = gc / 2) and the thresholds
recomputed for it. Scores are then ln-odds against that background. This suits GC-rich sets
such as CpG-island promoters or CTCF sites, where GET's AT-rich v1 background inflates scores of
GC-rich motifs everywhere and blurs the difference between bound and unbound sequence.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.motifs.databases import MotifSet, background_from_sequence, with_background
from getx.motifs.pvalues import reverse_complement, strand_thresholds

log = logging.getLogger(__name__)

CHUNK = 1 << 16
# Width of the candidate-table window (4**LMER codes), MOODS's default window size.
LMER = 7
# Pruning compares partial sums in another order than the final sum: keep a margin so rounding
# can never prune a true hit (the final decision uses the exact plain sum).
_PRUNE_EPS = 1e-9

_ENCODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _ENCODE[ord(_b)] = _i
    _ENCODE[ord(_b.lower())] = _i


class Genome(Protocol):
    def fetch(self, chrom: str, start: int, end: int) -> str: ...


def encode(seq: str) -> np.ndarray:
    """A/C/G/T (any case) -> 0/1/2/3; anything else -> 4. uint8 array."""
    raw = np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)
    return _ENCODE[raw]


# --- packed matrices ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Packed:
    """Both strands of every motif, flattened for the kernels (see ``_kernels``)."""

    L: int
    flat: np.ndarray
    offsets: np.ndarray
    widths: np.ndarray
    thr: np.ndarray
    wpos: np.ndarray
    rest_order: np.ndarray
    rest_off: np.ndarray
    rest_rem: np.ndarray
    tab_ptr: np.ndarray
    tab_e: np.ndarray
    tab_v: np.ndarray
    short: np.ndarray

    def args(self) -> tuple:
        return (
            self.L, self.flat, self.offsets, self.widths, self.thr, _PRUNE_EPS, self.wpos,
            self.rest_order, self.rest_off, self.rest_rem, self.tab_ptr, self.tab_e,
            self.tab_v, self.short,
        )  # fmt: skip


def _pack(motifs: MotifSet, thr: np.ndarray, L: int = LMER) -> _Packed:
    """Entry e = 2 * motif + strand; build the L-mer candidate table (MOODS's window idea).

    Each entry's window is its L contiguous columns of largest summed max-min spread; the table
    lists, for every L-mer, the entries whose window score plus the best possible score of the
    other columns reaches the threshold (minus a rounding margin), with the window score.
    """
    mats = []
    for m in motifs.matrices:
        mats.append(np.ascontiguousarray(m, dtype=np.float64))
        mats.append(reverse_complement(m))
    thr_flat = np.asarray(thr, dtype=np.float64).reshape(-1)
    if len(thr_flat) != len(mats):
        raise ValueError("thresholds must have one value per motif (or per motif and strand)")
    n_e = len(mats)
    widths = np.array([m.shape[0] for m in mats], dtype=np.int64)
    offsets = np.zeros(n_e + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(widths)
    flat = np.concatenate(mats, axis=0)
    rest_w = np.maximum(widths - L, 0)
    rest_off = np.zeros(n_e + 1, dtype=np.int64)
    rest_off[1:] = np.cumsum(rest_w)
    rest_order = np.zeros(max(1, rest_off[-1]), dtype=np.int64)
    rest_rem = np.zeros(rest_off[-1] + n_e + 1, dtype=np.float64)
    wpos = np.zeros(n_e, dtype=np.int64)
    digits = (np.arange(4**L)[:, None] >> (2 * np.arange(L - 1, -1, -1))[None, :]) & 3
    tab_codes, tab_e, tab_v = [], [], []
    for e, m in enumerate(mats):
        W = m.shape[0]
        if W < L:
            continue
        spread = m.max(axis=1) - m.min(axis=1)
        wp = int(np.argmax(np.convolve(spread, np.ones(L), mode="valid")))
        wpos[e] = wp
        rest = np.r_[np.arange(wp), np.arange(wp + L, W)].astype(np.int64)
        rest = rest[np.argsort(-spread[rest], kind="stable")]
        rest_order[rest_off[e] : rest_off[e + 1]] = rest
        best = m.max(axis=1)[rest]
        rest_rem[rest_off[e] + e : rest_off[e + 1] + e + 1] = np.r_[
            np.cumsum(best[::-1])[::-1], 0.0
        ]
        window = np.zeros(len(digits))
        for k in range(L):
            window += m[wp + k][digits[:, k]]
        keep = np.flatnonzero(window + rest_rem[rest_off[e] + e] >= thr_flat[e] - _PRUNE_EPS)
        tab_codes.append(keep)
        tab_e.append(np.full(len(keep), e, dtype=np.int32))
        tab_v.append(window[keep])
    if tab_codes:
        codes = np.concatenate(tab_codes)
        order = np.argsort(codes, kind="stable")
        t_e = np.concatenate(tab_e)[order]
        t_v = np.concatenate(tab_v)[order]
        ptr = np.zeros(4**L + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(np.bincount(codes, minlength=4**L))
    else:
        t_e, t_v = np.zeros(0, np.int32), np.zeros(0, np.float64)
        ptr = np.zeros(4**L + 1, dtype=np.int64)
    short = np.flatnonzero(widths < L).astype(np.int64)
    return _Packed(L, flat, offsets, widths, thr_flat, wpos, rest_order, rest_off, rest_rem,
                   ptr, t_e, t_v, short)  # fmt: skip


def _kernels():
    """Compile (or load from numba's cache) the scanning kernels on first use."""
    global _KERNELS
    if _KERNELS is None:
        from getx.motifs import _kernels as k

        _KERNELS = k
    return _KERNELS


_KERNELS = None


def _thresholds_for(motifs: MotifSet, p_value: float, thresholds) -> np.ndarray:
    if thresholds is None:
        return strand_thresholds(motifs, p_value)
    thr = np.asarray(thresholds, dtype=np.float64)
    if thr.ndim == 1:
        thr = np.repeat(thr[:, None], 2, axis=1)
    if thr.shape != (len(motifs), 2):
        raise ValueError(f"thresholds must be ({len(motifs)},) or ({len(motifs)}, 2)")
    return thr


def scan_arrays(
    codes: np.ndarray,
    motifs: MotifSet,
    p_value: float = 1e-4,
    thresholds: np.ndarray | None = None,
    chunk: int = CHUNK,
) -> dict[str, np.ndarray]:
    """Hits of all motifs on both strands of an encoded sequence, as arrays.

    Returns motif (int32 index), start (int64), strand (int8, 0 + / 1 -), score (float64),
    sorted by start, then motif, then strand.
    """
    k = _kernels()
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    thr = _thresholds_for(motifs, p_value, thresholds)
    pk = _pack(motifs, thr)
    n = len(codes)
    starts = np.arange(0, max(n, 1), chunk, dtype=np.int64)
    n_threads = max(1, _num_threads())
    batch = max(1, 4 * n_threads)
    cap = 2 * chunk + 1024
    parts = []
    for b0 in range(0, len(starts), batch):
        own = starts[b0 : b0 + batch]
        own_end = np.minimum(own + chunk, n)
        counts = np.zeros(len(own), dtype=np.int64)
        out_e = np.empty((len(own), cap), dtype=np.int64)
        out_s = np.empty((len(own), cap), dtype=np.int64)
        out_v = np.empty((len(own), cap), dtype=np.float64)
        k.scan_chunks(codes, own, own_end, *pk.args(), out_e, out_s, out_v, counts)
        for j in range(len(own)):
            c = int(counts[j])
            if c > cap:  # a dense repeat: rescan this chunk alone with room for all its hits
                e1 = np.empty((1, c), dtype=np.int64)
                s1 = np.empty((1, c), dtype=np.int64)
                v1 = np.empty((1, c), dtype=np.float64)
                cnt = np.zeros(1, dtype=np.int64)
                k.scan_chunks(
                    codes, own[j : j + 1], own_end[j : j + 1], *pk.args(), e1, s1, v1, cnt
                )
                parts.append((e1[0, :c].copy(), s1[0, :c].copy(), v1[0, :c].copy()))
            else:
                parts.append((out_e[j, :c].copy(), out_s[j, :c].copy(), out_v[j, :c].copy()))
    if parts:
        e = np.concatenate([p[0] for p in parts])
        s = np.concatenate([p[1] for p in parts])
        v = np.concatenate([p[2] for p in parts])
    else:
        e, s, v = np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.float64)
    idx = np.lexsort((e, s))
    e, s, v = e[idx], s[idx], v[idx]
    return {
        "motif": (e // 2).astype(np.int32),
        "start": s,
        "strand": (e % 2).astype(np.int8),
        "score": v,
    }


def _num_threads() -> int:
    try:
        import numba

        return numba.get_num_threads()
    except Exception:  # pragma: no cover - numba always present in practice
        return os.cpu_count() or 1


def scan_hits(
    sequence: str,
    motifs: MotifSet,
    p_value: float = 1e-4,
    thresholds: np.ndarray | None = None,
) -> pd.DataFrame:
    """All hits in ``sequence`` (both strands) with score >= the p-value threshold.

    Columns: motif (name), cluster (name), start, end (0-based half-open, + strand
    coordinates of the window), strand ('+'/'-'), score (ln-odds vs the motifs' background).
    ``thresholds``: (n_motifs,) or (n_motifs, 2) to override the p-value thresholds.
    """
    hits = scan_arrays(encode(sequence), motifs, p_value, thresholds)
    return hits_frame(hits, motifs)


def hits_frame(hits: dict[str, np.ndarray], motifs: MotifSet) -> pd.DataFrame:
    """The table form of :func:`scan_arrays` output."""
    m = hits["motif"]
    names = pd.Categorical.from_codes(m, categories=list(motifs.names))
    clusters = pd.Categorical.from_codes(
        motifs.motif_cluster[m].astype(np.int32), categories=list(motifs.clusters)
    )
    return pd.DataFrame(
        {
            "motif": names,
            "cluster": clusters,
            "start": hits["start"],
            "end": hits["start"] + motifs.widths[m],
            "strand": np.where(hits["strand"] == 0, "+", "-"),
            "score": hits["score"],
        }
    )


# --- region features ---------------------------------------------------------------------------


def _resolve_background(motifs: MotifSet, background, core_codes: list[np.ndarray]) -> MotifSet:
    if background is None:
        return motifs
    if isinstance(background, str):
        if background != "gc":
            raise InputError(
                f"background must be None, 'gc' or 4 probabilities, got {background!r}"
            )
        pooled = np.concatenate(core_codes) if core_codes else np.empty(0, np.uint8)
        bg = background_from_sequence(pooled)
        log.info("GC-aware background from %d bp of regions: %s", len(pooled), np.round(bg, 4))
    else:
        bg = np.asarray(background, dtype=np.float64)
        if bg.shape != (4,) or np.any(bg <= 0):
            raise InputError(f"background must be 4 positive probabilities, got {background!r}")
        bg = bg / bg.sum()
    return with_background(motifs, bg)


def region_features(
    genome: Genome,
    regions: pd.DataFrame,
    motifs: MotifSet,
    p_value: float = 1e-4,
    background: str | np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 2048,
) -> np.ndarray:
    """(n_regions, n_clusters) float32: per region and cluster, the summed archetype hit score.

    ``regions``: DataFrame with chrom, start, end (0-based half-open). ``genome.fetch(chrom,
    start, end)`` must return the sequence with N outside the chromosome. ``background``: None
    (the motifs' own), "gc" (the regions' pooled GC content) or 4 probabilities A, C, G, T.
    ``progress(done, total)`` is called after each batch. See the module docstring.
    """
    for col in ("chrom", "start", "end"):
        if col not in regions.columns:
            raise InputError(f"regions lack the column {col!r}")
    chroms = regions["chrom"].astype(str).to_numpy()
    starts = regions["start"].to_numpy(dtype=np.int64)
    ends = regions["end"].to_numpy(dtype=np.int64)
    bad = np.flatnonzero((ends <= starts) | (starts < 0))
    if len(bad):
        i = int(bad[0])
        raise InputError(f"region {i} has start {starts[i]} >= end {ends[i]} or start < 0")
    n = len(regions)
    if isinstance(background, str) and background == "gc":
        cores = [encode(genome.fetch(chroms[i], int(starts[i]), int(ends[i]))) for i in range(n)]
    else:
        cores = []
    motifs = _resolve_background(motifs, background, cores)
    thr = strand_thresholds(motifs, p_value)
    k = _kernels()
    pk = _pack(motifs, thr)
    widths = pk.widths
    entry_cluster = np.repeat(motifs.motif_cluster, 2).astype(np.int64)
    max_w = int(widths.max())
    n_clusters = len(motifs.clusters)
    out = np.zeros((n, n_clusters), dtype=np.float32)
    for b0 in range(0, n, batch_size):
        idx = np.arange(b0, min(n, b0 + batch_size))
        flank = np.full(len(idx), 2 * (max_w - 1), dtype=np.int64)
        todo = np.arange(len(idx))
        for _attempt in range(40):
            seqs = [
                encode(genome.fetch(chroms[i], int(starts[i] - f), int(ends[i] + f)))
                for i, f in zip(idx[todo], flank[todo], strict=True)
            ]
            lengths = np.array([len(s) for s in seqs], dtype=np.int64)
            expect = ends[idx[todo]] - starts[idx[todo]] + 2 * flank[todo]
            if np.any(lengths != expect):
                j = int(np.flatnonzero(lengths != expect)[0])
                raise InputError(
                    f"genome.fetch returned {lengths[j]} bp for a {expect[j]} bp request "
                    f"({chroms[idx[todo][j]]}:{starts[idx[todo][j]]}-{ends[idx[todo][j]]})"
                )
            seq_off = np.zeros(len(seqs) + 1, dtype=np.int64)
            seq_off[1:] = np.cumsum(lengths)
            codes = np.concatenate(seqs) if seqs else np.empty(0, np.uint8)
            feats = np.zeros((len(todo), n_clusters), dtype=np.float64)
            flags = np.zeros(len(todo), dtype=np.uint8)
            k.region_scores(
                codes, seq_off, flank[todo], *pk.args(), entry_cluster, max_w, feats, flags
            )
            done = flags == 0
            out[idx[todo[done]]] = feats[done]
            todo = todo[~done]
            if len(todo) == 0:
                break
            flank[todo] *= 2
        else:
            raise RuntimeError("archetype merge did not converge (pathological repeat?)")
        if progress is not None:
            progress(int(idx[-1]) + 1, n)
    return out
