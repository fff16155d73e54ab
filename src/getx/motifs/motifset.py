"""``MotifSet``, the one in-memory form of a motif database, and its maths.

Every matrix is stored as (W, 4) natural-log odds against ``MotifSet.background`` (columns A, C,
G, T). Count or probability matrices are converted with :func:`counts_to_log_odds`:

    p[j, b] = (n[j, b] + ps * bg[b]) / (N_j + ps),   M[j, b] = ln(p[j, b] / bg[b])

with a total pseudocount ``ps`` per column (default :data:`PSEUDOCOUNT` = 1.0), spread over the
bases in proportion to the background (the MOODS/Biopython convention).

Clusters are the model's feature axis: ``motif_cluster[i]`` is motif i's index into
``clusters``, and ``cluster_genes`` lists each cluster's TF gene symbols. This module imports
nothing else of :mod:`getx.motifs`; the readers, the scanner and the clustering build on it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from getx.errors import InputError

PSEUDOCOUNT = 1.0
UNIFORM = np.full(4, 0.25)
BASES = "ACGT"


@dataclass(frozen=True, eq=False)
class MotifSet:
    """Motifs as (W, 4) ln-odds matrices against ``background``, grouped into feature clusters."""

    names: tuple[str, ...]
    matrices: tuple[np.ndarray, ...]
    background: np.ndarray
    clusters: tuple[str, ...]
    motif_cluster: np.ndarray
    cluster_genes: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.names) != len(self.matrices) or len(self.names) != len(self.motif_cluster):
            raise ValueError("names, matrices and motif_cluster must have the same length")
        bg = np.asarray(self.background, dtype=np.float64)
        if bg.shape != (4,) or np.any(bg <= 0) or abs(bg.sum() - 1) > 1e-6:
            raise ValueError(f"background must be 4 positive probabilities summing to 1, got {bg}")
        object.__setattr__(self, "background", bg)
        object.__setattr__(self, "motif_cluster", np.asarray(self.motif_cluster, dtype=np.int64))
        for name, m in zip(self.names, self.matrices, strict=True):
            if m.ndim != 2 or m.shape[1] != 4 or m.shape[0] < 1 or not np.all(np.isfinite(m)):
                raise ValueError(f"motif {name}: matrix must be finite (W, 4), got {m.shape}")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def widths(self) -> np.ndarray:
        return np.array([m.shape[0] for m in self.matrices], dtype=np.int64)

    def checksum(self) -> str:
        """sha256 over matrices, background, motif names and cluster assignment (hex)."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.background, dtype="<f8").tobytes())
        for name, m, c in zip(self.names, self.matrices, self.motif_cluster, strict=True):
            h.update(name.encode() + b"\0")
            h.update(np.asarray(m.shape, dtype="<i8").tobytes())
            h.update(np.ascontiguousarray(m, dtype="<f8").tobytes())
            h.update(int(c).to_bytes(8, "little", signed=True))
        for c in self.clusters:
            h.update(c.encode() + b"\0")
        return h.hexdigest()


def singletons(
    names: list[str],
    mats: list[np.ndarray],
    background: np.ndarray,
    source: str,
    genes: dict[str, list[str]] | None = None,
) -> MotifSet:
    """Each motif its own cluster (formats without clustering); ``genes``: motif -> TF genes."""
    genes = genes or {}
    return MotifSet(
        names=tuple(names),
        matrices=tuple(mats),
        background=background,
        clusters=tuple(names),
        motif_cluster=np.arange(len(names), dtype=np.int64),
        cluster_genes={n: genes[n] for n in names if n in genes},
        source=source,
    )


def select(
    motifs: MotifSet, clusters: list[str] | None = None, names: list[str] | None = None
) -> MotifSet:
    """The motifs of the given clusters and/or names; clusters keep their original order."""
    keep = np.ones(len(motifs), dtype=bool)
    if clusters is not None:
        unknown = set(clusters) - set(motifs.clusters)
        if unknown:
            raise InputError(f"unknown clusters: {sorted(unknown)[:5]}")
        wanted = {motifs.clusters.index(c) for c in clusters}
        keep &= np.isin(motifs.motif_cluster, list(wanted))
    if names is not None:
        unknown = set(names) - set(motifs.names)
        if unknown:
            raise InputError(f"unknown motifs: {sorted(unknown)[:5]}")
        keep &= np.isin(np.array(motifs.names, dtype=object), list(names))
    idx = np.flatnonzero(keep)
    used = sorted({int(motifs.motif_cluster[i]) for i in idx})
    remap = {old: new for new, old in enumerate(used)}
    new_clusters = tuple(motifs.clusters[i] for i in used)
    return MotifSet(
        names=tuple(motifs.names[i] for i in idx),
        matrices=tuple(motifs.matrices[i] for i in idx),
        background=motifs.background,
        clusters=new_clusters,
        motif_cluster=np.array([remap[int(motifs.motif_cluster[i])] for i in idx], dtype=np.int64),
        cluster_genes={
            c: motifs.cluster_genes[c] for c in new_clusters if c in motifs.cluster_genes
        },
        source=motifs.source,
    )


def counts_to_log_odds(
    counts: np.ndarray, background: np.ndarray = UNIFORM, pseudocount: float = PSEUDOCOUNT
) -> np.ndarray:
    """(W, 4) counts -> (W, 4) ln-odds vs ``background`` (total pseudocount per column)."""
    counts = np.asarray(counts, dtype=np.float64)
    bg = np.asarray(background, dtype=np.float64)
    p = (counts + pseudocount * bg) / (counts.sum(axis=1, keepdims=True) + pseudocount)
    return np.log(p / bg)


def probabilities(motifs: MotifSet) -> list[np.ndarray]:
    """(W, 4) probability matrices: p = background * exp(ln-odds), renormalised per column (so
    slightly unnormalised inputs stay valid probabilities)."""
    out = []
    for m in motifs.matrices:
        p = motifs.background[None, :] * np.exp(m)
        out.append(p / p.sum(axis=1, keepdims=True))
    return out


def reverse_complement(matrix: np.ndarray) -> np.ndarray:
    """(W, 4) matrix of the reverse strand: rows reversed, A<->T and C<->G swapped."""
    return np.ascontiguousarray(np.asarray(matrix)[::-1, ::-1])


def gc_background(gc: float) -> np.ndarray:
    """Strand-symmetric background [A, C, G, T] with the given GC fraction."""
    if not 0.0 < gc < 1.0:
        raise InputError(f"GC fraction must be in (0, 1), got {gc}")
    return np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])


def background_from_sequence(sequence: str | np.ndarray, pseudocount: float = 1.0) -> np.ndarray:
    """Strand-symmetric GC-aware background from a sequence's (or code array's) GC content.

    Only A/C/G/T count (N and other letters are ignored); a pseudocount keeps it off 0 and 1.
    """
    if isinstance(sequence, str):
        s = sequence.upper()
        at = s.count("A") + s.count("T")
        gc = s.count("C") + s.count("G")
    else:
        counts = np.bincount(np.asarray(sequence, dtype=np.uint8), minlength=5)
        at, gc = int(counts[0] + counts[3]), int(counts[1] + counts[2])
    return gc_background((gc + pseudocount) / (at + gc + 2 * pseudocount))


def with_background(motifs: MotifSet, background: np.ndarray) -> MotifSet:
    """Re-express every matrix as ln-odds against a new background: M' = ln(p / bg_new) with
    p the :func:`probabilities` under the old one."""
    new_bg = np.asarray(background, dtype=np.float64)
    return MotifSet(
        names=motifs.names,
        matrices=tuple(np.log(p / new_bg[None, :]) for p in probabilities(motifs)),
        background=new_bg,
        clusters=motifs.clusters,
        motif_cluster=motifs.motif_cluster,
        cluster_genes=motifs.cluster_genes,
        source=motifs.source,
    )
