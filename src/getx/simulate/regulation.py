"""Regulation: TF activities per cell type, which TFs bind which element, accessibility, contacts,
expression, and the truth tables that say who regulates whom (equations in docs/simulator.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from getx.simulate.config import SimConfig
from getx.simulate.genome import EDGE, SLOT


@dataclass
class Programs:
    """TF roles and activities. ``activity`` is (C, T); ``program[c]`` lists the cell type's TFs."""

    cell_types: list[str]
    ubiquitous: np.ndarray  # (T,) bool
    activating: np.ndarray  # (T,) bool; False: structural (opens chromatin, drives nothing)
    activity: np.ndarray  # (C, T)
    program: list[np.ndarray]
    pairs: pd.DataFrame  # tf_a, tf_b (TF rows), kappa, cell_type (row)


def tf_programs(cfg: SimConfig, n_tfs: int, rng: np.random.Generator) -> Programs:
    """Ubiquitous TFs active everywhere; the others (Gamma(4, 0.35)) in one or two cell types.

    The first ``structural_fraction`` of the ubiquitous TFs are structural (CTCF-like): they open
    the chromatin they bind in every cell type but add nothing to transcription.
    """
    C = cfg.n_cell_types
    n_ubiq = max(2, round(n_tfs / 6))
    ubiq = np.arange(n_tfs) < n_ubiq
    activating = np.arange(n_tfs) >= round(n_ubiq * cfg.structural_fraction)
    specific = np.flatnonzero(~ubiq)
    activity = np.empty((C, n_tfs))
    activity[:, ubiq] = rng.uniform(0.7, 1.3, (C, n_ubiq))
    activity[:, ~ubiq] = rng.uniform(0.0, 0.1, (C, len(specific)))
    # Each specific TF belongs to one cell type (dealt round-robin), and to a second one with
    # probability ``program_overlap``: programs are distinct but not disjoint.
    owner = np.empty(len(specific), dtype=np.int64)
    owner[rng.permutation(len(specific))] = np.arange(len(specific)) % C
    second = np.where(
        rng.random(len(specific)) < cfg.program_overlap,
        (owner + rng.integers(1, max(C, 2), len(specific))) % C,
        owner,
    )
    program = []
    for c in range(C):
        tfs = specific[(owner == c) | (second == c)]
        program.append(tfs)
    on = np.zeros((C, n_tfs), dtype=bool)
    for c, tfs in enumerate(program):
        on[c, tfs] = True
    activity[on] = rng.gamma(4.0, 0.35, int(on.sum()))
    pairs, seen = [], set()
    for p in range(cfg.n_pairs):
        c = p % C
        for _ in range(20):
            a, b = np.sort(rng.choice(program[c], 2, replace=False))
            if (a, b) not in seen:
                seen.add((a, b))
                pairs.append((int(a), int(b), float(rng.uniform(*cfg.synergy)), c))
                break
    return Programs(
        cell_types=[f"ct{c + 1}" for c in range(C)],
        ubiquitous=ubiq,
        activating=activating,
        activity=activity,
        program=program,
        pairs=pd.DataFrame(pairs, columns=["tf_a", "tf_b", "kappa", "cell_type"]),
    )


@dataclass
class Occupancy:
    """Which TFs were planted where. ``label``: a region's program, e.g. 'shared' or 'ct2'."""

    n_sites: np.ndarray  # (R,)
    site_region: np.ndarray  # (S,)
    site_tf: np.ndarray  # (S,)
    label: np.ndarray  # (R,) str
    counts: np.ndarray  # (R, T) planted instances
    joint: np.ndarray  # (R, P) both TFs of pair p planted


def assign_sites(
    cfg: SimConfig, regions: pd.DataFrame, progs: Programs, rng: np.random.Generator
) -> Occupancy:
    """Draw each element's program, its number of sites and the TF of each site."""
    R, T = len(regions), progs.activity.shape[1]
    C = len(progs.cell_types)
    ubiq = progs.ubiquitous.astype(float)
    promoter = (regions["kind"] == "promoter").to_numpy()
    u = rng.random(R)
    home = rng.integers(0, C, R)
    # -1: shared enhancer / housekeeping promoter; c >= 0: the element's cell type.
    shared = np.where(promoter, u < 0.5, u < cfg.shared_fraction)
    owner = np.where(shared, -1, home)
    in_prog = np.zeros((C, T))
    for c, tfs in enumerate(progs.program):
        in_prog[c, tfs] = 1.0
    weights = np.empty((R, T))
    own = in_prog[np.maximum(owner, 0)]
    weights[:] = np.where(owner[:, None] < 0, 2.0 * ubiq + 0.2, 3.0 * own + 0.1)
    # Promoters recruit the activating ubiquitous TFs (SP1/NRF1-like), not structural ones.
    weights[promoter] += ubiq * progs.activating
    weights /= weights.sum(axis=1, keepdims=True)
    width = (regions["end"] - regions["start"]).to_numpy()
    n_slots = (width - 2 * EDGE) // SLOT
    mean = np.where(promoter, cfg.sites_promoter, cfg.sites_enhancer)
    n_sites = np.minimum(1 + rng.poisson(mean - 1.0), n_slots)
    # Cooperative pairs: elements of a pair's cell type carry both motifs with pair_rate.
    forced = np.full((R, 2), -1)
    for a, b, _k, c in progs.pairs.itertuples(index=False):
        cand = np.flatnonzero((owner == c) & (forced[:, 0] < 0) & ~promoter)
        take = cand[rng.random(len(cand)) < cfg.pair_rate]
        forced[take] = (a, b)
    has_pair = forced[:, 0] >= 0
    n_sites = np.where(has_pair, np.maximum(n_sites, 2), n_sites)
    site_region = np.repeat(np.arange(R), n_sites)
    cdf = np.cumsum(weights, axis=1)[site_region]
    site_tf = np.minimum((rng.random(len(site_region))[:, None] > cdf).sum(1), T - 1)
    first = np.cumsum(n_sites) - n_sites
    pr = np.flatnonzero(has_pair)
    site_tf[first[pr]] = forced[pr, 0]
    site_tf[first[pr] + 1] = forced[pr, 1]
    counts = np.zeros((R, T), dtype=np.int64)
    np.add.at(counts, (site_region, site_tf), 1)
    joint = np.zeros((R, len(progs.pairs)), dtype=bool)
    for p, (a, b) in enumerate(zip(progs.pairs["tf_a"], progs.pairs["tf_b"], strict=True)):
        joint[:, p] = (counts[:, a] > 0) & (counts[:, b] > 0)
    names = np.array(["shared", *progs.cell_types], dtype=object)
    label = names[owner + 1]
    label = np.where(promoter & (owner < 0), "housekeeping", label)
    return Occupancy(n_sites, site_region, site_tf.astype(np.int64), label, counts, joint)


def element_activity(occ: Occupancy, progs: Programs, opening: bool = False) -> np.ndarray:
    """(R, C): sum_t x_et a_ct v_t + sum_pairs kappa a_tc a_uc [both planted].

    v_t is 1 for activating TFs and 0 for structural ones (h_ec, what drives transcription);
    ``opening=True`` counts every TF (o_ec, what opens the chromatin).
    """
    weight = progs.activity if opening else progs.activity * progs.activating[None, :]
    act = occ.counts @ weight.T
    for p, (a, b, k, _c) in enumerate(progs.pairs.itertuples(index=False)):
        act += occ.joint[:, [p]] * (k * progs.activity[:, a] * progs.activity[:, b])[None, :]
    return act


def accessibility_counts(
    cfg: SimConfig, regions: pd.DataFrame, act: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(R, C) read counts ~ NB(mean = depth_c * eff_e * (epsilon + o_ec)), and the means."""
    width = (regions["end"] - regions["start"]).to_numpy()
    eff = rng.lognormal(0.0, cfg.efficiency_sigma, len(regions))
    eff = eff * (width / 400.0) ** cfg.efficiency_width_power
    base = eff[:, None] * (cfg.accessibility_floor + act)
    depth = cfg.mean_count / base.mean(axis=0) * rng.lognormal(0.0, 0.2, act.shape[1])
    mean = base * depth[None, :]
    shape = 1.0 / cfg.dispersion
    counts = rng.poisson(mean * rng.gamma(shape, 1.0 / shape, mean.shape))
    return counts, mean


def contact(cfg: SimConfig, d: np.ndarray) -> np.ndarray:
    d = np.abs(d).astype(np.float64)
    if cfg.contact_law == "power":
        return (1.0 + d / cfg.contact_d0) ** -cfg.contact_alpha
    if cfg.contact_law == "exp":
        return np.exp(-d / cfg.contact_lambda)
    raise ValueError(f"contact_law must be 'power' or 'exp', not {cfg.contact_law!r}")


def _reach(cfg: SimConfig) -> float:
    """Largest distance at which an untargeted link is at least ``min_contact``."""
    if cfg.contact_law == "power":
        return cfg.contact_d0 * (cfg.min_contact ** (-1.0 / cfg.contact_alpha) - 1.0)
    return cfg.contact_lambda * np.log(1.0 / cfg.min_contact)


def links(
    cfg: SimConfig,
    sizes: dict[str, int],
    genes: pd.DataFrame,
    regions: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Enhancer -> gene links: region, gene, distance, domain_crossed, target, weight.

    w_eg = c(d) * (cross_domain if a domain boundary lies between) * (1 + tau [g is e's target]);
    untargeted links weaker than ``min_contact`` are absent.
    """
    reach = _reach(cfg)
    centre = ((regions["start"] + regions["end"]) // 2).to_numpy()
    enh = (regions["kind"] == "enhancer").to_numpy()
    bounds = {}
    for chrom, size in sizes.items():
        n = int(size / cfg.domain_median * 3) + 5
        bounds[chrom] = np.cumsum(rng.lognormal(np.log(cfg.domain_median), 0.5, n))
    pieces = []
    for chrom in sizes:
        rows = np.flatnonzero(enh & (regions["chrom"] == chrom).to_numpy())
        g_rows = np.flatnonzero((genes["chrom"] == chrom).to_numpy())
        if rows.size == 0 or g_rows.size == 0:
            continue
        pos = centre[rows]
        tss = genes["tss"].to_numpy()[g_rows]
        lo = np.searchsorted(pos, tss - reach, side="left")
        hi = np.searchsorted(pos, tss + reach, side="right")
        n = hi - lo
        gi = np.repeat(np.arange(len(g_rows)), n)
        ei = np.repeat(lo, n) + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        pieces.append(pd.DataFrame({"region": rows[ei], "gene": g_rows[gi]}))
    near = pd.concat(pieces, ignore_index=True)
    targets = pd.DataFrame({"region": np.flatnonzero(enh), "gene": regions["gene"].to_numpy()[enh]})
    pairs = pd.concat([near, targets], ignore_index=True).drop_duplicates(["region", "gene"])
    pairs = pairs.sort_values(["region", "gene"], ignore_index=True)
    e_pos = centre[pairs["region"].to_numpy()]
    g_tss = genes["tss"].to_numpy()[pairs["gene"].to_numpy()]
    crossed = np.zeros(len(pairs), dtype=bool)
    chrom_of = regions["chrom"].to_numpy()[pairs["region"].to_numpy()]
    for chrom in sizes:
        sel = chrom_of == chrom
        if sel.any():
            b = bounds[chrom]
            crossed[sel] = np.searchsorted(b, e_pos[sel]) != np.searchsorted(b, g_tss[sel])
    target = regions["gene"].to_numpy()[pairs["region"].to_numpy()] == pairs["gene"].to_numpy()
    w = contact(cfg, e_pos - g_tss) * np.where(crossed, cfg.cross_domain, 1.0)
    w = w * np.where(target, 1.0 + cfg.target_boost, 1.0)
    keep = target | (w >= cfg.min_contact)
    return pairs.assign(distance=e_pos - g_tss, domain_crossed=crossed, target=target, weight=w)[
        keep
    ].reset_index(drop=True)


@dataclass
class Expression:
    drive: np.ndarray  # (G, C) drive_gc = beta_p h_p(g)c + sum_e w_eg h_ec
    value: np.ndarray  # (G, C) log10(CPM + 1)
    cpm: np.ndarray  # (G, C)
    beta_p: float
    weights: sparse.csr_matrix  # (G, R): beta_p at the promoter, w_eg at linked enhancers


def expression(
    cfg: SimConfig,
    genes: pd.DataFrame,
    regions: pd.DataFrame,
    link: pd.DataFrame,
    act: np.ndarray,
    rng: np.random.Generator,
) -> Expression:
    """Drive from promoter + contact-weighted enhancers; y = drive^eta * gene * noise -> CPM."""
    G, R = len(genes), len(regions)
    prom = np.full(G, -1)
    is_prom = (regions["kind"] == "promoter").to_numpy()
    prom[regions["gene"].to_numpy()[is_prom]] = np.flatnonzero(is_prom)
    enh = sparse.csr_matrix(
        (link["weight"].to_numpy(), (link["gene"].to_numpy(), link["region"].to_numpy())),
        shape=(G, R),
    )
    p_part = act[prom]
    e_part = enh @ act
    beta_p = cfg.promoter_share / (1.0 - cfg.promoter_share) * e_part.mean() / p_part.mean()
    at_promoter = sparse.csr_matrix((np.full(G, beta_p), (np.arange(G), prom)), shape=(G, R))
    weights = (enh + at_promoter).tocsr()
    drive = beta_p * p_part + e_part
    y = (drive / drive.mean()) ** cfg.expression_power
    y = y * rng.lognormal(0.0, cfg.gene_sigma, G)[:, None]
    y = y * rng.lognormal(0.0, cfg.noise_sigma, drive.shape)
    cpm = y / y.sum(axis=0, keepdims=True) * 1e6
    return Expression(drive, np.log10(cpm + 1.0), cpm, float(beta_p), weights)


def tf_gene_effects(
    occ: Occupancy, progs: Programs, ex: Expression, min_fraction: float = 0.01
) -> pd.DataFrame:
    """Exact split of each drive_gc over TFs: gene, tf, cell_type, contribution, fraction.

    A TF's contribution is what its planted sites add to the drive through the promoter and every
    linked enhancer; a cooperative pair's term is split evenly between its two TFs.
    """
    per_tf = np.asarray(ex.weights @ occ.counts.astype(float)) * progs.activating  # (G, T)
    per_pair = np.asarray(ex.weights @ occ.joint.astype(float))  # (G, P)
    rows = []
    for c in range(len(progs.cell_types)):
        contrib = per_tf * progs.activity[c][None, :]
        for p, (a, b, k, _h) in enumerate(progs.pairs.itertuples(index=False)):
            term = per_pair[:, p] * k * progs.activity[c, a] * progs.activity[c, b]
            contrib[:, a] += term / 2
            contrib[:, b] += term / 2
        fraction = contrib / ex.drive[:, [c]]
        g, t = np.nonzero(fraction >= min_fraction)
        rows.append(
            pd.DataFrame(
                {
                    "gene": g,
                    "tf": t,
                    "cell_type": c,
                    "contribution": contrib[g, t],
                    "fraction": fraction[g, t],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
