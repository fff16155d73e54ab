"""Motif clustering into non-redundant archetypes (Vierstra-style), and the clusters' names.

``method="tomtom2-kl"`` (the default, after Vierstra et al. 2020's v1 clusters) starts from
every pair's best alignment and its TOMTOM-like p-value (:mod:`getx.motifs.alignment`), then:

- ``"tomtom2-kl"`` / ``"tomtom2-pcc"`` (column score kl / pcc): complete linkage on the
  correlation distance between rows of the -log10 E matrix (a second-order similarity: two
  motifs are alike when they match the same motifs), cut at ``cut`` or into ``n_clusters``.
  With ``pvalue="exact"`` (TOMTOM's exact null) it agrees less with the published v1 clusters
  (ARI 0.83 vs 0.87 at 282), so it is an option.
- ``"pcc-average"``: average linkage on 1 - mean column PCC of the best alignment (a
  first-order baseline).

Clusters are named after their members' most common TF family prefix (``GATA``, ``FOX/3``) and
ordered biggest first; :func:`archetypes` averages each cluster's aligned members. Writing and
caching clustered sets: :mod:`getx.motifs.cluster_io`; agreement with a reference clustering:
:mod:`getx.motifs.agreement`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from getx.motifs.alignment import PVALUES, Alignments, align_all, evalue_matrix
from getx.motifs.genes import motif_genes
from getx.motifs.motifset import MotifSet, probabilities

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
# Bump when a change to the method changes its clusters, so cached clusterings are rebuilt.
# 3: exact p-values take the best alignment over all offsets and strands; 4: member TF genes
# by getx.motifs.genes (v1/HOCOMOCO names starting "MA", JASPAR <= 2020 "(var.2)" names).
CACHE_VERSION = 4


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
