"""The ``getx`` command. Each subcommand is a thin shell over a library function."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from typer.core import TyperGroup

from getx.catalog import commands as catalog_commands
from getx.interpret import commands as interpret_commands
from getx.motifs import commands as motif_commands
from getx.simulate import commands as simulate_commands
from getx.structures import commands as structures_commands
from getx.train import commands as train_commands

log = logging.getLogger("getx")

# click's UsageError, found through typer's public BadParameter: typer vendors click in recent
# versions (typer._click) and imports the click package in older ones.
UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


class _Commands(TyperGroup):
    """The ``getx`` group: bad input ends with one line and exit code 2, never a traceback.

    Bad input is :class:`getx.errors.InputError` and every other ``ValueError`` (a setting out
    of range, an unknown name), an ``OverflowError`` (a number too large for its setting), a file
    that cannot be opened, and a command line typer cannot parse (a wrong type, a missing
    option); ``--verbose`` logs the traceback too.
    """

    def main(self, args=None, *rest, **options):
        # Kept so that a value typer cannot parse can be named in the error line.
        self._given = list(sys.argv[1:] if args is None else args)
        return super().main(args, *rest, **options)

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except UsageError as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # prints the help
                raise
            _fail(error.format_message() + _given_value(error, getattr(self, "_given", [])))
        except (ValueError, OverflowError) as error:
            _fail(str(error))
        except OSError as error:
            if error.filename is not None:  # a file that cannot be read or written
                _fail(f"{error.filename}: {error.strerror or error}")
            if isinstance(error, FileNotFoundError):  # the library's own, its path in the text
                _fail(str(error))
            raise


def _fail(message: str) -> NoReturn:
    log.debug("traceback of the error below", exc_info=True)
    typer.echo(f"Error: {' '.join(message.splitlines())}", err=True)
    raise typer.Exit(2) from None


def _given_value(error: UsageError, given: list[str]) -> str:
    """`` (got 'VALUE')``: what the user gave for the option that failed to parse, if found."""
    param = getattr(error, "param", None)
    if not isinstance(error, typer.BadParameter) or param is None:
        return ""
    for i, token in enumerate(given):
        for flag in getattr(param, "opts", []):
            if token.startswith(flag + "="):
                return f" (got {token[len(flag) + 1 :]!r})"
            if token == flag and i + 1 < len(given):
                return f" (got {given[i + 1]!r})"
    return ""


app = typer.Typer(
    cls=_Commands,
    help="getx: GET, the general expression transformer. Build datasets, train, predict, explain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(show_path=False, rich_tracebacks=False)],
    )


def _scan_bar():
    """A ``progress(done, total)`` callback drawing a bar for the motif scan on stderr, started
    at the first call (a command refused before its scan draws nothing) and gone when done."""
    from rich.console import Console
    from rich.progress import Progress

    scan: dict = {}

    def progress(done: int, total: int) -> None:
        if "bar" not in scan:
            scan["bar"] = Progress(console=Console(stderr=True), transient=True)
            scan["task"] = scan["bar"].add_task("scanning motifs", total=total)
            scan["bar"].start()
        scan["bar"].update(scan["task"], completed=done, total=total)
        if done >= total:
            scan["bar"].stop()

    return progress


def _pairs(values: list[str] | None, option: str) -> dict[str, Path]:
    """Parse repeated NAME=PATH options (checked by the library, so Python callers agree)."""
    from getx.io.cells import cell_type_pairs

    return cell_type_pairs(values, option)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder the demo writes into.")],
    data: Annotated[
        Path | None,
        typer.Option(
            help="Folder of real files instead of simulating: one genome (.fa/.2bit), one .gtf, "
            "peaks.bed, and per cell type peaks.<ct>.bed (counts) + rna.<ct>.csv."
        ),
    ] = None,
    preset: Annotated[str, typer.Option(help="Simulator preset (tiny ... large).")] = "demo",
    seed: Annotated[int, typer.Option(help="Seed of the simulation and the training.")] = 0,
    pretrain_epochs: Annotated[int, typer.Option(help="Masked-region pretraining epochs.")] = 2,
    finetune_epochs: Annotated[int, typer.Option(help="Expression finetuning epochs.")] = 5,
    distance_buckets: Annotated[
        int,
        typer.Option(help="Buckets of the learned genomic-distance attention bias (0: GET's)."),
    ] = 32,
    motif_dropout: Annotated[
        float, typer.Option(help="Dropout on the motif inputs while training (0: GET's).")
    ] = 0.3,
    holdout_chrom: Annotated[
        str | None, typer.Option(help="Chromosome kept out of training (default: ~1/5 of genes).")
    ] = None,
    holdout_cell_type: Annotated[
        str | None, typer.Option(help="Cell type kept out of training (default: the last one).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show training progress bars.")] = True,
) -> None:
    """Simulate -> prepare -> pretrain -> finetune -> evaluate held-out -> report.html (offline)."""
    from rich.console import Console

    from getx.demo import DemoOptions, run_demo

    console = Console(stderr=True)
    options = DemoOptions(
        preset=preset,
        seed=seed,
        pretrain_epochs=pretrain_epochs,
        finetune_epochs=finetune_epochs,
        distance_buckets=distance_buckets,
        motif_dropout=motif_dropout,
        holdout_chrom=holdout_chrom,
        holdout_cell_type=holdout_cell_type,
        progress=progress,
    )
    result = run_demo(
        out,
        data=data,
        options=options,
        stage=lambda name: console.rule(name),
        scan_progress=_scan_bar() if progress else None,
    )
    held = result.scores[result.scores["model"] == "GET (finetuned)"]
    for row in held.itertuples():
        log.info(
            "%s: Pearson %.3f, Spearman %.3f, R2 %.3f (n=%d)",
            row.group,
            row.pearson,
            row.spearman,
            row.r2,
            row.n,
        )
    typer.echo(f"report: {result.report.resolve()}")


@app.command()
def prepare(
    out: Annotated[Path, typer.Option("--out", "-o", help="Store to write (a zarr directory).")],
    peaks: Annotated[
        Path | None, typer.Option(help="Peaks: BED or narrowPeak, gzipped or not.")
    ] = None,
    genome: Annotated[
        Path | None, typer.Option(help="Genome: FASTA (plain/bgzip) or 2bit.")
    ] = None,
    chrom_sizes: Annotated[
        Path | None,
        typer.Option(help="chrom.sizes (chrom<TAB>length) instead of --genome; use --motifs none."),
    ] = None,
    annotation: Annotated[
        Path | None, typer.Option(help="Genes: GTF, gene-bounds BED or a TSS table.")
    ] = None,
    motifs: Annotated[
        str,
        typer.Option(
            help="'jaspar2024' (JASPAR 2024 CORE vertebrates in similarity clusters, cached), "
            "'jaspar2024-families', a GET v1 folder (nrmotif_v1.json + .npz), a motif file, "
            "or 'none' (no motif features: the model reads accessibility alone)."
        ),
    ] = "jaspar2024",
    motif_hits: Annotated[
        Path | None,
        typer.Option(help="Precomputed motif-hit BED to aggregate instead of scanning."),
    ] = None,
    accessibility: Annotated[
        list[str] | None,
        typer.Option(help="CELLTYPE=FILE: BED/bedGraph with a count column. Repeatable."),
    ] = None,
    fragments: Annotated[
        Path | None, typer.Option(help="fragments.tsv.gz (needs --barcodes).")
    ] = None,
    atac_h5ad: Annotated[Path | None, typer.Option(help="AnnData of peak counts per cell.")] = None,
    barcodes: Annotated[
        Path | None, typer.Option(help="Table barcode -> cell type for fragments/RNA counts.")
    ] = None,
    cell_type_column: Annotated[
        str, typer.Option(help="Cell-type column in .h5ad obs.")
    ] = "cell_type",
    expression: Annotated[
        list[str] | None, typer.Option(help="CELLTYPE=FILE: gene table (gene, value). Repeatable.")
    ] = None,
    rna_counts: Annotated[
        Path | None, typer.Option(help="Genes x cells counts (CSV/TSV, .h5ad, 10x) to pseudobulk.")
    ] = None,
    p_value: Annotated[float, typer.Option(help="Motif hit p-value threshold.")] = 1e-4,
    gc_background: Annotated[
        bool, typer.Option(help="Thresholds under the peaks' own GC content.")
    ] = False,
    peak_width: Annotated[
        int | None, typer.Option(help="Resize peaks to this width around the summit (GET: 400).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="A folder laid out as `getx simulate` writes one (one genome, one .gtf, "
            "peaks.bed, and per cell type peaks.<ct>.bed + rna.<ct>.csv), instead of --peaks, "
            "--genome, --annotation, --accessibility and --expression."
        ),
    ] = None,
) -> None:
    """Build a region store: motif features, accessibility and expression labels per cell type."""
    from getx.errors import check_range
    from getx.prepare import PrepareInputs, PrepareOptions, discover_inputs
    from getx.prepare import prepare as run_prepare

    check_range("--p-value", p_value, 0, 1, low_open=True, high_open=True)
    if peak_width is not None:
        check_range("--peak-width", peak_width, 1, PrepareOptions().max_peak_width)
    if data is not None:
        inputs = discover_inputs(data, motifs)
    else:
        missing = [n for n, v in (("--peaks", peaks), ("--annotation", annotation)) if v is None]
        if genome is None and chrom_sizes is None:
            missing.append("--genome (or --chrom-sizes)")
        if missing:
            raise typer.BadParameter(f"missing {', '.join(missing)} (or use --data)")
        inputs = PrepareInputs(
            peaks=peaks,
            genome=genome,
            chrom_sizes=chrom_sizes,
            annotation=annotation,
            motifs=motifs,
            motif_hits=motif_hits,
            accessibility=_pairs(accessibility, "--accessibility"),
            fragments=fragments,
            atac_h5ad=atac_h5ad,
            barcodes=barcodes,
            cell_type_column=cell_type_column,
            expression=_pairs(expression, "--expression"),
            rna_counts=rna_counts,
        )
    options = PrepareOptions(
        p_value=p_value, background="gc" if gc_background else None, peak_width=peak_width
    )
    path = run_prepare(inputs, out, options, progress=_scan_bar())
    log.info("store written to %s", path)
    _print_summary(path)


@app.command()
def inspect(
    store: Annotated[Path, typer.Argument(help="A store written by `getx prepare`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Summarise a store: regions, features, cell types, genes with TSS regions."""
    if as_json:
        from getx.store import open_store, summary

        typer.echo(json.dumps(summary(open_store(store)), indent=2))
    else:
        _print_summary(store)


def _print_summary(path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from getx.store import open_store, summary

    info = summary(open_store(path))
    table = Table(title=f"getx store {info['path']}", show_header=False)
    for key in (
        "schema_version",
        "regions",
        "chromosomes",
        "features",
        "nonzero_feature_fraction",
        "genes_with_tss_regions",
        "gene_region_pairs",
    ):
        value = info[key]
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    motif_set = info.get("motif_set")
    table.add_row(
        "motif set",
        f"{motif_set.get('source')} ({motif_set.get('n_motifs')} motifs)"
        if motif_set
        else "none (accessibility alone)",
    )
    for name, stats in info["per_cell_type"].items():
        table.add_row(
            f"cell type {name}",
            f"{stats['accessible_regions']} accessible regions, "
            f"{stats['tss_regions']} TSS regions, {stats['genes_measured']} genes measured",
        )
    Console().print(table)


@app.command("fetch-reference")
def fetch_reference(
    genome: Annotated[str, typer.Argument(help="Reference set to download (hg38).")] = "hg38",
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Where to keep the files (default: $GETX_CACHE_DIR or ~/.cache/getx)."),
    ] = None,
) -> None:
    """Download hg38 2bit, a GENCODE GTF and GET's v1 motif track (the only network use)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from getx.fetch import fetch_reference as run_fetch

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn()) as progress:
        tasks: dict[str, int] = {}

        def report(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=total)
            progress.update(tasks[name], completed=done)

        paths = run_fetch(genome, cache_dir=cache_dir, on_progress=report)
    for path in paths:
        typer.echo(str(path))


# Later stages keep their command functions beside their code; registered here in pipeline order.
app.command()(simulate_commands.simulate)
app.command()(train_commands.pretrain)
app.command()(train_commands.finetune)
app.command()(train_commands.predict)
app.command()(train_commands.evaluate)
for command in (interpret_commands.interpret, interpret_commands.links,
                interpret_commands.perturb, interpret_commands.variants):  # fmt: skip
    app.command()(command)
app.add_typer(interpret_commands.network_app, name="network")

motifs_app = typer.Typer(help="Motif sets: clustering into archetypes.", no_args_is_help=True)
motifs_app.command("cluster")(motif_commands.cluster)
app.add_typer(motifs_app, name="motifs")
app.add_typer(structures_commands.app, name="structures")
app.add_typer(catalog_commands.app, name="catalog")


def run() -> None:
    """Entry point of the ``getx`` command."""
    app()
