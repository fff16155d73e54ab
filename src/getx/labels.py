"""Expression labels on regions: which genes' promoters fall in which region, on which strand.

GET reads expression off the regions that hold a gene's promoter. A promoter is a TSS (one point
per annotated transcript) +/- ``flank`` bp, 300 as in GET; gene bodies never count. A region's
label on a strand is the mean expression of the distinct measured genes whose promoter overlaps it
on that strand, and its TSS flag says such a gene exists. The gene index keeps one row per
(gene, strand, region), so genes that share a region all survive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.annotation import promoters
from getx.io.expression import MatchReport, match_genes
from getx.io.intervals import IntervalIndex

log = logging.getLogger(__name__)

PROMOTER_FLANK = 300


def check_regions(regions: pd.DataFrame) -> None:
    """Regions must be sorted by start and non-overlapping within each chromosome."""
    for chrom, group in regions.groupby("chrom", sort=False):
        starts, ends = group["start"].to_numpy(), group["end"].to_numpy()
        if np.any(starts[1:] < ends[:-1]):
            i = int(np.argmax(starts[1:] < ends[:-1]))
            raise InputError(
                f"regions on {chrom} overlap or are unsorted near {chrom}:{starts[i]}-{ends[i]}; "
                "merge overlapping peaks first"
            )


def gene_index(
    regions: pd.DataFrame, tss: pd.DataFrame, flank: int = PROMOTER_FLANK
) -> pd.DataFrame:
    """Rows (gene_id, gene_name, strand, region) for each gene promoter overlapping a region.

    ``tss`` has columns gene_id, gene_name, chrom, tss (0-based position), strand ('+'/'-').
    """
    check_regions(regions)
    index = IntervalIndex(regions)
    pieces = []
    for chrom, group in tss.groupby("chrom", sort=False):
        position = group["tss"].to_numpy(np.int64)
        query, region = index.overlaps(str(chrom), *promoters(position, flank))
        if query.size:
            hits = group.iloc[query][["gene_id", "gene_name", "strand"]].copy()
            hits["region"] = region
            pieces.append(hits)
    if not pieces:
        return pd.DataFrame(
            {
                "gene_id": pd.Series(dtype=object),
                "gene_name": pd.Series(dtype=object),
                "strand": pd.Series(dtype=object),
                "region": pd.Series(dtype=np.int64),
            }
        )
    index = pd.concat(pieces, ignore_index=True).drop_duplicates(["gene_id", "strand", "region"])
    return index.sort_values(["region", "strand", "gene_id"], ignore_index=True)


def gene_values(
    genes: pd.DataFrame,
    expression: pd.Series,
    annotation: pd.DataFrame | None = None,
    report: MatchReport | None = None,
) -> tuple[np.ndarray, int]:
    """Each gene-index row's expression (NaN when unmeasured), and how many genes matched.

    Measured genes are matched to ``annotation`` (default: the gene index itself) by Ensembl id
    or symbol, as :func:`getx.io.expression.match_genes` does (``report``: its result, when the
    caller has it already); when several measured genes land on one gene id, the largest value
    is kept.
    """
    if report is None:
        report = match_genes(expression.index, genes if annotation is None else annotation)
    by_id = (
        pd.Series(expression.reindex(report.mapping.index).to_numpy(np.float64))
        .groupby(report.mapping.to_numpy())
        .max()
    )
    values = genes["gene_id"].map(by_id).to_numpy(np.float64)
    return values.astype(np.float32), int(genes.loc[~np.isnan(values), "gene_id"].nunique())


@dataclass
class RegionLabels:
    expression: np.ndarray  # (n, 2) float32
    tss: np.ndarray  # (n, 2) int8


def region_labels(n_regions: int, genes: pd.DataFrame, values: np.ndarray) -> RegionLabels:
    """Per region and strand: mean value of the distinct measured genes, and a TSS flag.

    Negative values (not meaningful for log10(CPM+1)) are clipped to 0, as GET did.
    """
    measured = ~np.isnan(values)
    table = pd.DataFrame(
        {
            "region": genes["region"].to_numpy()[measured],
            "strand": (genes["strand"].to_numpy()[measured] == "-").astype(np.int64),
            "gene_id": genes["gene_id"].to_numpy()[measured],
            "value": np.clip(values[measured], 0, None),
        }
    ).drop_duplicates(["region", "strand", "gene_id"])
    mean = table.groupby(["region", "strand"])["value"].mean()
    expression = np.zeros((n_regions, 2), np.float32)
    tss = np.zeros((n_regions, 2), np.int8)
    region = mean.index.get_level_values(0).to_numpy()
    strand = mean.index.get_level_values(1).to_numpy()
    expression[region, strand] = mean.to_numpy()
    tss[region, strand] = 1
    return RegionLabels(expression=expression, tss=tss)
