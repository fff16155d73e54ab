"""A small synthetic store whose expression needs context, for the training tests.

Each chromosome is cut into domains with an enhancer level drawn per domain. Ordinary regions
carry the enhancer motif with a density set by their domain's level; TSS regions carry only a
promoter motif per transcribed strand. The expression of a TSS region on a strand is that
strand's promoter strength x (a + b x domain level),
so a model that sees one region (GET's MLP baseline) can only learn the promoter part, while a
model that sees the window can estimate the level from its neighbours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = ["promoter_plus", "promoter_minus", "enhancer", "noise1", "noise2"]


def make_synthetic_store(
    path: str | Path,
    chroms: int = 4,
    regions_per_chrom: int = 512,
    domain: int = 128,
    seed: int = 0,
) -> Path:
    """Write a learnable store with cell types ``open`` (all accessible) and ``mixed``."""
    from getx.store import CellTypeData, write_store

    rng = np.random.default_rng(seed)
    n = chroms * regions_per_chrom
    chrom = np.repeat([f"chr{i + 1}" for i in range(chroms)], regions_per_chrom)
    local = np.tile(np.arange(regions_per_chrom), chroms)
    regions = pd.DataFrame({"chrom": chrom, "start": local * 1000, "end": local * 1000 + 500})
    level = rng.uniform(0, 1, size=(n + domain - 1) // domain)[np.arange(n) // domain]
    is_tss = rng.random(n) < 0.25
    is_tss[local == 0] = True  # a gene at each chromosome start
    is_tss[local == regions_per_chrom - 1] = True  # and at each end
    strand = rng.integers(0, 2, n)
    both = is_tss & (rng.random(n) < 0.15)
    on_strand = np.stack([is_tss & ((strand == 0) | both), is_tss & ((strand == 1) | both)], 1)
    features = np.zeros((n, len(FEATURES)), dtype=np.float32)
    features[:, :2] = np.where(on_strand, rng.uniform(0.5, 2.0, (n, 2)), 0.0)
    has_enh = ~is_tss & (rng.random(n) < 0.1 + 0.8 * level)
    features[:, 2] = np.where(has_enh, rng.uniform(1.0, 3.0, n), 0.0)
    features[:, 3:] = rng.exponential(1.0, (n, 2)) * (rng.random((n, 2)) < 0.3)
    strength = features[:, :2] * (0.2 + 2.5 * level)[:, None]
    gene_rows = []
    for row in np.flatnonzero(is_tss):
        strands = (0, 1) if both[row] else (int(strand[row]),)
        for s in strands:
            gene_rows.append((f"G{row:05d}{'pm'[s]}", s, row))
    # Two genes sharing one TSS region on the same strand (both must be kept by predict).
    first = int(np.flatnonzero(is_tss & ~both)[3])
    gene_rows.append((f"G{first:05d}{'pm'[strand[first]]}b", int(strand[first]), first))
    genes = pd.DataFrame(
        {
            "gene_id": [g for g, _, _ in gene_rows],
            "gene_name": [f"name_{g}" for g, _, _ in gene_rows],
            "strand": ["+-"[s] for _, s, _ in gene_rows],
            "region": [r for _, _, r in gene_rows],
        }
    )
    cell_types = {}
    for name, closed_fraction in (("open", 0.0), ("mixed", 0.2)):
        counts = rng.poisson(30, n).astype(np.float32) + 1
        counts[rng.random(n) < closed_fraction] = 0
        norm = np.log10(counts / counts.sum() * 1e5 + 1)
        norm = (norm / norm.max()).astype(np.float32)
        expression = np.zeros((n, 2), dtype=np.float32)
        tss = np.zeros((n, 2), dtype=np.int8)
        gene_expression = np.zeros(len(genes), dtype=np.float32)
        for i, (_, s, row) in enumerate(gene_rows):
            value = strength[row, s] * (counts[row] > 0)
            expression[row, s] = value
            tss[row, s] = 1
            gene_expression[i] = value
        cell_types[name] = CellTypeData(counts, norm, expression, tss, gene_expression)
    return write_store(
        path, regions, features, FEATURES, {f: [] for f in FEATURES}, cell_types, genes
    )
