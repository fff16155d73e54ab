"""numba kernels behind ``getx.motifs.scanning`` (imported lazily: compiling costs seconds).

Entries e = 2 * motif + strand. Every entry at least ``LA`` wide is scored in integers from
k-mer tables (see ``_tables.pack``): an anchor table over its most informative ``LA``-mer
(only the anchor codes that can still reach the threshold are listed) plus ``K``-mer tables
covering its other columns. A chunk of sequence is first bucketed by anchor code (a counting
sort of positions), then each entry walks its anchor list and, for every position in the
matching bucket, adds its few block-table values, stopping as soon as the best possible rest
cannot reach the threshold. Its tables stay in L1 cache while it runs over the chunk, and the
95 % of (entry, position) pairs whose anchor cannot reach the threshold are never touched. The
first block is the K-mer right after (or before) the anchor, stored beside each bucketed
position, so the lookup that rejects most candidates reads memory in order. Windows whose
integer score comes within the rounding bound of the threshold are re-scored as a plain
left-to-right float64 sum, which alone decides the hit (and rejects windows over non-ACGT
bases). Entries narrower than ``LA`` read their score at every valid window from a table over
all their k-mers, each entry the plain float sum in column order (so scores are identical).

Where the time goes (chr2 piece, 2,174 v1 motifs, one core): ~4.8e8 (entry, position)
candidates pass the anchor lists; walking them costs about a third, the first block check
another fifth (14 % survive it), the remaining random-access blocks the rest.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def kmer_codes(codes, k, pad):
    """out[p] = code of the k-mer at p (first base most significant), or 4**k when it holds a
    non-ACGT base or runs past the end; ``pad`` extra sentinel slots let readers overrun."""
    n = codes.shape[0]
    bad = 4**k
    out = np.full(n + pad, bad, dtype=np.int32)
    code = 0
    valid = 0
    for p in range(n):
        c = codes[p]
        if c > 3:
            valid = 0
            code = 0
        else:
            code = ((code << 2) | c) & (bad - 1)
            valid += 1
        if valid >= k:
            out[p - k + 1] = code
    return out


@njit(cache=True)
def valid_runs(codes):
    """run[p] = number of consecutive A/C/G/T bases from p (capped at 255)."""
    n = codes.shape[0]
    run = np.zeros(n + 1, dtype=np.uint8)
    for p in range(n - 1, -1, -1):
        if codes[p] <= 3:
            run[p] = min(255, run[p + 1] + 1)
    return run


@njit(cache=True)
def fill_block_tables(flat, blk_row, blk_mask, K, scale, sentinel, tab):
    """tab[q, x] = round(scale * sum of the masked columns of block q's K-mer x); sentinel last."""
    nk = 4**K
    for q in range(blk_row.shape[0]):
        for x in range(nk):
            f = 0.0
            for j in range(K):
                if (blk_mask[q] >> j) & 1:
                    f += flat[blk_row[q] + j, (x >> (2 * (K - 1 - j))) & 3]
            tab[q, x] = np.int32(np.floor(f * scale + 0.5))
        tab[q, nk] = sentinel


@njit(cache=True)
def anchor_values(flat, row, LA, scale):
    """Integer anchor score of every LA-mer code for the columns flat[row:row + LA]."""
    vals = np.zeros(1, dtype=np.float64)
    for j in range(LA):
        nxt = np.empty(vals.shape[0] * 4, dtype=np.float64)
        for x in range(vals.shape[0]):
            for c in range(4):
                nxt[x * 4 + c] = vals[x] + flat[row + j, c]
        vals = nxt
    return np.floor(vals * scale + 0.5).astype(np.int64)


@njit(cache=True)
def build_anchors(flat, offsets, wide, wpos, LA, scale, floor_need):
    """Per wide entry, the anchor codes whose value can still reach the threshold, and values.

    floor_need[i] = need minus the best total of the entry's block tables.
    """
    counts = np.zeros(wide.shape[0] + 1, dtype=np.int64)
    for i in range(wide.shape[0]):
        v = anchor_values(flat, offsets[wide[i]] + wpos[i], LA, scale)
        counts[i + 1] = np.sum(v >= floor_need[i])
    ptr = np.cumsum(counts)
    a_code = np.empty(ptr[-1], dtype=np.int32)
    a_val = np.empty(ptr[-1], dtype=np.int32)
    for i in range(wide.shape[0]):
        v = anchor_values(flat, offsets[wide[i]] + wpos[i], LA, scale)
        k = ptr[i]
        for x in range(v.shape[0]):
            if v[x] >= floor_need[i]:
                a_code[k] = x
                a_val[k] = v[x]
                k += 1
    return ptr, a_code, a_val


@njit(cache=True)
def _plain_score(codes, s, flat, o0, W):
    score = 0.0
    for k in range(W):
        score += flat[o0 + k, codes[s + k]]
    return score


@njit(cache=True)
def narrow_tables(flat, offsets, widths, narrow, L):
    """tab[j, code] = plain score of entry narrow[j] on the W-mer ``code`` (first base most
    significant; W = its width < L + 1), summed in column order as ``_plain_score`` does."""
    tab = np.full((narrow.shape[0], 4**L), -np.inf)
    for j in range(narrow.shape[0]):
        e = narrow[j]
        W = widths[e]
        for code in range(4**W):
            score = 0.0
            for k in range(W):
                score += flat[offsets[e] + k, (code >> (2 * (W - 1 - k))) & 3]
            tab[j, code] = score
    return tab


@njit(cache=True)
def _narrow_pass(codes, run, a, b, L, flat, offsets, widths, thr, narrow, narrow_tab,
                 out_e, out_s, out_v):  # fmt: skip
    """Hits of the narrow entries in windows starting in [a, b), written to out_* when they
    have room (pass empty arrays to count). The score of an entry of width W at s is the table
    value of the first W bases of the L-mer at s (a plain sum where fewer than L valid bases
    follow). Positions go in blocks and entries one at a time over a block, so each entry's
    table stays in cache."""
    cnt = 0
    write = out_e.shape[0] > 0
    block = 4096
    code = np.empty(block, dtype=np.int64)
    for s0 in range(a, b, block):
        s1 = min(b, s0 + block)
        for s in range(s0, s1):
            c = -1
            if run[s] >= L:
                c = 0
                for k in range(L):
                    c = (c << 2) | codes[s + k]
            code[s - s0] = c
        for j in range(narrow.shape[0]):
            e = narrow[j]
            W = widths[e]
            t = thr[e]
            shift = 2 * (L - W)
            row = narrow_tab[j]
            for s in range(s0, s1):
                c = code[s - s0]
                if c >= 0:
                    v = row[c >> shift]
                elif run[s] >= W:
                    v = _plain_score(codes, s, flat, offsets[e], W)
                else:
                    continue
                if v >= t:
                    if write:
                        out_e[cnt] = e
                        out_s[cnt] = s
                        out_v[cnt] = v
                    cnt += 1
    return cnt


@njit(cache=True)
def _valid_score(codes, s, flat, o0, W):
    """Plain score, or -inf when the window holds a non-ACGT base."""
    score = 0.0
    for k in range(W):
        c = codes[s + k]
        if c > 3:
            return -np.inf
        score += flat[o0 + k, c]
    return score


@njit(cache=True)
def best_rest(flat, offsets, widths):
    """Each matrix's columns by decreasing max - min spread (``order[o + k]``, o = its offset)
    and the best possible score of the columns after the k-th of that order (``rest[o + k]``)."""
    order = np.zeros(flat.shape[0], dtype=np.int64)
    rest = np.zeros(flat.shape[0], dtype=np.float64)
    for e in range(widths.shape[0]):
        o = offsets[e]
        W = widths[e]
        spread = np.empty(W)
        for k in range(W):
            spread[k] = flat[o + k].max() - flat[o + k].min()
        cols = np.argsort(-spread, kind="mergesort")
        acc = 0.0
        for k in range(W - 1, -1, -1):
            order[o + k] = cols[k]
            rest[o + k] = acc
            acc += flat[o + cols[k]].max()
    return order, rest


@njit(cache=True)
def _push(he, hs, hv, cnt, e, s, v):
    if cnt == he.shape[0]:
        n2 = 2 * he.shape[0]
        he2 = np.empty(n2, dtype=np.int32)
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
def scan_segment(codes, kca, kcb, run, a, b, LA, flat, offsets, widths, thr, wide, wpos,
                 need, a_ptr, a_code, a_val, blk_ptr, blk_col, blk_tab, blk_lim, adj_left,
                 narrow, narrow_tab, cap0):  # fmt: skip
    """Hits (entry, start, score, count) of the windows starting in [a, b).

    kca / kcb: anchor (LA-mer) and block (K-mer) codes of ``codes``, 4**k where invalid.
    """
    n = codes.shape[0]
    he = np.empty(cap0, dtype=np.int32)
    hs = np.empty(cap0, dtype=np.int64)
    hv = np.empty(cap0, dtype=np.float64)
    cnt = 0
    b = min(b, n)
    if b <= a:
        return he, hs, hv, cnt
    # Narrow entries first: counted, then written into arrays of that size (reassigning the hit
    # arrays inside the scan loop would cost reference counting on every window).
    if narrow.shape[0] > 0:
        none_i = np.empty(0, dtype=np.int32)
        m = _narrow_pass(codes, run, a, b, LA - 1, flat, offsets, widths, thr, narrow,
                         narrow_tab, none_i, np.empty(0, np.int64), np.empty(0))  # fmt: skip
        if m > he.shape[0]:
            he = np.empty(2 * m, dtype=np.int32)
            hs = np.empty(2 * m, dtype=np.int64)
            hv = np.empty(2 * m, dtype=np.float64)
        cnt = _narrow_pass(codes, run, a, b, LA - 1, flat, offsets, widths, thr, narrow,
                           narrow_tab, he, hs, hv)  # fmt: skip
    if wide.shape[0] == 0:
        return _sort_hits(he, hs, hv, cnt, a, b - a)
    # Bucket the anchor positions that can serve a window start in [a, b).
    max_wp = 0
    for i in range(wide.shape[0]):
        max_wp = max(max_wp, wpos[i])
    p1 = min(n, b + max_wp)
    nk = 4**LA
    ptr = np.zeros(nk + 2, dtype=np.int32)
    for p in range(a, p1):
        if kca[p] < nk:
            ptr[kca[p] + 2] += 1
    for x in range(2, nk + 2):
        ptr[x] += ptr[x - 1]
    pos = np.empty(p1 - a, dtype=np.int32)
    # The K-mers right after and right before each anchor, stored beside its position so that
    # the first block lookup (always one of these, see ``scanning._blocks``) reads in order.
    after = np.empty(p1 - a, dtype=np.uint16)
    before = np.empty(p1 - a, dtype=np.uint16)
    K = 0
    while blk_tab.shape[1] - 1 > 4**K:
        K += 1
    for p in range(a, p1):  # ptr[x + 1] is the fill cursor of code x and ends at its end
        if kca[p] < nk:
            x = kca[p] + 1
            k = ptr[x]
            pos[k] = p - a
            after[k] = kcb[p + LA]
            before[k] = kcb[p - K] if p >= K else 4**K
            ptr[x] = k + 1
    # ptr[x] .. ptr[x + 1] are now the positions (relative to a) of code x, in increasing order.
    span = b - a
    cand = np.empty(span, dtype=np.int32)
    for i in range(wide.shape[0]):
        wp = wpos[i]
        ne = need[i]
        q0 = blk_ptr[i]
        q1 = blk_ptr[i + 1]
        nb0 = before if adj_left[i] else after
        lim0 = blk_lim[q0] if q1 > q0 else ne
        nc = 0
        for j in range(a_ptr[i], a_ptr[i + 1]):
            x = a_code[j]
            av = a_val[j]
            for k in range(ptr[x], ptr[x + 1]):
                r = pos[k] - wp  # window start relative to a
                if r < 0 or r >= span:
                    continue
                if q1 == q0:
                    if av >= ne:
                        cand[nc] = r
                        nc += 1
                    continue
                tot = av + blk_tab[q0, nb0[k]]
                if tot < lim0:
                    continue
                ok = True
                for q in range(q0 + 1, q1):
                    tot += blk_tab[q, kcb[a + r + blk_col[q]]]
                    if tot < blk_lim[q]:
                        ok = False
                        break
                if ok and tot >= ne:
                    cand[nc] = r
                    nc += 1
        # Kept apart from the loop above so that the hot loop never grows an array.
        e = wide[i]
        for c in range(nc):
            s = a + cand[c]
            v = _valid_score(codes, s, flat, offsets[e], widths[e])
            if v >= thr[e]:
                he, hs, hv, cnt = _push(he, hs, hv, cnt, e, s, v)
    return _sort_hits(he, hs, hv, cnt, a, span)


@njit(cache=True)
def _sort_hits(he, hs, hv, cnt, a, span):
    """Hits ordered by start, then entry: a counting sort by start, then insertion sorts of
    the (short) runs that share a start."""
    first = np.zeros(span + 1, dtype=np.int64)
    for j in range(cnt):
        first[hs[j] - a + 1] += 1
    for r in range(span):
        first[r + 1] += first[r]
    oe = np.empty(cnt, dtype=np.int32)
    os_ = np.empty(cnt, dtype=np.int64)
    ov = np.empty(cnt, dtype=np.float64)
    for j in range(cnt):
        r = hs[j] - a
        d = first[r]
        first[r] = d + 1
        oe[d] = he[j]
        os_[d] = hs[j]
        ov[d] = hv[j]
    j = 0
    while j < cnt:
        g = j
        while g + 1 < cnt and os_[g + 1] == os_[j]:
            g += 1
        for u in range(j + 1, g + 1):
            e, v = oe[u], ov[u]
            w = u - 1
            while w >= j and oe[w] > e:
                oe[w + 1] = oe[w]
                ov[w + 1] = ov[w]
                w -= 1
            oe[w + 1] = e
            ov[w + 1] = v
        j = g + 1
    return oe, os_, ov, cnt


@njit(cache=True, parallel=True)
def scan_chunks(codes, kca, kcb, run, own, own_end, LA, flat, offsets, widths, thr, wide,
                wpos, need, a_ptr, a_code, a_val, blk_ptr, blk_col, blk_tab, blk_lim, adj_left,
                narrow, narrow_tab, out_e, out_s, out_v, counts):  # fmt: skip
    """Hits of windows starting in [own[c], own_end[c]) per chunk c, in parallel over chunks.

    Hits beyond the output capacity are counted but not stored, so the caller can rescan.
    """
    cap = out_e.shape[1]
    for c in prange(own.shape[0]):
        he, hs, hv, cnt = scan_segment(codes, kca, kcb, run, own[c], own_end[c], LA, flat,
                                       offsets, widths, thr, wide, wpos, need, a_ptr, a_code,
                                       a_val, blk_ptr, blk_col, blk_tab, blk_lim, adj_left,
                                       narrow, narrow_tab, 4096)  # fmt: skip
        m = min(cnt, cap)
        out_e[c, :m] = he[:m]
        out_s[c, :m] = hs[:m]
        out_v[c, :m] = hv[:m]
        counts[c] = cnt
