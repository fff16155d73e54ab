"""Interpretation sections for the demo's report: for a few held-out genes, the region-importance
track with the simulator's true enhancers marked, and the top motifs beside the true driving TFs.

:func:`interpretation_sections` returns :class:`getx.report.Section` objects, so the demo adds
them to its page without knowing how they are made.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from getx.interpret.truth import LINK_EFFECT, TF_FRACTION, region_ids


def pick_genes(
    store: Any, truth: dict[str, pd.DataFrame], cell_type: str, chroms: list[str], count: int = 3
) -> list[str]:
    """Held-out genes (on ``chroms``) with an accessible TSS region in ``cell_type`` and the most
    true enhancers of effect >= LINK_EFFECT there (ties: the more expressed, then by name)."""
    links = truth["enhancer_gene"]
    strong = links[(links[f"effect_{cell_type}"] >= LINK_EFFECT) & links["chrom"].isin(chroms)]
    counts = strong.groupby("gene_name").size().rename("n").reset_index()
    genes = truth["genes"].set_index("gene_name")
    counts["expression"] = genes.loc[counts["gene_name"], f"expression_{cell_type}"].to_numpy()
    raw = np.asarray(store.cell_type(cell_type).accessibility_raw)
    index = store.genes
    known = set(index.loc[raw[index["region"].to_numpy()] > 0, "gene_name"])
    counts = counts[counts["gene_name"].isin(known)]  # an accessible TSS region there
    counts = counts.sort_values(["n", "expression", "gene_name"], ascending=[False, False, True])
    return counts["gene_name"].head(count).tolist()


def importance_tracks(
    result: Any, store: Any, truth: dict[str, pd.DataFrame], genes: list[str], size: float = 3.6
) -> Any:
    """One panel per gene: region importance (|gradient x input|) along the window, true
    enhancers (effect >= LINK_EFFECT) in orange, the TSS region as a dashed line."""
    from matplotlib.figure import Figure

    ids = region_ids(store, truth["regions"])
    links = truth["enhancer_gene"]
    fig = Figure(figsize=(size * len(genes), size * 0.8))
    axes = fig.subplots(1, max(len(genes), 1), squeeze=False)[0]
    for ax, gene in zip(axes, genes, strict=False):
        table = result.gene_regions(gene, store)
        centre = (table["start"] + table["end"]).to_numpy() / 2
        strong = links[
            (links["gene_name"] == gene) & (links[f"effect_{result.cell_type}"] >= LINK_EFFECT)
        ]
        true = np.isin(ids[table["region"].to_numpy()], strong["region_id"].to_numpy())
        tss = result.genes.loc[result.genes["gene_name"] == gene, "region"].iloc[0]
        tss_bp = (store.regions["start"].iloc[tss] + store.regions["end"].iloc[tss]) / 2
        kb = (centre - tss_bp) / 1000
        ax.vlines(kb[~true], 0, table["importance"].to_numpy()[~true], color="#a0aec0", lw=1.2)
        ax.vlines(
            kb[true],
            0,
            table["importance"].to_numpy()[true],
            color="#dd6b20",
            lw=2.0,
            label=f"true enhancer (effect >= {LINK_EFFECT:g})",
        )
        ax.axvline(0, color="#2b6cb0", ls="--", lw=0.8, label="TSS region")
        ax.set_title(f"{gene} ({result.cell_type})", fontsize=9)
        ax.set_xlabel("distance to TSS (kb)", fontsize=8)
        ax.set_ylabel("region importance", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    return fig


def motif_table(
    result: Any, truth: dict[str, pd.DataFrame], genes: list[str], top: int = 5
) -> pd.DataFrame:
    """Per gene: its ``top`` motif features by |importance| and the true driving TFs' clusters
    (tf_gene fraction >= TF_FRACTION, largest first), and how many of those are in the top."""
    matrix = result.gene_motif()
    name_of = dict(zip(result.genes["gene_name"], result.genes["gene_id"], strict=False))
    drivers = truth["tf_gene"]
    drivers = drivers[
        (drivers["cell_type"] == result.cell_type) & (drivers["fraction"] >= TF_FRACTION)
    ]
    rows = []
    for gene in genes:
        values = matrix.loc[name_of[gene]]
        best = values.abs().sort_values(ascending=False).index[:top].tolist()
        mine = drivers[drivers["gene_name"] == gene].sort_values("fraction", ascending=False)
        true = [
            f"{c} ({t}, {f:.2f})"
            for t, c, f in zip(mine["tf"], mine["cluster"], mine["fraction"], strict=True)
        ]
        rows.append(
            {
                "gene": gene,
                f"top {top} motifs (importance)": ", ".join(best),
                "true driving TFs (cluster, share of drive)": ", ".join(true) or "none",
                "found in top": f"{len(set(mine['cluster']) & set(best))}/{len(mine)}",
            }
        )
    return pd.DataFrame(rows)


def interpretation_sections(
    predictor: Any,
    store: Any,
    truth: dict[str, pd.DataFrame],
    cell_type: str,
    chroms: list[str],
    count: int = 3,
) -> list[Any]:
    """The report sections for ``count`` held-out genes in ``cell_type``."""
    from getx.interpret.importance import importance
    from getx.report import Section

    genes = pick_genes(store, truth, cell_type, chroms, count)
    if not genes:
        return []
    result = importance(predictor, store, cell_type, genes)
    genes = [g for g in genes if g in set(result.genes["gene_name"])]
    tracks = Section("Interpretation: which regions drive a gene").add(
        importance_tracks(result, store, truth, genes),
        caption=f"Gradient x input region importance of held-out genes (chromosome "
        f"{', '.join(chroms)}, never trained on) in {cell_type}, over each gene's window; the "
        "simulator's true enhancers of the gene in orange.",
    )
    motifs = (
        Section("Interpretation: which motifs drive a gene")
        .add(
            "Each gene's motif features ranked by |gradient x input| summed over its window, "
            "beside the TFs that truly drive it in the simulator (their motif cluster and share "
            "of the gene's drive):"
        )
        .add(motif_table(result, truth, genes))
    )
    return [tracks, motifs]
