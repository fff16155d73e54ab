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
from getx.errors import InputError, examples
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


# Warn when fewer than this share of the genes inside the peaks' span have a TSS region, or of
# a cell type's measured genes match the annotation (a partial match: another build, other ids).
LOW_MATCH = 0.1
# Warn when more than this share of the regions' bases are N (no motif hit can sit on an N).
HIGH_N = 0.1


def prepare(
    inputs: PrepareInputs,
    out: str | Path,
    options: PrepareOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Build the store at ``out`` and return its path; ``progress(done, total)`` tracks the scan.

    Every input is read and checked before the motif scan starts (see docs/format.md, "Input
    rules"): a bad file, an input that matches nothing (another genome build, other chromosome
    names, other gene ids), a cell type given twice or a genome without usable sequence at the
    peaks is an :class:`InputError` before any long work, and nothing is written.
    """
    options = options or PrepareOptions()
    _check_cell_type_names(inputs)
    check_output(out, STORE_KIND, inputs=input_paths(inputs))
    genome, chrom_sizes = _genome(inputs)
    try:
        peaks, regions, tss, genes = _regions_and_genes(inputs, options, chrom_sizes)
        accessibility = _accessibility(inputs, peaks, regions)
        expression = _expression(inputs, list(accessibility))
        cell_types = _cell_types(accessibility, expression, len(regions), genes, tss)
        if inputs.motifs == NO_MOTIFS:
            log.info("no motif features (--motifs none): the model will read accessibility alone")
            features = np.zeros((len(regions), 0), dtype=np.float32)
            feature_names: list[str] = []
            cluster_genes: dict[str, list[str]] = {}
            motif_set = None
        else:
            from getx.motifs.databases import load_motifs

            motifs = load_motifs(inputs.motifs)
            if inputs.motif_hits is None:
                check_region_sequence(genome, regions)
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
    finally:
        if genome is not None:
            genome.close()

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


def _check_cell_type_names(inputs: PrepareInputs) -> None:
    """Before any file is read: the cell types named in ``inputs`` are valid names, and, when
    the accessibility and expression files name them all, each has both."""
    from getx.io.cells import check_cell_type_name

    for pairs in (inputs.accessibility, inputs.expression):
        for name, path in pairs.items():
            check_cell_type_name(name, f"given for {path}")
    if inputs.fragments is None and inputs.atac_h5ad is None and inputs.rna_counts is None:
        for name in inputs.accessibility:
            if name not in inputs.expression:
                raise _no_expression(name, list(inputs.expression))


def _no_expression(name: str, expression: list[str]) -> InputError:
    return InputError(
        f"cell type {name!r} has accessibility but no expression; "
        f"expression has: {', '.join(expression) or 'nothing'}"
    )


def _regions_and_genes(
    inputs: PrepareInputs, options: PrepareOptions, chrom_sizes: dict[str, int]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The cleaned peaks, their regions, the annotation's TSSs (in the genome's chromosome
    spelling) and the gene index; an :class:`InputError` when no gene has a TSS region."""
    from getx.io.annotation import load_annotation
    from getx.io.genome import harmonise_chroms
    from getx.io.peaks import read_peaks

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
        raise InputError(
            "no peaks left after filtering (the log says what was dropped)", inputs.peaks
        )
    regions = peaks[["chrom", "start", "end"]].reset_index(drop=True)
    log.info("%d regions on %d chromosomes", len(regions), regions["chrom"].nunique())

    tss = load_annotation(inputs.annotation)
    if tss.empty:
        raise InputError("no genes (no transcript or gene lines?)", inputs.annotation)
    mapping = harmonise_chroms(
        tss["chrom"].unique(), chrom_sizes, source=inputs.annotation, strict=False
    )
    tss = tss.assign(chrom=tss["chrom"].map(lambda c: mapping.get(c, c)))
    genes = gene_index(regions, tss, flank=options.promoter_flank)
    _check_gene_regions(genes, tss, regions, inputs, options.promoter_flank)
    return peaks, regions, tss, genes


def _check_gene_regions(
    genes: pd.DataFrame, tss: pd.DataFrame, regions: pd.DataFrame, inputs, flank: int
) -> None:
    """Refuse an annotation none of whose genes has a TSS region, saying why that is likely;
    warn when few of the genes inside the peaks' span have one."""
    annotation = Path(inputs.annotation).name
    n_genes = tss["gene_id"].nunique()
    peak_chroms = regions["chrom"].unique()
    on_chroms = tss[tss["chrom"].isin(peak_chroms)]
    if on_chroms.empty:
        raise InputError(
            f"0 of {n_genes:,} genes of {annotation} lie on the peaks' chromosomes "
            f"({examples(peak_chroms)}); its genes are on "
            f"{examples(tss['chrom'].unique())}: other chromosome names, or another organism?",
            inputs.annotation,
        )
    span = regions.groupby("chrom").agg(lo=("start", "min"), hi=("end", "max"))
    bounds = span.reindex(on_chroms["chrom"].to_numpy())
    inside = (on_chroms["tss"].to_numpy() >= bounds["lo"].to_numpy() - flank) & (
        on_chroms["tss"].to_numpy() < bounds["hi"].to_numpy() + flank
    )
    n_inside = on_chroms.loc[inside, "gene_id"].nunique()
    n_with = genes["gene_id"].nunique()
    if n_with == 0 and n_inside == 0:
        raise InputError(
            f"no gene of {annotation} has a TSS inside the span of the {len(regions):,} peaks "
            f"of {Path(inputs.peaks).name} (another genome build?): no expression labels to "
            "learn from",
            inputs.annotation,
        )
    if n_with == 0:
        raise InputError(
            f"none of the {n_inside:,} genes of {annotation} inside the span of the peaks has a "
            f"TSS within {flank} bp of one of the {len(regions):,} peaks of "
            f"{Path(inputs.peaks).name}: coordinates of another genome build?",
            inputs.annotation,
        )
    log.info(
        "%d of %d genes of %s inside the peaks' span have a TSS promoter in a region "
        "(%d gene-region rows)",
        n_with,
        n_inside,
        annotation,
        len(genes),
    )
    if n_with < LOW_MATCH * n_inside:
        log.warning(
            "only %d of %d genes of %s inside the peaks' span (%.1f%%) have a TSS within %d bp of "
            "a peak: is the annotation of the peaks' genome build?",
            n_with,
            n_inside,
            annotation,
            100 * n_with / n_inside,
            flank,
        )


def check_region_sequence(genome: Genome, regions: pd.DataFrame) -> None:
    """Read every region's sequence once before the scan: a base that is no IUPAC code stops
    here (:meth:`Genome.fetch` names file, sequence and position), and regions of N, where no
    motif hit can be, are counted: all N is an :class:`InputError` (the features would all be
    zero), more than ``HIGH_N`` of the bases a warning with the counts."""
    total = n_bases = all_n = 0
    for chrom, start, end in regions[["chrom", "start", "end"]].itertuples(index=False):
        seq = genome.fetch(str(chrom), int(start), int(end))
        known = sum(seq.count(base) for base in "ACGT")
        total += len(seq)
        n_bases += len(seq) - known
        all_n += known == 0
    if total and n_bases == total:
        raise InputError(
            f"the sequence of all {len(regions):,} regions is N (or other non-ACGT codes): "
            "no motif can be scanned (a masked or placeholder genome?)",
            genome.path,
        )
    log.info(
        "%s: %.2f%% of the regions' %d bp are N; %d region(s) entirely N",
        genome.path,
        100 * n_bases / max(total, 1),
        total,
        all_n,
    )
    if n_bases > HIGH_N * total:
        log.warning(
            "%s: %.1f%% of the regions' bases are N (%d of %d bp; %d of %d regions entirely N): "
            "their motif features are zero where the sequence is unknown",
            genome.path,
            100 * n_bases / total,
            n_bases,
            total,
            all_n,
            len(regions),
        )


def _cell_types(
    accessibility: dict[str, tuple[np.ndarray, Path]],
    expression: dict[str, tuple[pd.Series, Path]],
    n_regions: int,
    genes: pd.DataFrame,
    tss: pd.DataFrame,
) -> dict[str, CellTypeData]:
    """Per cell type, normalised accessibility and the expression labels on its regions."""
    from getx.io.expression import match_genes

    cell_types = {}
    for name, (counts, counts_source) in accessibility.items():
        if name not in expression:
            raise _no_expression(name, list(expression))
        values, source = expression[name]
        report = match_genes(values.index, tss)
        where = f"cell type {name!r} ({Path(source).name})"
        if report.n_matched == 0:
            raise InputError(
                f"{where}: 0 of {report.n_genes:,} measured genes match a gene of the annotation "
                f"by id or name (measured e.g. {', '.join(report.unmatched_examples[:3])}; the "
                f"annotation has e.g. {', '.join(map(str, tss['gene_name'].iloc[:3]))}): "
                "other gene ids, or another organism?",
                source,
            )
        gene_rows, matched = gene_values(genes, values, annotation=tss, report=report)
        if matched == 0:
            raise InputError(
                f"{where}: none of the {report.n_matched:,} measured genes that match the "
                "annotation has a TSS region: no expression labels to learn from",
                source,
            )
        log.info(
            "%s: %d of %d measured genes match the annotation (%d by id, %d by name); %d have a "
            "TSS region",
            where,
            report.n_matched,
            report.n_genes,
            report.n_by_id,
            report.n_by_name,
            matched,
        )
        if report.n_matched < LOW_MATCH * report.n_genes:
            log.warning(
                "%s: only %d of %d measured genes (%.1f%%) match the annotation (e.g. not %s): "
                "other gene ids?",
                where,
                report.n_matched,
                report.n_genes,
                100 * report.n_matched / report.n_genes,
                ", ".join(report.unmatched_examples[:3]),
            )
        labels = region_labels(n_regions, genes, gene_rows)
        cell_types[name] = CellTypeData(
            accessibility_raw=counts.astype(np.float32),
            accessibility=_normalise(counts, name, counts_source),
            expression=labels.expression,
            tss=labels.tss,
            gene_expression=gene_rows,
        )
    extra = sorted(set(expression) - set(accessibility))
    if extra:
        log.warning("expression for cell types without accessibility ignored: %s", ", ".join(extra))
    return cell_types


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


def _normalise(counts: np.ndarray, name: str, source: Path) -> np.ndarray:
    from getx.io.accessibility import normalise_accessibility

    try:
        return normalise_accessibility(counts, name=repr(name))
    except InputError as error:
        raise InputError(str(error), source) from None


def _add(result: dict, name: object, value: object, source: Path, what: str) -> None:
    """Add cell type ``name`` (checked) from ``source``; a cell type given twice, by two
    inputs or by one, is an :class:`InputError` naming both."""
    from getx.io.cells import check_cell_type_name

    name = check_cell_type_name(name, source)
    if name in result:
        raise InputError(
            f"{what} for cell type {name!r} is given twice: by {result[name][1]} and by {source}"
        )
    result[name] = (value, source)


def _accessibility(
    inputs: PrepareInputs, peaks: pd.DataFrame, regions: pd.DataFrame
) -> dict[str, tuple[np.ndarray, Path]]:
    """Raw counts per cell type, each with the file it came from."""
    from getx.io import accessibility as acc

    result: dict[str, tuple[np.ndarray, Path]] = {}
    for name, path in inputs.accessibility.items():
        _add(result, name, np.asarray(acc.counts_from_bed(path, regions), np.float64), path,
             "accessibility")  # fmt: skip
    if inputs.fragments is not None:
        if inputs.barcodes is None:
            raise InputError("--fragments needs --barcodes (a barcode -> cell type table)")
        table = acc.counts_from_fragments(inputs.fragments, inputs.barcodes, regions)
        for c in table.columns:
            _add(result, c, table[c].to_numpy(np.float64), inputs.fragments, "accessibility")
    if inputs.atac_h5ad is not None:
        table = acc.counts_from_h5ad(inputs.atac_h5ad, inputs.cell_type_column, regions)
        for c in table.columns:
            _add(result, c, table[c].to_numpy(np.float64), inputs.atac_h5ad, "accessibility")
    if not result:
        if "score" not in peaks.columns:
            raise InputError(
                "no accessibility given and the peak file has no score column", inputs.peaks
            )
        name = _stem(inputs.peaks)
        log.info("accessibility for cell type %r from the peak file's score column", name)
        _add(result, name, peaks["score"].to_numpy(np.float64), inputs.peaks, "accessibility")
    return result


def _expression(inputs: PrepareInputs, cell_types: list[str]) -> dict[str, tuple[pd.Series, Path]]:
    """Expression per cell type, each with the file it came from."""
    from getx.io import expression as ex

    result: dict[str, tuple[pd.Series, Path]] = {}
    for name, path in inputs.expression.items():
        _add(result, name, ex.read_gene_table(path), path, "expression")
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
        for c in table.columns:
            _add(result, c, table[c], inputs.rna_counts, "expression")
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
