"""Clustered motif sets on disk: ``getx motifs cluster``'s files and the motif-cluster cache.

:func:`cached_cluster_motifs` keeps a clustering under ``$GETX_CACHE_DIR/motif_clusters`` as a
JSON + npz motif set (GET's format, :mod:`getx.motifs.nrmotif`; no pickle), keyed by the motif
set's checksum and every clustering parameter; the default feature set, JASPAR 2024 in
similarity clusters, is built through it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from getx.cache import cached, entry_path, read_json
from getx.io.files import OutputKind, check_output, json_kind, text_kind
from getx.motifs.clustering import ClusterParams, cluster_motifs
from getx.motifs.formats import write_meme
from getx.motifs.motifset import MotifSet
from getx.motifs.nrmotif import load_nrmotif_v1, write_nrmotif

log = logging.getLogger(__name__)

DESCRIPTION = "motif clusters from getx (getx.motifs.clustering)"


def _is_motif_npz(path: Path) -> bool:
    """An npz of motif matrices: a zip of .npy arrays beside a getx clustering JSON."""
    import zipfile

    stem = path.name.removesuffix(".matrices.npz")
    if not CLUSTERING_KINDS[".json"].recognise(path.with_name(stem + ".json")):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return all(name.endswith(".npy") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


CLUSTERING_KINDS = {
    ".json": json_kind("getx motif clustering", {"description": DESCRIPTION}),
    ".matrices.npz": OutputKind("motif matrix archive", recognise=_is_motif_npz),
    ".archetypes.meme": text_kind("archetype MEME file", "MEME version 4"),
}


def clustering_outputs(prefix: str | Path) -> list[tuple[Path, OutputKind]]:
    """The files :func:`write_clustering` writes for ``prefix``, each with its kind."""
    prefix = Path(prefix)
    stem = prefix.name.removesuffix(".json")
    return [(prefix.with_name(stem + suffix), kind) for suffix, kind in CLUSTERING_KINDS.items()]


def write_clustering(
    motifs: MotifSet,
    arche: dict[str, np.ndarray] | None,
    prefix: str | Path,
    extra: dict | None = None,
) -> list[Path]:
    """Write PREFIX.json + PREFIX.matrices.npz (loadable by ``load_motifs(PREFIX.json)``) and,
    when ``arche`` is given, PREFIX.archetypes.meme; each file atomically, the json last (a
    reader that finds the json finds its matrices); a file getx did not write is refused, never
    replaced. Returns the paths written."""
    outputs = clustering_outputs(prefix)
    for path, kind in outputs:
        check_output(path, kind)
    (json_path, _), (npz_path, _), (meme_path, _) = outputs
    paths = [json_path, npz_path]
    cluster_extra = None
    if arche:
        sizes = np.bincount(motifs.motif_cluster, minlength=len(motifs.clusters))
        entries = [
            (c.replace(" ", "_"), f"n{sizes[i]}", arche[c]) for i, c in enumerate(motifs.clusters)
        ]
        write_meme(meme_path, entries, motifs.background)
        paths.append(meme_path)
        cluster_extra = {c: {"archetype_width": int(arche[c].shape[0])} for c in motifs.clusters}
    write_nrmotif(motifs, json_path, npz_path, DESCRIPTION, extra, cluster_extra)
    return paths


def cache_path(motifs: MotifSet, params: ClusterParams | None = None) -> Path:
    """Where :func:`cached_cluster_motifs` keeps a clustering: ``<cache>/motif_clusters/KEY.json``
    (+ ``KEY.matrices.npz``), KEY a hash of the motif set's checksum and every parameter
    (:meth:`ClusterParams.cache_key`)."""
    key = hashlib.sha256()
    key.update(motifs.checksum().encode())
    key.update(json.dumps((params or ClusterParams()).cache_key(), sort_keys=True).encode())
    return entry_path("motif_clusters", key.hexdigest(), ".json")


def _read_cached(path: Path, motifs: MotifSet, checksum: str) -> MotifSet:
    """The cached clustering of ``motifs``; raises if the files are unreadable or not for it."""
    doc = read_json(path)
    if doc.get("input_checksum") != checksum:
        raise ValueError("written for another motif set")
    npz = path.with_name(path.name.removesuffix(".json") + ".matrices.npz")
    cached_set = load_nrmotif_v1(path, npz)
    if cached_set.names != motifs.names or not all(
        np.array_equal(a, b) for a, b in zip(cached_set.matrices, motifs.matrices, strict=True)
    ):
        raise ValueError("its motifs differ from the set's")
    return MotifSet(
        names=motifs.names,
        matrices=motifs.matrices,
        background=motifs.background,
        clusters=cached_set.clusters,
        motif_cluster=cached_set.motif_cluster,
        cluster_genes=cached_set.cluster_genes,
        source=doc.get("source", motifs.source),
    )


def cached_cluster_motifs(
    motifs: MotifSet, params: ClusterParams | None = None, use_cache: bool = True
) -> MotifSet:
    """:func:`~getx.motifs.clustering.cluster_motifs`, kept on disk like the p-value thresholds.

    The clustering lives under ``$GETX_CACHE_DIR/motif_clusters`` (default ``~/.cache/getx``) as
    a JSON + npz motif set (no pickle) keyed by :func:`cache_path`; it is used only when it is
    for exactly these motifs (checksum, names and matrices). An unreadable or mismatched entry
    is rebuilt with a warning; an unwritable cache only logs a warning.
    """
    params = params or ClusterParams()
    path = cache_path(motifs, params)
    checksum = motifs.checksum()
    key = params.cache_key()

    def build() -> MotifSet:
        t0 = time.perf_counter()
        out = cluster_motifs(motifs, params)
        described = ", ".join(
            f"{k} {v}" for k, v in key.items() if k != "version" and v is not None
        )
        out = replace(out, source=f"{motifs.source}; similarity clusters ({described})")
        log.info(
            "clustered %d motifs into %d clusters in %.1f s",
            len(motifs),
            len(out.clusters),
            time.perf_counter() - t0,
        )
        return out

    def write(out: MotifSet) -> None:
        npz = path.with_name(path.name.removesuffix(".json") + ".matrices.npz")
        extra = {"input_checksum": checksum, "parameters": key}
        write_nrmotif(out, path, npz, DESCRIPTION, extra)

    return cached(
        path,
        "motif-cluster cache",
        lambda: _read_cached(path, motifs, checksum),
        build,
        write,
        use_cache,
    )
