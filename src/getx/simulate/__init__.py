"""A seeded simulator of regulatory genomics data whose truth is known.

``simulate(out_dir, preset="demo")`` writes a genome, genes, peaks with per-cell-type counts and
per-cell-type expression, in the formats ``getx prepare`` reads, plus ``truth/`` tables saying
which enhancers drive which genes, which TFs matter and which TF pairs cooperate. It lets a new
user run the whole system offline, and lets tests check that training and interpretation recover
what is really there. The generative model is documented in docs/simulator.md.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from getx.errors import InputError, check_range
from getx.io.files import atomic_output, check_output, folder_marked_by, json_kind
from getx.simulate.config import PRESETS, SimConfig

log = logging.getLogger(__name__)

__all__ = ["PRESETS", "SimConfig", "SimulatedFiles", "simulate"]

SIMULATION_KIND = folder_marked_by(
    "simulated dataset",
    "manifest.json",
    json_kind("simulation manifest", {"simulator": "getx.simulate"}),
)


@dataclass
class SimulatedFiles:
    """Paths of the written files and the truth tables (also written under ``truth/``).

    Truth tables (columns documented in docs/simulator.md): ``regions``, ``genes``, ``sites``,
    ``enhancer_gene``, ``tf_gene``, ``tf_pairs``, ``tf_activity``.
    """

    out_dir: Path
    genome: Path
    peaks: Path
    annotation: Path
    accessibility: dict[str, Path]
    expression: dict[str, Path]
    cell_types: list[str]
    truth_files: dict[str, Path]
    truth: dict[str, pd.DataFrame] = field(repr=False)
    rna_counts: Path | None = None
    barcodes: Path | None = None
    manifest: Path | None = None

    def relocated(self, old: Path, new: Path) -> SimulatedFiles:
        """The same files with ``old`` (the folder they were written in) read as ``new``."""

        def move(value):
            if isinstance(value, Path):
                return new / value.relative_to(old)
            if isinstance(value, dict):
                return {k: move(v) for k, v in value.items()}
            return value

        return dataclasses.replace(
            self, **{f.name: move(getattr(self, f.name)) for f in dataclasses.fields(self)}
        )

    def prepare_inputs(self):
        """The matching ``getx.prepare.PrepareInputs`` (union peaks, per-cell-type files)."""
        from getx.prepare import PrepareInputs

        return PrepareInputs(
            peaks=self.peaks,
            genome=self.genome,
            annotation=self.annotation,
            accessibility=dict(self.accessibility),
            expression=dict(self.expression),
        )


def simulate(
    out_dir: str | Path,
    preset: str = "tiny",
    seed: int = 0,
    motifs=None,
    config: SimConfig | None = None,
) -> SimulatedFiles:
    """Generate a dataset from ``seed`` into ``out_dir`` and return its paths and truth.

    ``preset``: "tiny" (CI, ~1 s), "small", "demo" (learnable in minutes on 2 cores) or "large"
    (scale tests); ``config`` overrides the preset entirely. ``motifs``: a MotifSet (e.g. GET's v1
    clusters from ``load_nrmotif_v1``) or None for JASPAR 2024 via pyjaspar. Same inputs give
    byte-identical files. The folder is written whole, atomically: it replaces only an earlier
    simulated dataset (or an empty folder), and a failed run leaves nothing.
    """
    if config is None:
        if preset not in PRESETS:
            raise InputError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        config = PRESETS[preset]
    label = preset if config is PRESETS.get(preset) else "custom"
    check_range("seed", seed, 0, 2**32 - 1)
    final = Path(out_dir)
    check_output(final, SIMULATION_KIND)
    if motifs is None:
        from getx.motifs.databases import load_jaspar

        motifs = load_jaspar()
    with atomic_output(final, SIMULATION_KIND) as tmp:
        tmp.mkdir()
        files = _write_dataset(tmp, config, label, seed, motifs)
    return files.relocated(tmp, final)


def _write_dataset(out: Path, cfg: SimConfig, label: str, seed: int, motifs) -> SimulatedFiles:
    """Generate the dataset of ``cfg`` (a preset's, named ``label``) and write it into the new
    folder ``out``."""
    from getx.simulate import genome as gn
    from getx.simulate import regulation as rg
    from getx.simulate import writers as wr

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)

    sizes = gn.chrom_sizes(cfg)
    genes = gn.place_genes(cfg, sizes, rng)
    regions = gn.place_regions(cfg, sizes, genes, rng)
    seqs = gn.base_sequence(cfg, sizes, genes, rng)
    tfs = gn.choose_tfs(motifs, cfg.n_tfs, rng)
    progs = rg.tf_programs(cfg, cfg.n_tfs, rng)
    occ = rg.assign_sites(cfg, regions, progs, rng)
    sites = gn.plant_sites(seqs, regions, occ.n_sites, occ.site_tf, occ.site_region, tfs, rng)
    act = rg.element_activity(occ, progs)
    opening = rg.element_activity(occ, progs, opening=True)
    counts, _mean = rg.accessibility_counts(cfg, regions, opening, rng)
    link = rg.links(cfg, sizes, genes, regions, rng)
    ex = rg.expression(cfg, genes, regions, link, act, rng)
    effects = rg.tf_gene_effects(occ, progs, ex)
    exon_lists = wr.exons(genes, rng)
    t_gen = time.perf_counter() - t0

    cts = progs.cell_types
    names = genes["gene_name"].to_numpy()
    rid = regions["region_id"].to_numpy()
    tf_names = np.array(tfs.names, dtype=object)

    # --- inputs, as a user would bring them ---
    fasta = out / "genome.fa"
    wr.write_fasta(fasta, seqs)
    coords = regions[["chrom", "start", "end"]]
    union = out / "peaks.bed"
    wr.write_table(union, coords, header=False)
    accessibility, expression = {}, {}
    for c, ct in enumerate(cts):
        called = counts[:, c] >= cfg.call_min
        path = out / f"peaks.{ct}.bed"
        wr.write_table(path, coords[called].assign(count=counts[called, c]), header=False)
        accessibility[ct] = path
        path = out / f"rna.{ct}.csv"
        wr.write_table(path, pd.DataFrame({"gene_name": names, "TPM": ex.value[:, c]}), sep=",")
        expression[ct] = path
    gtf = out / "genes.gtf"
    wr.write_gtf(gtf, genes.assign(exons=exon_lists))
    rna_counts = barcodes = None
    if cfg.cells_per_type > 0:
        rna_counts, barcodes = _write_cells(out, cfg, names, cts, ex.cpm, rng, wr)

    # --- truth ---
    ct_cols = {f"activity_{ct}": act[:, c] for c, ct in enumerate(cts)}
    ct_cols |= {f"opening_{ct}": opening[:, c] for c, ct in enumerate(cts)}
    ct_cols |= {f"count_{ct}": counts[:, c] for c, ct in enumerate(cts)}
    site_tfs = (
        pd.DataFrame({"r": occ.site_region, "tf": tf_names[occ.site_tf]})
        .groupby("r")["tf"]
        .agg(lambda s: ",".join(sorted(set(s))))
    )
    truth_regions = pd.DataFrame(
        {
            "region_id": rid,
            "chrom": regions["chrom"],
            "start": regions["start"],
            "end": regions["end"],
            "kind": regions["kind"],
            "gene_name": names[regions["gene"].to_numpy()],
            "distance": regions["distance"],
            "program": occ.label,
            "n_sites": occ.n_sites,
            "tfs": site_tfs.reindex(np.arange(len(regions)), fill_value="").to_numpy(),
            **ct_cols,
        }
    )
    prom_row = np.full(len(genes), -1)
    is_prom = (regions["kind"] == "promoter").to_numpy()
    prom_row[regions["gene"].to_numpy()[is_prom]] = np.flatnonzero(is_prom)
    truth_genes = genes[
        ["gene_id", "gene_name", "gene_type", "chrom", "tss", "strand", "cpg"]
    ].assign(
        promoter=rid[prom_row],
        **{f"drive_{ct}": ex.drive[:, c] for c, ct in enumerate(cts)},
        **{f"expression_{ct}": ex.value[:, c] for c, ct in enumerate(cts)},
    )
    sites_t = pd.DataFrame(
        {
            "region_id": rid[sites["region"]],
            "chrom": regions["chrom"].to_numpy()[sites["region"]],
            "start": sites["start"],
            "end": sites["end"],
            "strand": sites["strand"],
            "tf": tf_names[sites["tf"]],
            "motif": np.array(tfs.motif_names, dtype=object)[sites["tf"]],
            "cluster": np.array(tfs.clusters, dtype=object)[sites["tf"]],
            "score": sites["score"],
        }
    )
    e, g = link["region"].to_numpy(), link["gene"].to_numpy()
    enh_gene = pd.DataFrame(
        {
            "region_id": rid[e],
            "chrom": regions["chrom"].to_numpy()[e],
            "start": regions["start"].to_numpy()[e],
            "end": regions["end"].to_numpy()[e],
            "gene_name": names[g],
            "distance": link["distance"],
            "domain_crossed": link["domain_crossed"].astype(int),
            "target": link["target"].astype(int),
            "weight": link["weight"],
            **{
                f"effect_{ct}": link["weight"] * act[e, c] / ex.drive[g, c]
                for c, ct in enumerate(cts)
            },
        }
    )
    tf_gene = pd.DataFrame(
        {
            "tf": tf_names[effects["tf"]],
            "cluster": np.array(tfs.clusters, dtype=object)[effects["tf"]],
            "gene_name": names[effects["gene"]],
            "cell_type": np.array(cts, dtype=object)[effects["cell_type"]],
            "contribution": effects["contribution"],
            "fraction": effects["fraction"],
        }
    )
    pr = progs.pairs
    tf_pairs = pd.DataFrame(
        {
            "tf_a": tf_names[pr["tf_a"]],
            "tf_b": tf_names[pr["tf_b"]],
            "cluster_a": np.array(tfs.clusters, dtype=object)[pr["tf_a"]],
            "cluster_b": np.array(tfs.clusters, dtype=object)[pr["tf_b"]],
            "kappa": pr["kappa"],
            "cell_type": np.array(cts, dtype=object)[pr["cell_type"]],
            "n_regions_joint": occ.joint.sum(axis=0),
        }
    )
    tf_activity = pd.DataFrame(
        {
            "tf": tf_names,
            "motif": tfs.motif_names,
            "cluster": tfs.clusters,
            "role": np.where(
                ~progs.activating,
                "structural",
                np.where(progs.ubiquitous, "ubiquitous", "specific"),
            ),
            **{ct: progs.activity[c] for c, ct in enumerate(cts)},
        }
    )
    truth = {
        "regions": truth_regions,
        "genes": truth_genes,
        "sites": sites_t,
        "enhancer_gene": enh_gene,
        "tf_gene": tf_gene,
        "tf_pairs": tf_pairs,
        "tf_activity": tf_activity,
    }
    truth_files = {k: wr.write_table(out / "truth" / f"{k}.tsv", v) for k, v in truth.items()}
    manifest = wr.write_json(
        out / "manifest.json",
        {
            "simulator": "getx.simulate",
            "preset": label,
            "seed": int(seed),
            "config": dataclasses.asdict(cfg),
            "motif_set": {"source": motifs.source, "checksum": motifs.checksum()},
            "cell_types": cts,
            "chrom_sizes": sizes,
            "beta_promoter": ex.beta_p,
            "files": {
                "genome": fasta.name,
                "peaks": union.name,
                "annotation": gtf.name,
                "accessibility": {k: v.name for k, v in accessibility.items()},
                "expression": {k: v.name for k, v in expression.items()},
                "rna_counts": rna_counts.name if rna_counts else None,
                "barcodes": barcodes.name if barcodes else None,
                "truth": {k: str(v.relative_to(out)) for k, v in truth_files.items()},
            },
        },
    )
    log.info(
        "simulated %d genes, %d regions, %d cell types on %d chromosomes (%.1f Mb) in %.1f s "
        "(+%.1f s writing)",
        len(genes),
        len(regions),
        len(cts),
        len(sizes),
        sum(sizes.values()) / 1e6,
        t_gen,
        time.perf_counter() - t0 - t_gen,
    )
    return SimulatedFiles(
        out_dir=out,
        genome=fasta,
        peaks=union,
        annotation=gtf,
        accessibility=accessibility,
        expression=expression,
        cell_types=cts,
        truth_files=truth_files,
        truth=truth,
        rna_counts=rna_counts,
        barcodes=barcodes,
        manifest=manifest,
    )


def _write_cells(out, cfg, names, cts, cpm, rng, wr):
    """Genes x cells UMI counts (CSV.gz) drawn from each cell type's CPM, and barcode -> type."""
    n = cfg.cells_per_type
    barcodes = [f"{ct}_cell{i + 1:05d}" for ct in cts for i in range(n)]
    columns = []
    for c in range(len(cts)):
        p = cpm[:, c] / cpm[:, c].sum()
        size = rng.lognormal(0.0, 0.3, n) * cfg.reads_per_cell
        columns.append(rng.poisson(p[:, None] * size[None, :]))
    matrix = pd.DataFrame(np.concatenate(columns, axis=1), columns=barcodes)
    matrix.insert(0, "gene", names)
    counts = wr.write_table(out / "rna_counts.csv.gz", matrix, sep=",")
    table = pd.DataFrame({"barcode": barcodes, "cell_type": np.repeat(cts, n)})
    return counts, wr.write_table(out / "barcodes.tsv", table)
