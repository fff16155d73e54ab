"""``getx motifs ...`` commands (registered by the CLI). Heavy imports stay inside the functions."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)


def write_clustering(motifs, arche: dict, prefix: Path, extra: dict | None = None) -> list[Path]:
    """Write PREFIX.json + PREFIX.matrices.npz (loadable by ``load_motifs(PREFIX.json)``) and
    PREFIX.archetypes.meme; each file atomically. Returns the paths written."""
    import json

    import numpy as np

    from getx.io.files import atomic_output
    from getx.motifs.databases import BASES

    prefix = Path(prefix)
    stem = prefix.name.removesuffix(".json")
    json_path = prefix.with_name(stem + ".json")
    npz_path = prefix.with_name(stem + ".matrices.npz")
    meme_path = prefix.with_name(stem + ".archetypes.meme")
    members: dict[str, list[str]] = {c: [] for c in motifs.clusters}
    for name, c in zip(motifs.names, motifs.motif_cluster, strict=True):
        members[motifs.clusters[c]].append(name)
    doc = {
        "description": "motif clusters from `getx motifs cluster`",
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
                "archetype_width": int(arche[c].shape[0]),
            }
            for c in motifs.clusters
        },
    }
    with atomic_output(json_path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
    with atomic_output(npz_path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            **{
                n: np.ascontiguousarray(m.T)
                for n, m in zip(motifs.names, motifs.matrices, strict=True)
            },
        )
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
    return [json_path, npz_path, meme_path]


def cluster(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output prefix: PREFIX.json + PREFIX.matrices.npz (a motif set for "
            "--motifs) and PREFIX.archetypes.meme.",
        ),
    ],
    motifs: Annotated[
        str,
        typer.Argument(help="Motif set: jaspar2024, a v1 .json/directory, MEME/JASPAR/PFM file."),
    ] = "jaspar2024",
    n_clusters: Annotated[
        int | None, typer.Option(help="Cut the tree into this many clusters (wins over --cut).")
    ] = None,
    cut: Annotated[
        float | None, typer.Option(help="Linkage distance cut (default: ~282 clusters on GET v1).")
    ] = None,
    method: Annotated[
        str, typer.Option(help="tomtom2-kl (default), tomtom2-pcc or pcc-average.")
    ] = "tomtom2-kl",
    min_overlap: Annotated[int, typer.Option(help="Fewest aligned columns.")] = 5,
) -> None:
    """Group motifs into non-redundant clusters (archetypes) by motif similarity."""
    import time

    from getx.errors import InputError
    from getx.motifs.clustering import (
        METHODS,
        adjusted_mutual_information,
        adjusted_rand_index,
        archetypes,
        cluster_motifs,
    )
    from getx.motifs.databases import load_motifs

    if method not in METHODS:
        raise InputError(f"unknown --method {method!r}; choose from {', '.join(METHODS)}")
    if n_clusters is not None and n_clusters < 1:
        raise InputError(f"--n-clusters must be positive, got {n_clusters}")
    ms = load_motifs(motifs)
    t0 = time.perf_counter()
    clustered = cluster_motifs(
        ms, n_clusters=n_clusters, cut=cut, method=method, min_overlap=min_overlap
    )
    arche = archetypes(clustered, min_overlap=min_overlap)
    extra = {
        "method": method,
        "n_clusters_requested": n_clusters,
        "cut": cut,
        "min_overlap": min_overlap,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if len(ms.clusters) < len(ms):  # the input had its own grouping: say how far we are from it
        extra["agreement_with_input_clusters"] = {
            "ari": adjusted_rand_index(ms.motif_cluster, clustered.motif_cluster),
            "ami": adjusted_mutual_information(ms.motif_cluster, clustered.motif_cluster),
            "input_clusters": len(ms.clusters),
        }
    paths = write_clustering(clustered, arche, out, extra)
    log.info(
        "%d motifs -> %d clusters (%s) in %.1f s; wrote %s",
        len(ms),
        len(clustered.clusters),
        method,
        extra["seconds"],
        ", ".join(str(p) for p in paths),
    )
    typer.echo(f"{len(ms)} motifs -> {len(clustered.clusters)} clusters; wrote {paths[0]}")
