"""The simulated genome: chromosomes, genes, regulatory elements, base sequence, planted motifs.

Everything is drawn from one ``numpy.random.Generator`` in a fixed order, so a seed fixes the
output exactly. Sequences are uint8 codes 0-3 = A, C, G, T and 4 = N.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from getx.motifs.genes import motif_genes
from getx.simulate.config import SimConfig

log = logging.getLogger(__name__)

SLOT = 24  # bp per motif slot in an element; planted motifs are at most SLOT - 4 wide
MAX_MOTIF_WIDTH = SLOT - 4
EDGE = 20  # keep planted sites this far inside an element


def chrom_sizes(cfg: SimConfig) -> dict[str, int]:
    """chr1..chrN, decreasing in size like human chromosomes, summing to ``genome_size``."""
    n = cfg.n_chroms
    weight = 1.0 - 0.6 * np.arange(n) / max(n - 1, 1)
    sizes = np.floor(weight / weight.sum() * cfg.genome_size / 1000).astype(np.int64) * 1000
    return {f"chr{i + 1}": int(s) for i, s in enumerate(sizes)}


def _margin(cfg: SimConfig) -> int:
    return cfg.n_pad + 5_000


def place_genes(cfg: SimConfig, sizes: dict[str, int], rng: np.random.Generator) -> pd.DataFrame:
    """Genes with one TSS each, both strands, at least ``gene_spacing`` apart.

    Columns: gene_id, gene_name, gene_type, chrom, tss (0-based), strand ('+'/'-'), start, end
    (gene body, 0-based half-open), cpg (promoter in a CpG island).
    """
    total = sum(sizes.values())
    counts = np.floor(np.array(list(sizes.values())) / total * cfg.n_genes).astype(int)
    counts[: cfg.n_genes - counts.sum()] += 1
    margin = _margin(cfg) + 2_000
    pieces = []
    for (chrom, size), n in zip(sizes.items(), counts, strict=True):
        room = size - 2 * margin - n * cfg.gene_spacing
        if room <= 0:
            raise ValueError(f"{chrom} ({size} bp) too small for {n} genes")
        tss = np.sort(rng.integers(0, room, n)) + margin + np.arange(n) * cfg.gene_spacing
        strand = np.where(rng.random(n) < 0.5, "+", "-")
        length = np.clip(rng.lognormal(np.log(15_000), 1.0, n), 1_000, 200_000).astype(np.int64)
        start = np.where(strand == "+", tss, tss - length + 1)
        end = np.where(strand == "+", tss + length, tss + 1)
        start, end = np.maximum(start, cfg.n_pad), np.minimum(end, size - cfg.n_pad)
        pieces.append(
            pd.DataFrame({"chrom": chrom, "tss": tss, "strand": strand, "start": start, "end": end})
        )
    genes = pd.concat(pieces, ignore_index=True)
    n = len(genes)
    genes.insert(0, "gene_id", [f"SIMG{i + 1:08d}" for i in range(n)])
    genes.insert(1, "gene_name", [f"SG{i + 1:05d}" for i in range(n)])
    genes.insert(2, "gene_type", np.where(rng.random(n) < 0.9, "protein_coding", "lncRNA"))
    genes["cpg"] = rng.random(n) < cfg.cpg_promoters
    return genes


def place_regions(
    cfg: SimConfig, sizes: dict[str, int], genes: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """One promoter region around each TSS plus enhancers placed at a distance from a target gene.

    Columns: chrom, start, end, kind ('promoter'/'enhancer'), gene (row in ``genes``: the
    promoter's gene or the enhancer's target), distance (enhancer centre - target TSS, bp).
    Regions never overlap, and no enhancer comes within 350 bp of a TSS, so each gene's
    TSS +/- 300 bp touches only its own promoter region.
    """
    n_genes = len(genes)
    tss = genes["tss"].to_numpy()
    left = rng.integers(150, 450, n_genes)
    right = rng.integers(150, 450, n_genes)
    promoters = pd.DataFrame(
        {
            "chrom": genes["chrom"].to_numpy(),
            "start": tss - left,
            "end": tss + right + 1,
            "kind": "promoter",
            "gene": np.arange(n_genes),
            "distance": 0,
        }
    )
    n_enh = cfg.n_regions - n_genes
    m = int(n_enh * 3) + 200
    target = rng.integers(0, n_genes, m)
    far = rng.random(m) < cfg.far_fraction
    dist = np.where(
        far,
        np.exp(rng.uniform(np.log(1e5), np.log(1e6), m)),
        np.clip(rng.lognormal(np.log(cfg.near_median), cfg.near_sigma, m), 1_500, 1e5),
    )
    sign = np.where(rng.random(m) < 0.5, -1, 1)
    width = np.clip(rng.lognormal(np.log(cfg.enhancer_width), 0.3, m), 200, 1000).astype(np.int64)
    centre = tss[target] + sign * dist.astype(np.int64)
    cand = pd.DataFrame(
        {
            "chrom": genes["chrom"].to_numpy()[target],
            "start": centre - width // 2,
            "end": centre - width // 2 + width,
            "kind": "enhancer",
            "gene": target,
            "distance": sign * dist.astype(np.int64),
        }
    )
    size = cand["chrom"].map(sizes).to_numpy()
    margin = _margin(cfg)
    cand = cand[(cand["start"] >= margin) & (cand["end"] <= size - margin)]
    kept = []
    for chrom, group in cand.groupby("chrom", sort=False):
        prom = promoters[promoters["chrom"] == chrom]
        # Blocked intervals: promoters widened so enhancers keep clear of every TSS +/- 300.
        b_start = np.minimum(prom["start"].to_numpy(), tss[prom["gene"]] - 350) - 50
        b_end = np.maximum(prom["end"].to_numpy(), tss[prom["gene"]] + 351) + 50
        order = np.argsort(b_start)
        b_start, b_end = b_start[order], b_end[order]
        g = group.sort_values("start", kind="stable")
        s, e = g["start"].to_numpy(), g["end"].to_numpy()
        i = np.searchsorted(b_start, e, side="left")  # blocks starting before the end
        hit = (i > 0) & (b_end[np.maximum(i - 1, 0)] > s)
        keep = np.zeros(len(g), dtype=bool)
        last_end = -1
        for j in np.flatnonzero(~hit):  # greedy sweep: drop enhancers overlapping a kept one
            if s[j] >= last_end + 50:
                keep[j] = True
                last_end = e[j]
        kept.append(g[keep])
    survivors = pd.concat(kept, ignore_index=True)
    if len(survivors) < n_enh:
        log.warning("only %d enhancers fit (asked for %d)", len(survivors), n_enh)
        n_enh = len(survivors)
    pick = np.sort(rng.choice(len(survivors), n_enh, replace=False))
    regions = pd.concat([promoters, survivors.iloc[pick]], ignore_index=True)
    chrom_rank = regions["chrom"].map({c: i for i, c in enumerate(sizes)})
    regions = regions.assign(_r=chrom_rank).sort_values(["_r", "start"], kind="stable")
    regions = regions.drop(columns="_r").reset_index(drop=True)
    regions.insert(0, "region_id", [f"R{i + 1:07d}" for i in range(len(regions))])
    return regions


def base_sequence(
    cfg: SimConfig, sizes: dict[str, int], genes: pd.DataFrame, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Background DNA: i.i.d. bases, CpG deaminated away, CpG islands at promoters, N ends."""
    seqs = {}
    at, gc = (1 - cfg.gc) / 2, cfg.gc / 2
    cuts = np.round(np.cumsum([at, gc, gc]) * 65536).astype(np.uint32)
    island_cuts = np.round(
        np.cumsum([(1 - cfg.island_gc) / 2, cfg.island_gc / 2, cfg.island_gc / 2]) * 65536
    ).astype(np.uint32)
    for chrom, size in sizes.items():
        r = rng.integers(0, 65536, size, dtype=np.uint32)
        seq = np.searchsorted(cuts, r, side="right").astype(np.uint8)
        cg = np.flatnonzero((seq[:-1] == 1) & (seq[1:] == 2))
        u = rng.random(len(cg))
        hit = cg[u < cfg.cpg_depletion]
        to_t = rng.random(len(hit)) < 0.5
        seq[hit[to_t]] = 3  # CG -> TG
        seq[hit[~to_t] + 1] = 0  # CG -> CA
        g = genes[(genes["chrom"] == chrom) & genes["cpg"]]
        half = 500 + rng.integers(0, 300, len(g))
        for t, h in zip(g["tss"].to_numpy(), half, strict=True):
            r = rng.integers(0, 65536, 2 * h, dtype=np.uint32)
            seq[t - h : t + h] = np.searchsorted(island_cuts, r, side="right")
        seq[: cfg.n_pad] = 4
        seq[size - cfg.n_pad :] = 4
        seqs[chrom] = seq
    return seqs


@dataclass
class TFSet:
    """The simulated TFs: one motif each, from distinct clusters of the motif set."""

    names: list[str]  # TF gene symbol (unique)
    motif_index: np.ndarray  # (T,) row in the MotifSet
    motif_names: list[str]
    clusters: list[str]
    cluster_index: np.ndarray  # (T,) column in the store's features
    probabilities: list[np.ndarray]  # (W, 4) per TF
    log_odds: list[np.ndarray]  # (W, 4) ln-odds vs the motif set's background


def choose_tfs(motifs, n: int, rng: np.random.Generator) -> TFSet:
    """Pick ``n`` informative motifs (8-20 bp, >= 10 bits) from ``n`` different clusters."""
    probs, info = [], []
    for m in motifs.matrices:
        p = motifs.background[None, :] * np.exp(m)
        p /= p.sum(axis=1, keepdims=True)
        probs.append(p)
        info.append(float((p * np.log2(p / motifs.background[None, :])).sum()))
    widths = motifs.widths
    ok = np.flatnonzero((widths >= 8) & (widths <= MAX_MOTIF_WIDTH) & (np.array(info) >= 10))
    by_cluster: dict[int, list[int]] = {}
    for i in ok:
        by_cluster.setdefault(int(motifs.motif_cluster[i]), []).append(int(i))
    clusters = sorted(by_cluster)
    if len(clusters) < n:
        raise ValueError(f"the motif set has only {len(clusters)} clusters with usable motifs")
    chosen_clusters = rng.choice(clusters, n, replace=False)
    idx = np.array([by_cluster[c][rng.integers(len(by_cluster[c]))] for c in chosen_clusters])
    names: list[str] = []
    for i in idx:
        base = next(iter(motif_genes(motifs.names[i])), f"TF{i}")  # a dimer's first TF
        name, k = base, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return TFSet(
        names=names,
        motif_index=idx,
        motif_names=[motifs.names[i] for i in idx],
        clusters=[motifs.clusters[motifs.motif_cluster[i]] for i in idx],
        cluster_index=np.array([motifs.motif_cluster[i] for i in idx], dtype=np.int64),
        probabilities=[probs[i] for i in idx],
        log_odds=[np.asarray(motifs.matrices[i]) for i in idx],
    )


def sample_sites(
    tfs: TFSet, tf: int, m: int, rng: np.random.Generator, candidates: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """``m`` sites of one TF drawn from its PWM, best of ``candidates`` draws (codes, score)."""
    p = tfs.probabilities[tf]
    cdf = np.cumsum(p, axis=1)[:, :3]
    u = rng.random((m, candidates, len(p)))
    codes = (u[..., None] > cdf[None, None]).sum(-1).astype(np.uint8)
    score = tfs.log_odds[tf][np.arange(len(p)), codes].sum(-1)
    best = np.argmax(score, axis=1)
    return codes[np.arange(m), best], score[np.arange(m), best]


def plant_sites(
    seqs: dict[str, np.ndarray],
    regions: pd.DataFrame,
    n_sites: np.ndarray,
    site_tf: np.ndarray,
    site_region: np.ndarray,
    tfs: TFSet,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Write motif instances into the sequence, each in its own slot of its region.

    ``site_region``/``site_tf``: per site, its region row and TF; sites of a region are
    consecutive. Returns the truth table of planted sites (region, tf, start, strand, score).
    """
    width = (regions["end"] - regions["start"]).to_numpy()
    n_slots = (width - 2 * EDGE) // SLOT
    max_slots = int(n_slots.max())
    keys = rng.random((len(regions), max_slots))
    keys[np.arange(max_slots)[None, :] >= n_slots[:, None]] = np.inf
    order = np.argsort(keys, axis=1)
    first = np.cumsum(n_sites) - n_sites
    rank = np.arange(len(site_region)) - first[site_region]
    slot = order[site_region, rank]
    tf_width = np.array([len(p) for p in tfs.probabilities])[site_tf]
    shift = rng.integers(0, SLOT - tf_width + 1)
    start = regions["start"].to_numpy()[site_region] + EDGE + slot * SLOT + shift
    minus = rng.random(len(site_region)) < 0.5
    score = np.zeros(len(site_region))
    chrom = regions["chrom"].to_numpy()[site_region]
    for t in range(len(tfs.names)):
        sel = np.flatnonzero(site_tf == t)
        if sel.size == 0:
            continue
        codes, score[sel] = sample_sites(tfs, t, len(sel), rng)
        rc = 3 - codes[:, ::-1]
        codes = np.where(minus[sel, None], rc, codes)
        w = codes.shape[1]
        for c in np.unique(chrom[sel]):
            on = chrom[sel] == c
            pos = start[sel][on, None] + np.arange(w)[None, :]
            seqs[c][pos] = codes[on]
    return pd.DataFrame(
        {
            "region": site_region,
            "tf": site_tf,
            "start": start,
            "end": start + tf_width,
            "strand": np.where(minus, "-", "+"),
            "score": score,
        }
    )
