"""K562 chr22: DNase accessibility, pseudobulked single-cell RNA, labels on promoter peaks.

Accessibility covers chr22 only and sequence exists only for a 300 kb window, so the labels are
checked over all chr22 peaks at the library level, and a full store is built for the window.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import shared_path
from getx.io.accessibility import counts_from_bed, normalise_accessibility
from getx.io.annotation import load_annotation
from getx.io.expression import read_pseudobulk
from getx.io.peaks import read_peaks
from getx.labels import gene_index, gene_values, region_labels
from getx.prepare import PrepareInputs, prepare
from getx.store import open_store

WINDOW = ("chr22", 32_000_000, 32_300_000)


@pytest.fixture(scope="module")
def k562():
    regions = read_peaks(shared_path("k562_chr22/abc_dnase.candidateRegions.bed"))
    counts = counts_from_bed(
        shared_path("k562_chr22/abc_dnase.Enhancers.DHS.ENCFF860XAE.CountReads.bedgraph"), regions
    )
    bulk = read_pseudobulk(
        shared_path("k562_chr22/scE2G_cluster1.rna_count_matrix.csv.gz"), name="K562"
    )
    tss = load_annotation(
        shared_path("k562_chr22/CollapsedGeneBounds.hg38.intGENCODEv43.chr22.bed")
    )
    genes = gene_index(regions, tss)
    expression = bulk.log10cpm["K562"]
    values, matched = gene_values(genes, expression)
    labels = region_labels(len(regions), genes, values)
    return regions, counts, bulk, tss, genes, expression, values, matched, labels


def test_pseudobulk_ranks_erythroid_markers_high(k562):
    _, _, bulk, *_ = k562
    expression = bulk.log10cpm["K562"]
    rank = expression.rank(ascending=False)
    assert rank["HBG1"] <= 0.01 * len(expression)
    assert rank["GATA1"] <= 0.05 * len(expression)
    assert expression["SLC5A1"] == 0


def test_accessible_promoters_carry_labels(k562):
    _, counts, _, _, genes, _, values, matched, labels = k562
    assert counts.sum() == 277_975
    accessibility = normalise_accessibility(counts)
    assert accessibility.max() == 1.0
    assert matched > 300  # most of chr22's 458 genes have a promoter peak and a measurement
    # Every measured, expressed gene with an accessible TSS peak has a positive label there, on
    # its own strand, no smaller than ... the mean of the genes sharing that peak and strand.
    strand = (genes["strand"] == "-").to_numpy().astype(int)
    region = genes["region"].to_numpy()
    expressed = np.nan_to_num(values) > 0
    accessible = counts[region] > 0
    chosen = expressed & accessible
    assert chosen.sum() > 150
    assert (labels.expression[region[chosen], strand[chosen]] > 0).all()
    assert (labels.tss[region[chosen], strand[chosen]] == 1).all()
    # A peak with exactly one measured gene on a strand carries exactly that gene's value.
    table = genes.assign(value=values, strand_index=strand).dropna(subset=["value"])
    single = table.groupby(["region", "strand_index"]).filter(lambda g: len(g) == 1)
    np.testing.assert_allclose(
        labels.expression[single["region"], single["strand_index"]],
        single["value"].clip(lower=0),
        rtol=1e-6,
    )


def test_genes_sharing_a_promoter_peak_are_all_kept(k562):
    regions, _, _, tss, genes, *_ = k562
    shared = genes.groupby("region")["gene_id"].nunique()
    shared_regions = shared[shared > 1].index
    assert len(shared_regions) >= 5  # bidirectional and nested promoters exist on chr22
    # Independently: every annotated TSS lying inside a region (not just near it) is indexed.
    starts, ends = regions["start"].to_numpy(), regions["end"].to_numpy()
    for row in tss.itertuples(index=False):
        inside = np.flatnonzero((starts <= row.tss) & (ends > row.tss))
        for r in inside:
            assert ((genes["gene_id"] == row.gene_id) & (genes["region"] == r)).any()


def test_store_for_the_sequenced_window(tmp_path):
    chrom, start, end = WINDOW
    peaks = read_peaks(shared_path("k562_chr22/abc_dnase.candidateRegions.bed"))
    inside = peaks[(peaks["start"] >= start) & (peaks["end"] <= end)]
    bed = tmp_path / "window.bed"
    inside[["chrom", "start", "end"]].to_csv(bed, sep="\t", header=False, index=False)
    inputs = PrepareInputs(
        peaks=bed,
        genome=shared_path("genome/hg38_chr22_32000000_32300000.fa"),
        genome_offsets={chrom: start},
        annotation=shared_path("k562_chr22/CollapsedGeneBounds.hg38.intGENCODEv43.chr22.bed"),
        accessibility={
            "K562": shared_path(
                "k562_chr22/abc_dnase.Enhancers.DHS.ENCFF860XAE.CountReads.bedgraph"
            )
        },
        rna_counts=shared_path("k562_chr22/scE2G_cluster1.rna_count_matrix.csv.gz"),
    )
    store = open_store(prepare(inputs, tmp_path / "k562.zarr"))
    assert store.n_regions == len(inside) == 202
    assert store.cell_types == ["K562"]
    data = store.cell_type("K562")
    assert data.accessibility_raw.sum() > 0 and data.accessibility.max() == pytest.approx(1.0)
    features = store.read_features()
    assert (features != 0).any(axis=1).all()  # real sequence everywhere in the window
    # SLC5A1 (+, TSS 32,043,031) sits in region chr22:32,042,195-32,043,652 and is measured at
    # 0 in K562: a TSS flag with a zero label, and its row in the gene index.
    row = store.genes.query("gene_name == 'SLC5A1'")
    assert len(row) == 1 and row["strand"].item() == "+"
    region = int(row["region"].item())
    assert store.regions.loc[region, ["start", "end"]].tolist() == [32_042_195, 32_043_652]
    assert data.tss[region, 0] == 1 and data.expression[region, 0] == 0
