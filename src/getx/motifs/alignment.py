"""All-pairs ungapped motif alignment with TOMTOM-like p-values, the input of the clustering.

1. **Alignment.** Every pair of motifs is aligned ungapped over all offsets with at least
   ``min_overlap`` overlapping columns (or the shorter width) and both strands. A column pair
   scores ``f_i[k] . g_j[k'] + h_i[k] + h_j[k']`` so that all pairs at one offset are one matrix
   product of zero-padded ``(n, Wmax * F)`` arrays; ``h`` terms come from prefix sums. Column
   scores: ``"pcc"`` (Pearson correlation of probability columns, TOMTOM's PCC) or ``"kl"``
   (minus the symmetrised Kullback-Leibler divergence, sum_b (q_b - t_b) ln(q_b / t_b)).
2. **Significance.** Like TOMTOM, each query column gets a null score distribution against all
   columns of the set (both strands); an alignment's score is compared to the sum over its
   query columns of those means and variances (normal approximation), giving -log10 p, which
   :func:`evalue_matrix` corrects for the number of offsets tried and the number of motifs (an
   E-value) and symmetrises. ``pvalue="exact"`` replaces the approximation by the exact
   (discretised) null distribution as TOMTOM computes it, and takes each pair's best alignment
   by that exact p over all offsets and strands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from getx.motifs.motifset import MotifSet, probabilities

# "normal": TOMTOM-like p-values by a normal approximation of each alignment's null; "exact":
# the null's exact (discretised) distribution, as TOMTOM computes it.
PVALUES = ("normal", "exact")
EXACT_BINS = 40  # grid steps per column score (TOMTOM scales scores to a 0..100-ish grid)


def _column_features(p: np.ndarray, score: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f, g, h) per column so that score(q, t) = f(q) . g(t) + h(q) + h(t)."""
    if score == "pcc":
        c = p - 0.25
        sd = np.sqrt((c**2).sum(axis=1, keepdims=True))
        # A uniform column has no defined correlation; it scores 0 with everything.
        z = np.divide(c, sd, out=np.zeros_like(c), where=sd > 1e-9)
        return z, z, np.zeros(p.shape[0])
    if score == "kl":
        q = (p + 0.01) / 1.04  # small pseudocount keeps the logarithms finite
        lq = np.log(q)
        # -(sum (q - t)(ln q - ln t)) = q.ln t + ln q.t - sum q ln q - sum t ln t
        return np.hstack([q, lq]), np.hstack([lq, q]), -(q * lq).sum(axis=1)
    raise ValueError(f"unknown column score {score!r} (pcc, kl)")


@dataclass
class Alignments:
    """Best ungapped alignment of every motif pair (row = query i, column = target j).

    ``offset[i, j] = d``: column k of i faces column k - d of j (j reverse-complemented when
    ``strand[i, j] == 1``). ``score``: summed column score; ``overlap``: aligned columns;
    ``nlog10p``: -log10 of the (per-offset) p-value of the chosen alignment.
    """

    score: np.ndarray
    offset: np.ndarray
    strand: np.ndarray
    overlap: np.ndarray
    nlog10p: np.ndarray


def _stack(probs: list[np.ndarray], score: str, rc: bool):
    n = len(probs)
    wmax = max(p.shape[0] for p in probs)
    feats = [_column_features(p[::-1, ::-1] if rc else p, score) for p in probs]
    nf = feats[0][0].shape[1]
    F = np.zeros((n, wmax, nf))
    G = np.zeros((n, wmax, nf))
    H = np.zeros((n, wmax))
    for i, (f, g, h) in enumerate(feats):
        w = f.shape[0]
        F[i, :w], G[i, :w], H[i, :w] = f, g, h
    return F, G, H


def _prefix(x: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)


def _offset_scores(Fq2, chq, W, targets, need, wmax):
    """Per strand and offset d, the summed column scores of every query against every target:
    yields strand, d, lo (first aligned query column), end_i (per target, the end of the overlap
    in query columns), s, ov (aligned columns) and ok (ov >= need), the last three (n, n)."""
    n = len(W)
    for strand, (_, Gt, Ht) in enumerate(targets):
        cht = _prefix(Ht)
        for d in range(-(wmax - 1), wmax):
            lo = max(0, d)
            hi = np.minimum(W[:, None], d + W[None, :])  # (n, n) end of overlap in i
            ov = hi - lo
            ok = ov >= need
            if not ok.any():
                continue
            # sum_k f_i[k] . g_j[k - d] over the padded arrays (zeros beyond each width).
            if d >= 0:
                a = Fq2.reshape(n, wmax, -1)[:, d:].reshape(n, -1)
                b = Gt[:, : wmax - d].reshape(n, -1).astype(np.float32)
            else:
                a = Fq2.reshape(n, wmax, -1)[:, : wmax + d].reshape(n, -1)
                b = Gt[:, -d:].reshape(n, -1).astype(np.float32)
            # Per-column terms are zero beyond each width, so a prefix sum up to the overlap's
            # end min(W_i, d + W_j) equals the one up to d + W_j (and for j, up to W_i - d):
            # whole-column takes instead of (n, n) gathers.
            end_i = np.clip(d + W, 0, wmax)  # per j, end in i's columns
            end_j = np.clip(W - d, 0, wmax)  # per i, end in j's columns
            s = (a @ b.T).astype(np.float64)
            s += np.take(chq, end_i, axis=1) - chq[:, lo][:, None]
            s += np.take(cht, end_j, axis=1).T - cht[:, lo - d][None, :]
            yield strand, d, lo, end_i, s, ov, ok


def columns_and_null(motifs: MotifSet | list[np.ndarray], score: str) -> tuple:
    """Widths W, the queries' padded column features Fq, Hq, both strands' target stacks, and
    the columns of the null, every column of the set on both strands, as (cols_g, cols_h)."""
    probs = probabilities(motifs) if isinstance(motifs, MotifSet) else list(motifs)
    n = len(probs)
    W = np.array([p.shape[0] for p in probs])
    Fq, _, Hq = _stack(probs, score, rc=False)
    targets = [_stack(probs, score, rc=False), _stack(probs, score, rc=True)]
    cols_g = np.concatenate([t[1][j, : W[j]] for t in targets for j in range(n)], axis=0)  # (C, nf)
    cols_h = np.concatenate([t[2][j, : W[j]] for t in targets for j in range(n)])
    return W, Fq, Hq, targets, cols_g, cols_h


def align_all(
    motifs: MotifSet | list[np.ndarray],
    score: str = "pcc",
    min_overlap: int = 5,
    pvalue: str = "normal",
) -> Alignments:
    """All-pairs best alignment (offsets x both strands), vectorised as matrix products.

    ``motifs``: a MotifSet or a list of (W, 4) probability matrices. The best alignment of a pair
    is the one with the smallest p-value (the score against the query columns' null): under the
    normal approximation, or with ``pvalue="exact"`` under the exact (discretised) null of every
    offset and strand (see :func:`exact_tables`), as TOMTOM picks it.
    """
    if pvalue not in PVALUES:
        raise ValueError(f"unknown pvalue {pvalue!r} ({', '.join(PVALUES)})")
    # Null per query column: its scores against every column of the set, both strands.
    W, Fq, Hq, targets, cols_g, cols_h = columns_and_null(motifs, score)
    n = len(W)
    wmax = int(W.max())
    out = Alignments(
        score=np.zeros((n, n)),
        offset=np.zeros((n, n), dtype=np.int64),
        strand=np.zeros((n, n), dtype=np.int8),
        overlap=np.zeros((n, n), dtype=np.int64),
        nlog10p=np.zeros((n, n)),
    )
    need = np.minimum(min_overlap, np.minimum(W[:, None], W[None, :]))
    pairs = _offset_scores(
        Fq.reshape(n, -1).astype(np.float32), _prefix(Hq), W, targets, need, wmax
    )
    if pvalue == "exact":
        _best_exact(Fq, Hq, W, cols_g, cols_h, pairs, out)
        return out

    aug = np.hstack([cols_g, cols_h[:, None]])
    mean_aug, cov_aug = aug.mean(axis=0), np.cov(aug, rowvar=False)
    f_aug = np.concatenate([Fq, np.ones((n, wmax, 1))], axis=2)
    mu = f_aug @ mean_aug + Hq
    var = np.einsum("nwa,ab,nwb->nw", f_aug, cov_aug, f_aug)
    valid = np.arange(wmax)[None, :] < W[:, None]
    mu, var = np.where(valid, mu, 0.0), np.where(valid, np.maximum(var, 1e-12), 0.0)
    cmu, cvar = _prefix(mu), _prefix(var)

    from scipy.special import log_ndtr

    # The best alignment has the largest z (-log10 p is increasing in z): track z, convert once.
    best_z = np.full((n, n), -np.inf)
    for strand, d, lo, end_i, s, ov, ok in pairs:
        z = s - (np.take(cmu, end_i, axis=1) - cmu[:, lo][:, None])
        v = np.take(cvar, end_i, axis=1) - cvar[:, lo][:, None]
        z /= np.sqrt(np.maximum(v, 1e-12, out=v), out=v)
        z[~ok] = -np.inf
        better = z > best_z
        np.copyto(best_z, z, where=better)
        np.copyto(out.score, s, where=better)
        np.copyto(out.offset, d, where=better)
        np.copyto(out.strand, strand, where=better)
        np.copyto(out.overlap, ov, where=better)
    out.nlog10p = np.where(np.isfinite(best_z), -log_ndtr(-best_z) / np.log(10), -np.inf)
    return out


def _best_exact(Fq, Hq, W, cols_g, cols_h, pairs, out) -> None:
    """Fill ``out`` with each pair's alignment of the smallest exact p over all offsets and
    strands (the first found on ties) from ``pairs`` (:func:`_offset_scores`). Scores come from
    the same products as the normal path's, so an alignment scores the same in both and its
    exact p here is the one its score has in :func:`exact_tables`."""
    tab, base, lo_s, step = exact_tables(Fq, Hq, W, cols_g, cols_h)
    rows = np.arange(len(W))[:, None]
    out.nlog10p[:] = -np.inf
    views = (out.nlog10p, out.score, out.offset, out.strand, out.overlap)
    for strand, d, lo, _, s, ov, ok in pairs:
        v = tab[base[rows, lo, np.maximum(lo + ov, lo)] + grid_index(s, ov, lo_s, step)]
        v[~ok] = -np.inf
        better = v > out.nlog10p
        for view, value in zip(views, (v, s, d, strand, ov), strict=True):
            np.copyto(view, value, where=better)


def grid_index(s: np.ndarray, ov: np.ndarray, lo_s: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Grid index of alignment scores ``s`` over ``ov`` query columns (rows: query motifs),
    clipped to the grid of their null (see :func:`exact_tables`)."""
    x = np.rint((s - ov * lo_s[:, None]) / step[:, None]).astype(np.int64)
    return np.clip(x, 0, np.maximum(ov, 0) * EXACT_BINS, out=x)


def exact_tables(
    Fq: np.ndarray, Hq: np.ndarray, W: np.ndarray, cols_g: np.ndarray, cols_h: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """-log10 p tables of the exact null distribution (TOMTOM's method) for every query motif.

    Under the null every aligned query column faces a column drawn uniformly from all columns
    of the set (both strands), independently. Per query motif, column scores are put on one
    integer grid (:data:`EXACT_BINS` steps between the motif's lowest and highest column
    score), each query column's null is the histogram of its scores against all columns, and the
    null of an alignment over query columns [a, b) is their convolution; p = P(sum >= observed
    score on the grid). Exact up to the grid (about half a step per column), also far in the
    tail where the normal approximation is off.

    Returns ``tab`` (float32, ~47 M values for GET's 2,174 v1 motifs), ``base``, ``lo_s``,
    ``step``: an alignment of query k over columns [a, b) with score s has -log10 p =
    tab[base[k, a, b] + x], x = rint((s - (b - a) lo_s[k]) / step[k]) clipped to
    [0, (b - a) EXACT_BINS] (never below P(best grid value): the top of the grid can round
    above the observed score).
    """
    bins = EXACT_BINS
    nq, wmax = len(W), Fq.shape[1]
    g32, h32 = cols_g.astype(np.float32), cols_h.astype(np.float32)
    base = np.zeros((nq, wmax, wmax + 1), dtype=np.int64)
    size = 0
    for k in range(nq):
        for a in range(int(W[k])):
            for b in range(a + 1, int(W[k]) + 1):
                base[k, a, b] = size
                size += (b - a) * bins + 1
    tab = np.empty(size, dtype=np.float32)
    lo_s, step = np.zeros(nq), np.ones(nq)
    for k in range(nq):
        w = int(W[k])
        S = Fq[k, :w].astype(np.float32) @ g32.T
        S += Hq[k, :w, None].astype(np.float32)
        S += h32[None, :]  # (w, C): each query column against every column
        lo, hi = float(S.min()), float(S.max())
        st = (hi - lo) / bins if hi > lo else 1.0
        lo_s[k], step[k] = lo, st
        S -= lo
        S *= 1 / st  # a Python float: the product stays float32
        S += 0.5 + (bins + 1) * np.arange(w, dtype=np.float32)[:, None]  # one histogram per row
        counts = np.bincount(S.astype(np.int32).ravel(), minlength=w * (bins + 1))
        pmf = counts[: w * (bins + 1)].reshape(w, bins + 1) / S.shape[1]
        for a in range(w):
            dist = pmf[a]
            for b in range(a + 1, w + 1):
                if b > a + 1:
                    dist = np.convolve(dist, pmf[b - 1])
                tail = np.cumsum(dist[::-1])[::-1]  # tail[x] = P(sum >= x)
                o = base[k, a, b]
                tab[o : o + len(tail)] = -np.log10(np.maximum(tail, tail[-1]))
    return tab, base, lo_s, step


def evalue_matrix(al: Alignments, widths: np.ndarray, min_overlap: int = 5) -> np.ndarray:
    """Symmetric -log10 E: p corrected for offsets x strands tried and for the number of motifs."""
    n = len(widths)
    need = np.minimum(min_overlap, np.minimum(widths[:, None], widths[None, :]))
    n_tests = 2 * (widths[:, None] + widths[None, :] - 2 * need + 1)
    e = al.nlog10p - np.log10(n_tests) - np.log10(n)
    return (e + e.T) / 2
