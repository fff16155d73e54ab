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
    catalog.parquet      the TF-pair catalog (simulated data): every motif-cluster pair per cell
                         type, from the importance of a sample of genes (catalog_importance.zarr)
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

from getx.catalog.schema import CATALOG_KIND
from getx.errors import InputError, check_range
from getx.interpret.importance import IMPORTANCE_KIND
from getx.io.files import (
    atomic_output,
    check_output,
    folder_of,
    json_kind,
    removed_on_failure,
    text_kind,
)
from getx.model.config import MAX_DISTANCE_BUCKETS
from getx.simulate import PRESETS as SIMULATOR_PRESETS
from getx.simulate import SIMULATION_KIND
from getx.store import STORE_KIND
from getx.train.config import ACCESSIBILITY_MODES, PRESETS, TrainConfig
from getx.train.evaluate import EVALUATION_FILES
from getx.train.run import RUN_KIND

log = logging.getLogger(__name__)

# The demo's catalog: importance of a sample of genes in every cell type (a motif's mean
# importance is as well estimated from 250 genes as from all ~750: bench/results/catalog.md)
# and a small causal network, which the score does not use (docs/catalog.md).
CATALOG_GENES = 250
CATALOG_NETWORK = {"runs": 3, "top_motifs": 30}


@dataclass
class DemoOptions:
    """What the demo simulates and how long it trains (defaults: under 10 min on 2 CPU cores)."""

    preset: str = "demo"  # simulator preset (ignored with real data)
    seed: int = 0
    model: str = "small"  # training preset: model size and defaults (getx.train.config.PRESETS)
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
    holdout_chrom: str | None = None  # default: see getx.train.evaluate.choose_holdouts
    holdout_cell_type: str | None = None
    motifs: str = "jaspar2024"
    progress: bool = True

    def __post_init__(self) -> None:
        """Every option checked here, before the demo creates anything."""
        if self.preset not in SIMULATOR_PRESETS:
            raise InputError(
                f"unknown preset {self.preset!r}; choose from {', '.join(SIMULATOR_PRESETS)}"
            )
        if self.model not in PRESETS:
            raise InputError(f"unknown model preset {self.model!r} ({', '.join(PRESETS)})")
        if self.accessibility not in ACCESSIBILITY_MODES:
            raise InputError(f"accessibility {self.accessibility!r}: one of {ACCESSIBILITY_MODES}")
        check_range("seed", self.seed, 0, 2**32 - 1)
        check_range("pretrain_epochs", self.pretrain_epochs, 1)
        check_range("finetune_epochs", self.finetune_epochs, 1)
        if self.distance_buckets:
            check_range("distance_buckets", self.distance_buckets, 2, MAX_DISTANCE_BUCKETS)
        check_range("motif_dropout", self.motif_dropout, 0, 1, high_open=True)
        check_range("regions", self.regions, 4)
        check_range("batch_size", self.batch_size, 1)
        check_range("lr", self.lr, 0, low_open=True)
        check_range("mlp_lr", self.mlp_lr, 0, low_open=True)


# What the demo writes into its folder (entries of an earlier demo are reused or replaced).
DEMO_KIND = folder_of(
    "demo folder",
    {
        "sim": SIMULATION_KIND,
        "store.zarr": STORE_KIND,
        "runs": folder_of(
            "demo runs", {"pretrain": RUN_KIND, "finetune": RUN_KIND, "mlp": RUN_KIND}
        ),
        **EVALUATION_FILES,
        "summary.json": json_kind("demo summary", {"source": None, "scores": None}),
        "report.html": text_kind("demo report", "<!DOCTYPE html>"),
        "catalog.parquet": CATALOG_KIND,
        "catalog_importance.zarr": IMPORTANCE_KIND,
        ".*": None,  # an atomic write cut short by a hard kill
    },
)


@dataclass
class DemoResult:
    out: Path
    report: Path
    store: Path
    scores: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def _train_once(config: TrainConfig) -> Path:
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
    laid out as :func:`getx.prepare.discover_inputs` reads, instead of simulating. ``stage`` is
    told each stage's name as it starts and ``scan_progress`` (done, total) regions as the motif
    scan goes (for progress display).

    Everything that can be checked up front is checked before ``out`` is touched; a demo that
    fails leaves nothing new in ``out``, one interrupted (Ctrl-C) keeps its finished stages."""
    from getx.prepare import discover_inputs, input_paths

    options = options or DemoOptions()
    out = Path(out)
    given = None if data is None else discover_inputs(data, options.motifs)
    check_output(out, DEMO_KIND, inputs=input_paths(given) if given else [])
    with removed_on_failure(out, keep=lambda e: isinstance(e, (KeyboardInterrupt, SystemExit))):
        out.mkdir(parents=True, exist_ok=True)
        return _run_stages(out, given, options, stage, scan_progress)


def _run_stages(out: Path, given, options: DemoOptions, stage, scan_progress) -> DemoResult:
    """The demo's stages into the folder ``out``: ``given`` are the user's inputs (None:
    simulate them)."""
    from getx.demo_report import write_demo_report
    from getx.prepare import discover_inputs, prepare
    from getx.store import open_store
    from getx.train.config import read_config
    from getx.train.evaluate import choose_holdouts, evaluate_runs, write_evaluation

    timings: dict[str, float] = {}
    announce = stage or (lambda name: None)

    def timed(name: str):
        announce(name)
        timings[name] = time.perf_counter()

    def done(name: str):
        timings[name] = round(time.perf_counter() - timings[name], 2)

    store_path = out / "store.zarr"
    timed("inputs")
    if given is None:
        from getx.simulate import simulate

        sim_dir = out / "sim"
        if (sim_dir / "manifest.json").exists():
            inputs = discover_inputs(sim_dir, options.motifs)
        else:
            inputs = simulate(sim_dir, preset=options.preset, seed=options.seed).prepare_inputs()
            inputs.motifs = options.motifs
        source = f"simulated, preset {options.preset!r}, seed {options.seed} ({sim_dir})"
    else:
        inputs = given
        source = f"files in {Path(inputs.peaks).parent}"
    done("inputs")

    timed("prepare")
    if not store_path.exists():
        prepare(inputs, store_path, progress=scan_progress)
    done("prepare")
    store = open_store(store_path)
    held_chroms, held_cells = choose_holdouts(
        store, options.holdout_chrom, options.holdout_cell_type
    )
    log.info("held out: chromosome %s, cell type %s", held_chroms, held_cells or "none")

    # The model preset's training settings, changed where the demo chooses otherwise.
    common = {
        "data": {
            "regions": options.regions,
            "step": max(options.regions // 2, 1),
            "holdout_chroms": held_chroms,
            "holdout_cell_types": held_cells,
            "accessibility": options.accessibility,
        },
        "batch_size": options.batch_size,
        "seed": options.seed,
        "progress": options.progress,
        "warmup_steps": 20,
        "lr": options.lr,
        # Reproducible: with several CPU threads the distance bias's gradient is summed in a
        # varying order, and those 1e-8 differences grew into held-out Pearsons 0.70-0.78.
        "deterministic": True,
    }
    distance = {"distance_buckets": options.distance_buckets} if options.distance_buckets else {}
    dropout = {"motif_dropout": options.motif_dropout} if options.motif_dropout else {}
    # Windows a quarter window apart give every TSS one window with at least a quarter window of
    # context on each side; a TSS near a window's edge misses half its enhancers (noisy labels).
    context = options.regions // 4
    quarter = {"step": max(context, 1), "min_context": context} if options.context_loss else {}
    quarter = {"data": quarter} if quarter else {}
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
        config = TrainConfig.from_preset(
            options.model,
            str(store_path),
            str(out / "runs" / name),
            task=settings.pop("task", "expression"),
        )
        runs[name] = _train_once(config.updated(common).updated(settings))
        done(name)

    timed("predict and evaluate")
    predictions = evaluate_runs(
        store,
        {"GET (finetuned)": runs["finetune"], "per-region MLP": runs["mlp"]},
        held_chroms,
        held_cells,
    )
    done("predict and evaluate")
    scores, per_cell_type = write_evaluation(out, predictions)

    interpretation = []
    catalog_ranks = []
    if given is None:  # simulated: the truth shows what interpretation should find
        from getx.catalog.report import catalog_sections, truth_ranks
        from getx.interpret.report import interpretation_sections
        from getx.interpret.truth import read_truth
        from getx.train.predict import load_model

        timed("interpret")
        training_cells = [c for c in store.cell_types if c not in held_cells]
        predictor = load_model(runs["finetune"])
        truth = read_truth(out / "sim")
        interpretation = interpretation_sections(
            predictor, store, truth, training_cells[0], held_chroms
        )
        done("interpret")
        timed("catalog")
        catalog = pd.read_parquet(demo_catalog(predictor, store, out, options.seed))
        interpretation += catalog_sections(catalog, truth, training_cells[0])
        catalog_ranks = truth_ranks(catalog, truth).to_dict(orient="records")
        done("catalog")

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
        "catalog_planted_pairs": catalog_ranks,
    }
    logs = {
        "pretrain (masked regions)": _read_log(runs["pretrain"]),
        "finetune (expression)": _read_log(runs["finetune"]),
        "per-region MLP": _read_log(runs["mlp"]),
    }
    report = out / "report.html"
    finished = {k: v for k, v in timings.items() if k != "report"}  # "report" holds its start
    write_demo_report(
        report,
        summary,
        scores,
        per_cell_type,
        predictions["GET (finetuned)"],
        logs,
        finished,
        read_config(runs["finetune"]),
        interpretation,
    )
    done("report")
    summary["timings_s"] = timings
    with atomic_output(out / "summary.json") as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=1, default=_json_default))
    return DemoResult(out=out, report=report, store=store_path, scores=scores, timings=timings)


def demo_catalog(predictor, store, out: Path, seed: int = 0) -> Path:
    """``out/catalog.parquet`` (reused when there): the importance of ``CATALOG_GENES`` genes
    (drawn with ``seed`` among those whose TSS region is open in every cell type) in every cell
    type, written to ``out/catalog_importance.zarr``, and the catalog built from it."""
    from getx.catalog.build import CatalogSources, NetworkOptions, build_catalog, write_catalog
    from getx.interpret.importance import importance, write_importance

    path = out / "catalog.parquet"
    if path.exists():
        return path
    index = store.genes
    open_everywhere = np.ones(len(index), dtype=bool)
    for cell_type in store.cell_types:
        raw = np.asarray(store.cell_type(cell_type).accessibility_raw)
        open_everywhere &= raw[index["region"].to_numpy()] > 0
    candidates = np.unique(index.loc[open_everywhere, "gene_id"].to_numpy(dtype=str))
    rng = np.random.default_rng(seed)
    genes = sorted(rng.choice(candidates, min(CATALOG_GENES, len(candidates)), replace=False))
    results = [importance(predictor, store, cell_type, genes) for cell_type in store.cell_types]
    interp = write_importance(out / "catalog_importance.zarr", results, predictor.source, store)
    network = {**CATALOG_NETWORK, "seed": seed}
    network["top_motifs"] = max(2, min(network["top_motifs"], len(genes) - 2))
    table, metadata = build_catalog(CatalogSources(interp, store.path), NetworkOptions(**network))
    return write_catalog(table, metadata, path)


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value)
