"""PWM scanning: motif hits in a sequence, and GET's per-region motif-cluster features.

Scoring. A window of width W starting at s scores sum_k M[k, x[s + k]] with M the motif's (W, 4)
ln-odds matrix; on the reverse strand the reverse-complement matrix M[::-1, ::-1] is scanned the
same way (so reverse hits are reported at their + strand start, as MOODS does). A window is a
hit when its score >= the motif's threshold for the p-value (``getx.motifs.pvalues``, MOODS's
exact method, one threshold per strand). Windows that overlap any base other than A/C/G/T
(N, IUPAC codes, gaps) are never scored: some thresholds are <= 0, so treating N as 0 would
create hits in assembly gaps.

Speed (details in ``_tables`` and ``_scan_kernels``). Scores are first bounded in integers from
k-mer tables: each matrix's most informative 7 columns (the anchor) index a table that lists
only the 7-mers that can still reach the threshold; the other columns are covered by 5-mer
tables, looked up most informative first, stopping when the best possible rest can no longer
reach the threshold (MOODS's lookahead idea). A sequence chunk is bucketed by anchor 7-mer once,
then each matrix visits only the positions of its listed 7-mers, its tables hot in cache.
Integer totals are within a proven rounding bound of the float score; windows within that bound
are re-scored as a plain float64 sum in natural column order, which alone decides the hit, so
hits and scores equal a straightforward reference scan (and MOODS's hits). Tables are built once
per motif set and thresholds and kept in memory.

Long sequences are scanned in chunks (at most ``CHUNK`` window starts each, each window owned
by exactly one chunk; windows read past the chunk end), in parallel over chunks: memory is
bounded by the hit output, never by positions x motifs.

Region features (GET's definition). GET's input feature for region r and cluster c is the SUM of
archetype hit scores over the archetype hits of cluster c that overlap r (GET intersects the
peaks with Vierstra's genome-wide archetype track, ``bedtools intersect -wa -wb`` then
``groupby ... sum``). In the archetype track, overlapping hits of one cluster's motifs (any
motif, any strand) are one archetype hit, scored by its best motif score. We build that track
on the fly: all hits of one cluster whose intervals overlap by >= 1 bp are merged transitively
(book-ended hits are not merged) into one interval (their union) scored by the maximum; a merged
hit counts for a region when its interval overlaps the region by >= 1 bp. Each region is
scanned with every motif over a flank of 1.5 x (max width - 1) bp on each side (at least
max width - 1, so every window that overlaps the region is seen). When a merged hit of cluster c
that counts comes within (c's max width - 1) bp of the scanned edge, an unseen hit of c could
extend it: only c's motifs are then scored on the unseen windows that overlap it, round by round
as it grows (about one (region, cluster) pair in 250 for v1 motifs and 500-bp peaks); a region
whose merged hits run past the fetched context (16 x (max width - 1)) is fetched again with twice
the context. So the result equals merging a genome-wide scan, hit for hit and in the same
summation order. A batch of regions is scanned as one sequence
(regions joined by an N, which no window may span), so many short regions cost the same as one
long sequence.

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
from typing import Protocol

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.motifs._tables import K, Packed, pack
from getx.motifs.motifset import MotifSet, background_from_sequence, with_background
from getx.motifs.pvalues import strand_thresholds
from getx.motifs.sequences import SequenceGenome

log = logging.getLogger(__name__)

# Longest chunk of window starts per kernel task: bigger chunks fill the anchor buckets (fewer
# mispredicted loop exits per candidate); the chunk count is rounded to a multiple of threads.
CHUNK = 1 << 18
# Region flank scanned with every motif, and context fetched for the merged hits that reach
# past it, in units of (max width - 1): a flank of 1 is the least that sees every window over a
# core, a wider one costs scanned bp but fewer per-cluster extensions (v1 500-bp peaks: 1 -> 4.2
# extensions per peak, 1.5 -> 1.2); a short context costs refetches, a long one fetch time only.
_SCAN_FLANK = 1.5
_CONTEXT = 16

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
    chunk: int | None = None,
) -> dict[str, np.ndarray]:
    """Hits of all motifs on both strands of an encoded sequence, as arrays.

    Returns motif (int32 index), start (int64), strand (int8, 0 + / 1 -), score (float64),
    sorted by start, then motif, then strand.
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    pk = pack(motifs, _thresholds_for(motifs, p_value, thresholds))
    e, s, v = _scan_codes(codes, pk, chunk)  # chunk by chunk, each sorted
    return {
        "motif": (e // 2).astype(np.int32),
        "start": s,
        "strand": (e % 2).astype(np.int8),
        "score": v,
    }


def _scan_codes(
    codes: np.ndarray, pk: Packed, chunk: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hits (entry, start, score) of an encoded sequence sorted by start and entry; chunks are
    scanned in parallel."""
    import getx.motifs._scan_kernels as k

    n = len(codes)
    threads = max(1, _num_threads())
    if chunk is None:  # equal chunks, as many as a multiple of the thread count
        n_chunks = threads * -(-n // (threads * CHUNK))
        chunk = max(1, -(-n // max(1, n_chunks)))
    kca = k.kmer_codes(codes, pk.LA, 0)
    kcb = k.kmer_codes(codes, K, pk.max_w).astype(np.uint16)
    run = k.valid_runs(codes)
    seq = (codes, kca, kcb, run)
    starts = np.arange(0, max(n, 1), chunk, dtype=np.int64)
    batch = 4 * threads
    cap = 2 * chunk + 65536  # hits per chunk; a denser chunk is rescanned alone
    parts = []
    for b0 in range(0, len(starts), batch):
        own = starts[b0 : b0 + batch]
        own_end = np.minimum(own + chunk, n)
        counts = np.zeros(len(own), dtype=np.int64)
        out_e = np.empty((len(own), cap), dtype=np.int32)
        out_s = np.empty((len(own), cap), dtype=np.int64)
        out_v = np.empty((len(own), cap), dtype=np.float64)
        k.scan_chunks(*seq, own, own_end, *pk.args(), out_e, out_s, out_v, counts)
        for j in range(len(own)):
            c = int(counts[j])
            if c > cap:  # a dense repeat: rescan this chunk alone with room for all its hits
                he, hs, hv, c = k.scan_segment(*seq, own[j], own_end[j], *pk.args(), c)
                parts.append((he[:c], hs[:c], hv[:c]))
            else:
                parts.append((out_e[j, :c].copy(), out_s[j, :c].copy(), out_v[j, :c].copy()))
    if not parts:
        return np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.float64)
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


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
    import getx.motifs._merge_kernels as mk

    pk = pack(motifs, thr)
    entry_cluster = np.repeat(motifs.motif_cluster, 2).astype(np.int64)
    n_clusters = len(motifs.clusters)
    # Per cluster: its entries (both strands of its motifs) and its widest motif.
    cl_ent = np.argsort(entry_cluster, kind="stable")
    cl_ptr = np.zeros(n_clusters + 1, dtype=np.int64)
    cl_ptr[1:] = np.cumsum(np.bincount(entry_cluster, minlength=n_clusters))
    cl_w = np.ones(n_clusters, dtype=np.int64)
    np.maximum.at(cl_w, entry_cluster, pk.widths)
    flank = int(np.ceil(_SCAN_FLANK * (pk.max_w - 1)))  # at least max width - 1
    out = np.zeros((n, n_clusters), dtype=np.float32)
    n_ext = n_refetch = 0
    for b0 in range(0, n, batch_size):
        idx = np.arange(b0, min(n, b0 + batch_size))
        ctx = np.full(len(idx), max(flank, _CONTEXT * (pk.max_w - 1)), dtype=np.int64)
        todo = np.arange(len(idx))
        for _attempt in range(40):
            ii = idx[todo]
            seqs = [
                encode(genome.fetch(chroms[i], int(starts[i] - f), int(ends[i] + f)))
                for i, f in zip(ii, ctx[todo], strict=True)
            ]
            lengths = np.array([len(q) for q in seqs], dtype=np.int64)
            core_len = ends[ii] - starts[ii]
            expect = core_len + 2 * ctx[todo]
            if np.any(lengths != expect):
                j = int(np.flatnonzero(lengths != expect)[0])
                raise InputError(
                    f"genome.fetch returned {lengths[j]} bp for a {expect[j]} bp request "
                    f"({chroms[ii[j]]}:{starts[ii[j]]}-{ends[ii[j]]})"
                )
            # Scanned: core +- flank of each region, joined into one sequence with an N between
            # regions (no window spans two), so the scan runs in parallel chunks with no
            # per-region or per-motif Python loop. The wider context serves the rare merged
            # hits that reach the scanned edge (``_merge_kernels.merge_region_hits``).
            ctx_off = np.zeros(len(seqs) + 1, dtype=np.int64)
            ctx_off[1:] = np.cumsum(lengths + 1)
            ctx_codes = np.full(int(ctx_off[-1]), 4, dtype=np.uint8)
            seq_off = np.zeros(len(seqs) + 1, dtype=np.int64)
            seq_off[1:] = np.cumsum(core_len + 2 * flank + 1)
            codes = np.full(int(seq_off[-1]), 4, dtype=np.uint8)
            for q, c0, s0, f, cl in zip(
                seqs, ctx_off[:-1], seq_off[:-1], ctx[todo], core_len, strict=True
            ):
                ctx_codes[c0 : c0 + len(q)] = q
                codes[s0 : s0 + cl + 2 * flank] = q[f - flank : f + cl + flank]
            he, hs, hv = _scan_codes(codes, pk)
            region = np.searchsorted(seq_off, hs, side="right") - 1
            cluster = entry_cluster[he]
            pos = hs - seq_off[region] - flank  # region coordinates: 0 = core start
            span = int(core_len.max()) + 2 * flank + 1
            key = (region * n_clusters + cluster) * span + pos + flank
            feats = np.zeros((len(todo), n_clusters), dtype=np.float64)
            flags = np.zeros(len(todo), dtype=np.uint8)
            n_ext += mk.merge_region_hits(np.argsort(key), region, cluster, pos,
                                          pos + pk.widths[he], hv, core_len, flank, ctx[todo],
                                          ctx_codes,
                                          ctx_off[:-1] + ctx[todo], cl_ptr, cl_ent, cl_w,
                                          pk.flat, pk.col_order, pk.rest, pk.offsets, pk.widths,
                                          pk.thr, feats, flags)  # fmt: skip
            done = flags == 0
            out[idx[todo[done]]] = feats[done]
            todo = todo[~done]
            if len(todo) == 0:
                break
            n_refetch += len(todo)
            ctx[todo] *= 2
        else:
            raise RuntimeError("archetype merge did not converge (pathological repeat?)")
        if progress is not None:
            progress(int(idx[-1]) + 1, n)
    log.debug(
        "region features: %d regions, %d (region, cluster) merged hits extended beyond the "
        "scanned flank, %d regions refetched with a wider context",
        n, n_ext, n_refetch,
    )  # fmt: skip
    return out


# --- short sequences (reporter constructs, oligo libraries) ------------------------------------


def sequence_features(
    sequences: list[str],
    motifs: MotifSet,
    windows: list[tuple[int, int]] | None = None,
    p_value: float = 1e-4,
    background: str | np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """(n_sequences, n_windows, n_clusters) float32: GET's region features of windows of short
    sequences, each sequence scanned on its own (nothing outside it).

    ``windows``: [start, end) pairs within every sequence (default: one window, the whole of
    each sequence, which then may differ in length). A window's feature for a cluster is the
    summed score of the merged archetype hits of that cluster overlapping it by >= 1 bp, hits
    that run past the window into the rest of the sequence included (the definition of
    :func:`region_features`, which this calls with one region per sequence and window). So a
    reporter construct scanned whole gives its element's features in the construct's context,
    and overlapping sub-windows of an element each count a hit that spans them.
    """
    if not sequences:
        raise InputError("no sequences to scan")
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    if windows is None:
        starts = np.zeros((len(sequences), 1), dtype=np.int64)
        ends = lengths[:, None]
    else:
        if not windows:
            raise InputError("windows is empty")
        bounds = np.asarray(windows, dtype=np.int64).reshape(-1, 2)
        bad = np.flatnonzero((bounds[:, 0] < 0) | (bounds[:, 1] <= bounds[:, 0]))
        if len(bad):
            raise InputError(f"window {tuple(bounds[bad[0]])} is empty or starts before 0")
        short = np.flatnonzero(lengths < bounds[:, 1].max())
        if len(short):
            i = int(short[0])
            raise InputError(
                f"sequence {i} is {lengths[i]} bp, shorter than the window end "
                f"{int(bounds[:, 1].max())}"
            )
        starts = np.broadcast_to(bounds[:, 0], (len(sequences), len(bounds)))
        ends = np.broadcast_to(bounds[:, 1], (len(sequences), len(bounds)))
    n_windows = starts.shape[1]
    regions = pd.DataFrame(
        {
            "chrom": np.repeat(np.arange(len(sequences)), n_windows).astype(str),
            "start": starts.ravel(),
            "end": ends.ravel(),
        }
    )
    feats = region_features(
        SequenceGenome({str(i): seq for i, seq in enumerate(sequences)}),
        regions,
        motifs,
        p_value,
        background,
        progress,
    )
    return feats.reshape(len(sequences), n_windows, -1)
