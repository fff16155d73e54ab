"""The ``getx simulate`` command (registered by getx.cli)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)


def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the dataset into.")],
    preset: Annotated[
        str, typer.Option(help="tiny (CI, seconds), small, demo (trainable in minutes), large.")
    ] = "tiny",
    seed: Annotated[int, typer.Option(help="Random seed; same seed, identical files.")] = 0,
    motifs: Annotated[
        str,
        typer.Option(help="Motifs to plant: 'jaspar2024', or a GET v1 folder / motif file."),
    ] = "jaspar2024",
) -> None:
    """Simulate a dataset whose regulation is known: genome, genes, peaks, accessibility, RNA.

    Writes genome.fa (+ .fai), genes.gtf, peaks.bed (union), peaks.<celltype>.bed (counts),
    rna.<celltype>.csv (log10 CPM+1) and truth/*.tsv (enhancer-gene links, TF-gene effects,
    cooperative TF pairs, TF activities), then prints the matching `getx prepare` command.
    """
    from getx.errors import check_range
    from getx.io.files import check_output
    from getx.motifs.databases import load_motifs
    from getx.simulate import PRESETS, SIMULATION_KIND
    from getx.simulate import simulate as run_simulation

    if preset not in PRESETS:
        raise typer.BadParameter(f"choose one of {', '.join(PRESETS)}", param_hint="--preset")
    check_range("--seed", seed, 0, 2**32 - 1)
    check_output(out, SIMULATION_KIND, inputs=[Path(motifs)] if Path(motifs).exists() else [])
    files = run_simulation(out, preset=preset, seed=seed, motifs=load_motifs(motifs))
    log.info("simulated %s dataset (seed %d) written to %s", preset, seed, files.out_dir)
    log.info("truth tables: %s", files.out_dir / "truth")
    pairs = " ".join(f"--accessibility {ct}={files.accessibility[ct]}" for ct in files.cell_types)
    pairs += " " + " ".join(f"--expression {ct}={files.expression[ct]}" for ct in files.cell_types)
    extra = "" if motifs == "jaspar2024" else f" --motifs {motifs}"
    log.info(
        "next: getx prepare --out %s --peaks %s --genome %s --annotation %s %s%s",
        files.out_dir / "store.zarr",
        files.peaks,
        files.genome,
        files.annotation,
        pairs,
        extra,
    )
