"""GET's motif-set format: ``NAME.json`` (names, clusters, genes) + ``NAME.matrices.npz``.

GET ships its v1 set (2,174 Vierstra v1.0 PWMs in 282 clusters) this way; getx writes every
clustering in the same form (``getx motifs cluster``, the motif-cluster cache), so that
``load_motifs(NAME.json)`` reads it back. The npz holds one (4, W) ln-odds matrix per motif,
rows A, C, G, T; the JSON's ``cluster_names`` order is the feature order.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from getx.cache import write_entry
from getx.errors import InputError
from getx.io.files import open_text
from getx.motifs.motifset import BASES, MotifSet


def load_nrmotif_v1(json_path: str | Path, npz_path: str | Path) -> MotifSet:
    """GET's motif set: 2,174 Vierstra v1.0 PWMs in 282 clusters (GET's feature order).

    The npz holds (4, W) ln-odds against bg A/T 0.2977, C/G 0.2023 (kept as is, transposed);
    clusters follow ``cluster_names`` exactly, which is GET's model input order.
    """
    json_path, npz_path = Path(json_path), Path(npz_path)
    if not json_path.exists():
        raise InputError("no such motif-set file", json_path)
    with open_text(json_path) as handle:
        text = handle.read()
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON: {e.msg}", json_path, e.lineno) from None
    if not isinstance(meta, dict):
        raise InputError("expected a JSON object (matrix_names, cluster_names, ...)", json_path)
    for key in ("matrix_names", "cluster_names", "motif_to_cluster", "background"):
        if key not in meta:
            raise InputError(f"missing key {key!r}", json_path)
    if not npz_path.exists():
        raise InputError(f"the matrices of {json_path.name} are missing", npz_path)
    try:
        return _motif_set(meta, json_path, npz_path)
    except (KeyError, TypeError, AttributeError) as error:
        raise InputError(f"malformed motif-set JSON ({error!r})", json_path) from None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"cannot read the matrices: {error}", npz_path) from None


def _motif_set(meta: dict, json_path: Path, npz_path: Path) -> MotifSet:
    bg = np.array([float(meta["background"][b]) for b in BASES], dtype=np.float64)
    clusters = tuple(str(c) for c in meta["cluster_names"])
    index = {c: i for i, c in enumerate(clusters)}
    mats, assign = [], []
    with np.load(npz_path, allow_pickle=False) as npz:
        for name in meta["matrix_names"]:
            if name not in npz.files:
                raise InputError(f"motif {name!r} listed in {json_path} has no matrix", npz_path)
            m = np.asarray(npz[name], dtype=np.float64)
            if m.ndim != 2 or m.shape[0] != 4 or m.shape[1] == 0 or not np.isfinite(m).all():
                raise InputError(
                    f"motif {name!r}: expected a finite (4, W) matrix, got shape {m.shape}",
                    npz_path,
                )
            cluster = meta["motif_to_cluster"].get(name)
            if cluster not in index:
                raise InputError(f"motif {name!r} has unknown cluster {cluster!r}", json_path)
            mats.append(np.ascontiguousarray(m.T))
            assign.append(index[cluster])
    if not mats:
        raise InputError("no motifs (matrix_names is empty)", json_path)
    genes = {c: list(meta.get("cluster_gene_list", {}).get(c, [])) for c in clusters}
    return MotifSet(
        names=tuple(meta["matrix_names"]),
        matrices=tuple(mats),
        background=bg,
        clusters=clusters,
        motif_cluster=np.array(assign, dtype=np.int64),
        cluster_genes=genes,
        source=f"nrmotif_v1 ({json_path.name})",
    )


def write_nrmotif(
    motifs: MotifSet,
    json_path: Path,
    npz_path: Path,
    description: str,
    extra: dict | None = None,
    cluster_extra: dict[str, dict] | None = None,
) -> None:
    """Write ``motifs`` as JSON + npz (the npz first, each atomically), readable by
    :func:`load_nrmotif_v1`. ``extra``: more top-level keys; ``cluster_extra``: more keys per
    cluster in the JSON's ``clusters`` summary (members and genes)."""
    members: dict[str, list[str]] = {c: [] for c in motifs.clusters}
    for name, c in zip(motifs.names, motifs.motif_cluster, strict=True):
        members[motifs.clusters[c]].append(name)
    doc = {
        "description": description,
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
                **(cluster_extra or {}).get(c, {}),
            }
            for c in motifs.clusters
        },
    }
    arrays = {
        n: np.ascontiguousarray(m.T) for n, m in zip(motifs.names, motifs.matrices, strict=True)
    }
    write_entry(npz_path, arrays, json_path, doc, compressed=True, indent=1)
