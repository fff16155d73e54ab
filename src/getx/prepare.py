"""Build a region store from a user's files: peaks, genome, annotation, accessibility, RNA.

Steps: read and clean the peaks -> motif-cluster features per peak (scanned from the genome, or
aggregated from a precomputed motif-hit BED, or none: ``motifs="none"``) -> per cell type
accessibility (raw and normalised) -> per cell type expression (pseudobulked when single-cell)
placed on promoter peaks -> one zarr store, written atomically (see docs/format.md).

Without a genome (``chrom_sizes`` instead) a store can still be built: with ``motifs="none"``
its regions carry no motif columns (F = 0) and the model reads accessibility alone; with
``motif_hits`` the features come from the hit BED.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import getx
from getx.errors import InputError
from getx.io.files import check_output
from getx.labels import PROMOTER_FLANK, gene_index, gene_values, region_labels
from getx.store import STORE_KIND, CellTypeData, write_store

if TYPE_CHECKING:
    from getx.io.genome import Genome

log = logging.getLogger(__name__)

NO_MOTIFS = "none"


@dataclass
class PrepareInputs:
    """Everything ``getx prepare`` reads. Paths are the user's files, read in place.

    Accessibility comes from one of: ``accessibility`` (cell type -> BED/bedGraph with a count
    column), ``fragments`` + ``barcodes`` (pseudobulk insertions per peak), ``atac_h5ad`` +
    ``cell_type_column``, or, with no source, the peak file's own score column for a single cell
    type. Expression comes from ``expression`` (cell type -> gene table) and/or ``rna_counts``
    (a genes x cells matrix, .h5ad or 10x files, pseudobulked per cell type through ``barcodes``
    or ``rna_cell_type_column``). Without ``genome``, ``chrom_sizes`` bounds the peaks and
    ``motifs`` must be ``"none"`` (or the features come from ``motif_hits``).
    """

    peaks: Path
    genome: Path | None
    annotation: Path
    motifs: str = "jaspar2024"  # or NO_MOTIFS: no motif columns, accessibility alone
    motif_hits: Path | None = None
    accessibility: dict[str, Path] = field(default_factory=dict)
    fragments: Path | None = None
    atac_h5ad: Path | None = None
    barcodes: Path | None = None
    cell_type_column: str = "cell_type"
    expression: dict[str, Path] = field(default_factory=dict)
    rna_counts: Path | None = None
    genome_offsets: dict[str, int] = field(default_factory=dict)
    chrom_sizes: Path | None = None  # chrom.sizes file, for stores built without a genome


@dataclass
class PrepareOptions:
    p_value: float = 1e-4
    background: str | None = None  # None: the motif set's own; "gc": the peaks' GC content
    peak_width: int | None = None  # resize around the summit (GET used 400)
    drop_chroms: tuple[str, ...] = ("chrM", "chrY")
    canonical_only: bool = True
    max_peak_width: int | None = 10_000
    promoter_flank: int = PROMOTER_FLANK


def prepare(
    inputs: PrepareInputs,
    out: str | Path,
    options: PrepareOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Build the store at ``out`` and return its path; ``progress(done, total)`` tracks the scan."""
    from getx.io.annotation import load_annotation
    from getx.io.genome import harmonise_chroms
    from getx.io.peaks import read_peaks

    options = options or PrepareOptions()
    check_output(out, STORE_KIND, inputs=input_paths(inputs))
    genome, chrom_sizes = _genome(inputs)
    peaks = read_peaks(
        inputs.peaks,
        chrom_sizes=chrom_sizes,
        drop_chroms=options.drop_chroms,
        canonical_only=options.canonical_only,
        width=options.peak_width,
        duplicates="merge",
        max_width=options.max_peak_width,
    )
    if peaks.empty:
        raise InputError("no peaks left after filtering", inputs.peaks)
    regions = peaks[["chrom", "start", "end"]].reset_index(drop=True)
    log.info("%d regions on %d chromosomes", len(regions), regions["chrom"].nunique())

    tss = load_annotation(inputs.annotation)
    mapping = harmonise_chroms(
        tss["chrom"].unique(), chrom_sizes, source=inputs.annotation, strict=False
    )
    tss = tss.assign(chrom=tss["chrom"].map(lambda c: mapping.get(c, c)))
    genes = gene_index(regions, tss, flank=options.promoter_flank)
    log.info(
        "%d genes have a TSS promoter in a region (%d gene-region rows)",
        genes["gene_id"].nunique(),
        len(genes),
    )

    if inputs.motifs == NO_MOTIFS:
        log.info("no motif features (--motifs none): the model will read accessibility alone")
        features = np.zeros((len(regions), 0), dtype=np.float32)
        feature_names: list[str] = []
        cluster_genes: dict[str, list[str]] = {}
        motif_set = None
    else:
        from getx.motifs.databases import load_motifs

        motifs = load_motifs(inputs.motifs)
        features = _features(inputs, options, genome, regions, motifs, progress)
        feature_names, cluster_genes = list(motifs.clusters), motifs.cluster_genes
        motif_set = {
            "source": motifs.source,
            "checksum": motifs.checksum(),
            "n_motifs": len(motifs.names),
            "p_value": options.p_value,
            "background": options.background or "motif set",
            "from_hit_bed": str(inputs.motif_hits) if inputs.motif_hits else None,
        }

    accessibility = _accessibility(inputs, peaks, regions)
    expression = _expression(inputs, list(accessibility))
    cell_types = {}
    for name, counts in accessibility.items():
        if name not in expression:
            raise InputError(
                f"cell type {name!r} has accessibility but no expression; "
                f"expression has: {', '.join(expression) or 'nothing'}"
            )
        values, matched = gene_values(genes, expression[name], annotation=tss)
        log.info(
            "%s: %d of %d measured genes matched a gene with a TSS region",
            name,
            matched,
            len(expression[name]),
        )
        labels = region_labels(len(regions), genes, values)
        cell_types[name] = CellTypeData(
            accessibility_raw=counts.astype(np.float32),
            accessibility=_normalise(counts, name),
            expression=labels.expression,
            tss=labels.tss,
            gene_expression=values,
        )
    extra = sorted(set(expression) - set(accessibility))
    if extra:
        log.warning("expression for cell types without accessibility ignored: %s", extra)

    return write_store(
        out,
        regions=regions,
        features=features,
        feature_names=feature_names,
        cluster_genes=cluster_genes,
        cell_types=cell_types,
        genes=genes,
        attrs={
            "getx_version": getx.__version__,
            "genome": str(inputs.genome) if inputs.genome is not None else None,
            "chrom_sizes": str(inputs.chrom_sizes) if inputs.chrom_sizes is not None else None,
            "annotation": str(inputs.annotation),
            "peaks": str(inputs.peaks),
            "promoter_flank": options.promoter_flank,
            "motif_set": motif_set,
        },
    )


def input_paths(inputs: PrepareInputs) -> list[Path]:
    """Every file (or folder) ``inputs`` names: the store may not replace or hold any of them."""
    paths = []
    for item in fields(inputs):
        value = getattr(inputs, item.name)
        for one in value.values() if isinstance(value, dict) else [value]:
            if isinstance(one, Path) or (isinstance(one, str) and Path(one).exists()):
                paths.append(Path(one))
    return paths


def _genome(inputs: PrepareInputs) -> tuple[Genome | None, dict[str, int]]:
    """The open genome (None without one) and the chromosome sizes the peaks are checked against."""
    from getx.io.genome import open_genome, read_chrom_sizes

    if inputs.genome is not None:
        genome = open_genome(inputs.genome, offsets=inputs.genome_offsets or None)
        return genome, genome.chrom_sizes
    if inputs.chrom_sizes is None:
        raise InputError("give a genome (--genome) or chromosome sizes (--chrom-sizes)")
    if inputs.motifs != NO_MOTIFS and inputs.motif_hits is None:
        raise InputError(
            f"motif features ({inputs.motifs!r}) are scanned from sequence: give --genome, "
            "--motif-hits, or --motifs none for a store of accessibility alone"
        )
    return None, read_chrom_sizes(inputs.chrom_sizes)


def _features(inputs, options, genome, regions, motifs, progress) -> np.ndarray:
    if inputs.motif_hits is not None:
        from getx.motifs.hits import aggregate_hit_bed

        log.info("aggregating precomputed motif hits from %s", inputs.motif_hits)
        return aggregate_hit_bed(inputs.motif_hits, regions, motifs.clusters)
    from getx.motifs.scanning import region_features

    log.info(
        "scanning %d regions with %d motifs (%d clusters), p < %g",
        len(regions),
        len(motifs.names),
        len(motifs.clusters),
        options.p_value,
    )
    return region_features(
        genome,
        regions,
        motifs,
        p_value=options.p_value,
        background=options.background,
        progress=progress,
    )


def _normalise(counts: np.ndarray, name: str) -> np.ndarray:
    from getx.io.accessibility import normalise_accessibility

    try:
        return normalise_accessibility(counts)
    except InputError as error:
        raise InputError(f"cell type {name!r}: {error}") from error


def _accessibility(inputs: PrepareInputs, peaks: pd.DataFrame, regions) -> dict[str, np.ndarray]:
    from getx.io import accessibility as acc

    result: dict[str, np.ndarray] = {}
    for name, path in inputs.accessibility.items():
        result[name] = np.asarray(acc.counts_from_bed(path, regions), dtype=np.float64)
    if inputs.fragments is not None:
        if inputs.barcodes is None:
            raise InputError("--fragments needs --barcodes (a barcode -> cell type table)")
        table = acc.counts_from_fragments(inputs.fragments, inputs.barcodes, regions)
        result.update({str(c): table[c].to_numpy(np.float64) for c in table.columns})
    if inputs.atac_h5ad is not None:
        table = acc.counts_from_h5ad(inputs.atac_h5ad, inputs.cell_type_column, regions)
        result.update({str(c): table[c].to_numpy(np.float64) for c in table.columns})
    if not result:
        if "score" not in peaks.columns:
            raise InputError(
                "no accessibility given and the peak file has no score column", inputs.peaks
            )
        name = _stem(inputs.peaks)
        log.info("accessibility for cell type %r from the peak file's score column", name)
        result[name] = peaks["score"].to_numpy(np.float64)
    return result


def _expression(inputs: PrepareInputs, cell_types: list[str]) -> dict[str, pd.Series]:
    from getx.io import expression as ex

    result = {name: ex.read_gene_table(path) for name, path in inputs.expression.items()}
    if inputs.rna_counts is not None:
        single = cell_types[0] if len(cell_types) == 1 and inputs.barcodes is None else None
        table = ex.read_pseudobulk(
            inputs.rna_counts,
            cell_types=inputs.barcodes,
            name=single,
            cell_type_column=inputs.cell_type_column
            if inputs.rna_counts.suffix == ".h5ad" and inputs.barcodes is None
            else None,
        ).log10cpm
        result.update({str(c): table[c] for c in table.columns})
    if not result:
        raise InputError("no expression given: pass --expression CELLTYPE=FILE or --rna-counts")
    return result


def _stem(path: Path) -> str:
    name = Path(path).name
    for suffix in (".gz", ".bed", ".narrowPeak", ".bedgraph", ".tsv", ".txt"):
        name = name.removesuffix(suffix)
    return name


# What discover_inputs recognises in a folder, by file name.
GENOME_SUFFIXES = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz", ".2bit")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
BED_SUFFIXES = (".bed", ".bed.gz", ".bedgraph", ".bedgraph.gz", ".narrowPeak", ".narrowPeak.gz")


def discover_inputs(folder: str | Path, motifs: str = "jaspar2024") -> PrepareInputs:
    """``PrepareInputs`` from a folder laid out as ``getx simulate`` writes it.

    One genome (FASTA or 2bit), one GTF, the union peaks ``peaks.bed`` (or ``peaks.narrowPeak``),
    and per cell type ``peaks.<ct>.bed`` (a count column) and ``rna.<ct>.csv``/``.tsv``. Cell types
    are those with both files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("not a folder", folder)
    files = sorted(p for p in folder.iterdir() if p.is_file())

    def one(kind: str, matches: list[Path]) -> Path:
        if len(matches) != 1:
            found = ", ".join(p.name for p in matches) or "none"
            raise InputError(f"expected exactly one {kind} file, found {found}", folder)
        return matches[0]

    def named(stem: str, suffixes: tuple[str, ...]) -> dict[str, Path]:
        out = {}
        for p in files:
            for suffix in suffixes:
                if p.name.startswith(stem + ".") and p.name.endswith(suffix):
                    middle = p.name[len(stem) + 1 : -len(suffix)]
                    if middle:
                        out[middle] = p
        return out

    genome = one(
        "genome (.fa/.fasta/.fna[.gz]/.2bit)",
        [p for p in files if p.name.endswith(GENOME_SUFFIXES)],
    )
    annotation = one(
        "annotation (.gtf[.gz])", [p for p in files if p.name.endswith((".gtf", ".gtf.gz"))]
    )
    union = [p for p in files if p.name in {"peaks" + s for s in BED_SUFFIXES}]
    accessibility = named("peaks", BED_SUFFIXES)
    expression = named("rna", TABLE_SUFFIXES)
    cell_types = sorted(set(accessibility) & set(expression))
    if not cell_types:
        raise InputError(
            "no cell type has both peaks.<ct>.bed (counts) and rna.<ct>.csv; "
            f"found peaks for {sorted(accessibility)} and RNA for {sorted(expression)}",
            folder,
        )
    return PrepareInputs(
        peaks=one("union peaks (peaks.bed)", union),
        genome=genome,
        annotation=annotation,
        motifs=motifs,
        accessibility={ct: accessibility[ct] for ct in cell_types},
        expression={ct: expression[ct] for ct in cell_types},
    )
