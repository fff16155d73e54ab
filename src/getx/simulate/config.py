"""Simulator parameters and the named presets (tiny, small, demo, large).

Every number of the generative model lives here so that docs/simulator.md can point at one place;
``simulate(..., config=...)`` takes a modified copy: ``dataclasses.replace(PRESETS["demo"], ...)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimConfig:
    """Sizes and constants of one simulated dataset (see docs/simulator.md for the equations)."""

    # --- sizes ---
    n_chroms: int = 2
    genome_size: int = 800_000  # bp over all chromosomes
    n_genes: int = 60
    n_regions: int = 600  # promoters + enhancers (the union peak set)
    n_cell_types: int = 3
    n_tfs: int = 12
    n_pairs: int = 2  # cooperative TF pairs
    # --- sequence ---
    gc: float = 0.44  # i.i.d. base GC before CpG depletion (ends near 41% overall)
    cpg_depletion: float = 0.85  # fraction of CpG mutated away (deamination) outside islands
    cpg_promoters: float = 0.7  # fraction of promoters sitting in a CpG island
    island_gc: float = 0.65
    n_pad: int = 10_000  # leading/trailing N per chromosome (telomere gaps)
    # --- layout ---
    gene_spacing: int = 3_000  # minimum bp between TSSs
    far_fraction: float = 0.1  # enhancers placed 100 kb - 1 Mb from their target gene
    near_median: float = 15_000.0  # median TSS distance of the other enhancers (lognormal)
    near_sigma: float = 0.9
    enhancer_width: float = 400.0  # median bp (lognormal, sigma 0.3, clipped to 200-1000)
    shared_fraction: float = 0.3  # enhancers bound by ubiquitous TFs (open in every cell type)
    domain_median: float = 250_000.0  # contact-domain (TAD) median length
    # --- regulation ---
    sites_enhancer: float = 2.0  # mean planted sites per enhancer: 1 + Poisson
    sites_promoter: float = 2.5  # mean planted sites per promoter: 1 + Poisson
    pair_rate: float = 0.35  # chance an enhancer of a pair's cell type carries both motifs
    synergy: tuple[float, float] = (1.0, 2.0)  # kappa range of cooperative pairs
    program_overlap: float = 0.25  # chance a cell-type TF is also active in a second cell type
    structural_fraction: float = 0.5  # ubiquitous TFs that open chromatin but do not activate
    accessibility_floor: float = 0.3  # epsilon: accessibility of an element with no active TF
    mean_count: float = 100.0  # mean reads per region per cell type (a pseudobulk's depth)
    dispersion: float = 0.05  # negative binomial overdispersion phi
    efficiency_sigma: float = 0.1  # per-element read efficiency (lognormal sigma)
    efficiency_width_power: float = 0.5  # efficiency grows as (width / 400) ** power
    call_min: int = 15  # a region is a called peak in a cell type with at least this many reads
    contact_law: str = "power"  # "power": (1 + d/d0)^-alpha, "exp": exp(-d/lambda)
    contact_d0: float = 5_000.0
    contact_alpha: float = 1.5
    contact_lambda: float = 25_000.0
    cross_domain: float = 0.25  # contact factor across a domain boundary
    target_boost: float = 1.0  # tau: extra weight of the gene an enhancer was placed for
    min_contact: float = 0.08  # links weaker than this (and not to the target) are absent
    promoter_share: float = 0.3  # promoter part of the average drive; the rest is enhancers
    expression_power: float = 3.0  # eta: y = drive^eta, spreads expression over decades
    gene_sigma: float = 0.15  # per-gene constant (lognormal sigma)
    noise_sigma: float = 0.2  # per gene and cell type multiplicative noise (lognormal sigma)
    cells_per_type: int = 0  # > 0: also write a genes x cells count matrix
    reads_per_cell: int = 4_000


PRESETS: dict[str, SimConfig] = {
    "tiny": SimConfig(),
    "small": SimConfig(
        n_chroms=3,
        genome_size=3_000_000,
        n_genes=250,
        n_regions=3_000,
        n_cell_types=4,
        n_tfs=20,
        n_pairs=3,
    ),
    "demo": SimConfig(
        n_chroms=5,
        genome_size=10_000_000,
        n_genes=800,
        n_regions=10_000,
        n_cell_types=5,
        n_tfs=24,
        n_pairs=4,
    ),
    "large": SimConfig(
        n_chroms=22,
        genome_size=200_000_000,
        n_genes=10_000,
        n_regions=200_000,
        n_cell_types=16,
        n_tfs=48,
        n_pairs=8,
    ),
}
