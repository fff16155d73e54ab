"""numba kernels behind ``getx.motifs.scanning.region_features``: the archetype merge of each
region's hits, and the extension of merged hits that reach the edge of the scanned flank
(imported lazily: compiling costs seconds)."""

from __future__ import annotations

import numpy as np
from numba import njit

from getx.motifs._scan_kernels import _plain_score


@njit(cache=True)
def _sum_groups(bs, be, bv, n, core_len):
    """Merge hits sorted by start (overlapping, not book-ended, transitively), sum the best
    scores of the merged hits that overlap [0, core_len) left to right. Returns the sum and
    the start of the first and the end of the last counted merged hit (0, 0 when none)."""
    total = 0.0
    first = 0
    last = 0
    seen = False
    k = 0
    while k < n:
        g_s = bs[k]
        g_e = be[k]
        g_v = bv[k]
        k += 1
        while k < n and bs[k] < g_e:
            g_e = max(g_e, be[k])
            g_v = max(g_v, bv[k])
            k += 1
        if g_s < core_len and g_e > 0:
            total += g_v
            if not seen:
                first = g_s
                seen = True
            last = g_e
    return total, first, last, seen


@njit(cache=True)
def _edge_hits(ctx_codes, base, lo, hi, end_lo, end_hi, ents, flat, order, rest, offsets, widths,
               thr):  # fmt: skip
    """Hits (start, end, score) of ``ents`` whose windows start in [lo, hi) and end in
    (end_lo, end_hi] (region coordinates; ctx_codes[base + x] is position x), sorted by start.

    A window is first summed over its columns by decreasing spread and dropped as soon as the
    best possible rest cannot lift it to the threshold (with a margin far above rounding error,
    so no hit is lost); one that passes is re-scored as the plain float64 sum in column order,
    as the scan's re-score, so scores are identical. Entry by entry, so its rows stay in cache.
    """
    n = 0
    cap = 16
    os_ = np.empty(cap, dtype=np.int64)
    oe = np.empty(cap, dtype=np.int64)
    ov = np.empty(cap, dtype=np.float64)
    for e in ents:
        W = widths[e]
        o0 = offsets[e]
        t = thr[e]
        floor = t - 1e-9 * (1.0 + abs(t))
        for s in range(max(lo, end_lo + 1 - W), min(hi, end_hi + 1 - W)):
            part = 0.0
            p0 = base + s
            ok = True
            for k in range(W):
                j = order[o0 + k]
                c = ctx_codes[p0 + j]
                if c > 3:
                    ok = False
                    break
                part += flat[o0 + j, c]
                if part + rest[o0 + k] < floor:
                    ok = False
                    break
            if not ok:
                continue
            v = _plain_score(ctx_codes, p0, flat, o0, W)
            if v >= t:
                if n == cap:
                    cap *= 2
                    os_ = np.concatenate((os_, np.empty(cap - n, dtype=np.int64)))
                    oe = np.concatenate((oe, np.empty(cap - n, dtype=np.int64)))
                    ov = np.concatenate((ov, np.empty(cap - n, dtype=np.float64)))
                os_[n] = s
                oe[n] = s + W
                ov[n] = v
                n += 1
    srt = np.argsort(os_[:n], kind="mergesort")
    return os_[srt], oe[srt], ov[srt]


@njit(cache=True)
def merge_region_hits(hit_order, region, cluster, start, end, score, core_len, flank, ctx,
                      ctx_codes, ctx_base, cl_ptr, cl_ent, cl_w, flat, order, rest, offsets,
                      widths, thr, feats, flags):  # fmt: skip
    """Archetype merge per (region, cluster) and sum of merged scores overlapping the core.

    ``hit_order`` sorts the hits by (region, cluster, start); start / end are in region
    coordinates (0 = core start; the core is [0, core_len[i])). The scan saw every window inside
    [-flank, core_len + flank). When the first (last) counted merged hit of cluster c starts
    (ends) within cl_w[c] - 1 bp of that edge, an unseen hit of c could extend it: the cluster's
    own motifs are then scored on the unseen windows that overlap it, from the region's context
    ctx_codes[ctx_base[i] + x] for x in [-ctx[i], core_len + ctx[i]), round by round as it grows,
    and the merge is redone with the hits found. flags[i] = 1 when the context runs out (the
    caller refetches a wider context). Returns the number of (region, cluster) pairs extended.
    """
    m = hit_order.shape[0]
    bs = np.empty(max(m, 1), dtype=np.int64)
    be = np.empty(max(m, 1), dtype=np.int64)
    bv = np.empty(max(m, 1), dtype=np.float64)
    n_ext = 0
    j = 0
    while j < m:
        h = hit_order[j]
        i = region[h]
        c = cluster[h]
        n = 0
        while j < m and region[hit_order[j]] == i and cluster[hit_order[j]] == c:
            h2 = hit_order[j]
            bs[n] = start[h2]
            be[n] = end[h2]
            bv[n] = score[h2]
            n += 1
            j += 1
        Lc = core_len[i]
        reach = cl_w[c] - 1
        total, first, last, seen = _sum_groups(bs, be, bv, n, Lc)
        lo = -flank
        hi = Lc + flank
        if not seen or (first >= lo + reach and last <= hi - reach):
            feats[i, c] = total
            continue
        n_ext += 1
        ents = cl_ent[cl_ptr[c] : cl_ptr[c + 1]]
        xs, xe, xv = bs[:n].copy(), be[:n].copy(), bv[:n].copy()
        base = ctx_base[i]
        big = Lc + ctx[i] + 1
        out_of_context = False
        if first < lo + reach:
            # The merged hit grows left only through unseen windows (start < lo) that end inside
            # it: those ending in (a, b], a = its leftmost start so far; each round's hits move
            # a further left (or sit inside it, and count for its score), until none is found.
            a_end, b_end = first, big
            while True:
                if a_end - reach < -ctx[i]:
                    out_of_context = True
                    break
                ns, ne_, nv = _edge_hits(ctx_codes, base, a_end - reach, lo, a_end, b_end, ents,
                                         flat, order, rest, offsets, widths, thr)  # fmt: skip
                if ns.shape[0] == 0:
                    break
                xs = np.concatenate((xs, ns))
                xe = np.concatenate((xe, ne_))
                xv = np.concatenate((xv, nv))
                a_end, b_end = min(a_end, ns.min()), a_end
        if last > hi - reach and not out_of_context:
            # Mirrored: unseen windows (end > hi) that start inside it, [a, b) with b its
            # rightmost end so far.
            a_st, b_st = hi - reach, last
            while True:
                if b_st + reach > Lc + ctx[i]:
                    out_of_context = True
                    break
                ns, ne_, nv = _edge_hits(ctx_codes, base, a_st, b_st, hi, big, ents, flat, order,
                                         rest, offsets, widths, thr)  # fmt: skip
                if ns.shape[0] == 0:
                    break
                xs = np.concatenate((xs, ns))
                xe = np.concatenate((xe, ne_))
                xv = np.concatenate((xv, nv))
                a_st, b_st = b_st, max(b_st, ne_.max())
        if out_of_context:
            flags[i] = 1
            continue
        srt = np.argsort(xs, kind="mergesort")
        total, first, last, seen = _sum_groups(xs[srt], xe[srt], xv[srt], xs.shape[0], Lc)
        feats[i, c] = total
    return n_ext
