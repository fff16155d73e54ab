"""Motif clustering into non-redundant archetypes (Vierstra-style), with agreement scores.

Pipeline (``method="tomtom2-kl"``, the default, after Vierstra et al. 2020's v1 clusters):

1. **Alignment.** Every pair of motifs is aligned ungapped over all offsets with at least
   ``min_overlap`` overlapping columns (or the shorter width) and both strands. A column pair
   scores ``f_i[k] . g_j[k'] + h_i[k] + h_j[k']`` so that all pairs at one offset are one matrix
   product of zero-padded ``(n, Wmax * F)`` arrays; ``h`` terms come from prefix sums. Column
   scores: ``"pcc"`` (Pearson correlation of probability columns, TOMTOM's PCC) or ``"kl"``
   (minus the symmetrised Kullback-Leibler divergence, sum_b (q_b - t_b) ln(q_b / t_b)).
2. **Significance.** Like TOMTOM, each query column gets a null score distribution against all
   columns of the set (both strands); an alignment's score is compared to the sum over its
   query columns of those means and variances (normal approximation), giving -log10 p, which is
   corrected for the number of offsets tried and the number of motifs (an E-value) and
   symmetrised. ``pvalue="exact"`` replaces the approximation by the exact (discretised) null
   distribution as TOMTOM computes it, and takes each pair's best alignment by that exact p
   over all offsets and strands; on v1 it agrees less with the published clusters (ARI 0.83
   vs 0.87 at 282), so it is an option.
3. **Clustering.** ``"tomtom2-kl"`` / ``"tomtom2-pcc"`` (column score kl / pcc): complete
   linkage on the correlation distance between rows of the -log10 E matrix (a second-order
   similarity: two motifs are alike when they match the same motifs), cut at ``cut`` or into
   ``n_clusters``. ``"pcc-average"``: average linkage on 1 - mean column PCC of the best
   alignment (a first-order baseline).

:func:`cached_cluster_motifs` keeps a clustering on disk (JSON + npz under
``$GETX_CACHE_DIR/motif_clusters``, keyed by the motif set's checksum and the parameters); the
default feature set, JASPAR 2024 in similarity clusters, is built through it.

Agreement with a reference clustering: :func:`adjusted_rand_index`,
:func:`adjusted_mutual_information` (arithmetic-mean normalisation, as sklearn's default) and
:func:`split_merge` (how many reference clusters are split or merged).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from getx.motifs.databases import BASES, MotifSet

log = logging.getLogger(__name__)

METHODS = ("tomtom2-kl", "tomtom2-pcc", "pcc-average")
# Linkage heights that give about 282 clusters on the 2,174 v1 motifs (the published count).
DEFAULT_CUT = {"tomtom2-kl": 0.45, "tomtom2-pcc": 0.53, "pcc-average": 0.19}
# The same calibration with exact p-values (pcc-average does not use p-values).
EXACT_CUT = {"tomtom2-kl": 0.652, "tomtom2-pcc": 0.731, "pcc-average": 0.19}
# Pairs whose offset-corrected alignment p-value is above this count as unrelated (one floor
# value), as TOMTOM reports only matches below a threshold; without it the row correlations
# are dominated by noise among the ~90% unrelated pairs (ARI 0.80 -> 0.87 on v1).
P_FLOOR = 0.05
DEFAULT_METHOD = "tomtom2-kl"
# "normal": TOMTOM-like p-values by a normal approximation of each alignment's null; "exact":
# the null's exact (discretised) distribution, as TOMTOM computes it.
PVALUES = ("normal", "exact")
EXACT_BINS = 40  # grid steps per column score (TOMTOM scales scores to a 0..100-ish grid)
# Bump when a change to the method changes its clusters, so cached clusterings are rebuilt.
CACHE_VERSION = 3  # 3: exact p-values take the best alignment over all offsets and strands


# --- probabilities and column features ---------------------------------------------------------


def probabilities(motifs: MotifSet) -> list[np.ndarray]:
    """(W, 4) probability matrices: p = background * exp(ln-odds), renormalised per column."""
    out = []
    for m in motifs.matrices:
        p = motifs.background[None, :] * np.exp(m)
        out.append(p / p.sum(axis=1, keepdims=True))
    return out


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
    offset and strand (see :func:`_exact_tables`), as TOMTOM picks it.
    """
    if pvalue not in PVALUES:
        raise ValueError(f"unknown pvalue {pvalue!r} ({', '.join(PVALUES)})")
    probs = probabilities(motifs) if isinstance(motifs, MotifSet) else list(motifs)
    n = len(probs)
    W = np.array([p.shape[0] for p in probs])
    wmax = int(W.max())
    Fq, _, Hq = _stack(probs, score, rc=False)
    targets = [_stack(probs, score, rc=False), _stack(probs, score, rc=True)]

    # Null per query column: its score against every column of the set, both strands.
    cols_g = np.concatenate([t[1][j, : W[j]] for t in targets for j in range(n)], axis=0)  # (C, nf)
    cols_h = np.concatenate([t[2][j, : W[j]] for t in targets for j in range(n)])
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
    exact p here is :func:`exact_nlog10p`'s."""
    tab, base, lo_s, step = _exact_tables(Fq, Hq, W, cols_g, cols_h)
    rows = np.arange(len(W))[:, None]
    out.nlog10p[:] = -np.inf
    views = (out.nlog10p, out.score, out.offset, out.strand, out.overlap)
    for strand, d, lo, _, s, ov, ok in pairs:
        v = tab[base[rows, lo, np.maximum(lo + ov, lo)] + _grid_index(s, ov, lo_s, step)]
        v[~ok] = -np.inf
        better = v > out.nlog10p
        for view, value in zip(views, (v, s, d, strand, ov), strict=True):
            np.copyto(view, value, where=better)


def _grid_index(s: np.ndarray, ov: np.ndarray, lo_s: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Grid index of alignment scores ``s`` over ``ov`` query columns (rows: query motifs),
    clipped to the grid of their null (see :func:`_exact_tables`)."""
    x = np.rint((s - ov * lo_s[:, None]) / step[:, None]).astype(np.int64)
    return np.clip(x, 0, np.maximum(ov, 0) * EXACT_BINS, out=x)


def exact_nlog10p(motifs: MotifSet | list[np.ndarray], al: Alignments, score: str) -> np.ndarray:
    """Exact -log10 p of the alignments ``al`` (from :func:`align_all` with this ``score``)."""
    probs = probabilities(motifs) if isinstance(motifs, MotifSet) else list(motifs)
    n = len(probs)
    W = np.array([p.shape[0] for p in probs])
    Fq, _, Hq = _stack(probs, score, rc=False)
    targets = [_stack(probs, score, rc=False), _stack(probs, score, rc=True)]
    cols_g = np.concatenate([t[1][j, : W[j]] for t in targets for j in range(n)], axis=0)
    cols_h = np.concatenate([t[2][j, : W[j]] for t in targets for j in range(n)])
    tab, base, lo_s, step = _exact_tables(Fq, Hq, W, cols_g, cols_h)
    start = np.maximum(al.offset, 0)
    index = base[np.arange(n)[:, None], start, start + al.overlap]
    return tab[index + _grid_index(al.score, al.overlap, lo_s, step)].astype(np.float64)


def _exact_tables(
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


# --- clustering --------------------------------------------------------------------------------


def default_cut(method: str = DEFAULT_METHOD, pvalue: str = "normal") -> float:
    """The linkage cut that gives GET's 282 archetypes on its 2,174 v1 motifs."""
    if pvalue not in PVALUES:
        raise ValueError(f"unknown pvalue {pvalue!r} ({', '.join(PVALUES)})")
    return (EXACT_CUT if pvalue == "exact" else DEFAULT_CUT)[method]


@dataclass(frozen=True)
class ClusterParams:
    """How a motif set is clustered: the one parameter list of :func:`cluster_labels`,
    :func:`cluster_motifs`, :func:`cached_cluster_motifs` and :func:`cache_path`.

    ``n_clusters`` cuts the tree into that many clusters and wins over ``cut``, the linkage
    distance (None: :func:`default_cut` of the method and p-values, ~282 clusters on GET's v1).
    ``method``: one of :data:`METHODS`. ``min_overlap``: fewest aligned columns. ``p_floor``:
    second-order methods treat pairs with a corrected p-value above it as equally unrelated
    (None: keep every -log10 E as is). ``pvalue``: alignment p-values, one of :data:`PVALUES`.
    """

    n_clusters: int | None = None
    cut: float | None = None
    method: str = DEFAULT_METHOD
    min_overlap: int = 5
    p_floor: float | None = P_FLOOR
    pvalue: str = "normal"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose from {METHODS}")
        if self.pvalue not in PVALUES:
            raise ValueError(f"unknown pvalue {self.pvalue!r} ({', '.join(PVALUES)})")
        if self.n_clusters is not None and self.n_clusters < 1:
            raise ValueError(f"n_clusters must be positive, got {self.n_clusters}")

    @property
    def column_score(self) -> str:
        return "kl" if self.method == "tomtom2-kl" else "pcc"

    def resolved_cut(self) -> float | None:
        """The linkage cut in use: None when ``n_clusters`` decides, else ``cut`` or the default."""
        if self.n_clusters is not None:
            return None
        return default_cut(self.method, self.pvalue) if self.cut is None else self.cut

    def cache_key(self) -> dict:
        """Every parameter as the clustering uses it (so an unset cut and the default cut are one
        key), with :data:`CACHE_VERSION`."""
        return {
            "version": CACHE_VERSION,
            "method": self.method,
            "pvalue": self.pvalue,
            "n_clusters": self.n_clusters,
            "cut": self.resolved_cut(),
            "min_overlap": self.min_overlap,
            "p_floor": self.p_floor,
        }


def cluster_labels(
    motifs: MotifSet, params: ClusterParams | None = None, alignments: Alignments | None = None
) -> np.ndarray:
    """Cluster index (0-based) per motif. ``alignments``: precomputed :func:`align_all` output
    (with the method's column score), else computed here."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    params = params or ClusterParams()
    n = len(motifs)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    al = alignments or align_all(
        motifs, score=params.column_score, min_overlap=params.min_overlap, pvalue=params.pvalue
    )
    method, min_overlap, p_floor = params.method, params.min_overlap, params.p_floor
    if method == "pcc-average":
        sim = al.score / np.maximum(al.overlap, 1)
        sim = (sim + sim.T) / 2
        dist = np.clip(1 - sim, 0, None)
        link_method = "average"
    else:
        e = evalue_matrix(al, motifs.widths, min_overlap)
        if p_floor is not None:
            e = np.maximum(e, -np.log10(p_floor) - np.log10(n))
        # Row correlation via BLAS (pdist's correlation loop is much slower at n = 2,000).
        r = np.corrcoef(e)
        dist = np.clip(1 - np.nan_to_num(r, nan=0.0), 0, 2)
        link_method = "complete"
    np.fill_diagonal(dist, 0)
    dist = (dist + dist.T) / 2
    Z = linkage(squareform(dist, checks=False), method=link_method)
    if params.n_clusters is not None:
        lab = fcluster(Z, t=params.n_clusters, criterion="maxclust")
    else:
        lab = fcluster(Z, t=params.resolved_cut(), criterion="distance")
    return np.unique(lab, return_inverse=True)[1].astype(np.int64)


_JASPAR_ID = re.compile(r"^MA\d{4}\.\d+[._ ]?")


def motif_genes(name: str) -> list[str]:
    """TF symbols from a motif name: ``ALX3_homeodomain_1``, ``Vdr.mouse_nuclearreceptor_1``,
    ``FOXO4_HUMAN.H11MO.0.C``, ``JUN+JUNB_MA1133.1``, ``MA0006.1.Ahr::Arnt``."""
    s = _JASPAR_ID.sub("", name)
    s = s.split("_")[0].split(".")[0] if not s.startswith("MA") else s
    return [g.upper() for g in re.split(r"\+|::", s) if g]


def _family(gene: str) -> str:
    """Leading letters of a TF symbol (GATA1 -> GATA); one letter keeps its digits (E2F6 -> E2F)."""
    m = re.match(r"[A-Z]+", gene)
    if m and len(m.group(0)) == 1:
        m = re.match(r"[A-Z]+\d+[A-Z]*", gene) or m
    return m.group(0) if m else gene


def _family_counts(families: list[str]) -> Counter:
    """Family prefixes counted with one-letter variants of a stem pooled: HOXA, HOXB -> HOX and
    FOS, FOSL -> FOS, so a cluster of several HOX paralogues is not named after one of them."""
    counts = Counter(families)
    stems = Counter(f[:-1] for f in counts if len(f) >= 4)

    def key(f: str) -> str:
        return f[:-1] if len(f) >= 4 and (f[:-1] in counts or stems[f[:-1]] >= 2) else f

    return Counter(key(f) for f in families)


def _member_genes(motifs: MotifSet) -> list[list[str]]:
    """Genes per motif: its own cluster's genes when it was a singleton cluster, else its name's."""
    sizes = np.bincount(motifs.motif_cluster, minlength=len(motifs.clusters))
    out = []
    for name, c in zip(motifs.names, motifs.motif_cluster, strict=True):
        cname = motifs.clusters[c]
        if sizes[c] == 1 and motifs.cluster_genes.get(cname):
            out.append(list(motifs.cluster_genes[cname]))
        else:
            out.append(motif_genes(name))
    return out


def _relabel(motifs: MotifSet, labels: np.ndarray) -> MotifSet:
    """A MotifSet with new clusters, named by their members' most common gene-family prefix."""
    genes = _member_genes(motifs)
    k = int(labels.max()) + 1 if len(labels) else 0
    members = [np.flatnonzero(labels == c) for c in range(k)]
    # Biggest clusters first; ties by first member, so the order is deterministic.
    order = sorted(range(k), key=lambda c: (-len(members[c]), int(members[c][0])))
    fam, cgenes = {}, {}
    for c in order:
        gl: list[str] = []
        for i in members[c]:
            gl.extend(g for g in genes[i] if g not in gl)
        cgenes[c] = gl
        counts = _family_counts([_family(g) for i in members[c] for g in genes[i][:1]])
        fam[c] = counts.most_common(1)[0][0] if counts else "cluster"
    per_family = Counter(fam.values())
    seen: Counter = Counter()
    names = {}
    for c in order:
        f = fam[c]
        if per_family[f] == 1:
            names[c] = f
        else:
            seen[f] += 1
            names[c] = f"{f}/{seen[f]}"
    # Guard against a family prefix colliding with an indexed name ("X/1" as a plain family).
    used: set[str] = set()
    for c in order:
        base, name, j = names[c], names[c], 1
        while name in used:
            j += 1
            name = f"{base}.{j}"
        names[c] = name
        used.add(name)
    new_index = {c: r for r, c in enumerate(order)}
    clusters = tuple(names[c] for c in order)
    return MotifSet(
        names=motifs.names,
        matrices=motifs.matrices,
        background=motifs.background,
        clusters=clusters,
        motif_cluster=np.array([new_index[int(c)] for c in labels], dtype=np.int64),
        cluster_genes={names[c]: cgenes[c] for c in order},
        source=motifs.source,
    )


def cluster_motifs(motifs: MotifSet, params: ClusterParams | None = None) -> MotifSet:
    """The same motifs grouped into non-redundant clusters (archetypes), see
    :class:`ClusterParams` (default cut: ~282 clusters on v1). Cluster names are the most common
    gene-family prefix of the members' TFs (``FOX/3``); ``cluster_genes`` lists the members' TF
    symbols."""
    return _relabel(motifs, cluster_labels(motifs, params))


def archetypes(
    motifs: MotifSet, min_overlap: int = 5, min_coverage: float = 0.5
) -> dict[str, np.ndarray]:
    """Cluster -> (W, 4) probability matrix: members aligned to the cluster's seed and averaged.

    The seed is the member with the highest summed PCC alignment score to the others. Each
    member is placed at its best offset and strand against the seed; every column is the mean of
    the members covering it; flanks covered by fewer than ``min_coverage`` of the members are
    trimmed.
    """
    probs = probabilities(motifs)
    out: dict[str, np.ndarray] = {}
    for c, cname in enumerate(motifs.clusters):
        idx = np.flatnonzero(motifs.motif_cluster == c)
        if len(idx) == 0:
            continue
        if len(idx) == 1:
            out[cname] = probs[idx[0]].copy()
            continue
        sub = [probs[i] for i in idx]
        al = align_all(sub, score="pcc", min_overlap=min_overlap)
        sim = al.score / np.maximum(al.overlap, 1)
        # Rounded so that exact ties (copies) go to the first member, not to float noise.
        seed = int(np.argmax(np.round(sim.sum(axis=1) - np.diag(sim), 6)))
        placed = []
        for k, p in enumerate(sub):
            if k == seed:
                placed.append((0, p))
                continue
            q = p[::-1, ::-1] if al.strand[seed, k] else p
            # column m of q sits at seed position m + d
            placed.append((int(al.offset[seed, k]), q))
        left = min(d for d, _ in placed)
        right = max(d + q.shape[0] for d, q in placed)
        acc = np.zeros((right - left, 4))
        cov = np.zeros(right - left)
        for d, q in placed:
            acc[d - left : d - left + q.shape[0]] += q
            cov[d - left : d - left + q.shape[0]] += 1
        keep = cov >= min_coverage * len(idx)
        cols = np.flatnonzero(keep if keep.any() else cov == cov.max())
        a, b = cols[0], cols[-1] + 1
        mat = acc[a:b] / np.maximum(cov[a:b, None], 1)
        out[cname] = mat / mat.sum(axis=1, keepdims=True)
    return out


# --- writing and caching clustered sets -------------------------------------------------------


def write_clustering(
    motifs: MotifSet,
    arche: dict[str, np.ndarray] | None,
    prefix: str | Path,
    extra: dict | None = None,
) -> list[Path]:
    """Write PREFIX.json + PREFIX.matrices.npz (loadable by ``load_motifs(PREFIX.json)``) and,
    when ``arche`` is given, PREFIX.archetypes.meme; each file atomically, the npz before the
    json (a reader that finds the json finds its matrices). Returns the paths written."""
    from getx.io.files import atomic_output

    prefix = Path(prefix)
    stem = prefix.name.removesuffix(".json")
    json_path = prefix.with_name(stem + ".json")
    npz_path = prefix.with_name(stem + ".matrices.npz")
    meme_path = prefix.with_name(stem + ".archetypes.meme")
    members: dict[str, list[str]] = {c: [] for c in motifs.clusters}
    for name, c in zip(motifs.names, motifs.motif_cluster, strict=True):
        members[motifs.clusters[c]].append(name)
    doc = {
        "description": "motif clusters from getx (getx.motifs.clustering)",
        "source": motifs.source,
        **(extra or {}),
        "background": {b: float(x) for b, x in zip(BASES, motifs.background, strict=True)},
        "matrix_units": "natural-log odds vs background, (4, W) rows A C G T in the npz",
        "matrix_names": list(motifs.names),
        "cluster_names": list(motifs.clusters),
        "motif_to_cluster": {
            n: motifs.clusters[c] for n, c in zip(motifs.names, motifs.motif_cluster, strict=True)
        },
        "cluster_gene_list": {c: motifs.cluster_genes.get(c, []) for c in motifs.clusters},
        "clusters": {
            c: {
                "members": members[c],
                "genes": motifs.cluster_genes.get(c, []),
                **({"archetype_width": int(arche[c].shape[0])} if arche else {}),
            }
            for c in motifs.clusters
        },
    }
    with atomic_output(npz_path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            **{
                n: np.ascontiguousarray(m.T)
                for n, m in zip(motifs.names, motifs.matrices, strict=True)
            },
        )
    paths = [json_path, npz_path]
    if arche:
        bg = " ".join(f"{b} {x:.4f}" for b, x in zip(BASES, motifs.background, strict=True))
        lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", ""]
        lines += ["Background letter frequencies", bg, ""]
        for c in motifs.clusters:
            p = arche[c]
            lines.append(f"MOTIF {c.replace(' ', '_')} n{len(members[c])}")
            lines.append(f"letter-probability matrix: alength= 4 w= {p.shape[0]} nsites= 20 E= 0")
            lines += [" ".join(f"{x:.6f}" for x in row) for row in p]
            lines.append("")
        with atomic_output(meme_path) as tmp:
            tmp.write_text("\n".join(lines))
        paths.append(meme_path)
    with atomic_output(json_path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
    return paths


def cache_path(motifs: MotifSet, params: ClusterParams | None = None) -> Path:
    """Where :func:`cached_cluster_motifs` keeps a clustering: ``<cache>/motif_clusters/KEY.json``
    (+ ``KEY.matrices.npz``), KEY a hash of the motif set's checksum and every parameter
    (:meth:`ClusterParams.cache_key`)."""
    from getx.motifs.pvalues import cache_dir

    key = hashlib.sha256()
    key.update(motifs.checksum().encode())
    key.update(json.dumps((params or ClusterParams()).cache_key(), sort_keys=True).encode())
    return cache_dir() / "motif_clusters" / f"{key.hexdigest()[:32]}.json"


def _read_cached(path: Path, motifs: MotifSet, checksum: str) -> MotifSet:
    """The cached clustering of ``motifs``; raises if the files are unreadable or not for it."""
    from getx.motifs.databases import load_nrmotif_v1

    doc = json.loads(path.read_text())
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    if doc.get("input_checksum") != checksum:
        raise ValueError("written for another motif set")
    npz = path.with_name(path.name.removesuffix(".json") + ".matrices.npz")
    cached = load_nrmotif_v1(path, npz)
    if cached.names != motifs.names or not all(
        np.array_equal(a, b) for a, b in zip(cached.matrices, motifs.matrices, strict=True)
    ):
        raise ValueError("its motifs differ from the set's")
    return MotifSet(
        names=motifs.names,
        matrices=motifs.matrices,
        background=motifs.background,
        clusters=cached.clusters,
        motif_cluster=cached.motif_cluster,
        cluster_genes=cached.cluster_genes,
        source=doc.get("source", motifs.source),
    )


def cached_cluster_motifs(
    motifs: MotifSet, params: ClusterParams | None = None, use_cache: bool = True
) -> MotifSet:
    """:func:`cluster_motifs`, kept on disk like the p-value thresholds.

    The clustering lives under ``$GETX_CACHE_DIR/motif_clusters`` (default ``~/.cache/getx``) as
    a JSON + npz motif set (no pickle) keyed by :func:`cache_path`; it is used only when it is
    for exactly these motifs (checksum, names and matrices). An unreadable or mismatched entry
    is rebuilt with a warning; an unwritable cache only logs a warning.
    """
    import time
    from zipfile import BadZipFile

    from getx.errors import InputError

    params = params or ClusterParams()
    path = cache_path(motifs, params)
    checksum = motifs.checksum()
    if use_cache and path.exists():
        try:
            return _read_cached(path, motifs, checksum)
        except (OSError, ValueError, KeyError, TypeError, EOFError, BadZipFile, InputError) as e:
            log.warning("rebuilding the motif-cluster cache %s (%s)", path, e)
    t0 = time.perf_counter()
    out = cluster_motifs(motifs, params)
    key = params.cache_key()
    described = ", ".join(f"{k} {v}" for k, v in key.items() if k != "version" and v is not None)
    out = replace(out, source=f"{motifs.source}; similarity clusters ({described})")
    log.info(
        "clustered %d motifs into %d clusters in %.1f s",
        len(motifs),
        len(out.clusters),
        time.perf_counter() - t0,
    )
    if use_cache:
        extra = {"input_checksum": checksum, "parameters": key}
        try:
            write_clustering(out, None, path, extra)
        except OSError as e:  # a read-only cache must not stop the caller
            log.warning("could not write the motif-cluster cache %s: %s", path, e)
    return out


# --- agreement with a reference clustering -----------------------------------------------------


def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    _, ia = np.unique(np.asarray(a), return_inverse=True)
    _, ib = np.unique(np.asarray(b), return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    return table


def adjusted_rand_index(a, b) -> float:
    """Hubert-Arabie adjusted Rand index of two labelings (1 = identical, ~0 = chance)."""
    t = _contingency(a, b)
    n = t.sum()

    def comb2(x):
        x = np.asarray(x, dtype=np.float64)
        return (x * (x - 1) / 2).sum()

    sum_ij, sum_a, sum_b = comb2(t), comb2(t.sum(axis=1)), comb2(t.sum(axis=0))
    expected = sum_a * sum_b / (n * (n - 1) / 2) if n > 1 else 0.0
    max_index = (sum_a + sum_b) / 2
    if max_index == expected:  # both labelings trivial (all one cluster or all singletons)
        return 1.0
    return float((sum_ij - expected) / (max_index - expected))


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def _expected_mutual_information(a_sizes: np.ndarray, b_sizes: np.ndarray, n: int) -> float:
    """E[MI] under the permutation (hypergeometric) model, summed over distinct size pairs."""
    from scipy.special import gammaln

    ua, ca = np.unique(a_sizes, return_counts=True)
    ub, cb = np.unique(b_sizes, return_counts=True)
    total = 0.0
    lg_n = gammaln(n + 1)
    for ai, wa in zip(ua, ca, strict=True):
        for bj, wb in zip(ub, cb, strict=True):
            nij = np.arange(max(1, ai + bj - n), min(ai, bj) + 1, dtype=np.float64)
            if len(nij) == 0:
                continue
            log_p = (
                gammaln(ai + 1)
                + gammaln(bj + 1)
                + gammaln(n - ai + 1)
                + gammaln(n - bj + 1)
                - lg_n
                - gammaln(nij + 1)
                - gammaln(ai - nij + 1)
                - gammaln(bj - nij + 1)
                - gammaln(n - ai - bj + nij + 1)
            )
            term = nij / n * np.log(n * nij / (ai * bj)) * np.exp(log_p)
            total += wa * wb * term.sum()
    return total


def adjusted_mutual_information(a, b) -> float:
    """Adjusted mutual information (Vinh et al. 2010), arithmetic-mean normalisation."""
    t = _contingency(a, b)
    n = int(t.sum())
    ra, rb = t.sum(axis=1), t.sum(axis=0)
    if len(ra) == len(rb) == 1 or len(ra) == len(rb) == n:
        return 1.0
    nz = t[t > 0].astype(np.float64)
    outer = np.outer(ra, rb)[t > 0].astype(np.float64)
    mi = float((nz / n * np.log(n * nz / outer)).sum())
    emi = _expected_mutual_information(ra, rb, n)
    ha, hb = _entropy(ra), _entropy(rb)
    denom = (ha + hb) / 2 - emi
    if abs(denom) < 1e-15:
        return 1.0 if abs(mi - emi) < 1e-15 else 0.0
    return float((mi - emi) / denom)


def split_merge(reference, predicted, min_fraction: float = 0.0) -> dict[str, int]:
    """How reference clusters map onto predicted ones.

    ``split``: reference clusters whose members land in more than one predicted cluster;
    ``merged``: predicted clusters holding members of more than one reference cluster;
    ``exact``: reference clusters reproduced exactly. ``min_fraction`` ignores stray members
    (cells below that fraction of their row/column).
    """
    t = _contingency(reference, predicted)
    rows = t / t.sum(axis=1, keepdims=True)
    cols = t / t.sum(axis=0, keepdims=True)
    split = int(((rows > min_fraction) & (t > 0)).sum(axis=1).__gt__(1).sum())
    merged = int(((cols > min_fraction) & (t > 0)).sum(axis=0).__gt__(1).sum())
    exact = int(((t == t.sum(axis=1, keepdims=True)) & (t == t.sum(axis=0, keepdims=True))).sum())
    return {
        "reference_clusters": int(t.shape[0]),
        "predicted_clusters": int(t.shape[1]),
        "split": split,
        "merged": merged,
        "exact": exact,
    }
