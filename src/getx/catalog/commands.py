"""``getx catalog build|query`` (registered by the CLI). Heavy imports stay inside."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)

app = typer.Typer(
    help="The TF-TF pair catalog: regulatory evidence per cell type, joined with structures.",
    no_args_is_help=True,
)


def _networks(values: list[str] | None) -> dict[str, Path]:
    result: dict[str, Path] = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise typer.BadParameter(
                f"expected CELLTYPE=FILE, got {value!r}", param_hint="--network"
            )
        result[name] = Path(path)
    return result


@app.command()
def build(
    importance: Annotated[Path, typer.Argument(help="Importance store from `getx interpret`.")],
    store: Annotated[Path, typer.Argument(help="The region store it was computed on.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Catalog file to write (.parquet).")],
    cell_type: Annotated[
        list[str] | None,
        typer.Option("--cell-type", help="Cell type (repeatable; default: all of the store)."),
    ] = None,
    network: Annotated[
        list[str] | None,
        typer.Option(
            help="CELLTYPE=FILE: a `getx network build` graph (.graphml/.json) for that cell "
            "type; cell types without one get the network computed here. Repeatable."
        ),
    ] = None,
    structures: Annotated[
        Path | None,
        typer.Option(help="`getx structures score` folder (or its pairs.parquet) to join."),
    ] = None,
    runs: Annotated[int, typer.Option(help="Bootstrap runs of a computed network.")] = 10,
    top_motifs: Annotated[
        int, typer.Option(help="Motifs in a computed network, by mean |importance| (0: all).")
    ] = 100,
    seed: Annotated[int, typer.Option(help="Seed of a computed network's bootstrap.")] = 0,
) -> None:
    """Rank every motif-cluster pair of each cell type by regulatory (and structural) evidence."""
    from getx.catalog.build import CatalogSources, NetworkOptions, build_catalog, write_catalog
    from getx.catalog.schema import CATALOG_KIND
    from getx.errors import InputError
    from getx.io.files import check_output

    if out.suffix != ".parquet":
        raise InputError("the catalog is written as parquet: give a .parquet path", out)
    networks = _networks(network)
    check_output(out, CATALOG_KIND, inputs=[importance, store, structures, *networks.values()])
    if runs < 1 or top_motifs < 0:
        raise InputError(f"--runs must be at least 1 and --top-motifs at least 0 (0: all); got "
                         f"{runs} and {top_motifs}")  # fmt: skip
    sources = CatalogSources(importance, store, networks, structures, cell_type)
    options = NetworkOptions(runs=runs, top_motifs=top_motifs or None, seed=seed)
    table, metadata = build_catalog(
        sources, options, progress=lambda ct: log.info("cataloguing %s", ct)
    )
    write_catalog(table, metadata, out)
    typer.echo(f"{len(table)} pairs over {len(metadata['cell_types'])} cell type(s) -> {out}")


@app.command()
def query(
    catalog: Annotated[
        list[str], typer.Argument(help="Catalog files, folders of them or glob patterns.")
    ],
    tf: Annotated[str | None, typer.Option(help="TF gene symbol (any case).")] = None,
    cluster: Annotated[str | None, typer.Option(help="Motif cluster name.")] = None,
    cell_type: Annotated[str | None, typer.Option(help="Only this cell type.")] = None,
    min_score: Annotated[
        float | None, typer.Option(help="Only pairs scoring at least this.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 20,
    csv: Annotated[
        Path | None, typer.Option(help="Write every matching row here (CSV; lists joined by ';').")
    ] = None,
) -> None:
    """Pairs of a TF (or cluster, or cell type), best score first: a table, and CSV on request."""
    from getx.catalog.display import console_table, flat_table
    from getx.catalog.query import query_catalog

    if limit < 1:
        raise typer.BadParameter("must be positive", param_hint="--limit")
    rows = query_catalog(
        catalog, tf=tf, cell_type=cell_type, min_score=min_score, cluster=cluster,
        limit=None if csv is not None else limit + 1,
    )  # fmt: skip
    if csv is not None:
        from getx.io.files import atomic_output

        with atomic_output(csv) as tmp:
            flat_table(rows).to_csv(tmp, index=False, na_rep="NA", float_format="%.6g")
        log.info("%d rows written to %s", len(rows), csv)
    console_table(rows, limit, title=_title(tf, cluster, cell_type, min_score))


def _title(tf, cluster, cell_type, min_score) -> str:
    parts = [f"TF {tf.upper()}" if tf else "", f"cluster {cluster}" if cluster else ""]
    parts += [f"in {cell_type}" if cell_type else "all cell types"]
    parts += [f"score >= {min_score:g}" if min_score is not None else ""]
    return "catalog: " + ", ".join(p for p in parts if p)
