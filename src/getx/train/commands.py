"""CLI commands for training and prediction (registered on the ``getx`` app by ``getx.cli``).

Heavy imports (torch, lightning) live inside the functions so ``getx --help`` stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)

Store = Annotated[Path, typer.Argument(help="Region store written by `getx prepare`.")]
Out = Annotated[Path, typer.Option("--out", "-o", help="Run directory.")]
Preset = Annotated[str, typer.Option(help="Model size: paper (768x12x12) or small (256x4x8).")]
Regions = Annotated[int, typer.Option(help="Regions per window (R).")]
Step = Annotated[int, typer.Option(help="Regions between window starts.")]
Chroms = Annotated[
    list[str] | None, typer.Option("--holdout-chrom", help="Validation chromosome (repeatable).")
]
CellTypes = Annotated[
    list[str] | None,
    typer.Option("--holdout-cell-type", help="Validation cell type (repeatable)."),
]
Use = Annotated[
    list[str] | None, typer.Option("--cell-type", help="Use only these cell types (repeatable).")
]
DropZero = Annotated[
    bool, typer.Option(help="Windows of accessible regions only (per cell type), as GET.")
]
Access = Annotated[
    str,
    typer.Option(
        help="Accessibility input column: binary, quantitative (GET's log10 aCPM / max) or "
        "linear (reads / mean over accessible regions)."
    ),
]
Epochs = Annotated[int, typer.Option(help="Training epochs.")]
Batch = Annotated[int, typer.Option(help="Windows per batch.")]
Lr = Annotated[float, typer.Option(help="Peak learning rate (AdamW, warmup then cosine).")]
Warmup = Annotated[int, typer.Option(help="Warmup steps.")]
Resume = Annotated[bool, typer.Option(help="Continue the run in --out from its last checkpoint.")]
Seed = Annotated[int, typer.Option(help="Random seed.")]
Workers = Annotated[int, typer.Option(help="DataLoader worker processes.")]
Deterministic = Annotated[
    bool,
    typer.Option(
        help="Deterministic algorithms: the same seed gives the same weights on the same machine "
        "(on CPU with several threads the distance bias's gradient otherwise varies run to run)."
    ),
]
Distance = Annotated[
    int,
    typer.Option(
        help="Genomic-distance buckets of a learned attention bias (0: none, as GET; the demo "
        "uses 32). GET weights load into either."
    ),
]

MotifDropout = Annotated[
    float,
    typer.Option(
        help="Dropout on the input's motif columns while training (0: none, as GET; the demo "
        "uses 0.3)."
    ),
]


def _model_overrides(distance_buckets: int, motif_dropout: float) -> dict:
    """ModelConfig fields set on the command line (defaults left to the preset)."""
    values = {"distance_buckets": distance_buckets, "motif_dropout": motif_dropout}
    return {k: v for k, v in values.items() if v}


def _run(config, resume: bool) -> None:
    from getx.train.run import train

    out = train(config, resume=resume)
    typer.echo(f"run directory: {out}")


def pretrain(
    store: Store,
    out: Out,
    preset: Preset = "paper",
    regions: Regions = 900,
    step: Step = 450,
    mask_ratio: Annotated[float, typer.Option(help="Fraction of regions masked.")] = 0.5,
    holdout_chrom: Chroms = None,
    holdout_cell_type: CellTypes = None,
    cell_type: Use = None,
    drop_zero_accessibility: DropZero = True,
    accessibility: Access = "binary",
    epochs: Epochs = 100,
    batch_size: Batch = 8,
    lr: Lr = 1.5e-4,
    warmup_steps: Warmup = 1000,
    resume: Resume = False,
    seed: Seed = 0,
    num_workers: Workers = 2,
    distance_buckets: Distance = 0,
    motif_dropout: MotifDropout = 0.0,
    deterministic: Deterministic = False,
) -> None:
    """Masked-region pretraining (MSE on the masked regions' features)."""
    from getx.train.run import TrainConfig

    config = TrainConfig(
        store=str(store),
        out=str(out),
        task="pretrain",
        preset=preset,
        regions=regions,
        step=step,
        mask_ratio=mask_ratio,
        holdout_chroms=list(holdout_chrom or []),
        holdout_cell_types=list(holdout_cell_type or []),
        cell_types=list(cell_type) if cell_type else None,
        drop_zero_accessibility=drop_zero_accessibility,
        accessibility=accessibility,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        warmup_steps=warmup_steps,
        seed=seed,
        num_workers=num_workers,
        deterministic=deterministic,
        model=_model_overrides(distance_buckets, motif_dropout),
    )
    _run(config, resume)


def finetune(
    store: Store,
    out: Out,
    task: Annotated[str, typer.Option(help="expression or accessibility.")] = "expression",
    init_checkpoint: Annotated[
        Path | None,
        typer.Option(help="Pretrained getx .ckpt or published GET .pth to start from."),
    ] = None,
    preset: Preset = "paper",
    arch: Annotated[
        str, typer.Option(help="transformer, or mlp (GET's per-region baseline).")
    ] = "transformer",
    loss: Annotated[str, typer.Option(help="poisson (GET) or mse.")] = "poisson",
    loss_on: Annotated[
        str, typer.Option(help="tss: labelled TSS entries; all: every region (GET, 0 off TSS).")
    ] = "tss",
    regions: Regions = 200,
    step: Step = 100,
    holdout_chrom: Chroms = None,
    holdout_cell_type: CellTypes = None,
    cell_type: Use = None,
    drop_zero_accessibility: DropZero = True,
    accessibility: Access = "binary",
    label_cutoff: Annotated[
        float, typer.Option(help="Zero labels below this normalised accessibility.")
    ] = 0.05,
    epochs: Epochs = 20,
    batch_size: Batch = 8,
    lr: Lr = 1e-4,
    warmup_steps: Warmup = 500,
    layer_decay: Annotated[float, typer.Option(help="Layer-wise LR decay (1 = off).")] = 1.0,
    lora_rank: Annotated[int, typer.Option(help="LoRA rank; 0 trains every weight.")] = 0,
    resume: Resume = False,
    seed: Seed = 0,
    num_workers: Workers = 2,
    distance_buckets: Distance = 0,
    motif_dropout: MotifDropout = 0.0,
    min_context: Annotated[
        int,
        typer.Option(
            help="Expression loss only on TSSs with at least this many regions of context on "
            "each side in their window (0: every TSS, as GET; the demo uses a quarter window)."
        ),
    ] = 0,
    deterministic: Deterministic = False,
) -> None:
    """Finetune for expression (Poisson NLL on log labels) or accessibility from motifs."""
    from getx.train.run import TrainConfig

    if task not in ("expression", "accessibility"):
        raise typer.BadParameter(f"task {task!r}: use expression or accessibility")
    config = TrainConfig(
        store=str(store),
        out=str(out),
        task=task,
        preset=preset,
        arch=arch,
        loss=loss,
        loss_on=loss_on,
        regions=regions,
        step=step,
        holdout_chroms=list(holdout_chrom or []),
        holdout_cell_types=list(holdout_cell_type or []),
        cell_types=list(cell_type) if cell_type else None,
        drop_zero_accessibility=drop_zero_accessibility,
        accessibility=accessibility,
        label_cutoff=label_cutoff,
        min_context=min_context,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        warmup_steps=warmup_steps,
        layer_decay=layer_decay,
        init_checkpoint=str(init_checkpoint) if init_checkpoint else None,
        lora_rank=lora_rank,
        seed=seed,
        num_workers=num_workers,
        deterministic=deterministic,
        model=_model_overrides(distance_buckets, motif_dropout),
    )
    _run(config, resume)


def predict(
    checkpoint: Annotated[Path, typer.Argument(help="Training checkpoint (.ckpt) or run dir.")],
    store: Store,
    cell_type: Annotated[str, typer.Argument(help="Cell type in the store.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output TSV.")],
) -> None:
    """Predict expression for every gene with an accessible TSS region; write a TSV."""
    from getx.io.files import atomic_output
    from getx.train.predict import load_model

    table = load_model(checkpoint).predict(store, cell_type)
    with atomic_output(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, na_rep="NA")
    typer.echo(f"{len(table)} gene rows -> {out}")
