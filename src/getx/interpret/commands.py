"""CLI commands for interpretation (registered on the ``getx`` app by ``getx.cli``):
``getx interpret``, ``links``, ``perturb``, ``variants`` and ``network build|query``.

Heavy imports (torch) live inside the functions so ``getx --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)

Run = Annotated[Path, typer.Argument(help="Training run directory or .ckpt (expression model).")]
Store = Annotated[Path, typer.Argument(help="Region store written by `getx prepare`.")]
CellType = Annotated[str, typer.Option("--cell-type", help="Cell type in the store.")]
Genes = Annotated[
    str | None, typer.Option(help="Comma-separated gene ids or names (default: every gene).")
]
GenesFile = Annotated[
    Path | None, typer.Option(help="File of gene ids or names, one per line (# comments).")
]
Batch = Annotated[int, typer.Option(help="Windows per model batch.")]
Device = Annotated[str | None, typer.Option(help="torch device (default: cuda if available).")]
Out = Annotated[Path, typer.Option("--out", "-o", help="Output file.")]


def _gene_list(genes: str | None, genes_file: Path | None) -> list[str] | None:
    from getx.errors import InputError

    if genes is not None and genes_file is not None:
        raise InputError("give --genes or --genes-file, not both")
    if genes is not None:
        return [g for g in genes.split(",")]
    if genes_file is not None:
        if not genes_file.exists():
            raise InputError("genes file not found", genes_file)
        lines = genes_file.read_text().splitlines()
        return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()] or [""]
    return None


def _check_batch(batch_size: int) -> None:
    from getx.errors import check_range

    check_range("--batch-size", batch_size, 1)


@contextlib.contextmanager
def _bar(description: str) -> Iterator:
    """A rich progress bar on stderr; yields a ``progress(done, total)`` callback."""
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _write_tsv(table, out: Path, kind) -> None:
    from getx.io.files import atomic_output

    with atomic_output(out, kind) as tmp:
        table.to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format="%.6g")


def interpret(
    run: Run,
    store: Store,
    out: Annotated[Path, typer.Option("--out", "-o", help="Importance store (zarr) to write.")],
    cell_type: Annotated[
        list[str], typer.Option("--cell-type", help="Cell type in the store (repeatable).")
    ],
    genes: Genes = None,
    genes_file: GenesFile = None,
    bedgraph: Annotated[
        Path | None,
        typer.Option(help="Folder for one bedGraph of region importance per requested gene."),
    ] = None,
    gene_motif_tsv: Annotated[
        Path | None, typer.Option(help="Also write the gene x motif matrix (one cell type).")
    ] = None,
    batch_size: Batch = 32,
    device: Device = None,
) -> None:
    """Gradient x input importance of every region and motif for each gene (a zarr store)."""
    from getx.errors import InputError
    from getx.interpret.importance import (
        BEDGRAPH_FOLDER_KIND,
        IMPORTANCE_KIND,
        gene_motif_kind,
        importance,
        write_bedgraphs,
        write_importance,
    )
    from getx.io.files import check_output, removed_on_failure
    from getx.store import open_store
    from getx.train.predict import load_model

    _check_batch(batch_size)
    wanted = _gene_list(genes, genes_file)
    if bedgraph is not None and wanted is None:
        raise InputError("--bedgraph writes one track per requested gene: pass --genes")
    if gene_motif_tsv is not None and len(cell_type) != 1:
        raise InputError("--gene-motif-tsv needs exactly one --cell-type")
    inputs = [run, store, genes_file]
    outputs = [p for p in (out, bedgraph, gene_motif_tsv) if p is not None]
    if len({p.absolute() for p in outputs}) < len(outputs):
        raise InputError("--out, --bedgraph and --gene-motif-tsv must be different paths")
    check_output(out, IMPORTANCE_KIND, inputs)
    if bedgraph is not None:
        check_output(bedgraph, BEDGRAPH_FOLDER_KIND, inputs)
    predictor = load_model(run)
    motif_kind = gene_motif_kind(list(predictor.hparams["feature_names"]))
    if gene_motif_tsv is not None:
        check_output(gene_motif_tsv, motif_kind, inputs)
    opened = open_store(store)
    results = []
    for name in dict.fromkeys(cell_type):
        with _bar(f"gradients in {name}") as progress:
            results.append(
                importance(
                    predictor,
                    opened,
                    name,
                    wanted,
                    batch_size=batch_size,
                    device=device,
                    progress=progress,
                )
            )
    write_importance(out, results, predictor.source, opened)
    if gene_motif_tsv is not None:
        _write_tsv(results[0].gene_motif().reset_index(), gene_motif_tsv, motif_kind)
    if bedgraph is not None:
        with removed_on_failure(bedgraph):
            for result in results:
                present = [
                    g
                    for g in wanted
                    if g in set(result.genes["gene_id"]) | set(result.genes["gene_name"])
                ]
                write_bedgraphs(bedgraph, result, opened, present)
    typer.echo(f"{sum(len(r.targets) for r in results)} TSS targets -> {out}")


def links(
    run: Run,
    store: Store,
    cell_type: CellType,
    out: Out,
    genes: Genes = None,
    genes_file: GenesFile = None,
    batch_size: Batch = 32,
    device: Device = None,
) -> None:
    """Enhancer-gene link scores for every gene and region of its window (a TSV)."""
    from getx.interpret.links import OUTPUT_KIND
    from getx.interpret.links import links as run_links
    from getx.io.files import check_output
    from getx.train.predict import load_model

    _check_batch(batch_size)
    check_output(out, OUTPUT_KIND, inputs=[run, store, genes_file])
    with _bar(f"region knock-outs in {cell_type}") as progress:
        table = run_links(
            load_model(run),
            store,
            cell_type,
            _gene_list(genes, genes_file),
            batch_size=batch_size,
            device=device,
            progress=progress,
        )
    _write_tsv(table, out, OUTPUT_KIND)
    typer.echo(f"{len(table)} region-gene pairs -> {out}")


def perturb(
    run: Run,
    store: Store,
    cell_type: CellType,
    out: Out,
    regions: Annotated[
        Path | None, typer.Option(help="BED of regions to knock out (motifs and accessibility 0).")
    ] = None,
    tf: Annotated[
        list[str] | None,
        typer.Option(help="TF gene: every motif cluster holding it (repeatable)."),
    ] = None,
    motif: Annotated[
        list[str] | None, typer.Option(help="Motif cluster name (repeatable).")
    ] = None,
    scale: Annotated[
        float, typer.Option(help="Factor on the TF's motif features: 0 knocks out, 2 doubles.")
    ] = 0.0,
    genes: Genes = None,
    genes_file: GenesFile = None,
    batch_size: Batch = 32,
    device: Device = None,
) -> None:
    """Knock out regions, knock out or overexpress a TF: predicted change per affected gene."""
    from getx.errors import InputError, check_range
    from getx.interpret.context import cell_type_context
    from getx.interpret.perturb import (
        OUTPUT_KIND,
        knock_out_regions,
        motif_columns,
        perturbation_effects,
        regions_in_bed,
        scale_motifs,
    )
    from getx.io.files import check_output
    from getx.train.predict import load_model

    if (regions is None) == (not tf and not motif):
        raise InputError("give either --regions BED or --tf / --motif")
    check_range("--scale", scale, 0)
    _check_batch(batch_size)
    check_output(out, OUTPUT_KIND, inputs=[run, store, regions, genes_file])
    context = cell_type_context(load_model(run), store, cell_type, _gene_list(genes, genes_file))
    if regions is not None:
        edited = knock_out_regions(context.inputs, regions_in_bed(context.store, regions))
    else:
        columns = motif_columns(context.store, tf or [], motif or [])
        edited = scale_motifs(context.inputs, columns, scale)
    with _bar(f"re-running {cell_type}") as progress:
        table = perturbation_effects(context, edited, batch_size, device, progress=progress)
    _write_tsv(table, out, OUTPUT_KIND)
    typer.echo(f"{len(table)} affected gene rows -> {out}")


def variants(
    run: Run,
    store: Store,
    variant_file: Annotated[
        Path, typer.Argument(help="VCF (plain/bgzip) or chrom,pos,ref,alt TSV.")
    ],
    cell_type: CellType,
    out: Out,
    genome: Annotated[
        Path | None, typer.Option(help="Genome the store was prepared from (default: its record).")
    ] = None,
    motifs: Annotated[
        str, typer.Option(help="The store's motif set (checked against its checksum).")
    ] = "jaspar2024",
    flag_mismatches: Annotated[
        bool, typer.Option(help="Report a ref that differs from the genome as a row, not an error.")
    ] = False,
    batch_size: Batch = 32,
    device: Device = None,
) -> None:
    """Score variants: rescan their region's motifs, re-run the model for every gene nearby."""
    from getx.errors import InputError
    from getx.interpret.context import cell_type_context
    from getx.interpret.variants import OUTPUT_KIND, read_variants, variant_effects
    from getx.io.files import check_output
    from getx.io.genome import open_genome
    from getx.train.predict import load_model

    _check_batch(batch_size)
    check_output(out, OUTPUT_KIND, inputs=[run, store, variant_file, genome])
    context = cell_type_context(load_model(run), store, cell_type)
    table = read_variants(variant_file)
    genome_path = genome or context.store.attrs.get("genome")
    if not genome_path or not Path(genome_path).exists():
        raise InputError(
            "the store's genome file is not at hand: pass --genome", genome_path or store
        )
    with open_genome(genome_path) as opened:
        result = variant_effects(
            context,
            table,
            opened,
            motifs,
            "flag" if flag_mismatches else "error",
            variant_file,
            batch_size,
            device,
        )
    _write_tsv(result, out, OUTPUT_KIND)
    typer.echo(f"{len(result)} variant-gene rows -> {out}")


network_app = typer.Typer(
    help="The causal motif network (DirectLiNGAM on a gene x motif importance matrix).",
    no_args_is_help=True,
)


@network_app.command("build")
def network_build(
    importance_store: Annotated[Path, typer.Argument(help="Store written by `getx interpret`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Network file: .graphml or .json.")],
    cell_type: Annotated[
        str | None, typer.Option(help="Cell type (needed when the store has several).")
    ] = None,
    runs: Annotated[
        int, typer.Option(help="Bootstrap runs (rows resampled, columns permuted).")
    ] = 10,
    top_motifs: Annotated[
        int, typer.Option(help="Motifs with the largest mean |importance| in the network (0: all).")
    ] = 100,
    min_stability: Annotated[
        float, typer.Option(help="Keep edges found in at least this fraction of runs.")
    ] = 0.5,
    edges_tsv: Annotated[
        Path | None, typer.Option(help="Also write every edge with its stability and weight.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    samples: Annotated[
        str,
        typer.Option(
            help="Rows of the matrix: genes (gene x motif, as GET) or regions (region x motif)."
        ),
    ] = "genes",
    max_samples: Annotated[
        int, typer.Option(help="Rows drawn per bootstrap run at most (0: all).")
    ] = 2000,
) -> None:
    """DirectLiNGAM over bootstrap runs -> a cause -> effect motif graph (GraphML or JSON)."""
    from getx.errors import InputError, check_range
    from getx.interpret.importance import read_importance
    from getx.interpret.network import (
        EDGES_KIND,
        NETWORK_KIND,
        causal_network,
        motif_matrix,
        network_path,
        write_network,
    )
    from getx.io.files import check_output

    check_range("--runs", runs, 1)
    check_range("--top-motifs", top_motifs, 0)
    check_range("--min-stability", min_stability, 0, 1)
    check_range("--seed", seed, 0, 2**32 - 1)
    check_range("--max-samples", max_samples, 0)
    check_output(network_path(out), NETWORK_KIND, inputs=[importance_store])
    if edges_tsv is not None:
        if edges_tsv.absolute() == out.absolute():
            raise InputError("--edges-tsv must differ from --out", edges_tsv)
        check_output(edges_tsv, EDGES_KIND, inputs=[importance_store])
    result = read_importance(importance_store, cell_type)
    with _bar(f"DirectLiNGAM runs in {result.cell_type}") as progress:
        net = causal_network(
            motif_matrix(result, samples),
            runs=runs,
            seed=seed,
            cell_type=result.cell_type,
            top_motifs=top_motifs or None,
            progress=progress,
            max_samples=max_samples or None,
        )
    graph = net.graph(min_stability=min_stability)
    write_network(graph, out)
    if edges_tsv is not None:
        _write_tsv(net.edges(), edges_tsv, EDGES_KIND)
    typer.echo(f"{graph.number_of_edges()} edges over {graph.number_of_nodes()} motifs -> {out}")


@network_app.command("query")
def network_query(
    network: Annotated[Path, typer.Argument(help="Network file (.graphml or .json).")],
    motif: Annotated[str, typer.Option(help="Motif cluster name.")],
    relation: Annotated[
        str, typer.Option(help="parents (causes), children (effects) or neighbours (both).")
    ] = "neighbours",
) -> None:
    """A motif's parents, children or neighbours in a network, with weights and stabilities."""
    from getx.interpret.network import neighbours, read_network

    table = neighbours(read_network(network), motif, relation)
    typer.echo(table.to_csv(sep="\t", index=False, float_format="%.4g"), nl=False)
