"""``getx structures ...`` commands (registered by the CLI). Heavy imports stay inside."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)

app = typer.Typer(
    help="AlphaFold2-multimer complexes of TF pairs: score them, prepare and compare predictions.",
    no_args_is_help=True,
)

PAE_CUTOFF = typer.Option(help="PAE cut-off of ipSAE, in A (Dunbrack 2025).")
CONTACT_CUTOFF = typer.Option(help="CB-CB (CA for Gly) contact distance, in A (pDockQ: 8).")


def _print(frame, title: str, limit: int = 20) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in frame.columns:
        numeric = frame[column].dtype.kind in "fiu"
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    if len(frame) > limit:
        table.caption = f"{limit} of {len(frame)} rows shown"
    Console().print(table)


@app.command()
def score(
    paths: Annotated[
        list[Path], typer.Argument(help="ColabFold result folders or PDB/mmCIF files (.gz ok).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the tables.")],
    manifest: Annotated[
        Path | None,
        typer.Option(help="Job -> proteins table written by `getx structures pairs`."),
    ] = None,
    pae_cutoff: Annotated[float, PAE_CUTOFF] = 10.0,
    contact_cutoff: Annotated[float, CONTACT_CUTOFF] = 8.0,
) -> None:
    """Score every model: contacts, interface pLDDT, pDockQ, ipTM/pTM, PAE, ipSAE, segments."""
    from getx.io.files import check_output
    from getx.structures.colabfold import find_models
    from getx.structures.pairs import read_manifest
    from getx.structures.tables import OUTPUT_KIND, ScoreOptions, score_models, write_tables

    options = ScoreOptions(contact_cutoff=contact_cutoff, pae_cutoff=pae_cutoff)
    check_output(out, OUTPUT_KIND, inputs=[*paths, manifest])
    names = read_manifest(manifest) if manifest else None
    models = find_models(paths)
    tables = score_models(models, options, names)
    write_tables(tables, out, options)
    log.info(
        "%d models of %d pairs scored; tables in %s", len(tables.models), len(tables.pairs), out
    )
    shown = tables.pairs.sort_values("pdockq", ascending=False)
    _print(
        shown[["pair", "n_models", "n_contacts", "interface_plddt", "pdockq", "iptm", "ipsae"]],
        "best model per pair",
    )


@app.command()
def pairs(
    fasta: Annotated[Path, typer.Option(help="Protein FASTA (UniProt headers work).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="ColabFold input: NAME.csv or NAME.fasta.")
    ],
    pair_list: Annotated[
        Path | None,
        typer.Option(
            "--pairs", help="Table of pairs: tf_a, tf_b (or gene_a, gene_b), optional score."
        ),
    ] = None,
    catalog: Annotated[
        list[str] | None,
        typer.Option(
            help="Instead of --pairs: TF pairs from `getx catalog build` files (.parquet), best "
            "score first (with --top). Repeatable."
        ),
    ] = None,
    cell_type: Annotated[
        str | None,
        typer.Option(help="With --catalog: rank in this cell type (default: best over all)."),
    ] = None,
    top: Annotated[int | None, typer.Option(help="Only the N best-scored pairs.")] = None,
    mutation: Annotated[
        list[str] | None,
        typer.Option(help="PROTEIN:p.G183S: also predict the pair with this variant. Repeatable."),
    ] = None,
) -> None:
    """Write ColabFold batch input (chains joined by ':') for TF pairs, wild type and variants."""
    from getx.errors import InputError, check_range
    from getx.io.files import check_output
    from getx.structures.pairs import (
        build_jobs,
        colabfold_outputs,
        parse_substitution,
        read_catalog_pairs,
        read_pair_list,
        read_proteins,
        write_colabfold_input,
    )

    if top is not None:
        check_range("--top", top, 1)
    if (pair_list is None) == (not catalog):
        raise InputError("give either --pairs TABLE or --catalog FILE")
    if catalog and top is None:
        raise InputError("--catalog needs --top N: how many TF pairs to predict")
    if cell_type is not None and not catalog:
        raise InputError("--cell-type ranks catalog pairs: use it with --catalog")
    for path, kind in colabfold_outputs(out):
        check_output(path, kind, inputs=[fasta, pair_list, *(catalog or [])])
    substitutions = [parse_substitution(m) for m in mutation or []]
    proteins = read_proteins(fasta)
    if catalog:
        chosen = read_catalog_pairs(catalog, top, cell_type)
    else:
        chosen = read_pair_list(pair_list, top)
    jobs = build_jobs(proteins, chosen, substitutions, fasta=fasta)
    written, manifest = write_colabfold_input(jobs, out)
    log.info("%d jobs written to %s (manifest %s)", len(jobs), written, manifest)


@app.command()
def compare(
    wild_type: Annotated[
        Path,
        typer.Option("--wt", help="Models of the wild-type pair (folder, file or FOLDER/JOB)."),
    ],
    mutant: Annotated[
        Path, typer.Option("--mut", help="Models of the mutant pair (folder, file or FOLDER/JOB).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the comparison tables.")
    ] = None,
    pae_cutoff: Annotated[float, PAE_CUTOFF] = 10.0,
    contact_cutoff: Annotated[float, CONTACT_CUTOFF] = 8.0,
) -> None:
    """Change in every interface metric and the contacts gained or lost by a mutation."""
    from getx.io.files import check_output
    from getx.structures.compare import OUTPUT_KIND, write_comparison
    from getx.structures.compare import compare as run_compare
    from getx.structures.tables import ScoreOptions

    options = ScoreOptions(contact_cutoff=contact_cutoff, pae_cutoff=pae_cutoff)
    if out is not None:
        check_output(out, OUTPUT_KIND, inputs=[wild_type, mutant])
    comparison = run_compare(wild_type, mutant, options)
    log.info("sequence differences: %s", ", ".join(comparison.differences) or "none")
    _print(comparison.metrics, "interface metrics: wild type -> mutant")
    _print(comparison.residues, "residues whose contacts changed")
    if out is not None:
        write_comparison(comparison, out)
        log.info("comparison written to %s", out)
