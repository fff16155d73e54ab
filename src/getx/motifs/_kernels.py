"""numba kernels behind ``getx.motifs.scanning`` (imported lazily: compiling costs seconds).

Packed matrices (``scanning._pack``): entry e (= 2 * motif + strand) has rows
flat[offsets[e]:offsets[e + 1]]. Entries at least ``L`` wide are found through a table indexed by
the L-mer code of their most informative L-column window (at column wpos[e]): for every L-mer,
the entries whose window score plus the best possible rest can still reach the threshold, with
that window score. Survivors are extended over the remaining columns in decreasing spread
(``rest_order``), pruned against the suffix sums of their maxima (``rest_rem``), and finally
rescored as a plain left-to-right sum. Entries narrower than L are scanned window by window.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _next_bad(codes, a, b):
    """nb[i - a] = first index >= i in [a, b) holding a non-ACGT code (b if none)."""
    nb = np.empty(b - a + 1, dtype=np.int64)
    nb[b - a] = b
    for i in range(b - 1, a - 1, -1):
        nb[i - a] = i if codes[i] > 3 else nb[i - a + 1]
    return nb


@njit(cache=True)
def _plain_score(codes, s, flat, o0, W):
    score = 0.0
    for k in range(W):
        score += flat[o0 + k, codes[s + k]]
    return score


@njit(cache=True)
def _push(he, hs, hv, cnt, e, s, v):
    if cnt == he.shape[0]:
        n2 = 2 * he.shape[0]
        he2 = np.empty(n2, dtype=np.int64)
        hs2 = np.empty(n2, dtype=np.int64)
        hv2 = np.empty(n2, dtype=np.float64)
        he2[:cnt] = he[:cnt]
        hs2[:cnt] = hs[:cnt]
        hv2[:cnt] = hv[:cnt]
        he, hs, hv = he2, hs2, hv2
    he[cnt] = e
    hs[cnt] = s
    hv[cnt] = v
    return he, hs, hv, cnt + 1


@njit(cache=True)
def _scan_segment(codes, a, b, data_end, L, flat, offsets, widths, thr, eps, wpos,
                  rest_order, rest_off, rest_rem, tab_ptr, tab_e, tab_v, short, cap0):  # fmt: skip
    """Hits of windows starting in [a, b) that end by data_end: (entry, start, score, count)."""
    he = np.empty(cap0, dtype=np.int64)
    hs = np.empty(cap0, dtype=np.int64)
    hv = np.empty(cap0, dtype=np.float64)
    cnt = 0
    if data_end <= a:
        return he, hs, hv, cnt
    nb = _next_bad(codes, a, data_end)
    # Narrow entries: every window, plain score.
    for j in range(short.shape[0]):
        e = short[j]
        W = widths[e]
        o0 = offsets[e]
        t = thr[e]
        for s in range(a, min(b, data_end - W + 1)):
            if nb[s - a] < s + W:
                continue
            v = _plain_score(codes, s, flat, o0, W)
            if v >= t:
                he, hs, hv, cnt = _push(he, hs, hv, cnt, e, s, v)
    # Wide entries through the L-mer table; an L-mer at p serves window starts p - wpos[e].
    mask = (1 << (2 * L)) - 1
    code = 0
    valid = 0
    for p in range(a, data_end):
        c = codes[p]
        if c > 3:
            valid = 0
            code = 0
            continue
        code = ((code << 2) | c) & mask
        valid += 1
        if valid < L:
            continue
        q = p - L + 1  # the L-mer starts at q
        for k in range(tab_ptr[code], tab_ptr[code + 1]):
            e = tab_e[k]
            s = q - wpos[e]
            if s < a or s >= b:
                continue
            W = widths[e]
            if s + W > data_end or nb[s - a] < s + W:
                continue
            t = thr[e]
            o0 = offsets[e]
            partial = tab_v[k]
            r0 = rest_off[e]
            n_rest = W - L
            ok = True
            for r in range(n_rest):
                if partial + rest_rem[r0 + e + r] < t - eps:
                    ok = False
                    break
                col = rest_order[r0 + r]
                partial += flat[o0 + col, codes[s + col]]
            if not ok or partial < t - eps:
                continue
            v = _plain_score(codes, s, flat, o0, W)
            if v >= t:
                he, hs, hv, cnt = _push(he, hs, hv, cnt, e, s, v)
    return he, hs, hv, cnt


@njit(cache=True, parallel=True)
def scan_chunks(codes, own, own_end, L, flat, offsets, widths, thr, eps, wpos, rest_order,
                rest_off, rest_rem, tab_ptr, tab_e, tab_v, short, out_e, out_s, out_v,
                counts):  # fmt: skip
    """Hits of windows starting in [own[c], own_end[c]) per chunk c (parallel over chunks).

    Windows read up to W - 1 bases past own_end. Hits beyond the output capacity are counted
    but not stored, so the caller can rescan with room.
    """
    n = codes.shape[0]
    max_w = 0
    for e in range(widths.shape[0]):
        max_w = max(max_w, widths[e])
    cap = out_e.shape[1]
    for c in prange(own.shape[0]):
        a = own[c]
        b = own_end[c]
        data_end = min(n, b + max_w - 1)
        he, hs, hv, cnt = _scan_segment(codes, a, b, data_end, L, flat, offsets, widths, thr,
                                        eps, wpos, rest_order, rest_off, rest_rem, tab_ptr,
                                        tab_e, tab_v, short, 1024)  # fmt: skip
        m = min(cnt, cap)
        out_e[c, :m] = he[:m]
        out_s[c, :m] = hs[:m]
        out_v[c, :m] = hv[:m]
        counts[c] = cnt


@njit(cache=True, parallel=True)
def region_scores(codes, seq_off, flank, L, flat, offsets, widths, thr, eps, wpos, rest_order,
                  rest_off, rest_rem, tab_ptr, tab_e, tab_v, short, entry_cluster, max_w,
                  feats, flags):  # fmt: skip
    """Per region: archetype-merged hits per cluster, summed over merged hits overlapping the core.

    Region i's sequence is codes[seq_off[i]:seq_off[i + 1]] = core plus ``flank[i]`` bp each
    side. flags[i] = 1 when a counted merged hit comes within max_w - 1 bp of the scanned edge
    (a hit outside could extend it), asking the caller to rescan with a wider flank.
    """
    for i in prange(seq_off.shape[0] - 1):
        a = seq_off[i]
        b = seq_off[i + 1]
        Lr = b - a
        core_a = flank[i]
        core_b = Lr - flank[i]
        he, hs, hv, cnt = _scan_segment(codes, a, b, b, L, flat, offsets, widths, thr, eps,
                                        wpos, rest_order, rest_off, rest_rem, tab_ptr, tab_e,
                                        tab_v, short, 64 + Lr)  # fmt: skip
        if cnt == 0:
            continue
        cl = np.empty(cnt, dtype=np.int64)
        for j in range(cnt):
            cl[j] = entry_cluster[he[j]]
        key = cl * (Lr + 1) + (hs[:cnt] - a)
        idx = np.argsort(key)
        cur_c = -1
        g_s = 0
        g_e = 0
        g_v = 0.0
        for j in range(cnt + 1):
            c = -1
            s0 = 0
            e0 = 0
            v = 0.0
            if j < cnt:
                h = idx[j]
                c = cl[h]
                s0 = hs[h] - a
                e0 = s0 + widths[he[h]]
                v = hv[h]
                if c == cur_c and s0 < g_e:
                    g_e = max(g_e, e0)
                    g_v = max(g_v, v)
                    continue
            if cur_c >= 0 and g_s < core_b and g_e > core_a:
                feats[i, cur_c] += g_v
                if g_s < max_w - 1 or g_e > Lr - (max_w - 1):
                    flags[i] = 1
            cur_c, g_s, g_e, g_v = c, s0, e0, v
