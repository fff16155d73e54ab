"""``getx motifs ...`` commands (registered by the CLI). Heavy imports stay inside the functions."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)


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
        typer.Argument(
            help="Motif set: jaspar2024 (JASPAR 2024 CORE vertebrates), a v1 .json/directory, "
            "MEME/JASPAR/PFM file."
        ),
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
    pvalue: Annotated[
        str,
        typer.Option(
            help="Alignment p-values: normal (approximation, default) or exact "
            "(TOMTOM's discretised null; slower, its own calibrated cut)."
        ),
    ] = "normal",
) -> None:
    """Group motifs into non-redundant clusters (archetypes) by motif similarity."""
    import time

    from getx.errors import InputError, check_range
    from getx.io.files import check_output
    from getx.motifs.agreement import adjusted_mutual_information, adjusted_rand_index
    from getx.motifs.alignment import PVALUES
    from getx.motifs.cluster_io import clustering_outputs, write_clustering
    from getx.motifs.clustering import METHODS, ClusterParams, archetypes, cluster_motifs
    from getx.motifs.databases import load_motifs

    if method not in METHODS:
        raise InputError(f"unknown --method {method!r}; choose from {', '.join(METHODS)}")
    if pvalue not in PVALUES:
        raise InputError(f"unknown --pvalue {pvalue!r}; choose from {', '.join(PVALUES)}")
    if n_clusters is not None:
        check_range("--n-clusters", n_clusters, 1)
    if cut is not None:
        check_range("--cut", cut, 0)
    check_range("--min-overlap", min_overlap, 1)
    source = [Path(motifs)] if Path(motifs).exists() else []
    for path, kind in clustering_outputs(out):
        check_output(path, kind, inputs=source)
    # The default set is already clustered; start from JASPAR's own grouping instead.
    default = motifs.lower() in ("jaspar2024", "jaspar")
    ms = load_motifs("jaspar2024-families" if default else motifs)
    t0 = time.perf_counter()
    params = ClusterParams(
        n_clusters=n_clusters, cut=cut, method=method, min_overlap=min_overlap, pvalue=pvalue
    )
    clustered = cluster_motifs(ms, params)
    arche = archetypes(clustered, min_overlap=min_overlap)
    extra = {
        "method": method,
        "pvalue": pvalue,
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
