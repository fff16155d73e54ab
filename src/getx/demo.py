"""The whole system in one command: simulate (or read a folder) -> prepare -> pretrain ->
finetune -> evaluate on a held-out chromosome and cell type -> predict -> ``report.html``.

``run_demo(out)`` writes, under ``out``::

    sim/                 the simulated input files and their truth (unless ``data`` is given)
    store.zarr           the region store (docs/format.md)
    runs/pretrain        masked-region pretraining run
    runs/finetune        expression finetuning run, initialised from the pretrained encoder
    runs/mlp             GET's no-context per-region MLP baseline, trained the same way
    predictions.tsv      every model's prediction per (gene row, cell type), with its split group
    scores.tsv           Pearson / Spearman / R2 per model and group
    per_cell_type.tsv    the finetuned model's scores per cell type and group
    summary.json         the above in one file, with stage timings
    report.html          a self-contained page with the figures and tables

Each stage whose output already exists is reused, so an interrupted demo resumes where it was.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.files import atomic_output

log = logging.getLogger(__name__)

GENOME_SUFFIXES = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz", ".2bit")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
BED_SUFFIXES = (".bed", ".bed.gz", ".bedgraph", ".bedgraph.gz", ".narrowPeak", ".narrowPeak.gz")


@dataclass
class DemoOptions:
    """What the demo simulates and how long it trains (defaults: under 10 min on 2 CPU cores)."""

    preset: str = "demo"  # simulator preset (ignored with real data)
    seed: int = 0
    model: str = "small"  # model preset
    pretrain_epochs: int = 2
    finetune_epochs: int = 5  # over windows a quarter window apart: each TSS twice per epoch
    regions: int = 100  # per window; ~100 kb of context at the demo's region density
    distance_buckets: int = 32  # GET's attention plus a learned genomic-distance bias (0: GET's)
    motif_dropout: float = 0.3  # dropout on the motif inputs while training (0: GET's)
    # finetune on windows a quarter window apart and count a TSS only where its window gives it a
    # quarter window of context on each side (False: windows half a window apart, every TSS)
    context_loss: bool = True
    batch_size: int = 8
    lr: float = 1e-4  # GET's finetuning rate; held-out Pearson fell as it rose to 1e-3
    mlp_lr: float = 5e-4  # the per-region MLP baseline underfits at 1e-4 (training Pearson 0.69)
    # reads / mean: summing enhancer reads needs a linear scale (held-out Pearson: see bench)
    accessibility: str = "linear"
    holdout_chrom: str | None = None  # default: see choose_holdouts
    holdout_cell_type: str | None = None
    motifs: str = "jaspar2024"
    progress: bool = True


@dataclass
class DemoResult:
    out: Path
    report: Path
    store: Path
    scores: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def discover_inputs(folder: str | Path, motifs: str = "jaspar2024"):
    """``PrepareInputs`` from a folder laid out as ``getx simulate`` writes it.

    One genome (FASTA or 2bit), one GTF, the union peaks ``peaks.bed`` (or ``peaks.narrowPeak``),
    and per cell type ``peaks.<ct>.bed`` (a count column) and ``rna.<ct>.csv``/``.tsv``. Cell types
    are those with both files.
    """
    from getx.prepare import PrepareInputs

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


def choose_holdouts(store, options: DemoOptions) -> tuple[list[str], list[str]]:
    """Held-out chromosome: the one holding closest to a fifth of the gene rows (ties: later).
    Held-out cell type: the last one, when at least three cell types leave two to train on."""
    chroms = store.regions["chrom"].to_numpy().astype(str)[store.genes["region"].to_numpy()]
    if options.holdout_chrom:
        held_chroms = [options.holdout_chrom]
    else:
        names, counts = np.unique(chroms, return_counts=True)
        if len(names) < 2:
            raise InputError("the demo needs genes on at least two chromosomes", store.path)
        share = np.abs(counts / counts.sum() - 0.2)
        held_chroms = [str(names[len(share) - 1 - int(np.argmin(share[::-1]))])]
    if options.holdout_cell_type:
        held_cells = [options.holdout_cell_type]
    else:
        held_cells = [store.cell_types[-1]] if len(store.cell_types) >= 3 else []
    return held_chroms, held_cells


def _train_once(config) -> Path:
    """Train unless the run already finished (last.ckpt); resume an interrupted one."""
    from getx.train.run import train

    run = Path(config.out)
    if (run / "checkpoints" / "last.ckpt").exists():
        log.info("reusing the finished run %s", run)
        return run
    resume = (run / "config.yaml").exists() and any((run / "checkpoints").glob("*.ckpt"))
    log.info("training %s", run)
    return train(config, resume=resume)


def _read_log(run: Path) -> pd.DataFrame:
    path = run / "logs" / "metrics.csv"
    return pd.read_csv(path) if path.exists() else pd.DataFrame()


def run_demo(
    out: str | Path,
    data: str | Path | None = None,
    options: DemoOptions | None = None,
    stage: Callable[[str], None] | None = None,
    scan_progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Run the pipeline into ``out`` (see the module docstring); ``data``: a folder of real files
    laid out as :func:`discover_inputs` reads, instead of simulating. ``stage`` is told each
    stage's name as it starts and ``scan_progress`` (done, total) regions as the motif scan goes
    (for progress display)."""
    from getx.prepare import prepare
    from getx.store import open_store
    from getx.train.run import TrainConfig

    options = options or DemoOptions()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    announce = stage or (lambda name: None)

    def timed(name: str):
        announce(name)
        timings[name] = time.perf_counter()

    def done(name: str):
        timings[name] = round(time.perf_counter() - timings[name], 2)

    store_path = out / "store.zarr"
    timed("inputs")
    if data is None:
        from getx.simulate import simulate

        sim_dir = out / "sim"
        if (sim_dir / "manifest.json").exists():
            inputs = discover_inputs(sim_dir, options.motifs)
        else:
            inputs = simulate(sim_dir, preset=options.preset, seed=options.seed).prepare_inputs()
            inputs.motifs = options.motifs
        source = f"simulated, preset {options.preset!r}, seed {options.seed} ({sim_dir})"
    else:
        inputs = discover_inputs(data, options.motifs)
        source = f"files in {data}"
    done("inputs")

    timed("prepare")
    if not store_path.exists():
        prepare(inputs, store_path, progress=scan_progress)
    done("prepare")
    store = open_store(store_path)
    held_chroms, held_cells = choose_holdouts(store, options)
    log.info("held out: chromosome %s, cell type %s", held_chroms, held_cells or "none")

    common = {
        "store": str(store_path),
        "preset": options.model,
        "regions": options.regions,
        "step": max(options.regions // 2, 1),
        "holdout_chroms": held_chroms,
        "holdout_cell_types": held_cells,
        "batch_size": options.batch_size,
        "seed": options.seed,
        "progress": options.progress,
        "warmup_steps": 20,
        "accessibility": options.accessibility,
        "lr": options.lr,
        # Reproducible: with several CPU threads the distance bias's gradient is summed in a
        # varying order, and those 1e-8 differences grew into held-out Pearsons 0.70-0.78.
        "deterministic": True,
    }
    distance = {"distance_buckets": options.distance_buckets} if options.distance_buckets else {}
    dropout = {"motif_dropout": options.motif_dropout} if options.motif_dropout else {}
    # Windows a quarter window apart give every TSS one window with at least a quarter window of
    # context on each side; a TSS near a window's edge misses half its enhancers (noisy labels).
    context = _context_regions(options.regions)
    quarter = {"step": max(context, 1), "min_context": context} if options.context_loss else {}
    runs: dict[str, Path] = {}
    for name, settings in {
        "pretrain": {
            "task": "pretrain",
            "epochs": options.pretrain_epochs,
            "model": {**distance, **dropout},
        },
        "finetune": {
            "epochs": options.finetune_epochs,
            "model": {**distance, **dropout},
            "init_checkpoint": str(out / "runs" / "pretrain" / "checkpoints" / "last.ckpt"),
            **quarter,
        },
        # the no-context baseline: the same windows, loss and regularisation
        "mlp": {
            "arch": "mlp",
            "epochs": options.finetune_epochs,
            "lr": options.mlp_lr,
            "model": dropout,
            **quarter,
        },
    }.items():
        timed(name)
        settings = {**common, **settings}
        runs[name] = _train_once(TrainConfig(out=str(out / "runs" / name), **settings))
        done(name)

    timed("predict and evaluate")
    predictions = evaluate_runs(
        store,
        {"GET (finetuned)": runs["finetune"], "per-region MLP": runs["mlp"]},
        held_chroms,
        held_cells,
    )
    done("predict and evaluate")

    from getx.train.evaluate import score, score_by_cell_type

    scores = score(predictions)
    per_cell_type = score_by_cell_type(predictions["GET (finetuned)"])
    long = pd.concat([t.assign(model=m) for m, t in predictions.items()], ignore_index=True)
    _write_tsv(out / "predictions.tsv", long)
    _write_tsv(out / "scores.tsv", scores)
    _write_tsv(out / "per_cell_type.tsv", per_cell_type)

    timed("report")
    summary = {
        "source": source,
        "store": str(store_path),
        "regions": int(store.n_regions),
        "features": len(store.feature_names),
        "cell_types": list(store.cell_types),
        "holdout_chroms": held_chroms,
        "holdout_cell_types": held_cells,
        "options": asdict(options),
        "scores": scores.to_dict(orient="records"),
        "per_cell_type": per_cell_type.to_dict(orient="records"),
    }
    logs = {
        "pretrain (masked regions)": _read_log(runs["pretrain"]),
        "finetune (expression)": _read_log(runs["finetune"]),
        "per-region MLP": _read_log(runs["mlp"]),
    }
    report = out / "report.html"
    finished = {k: v for k, v in timings.items() if k != "report"}  # "report" holds its start
    write_demo_report(
        report, summary, scores, per_cell_type, predictions["GET (finetuned)"], logs, finished
    )
    done("report")
    summary["timings_s"] = timings
    with atomic_output(out / "summary.json") as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=1, default=_json_default))
    return DemoResult(out=out, report=report, store=store_path, scores=scores, timings=timings)


def evaluate_runs(
    store, runs: dict[str, Path], held_chroms: list[str], held_cells: list[str]
) -> dict[str, pd.DataFrame]:
    """Predictions of each trained run and of the fitted baselines, per (gene row, cell type),
    with a ``group`` column (training / held-out chromosome / cell type / both)."""
    from getx.train.evaluate import (
        distance_weighted_accessibility,
        mean_of_training_cell_types,
        split_rows,
    )
    from getx.train.predict import load_model

    tables = {}
    for name, run in runs.items():
        model = load_model(run)
        table = pd.concat([model.predict(store, ct) for ct in store.cell_types], ignore_index=True)
        tables[name] = table.assign(group=split_rows(table, held_chroms, held_cells))
    reference = next(iter(tables.values()))
    training = (reference["group"] == "training").to_numpy()
    training_cells = [c for c in store.cell_types if c not in held_cells]
    tables["distance-weighted accessibility"] = distance_weighted_accessibility(
        store, reference, training
    )
    if held_cells:
        tables["mean of training cell types"] = mean_of_training_cell_types(
            reference, training_cells, held_chroms
        )
    return tables


def write_demo_report(
    path: Path,
    summary: dict,
    scores: pd.DataFrame,
    per_cell_type: pd.DataFrame,
    predictions: pd.DataFrame,
    logs: dict[str, pd.DataFrame],
    timings: dict[str, float],
) -> Path:
    """The demo's report.html: held-out scatter plots, model comparison, curves, timings."""
    from getx import plots
    from getx.report import Section, write_report

    held = [
        g
        for g in ("held-out chromosome", "held-out cell type", "held-out both")
        if (predictions["group"] == g).any()
    ]
    panels = [(g, predictions[predictions["group"] == g]) for g in held]
    wide = scores.pivot_table(index="model", columns="group", values="pearson").reset_index()
    wide.columns.name = None
    overview = Section("Data and split").add(
        f"Input: {summary['source']}. Store: {summary['regions']:,} regions x "
        f"{summary['features']} motif features, cell types {', '.join(summary['cell_types'])}. "
        f"Held out from training: chromosome {', '.join(summary['holdout_chroms'])}; cell type "
        f"{', '.join(summary['holdout_cell_types']) or '(none: fewer than 3 cell types)'}. "
        f"Model: the {summary['options']['model']} GET preset, "
        + (
            f"with a learned attention bias over {summary['options']['distance_buckets']} "
            "genomic-distance buckets."
            if summary["options"].get("distance_buckets")
            else "GET's attention (no genomic distances)."
        )
        + _training_choices(summary["options"])
    )
    accuracy = (
        Section("Held-out accuracy")
        .add(
            plots.observed_vs_predicted(panels),
            caption="Finetuned GET on genes it never saw in training: observed vs predicted "
            "expression per (gene, cell type).",
        )
        .add("Pearson correlation per model (rows) and split (columns):")
        .add(wide)
        .add("All metrics:")
        .add(scores)
        .add(
            "Baselines: the per-region MLP sees one region at a time (no context); "
            "distance-weighted accessibility is a least-squares fit on promoter accessibility "
            "plus neighbouring accessibility weighted by distance; mean of training cell types "
            "predicts a gene in a new cell type from its expression in the others (undefined on "
            "held-out chromosomes)."
        )
    )
    cells = Section("Per cell type").add(per_cell_type)
    curves = Section("Training").add(
        plots.training_curves(logs),
        caption="Training loss per step, validation loss and Pearson per epoch (validation: "
        "the held-out chromosome in the held-out cell type).",
    )
    timing = Section("Run time").add(
        pd.DataFrame({"stage": list(timings), "seconds": list(timings.values())})
    )
    return write_report(
        path,
        "getx demo report",
        [overview, accuracy, cells, curves, timing],
        subtitle=time.strftime("%Y-%m-%d %H:%M"),
    )


def _context_regions(regions: int) -> int:
    """The context (and window step) of the demo's context loss: a quarter window."""
    return regions // 4


def _training_choices(options: dict) -> str:
    """The demo's departures from GET's training, in words (empty when there are none)."""
    parts = []
    if options.get("motif_dropout"):
        parts.append(f"dropout {options['motif_dropout']:g} on the motif inputs")
    if options.get("context_loss", False):
        parts.append(
            "a loss that counts a TSS only where its window gives it "
            f"{_context_regions(options['regions'])} regions of "
            "context on each side"
        )
    return f" Trained with {' and '.join(parts)}." if parts else ""


def _write_tsv(path: Path, table: pd.DataFrame) -> None:
    with atomic_output(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False)


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value)
