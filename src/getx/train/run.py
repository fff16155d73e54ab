"""One training run: resolve the config, build data and model, fit with Lightning.

The run directory holds ``config.yaml`` (the resolved config), ``scaling.json`` (the motif
scaling fitted on training rows), ``checkpoints/`` (one per epoch, ``last.ckpt``, and
``interrupted.ckpt`` when stopped) and ``logs/metrics.csv``. Every file is written atomically.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from getx.errors import InputError
from getx.io.files import atomic_output

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything a run needs; written to ``config.yaml`` as resolved."""

    store: str
    out: str
    task: str = "expression"  # expression | pretrain | accessibility
    preset: str = "small"  # paper | small
    arch: str = "transformer"  # transformer | mlp (GET's per-region baseline)
    model: dict[str, Any] = field(default_factory=dict)  # ModelConfig overrides
    # data
    regions: int = 200
    step: int = 100
    cell_types: list[str] | None = None
    holdout_chroms: list[str] = field(default_factory=list)
    holdout_cell_types: list[str] = field(default_factory=list)
    drop_zero_accessibility: bool = False
    accessibility: str = "binary"
    label_cutoff: float = 0.05
    random_shift: bool = False  # training windows move by up to step/2 regions per epoch (GET: on)
    min_context: int = 0  # expression loss on TSSs with this much context each side (GET: 0)
    # objective
    loss: str = "poisson"  # poisson | mse (expression and accessibility)
    loss_on: str = "tss"  # expression: tss (labelled TSS entries) | all (GET: 0 off TSS too)
    mask_ratio: float = 0.5
    # optimisation
    epochs: int = 10
    max_steps: int = -1
    batch_size: int = 8
    lr: float = 1e-4
    min_lr: float = 1e-6
    weight_decay: float = 0.05
    warmup_steps: int = 0
    layer_decay: float = 1.0
    # initialisation and adaptation
    init_checkpoint: str | None = None
    lora_rank: int = 0
    lora_alpha: float | None = None
    # machinery
    seed: int = 0
    num_workers: int = 0
    precision: str = "auto"  # auto: bf16-mixed on GPU, 32 on CPU
    devices: str = "auto"
    deterministic: bool = False
    progress: bool = True
    limit_val_batches: float = 1.0
    checkpoint_every: int = 1  # epochs between kept checkpoints (last.ckpt is always written)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown config keys {unknown}")
        return cls(**values)

    def data_config(self):
        from getx.train.data import DataConfig

        return DataConfig(
            regions=self.regions,
            step=self.step,
            cell_types=self.cell_types,
            holdout_chroms=list(self.holdout_chroms),
            holdout_cell_types=list(self.holdout_cell_types),
            drop_zero_accessibility=self.drop_zero_accessibility,
            accessibility=self.accessibility,
            label_cutoff=self.label_cutoff,
            random_shift=self.random_shift,
            min_context=self.min_context,
        )


def _write_text(path: Path, text: str) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def _checkpoint_io():
    import torch
    from lightning.pytorch.plugins.io import TorchCheckpointIO

    class AtomicCheckpointIO(TorchCheckpointIO):
        """Checkpoints written beside their destination and renamed into place."""

        def save_checkpoint(self, checkpoint, path, storage_options=None):
            with atomic_output(path) as tmp:
                torch.save(checkpoint, tmp)

    return AtomicCheckpointIO()


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The most recently written checkpoint of a run (``last`` or ``interrupted``), if any."""
    ckpts = [p for p in (Path(run_dir) / "checkpoints").glob("*.ckpt") if p.is_file()]
    return max(ckpts, key=lambda p: p.stat().st_mtime_ns) if ckpts else None


def _set_aside_logs(log_dir: Path) -> None:
    """Lightning's CSV logger deletes an existing metrics.csv: keep it as a numbered part."""
    current = log_dir / "metrics.csv"
    if current.exists():
        n = len(list(log_dir.glob("metrics.part*.csv")))
        current.rename(log_dir / f"metrics.part{n:03d}.csv")


def _merge_logs(log_dir: Path) -> None:
    """One metrics.csv for the whole run, resumed parts first."""
    import pandas as pd

    parts = sorted(log_dir.glob("metrics.part*.csv"))
    if not parts:
        return
    current = log_dir / "metrics.csv"
    frames = [pd.read_csv(p) for p in [*parts, current] if p.exists()]
    with atomic_output(current) as tmp:
        pd.concat(frames, ignore_index=True).to_csv(tmp, index=False)
    for p in parts:
        p.unlink()


def _loggers(out: Path, csv_logger) -> list:
    """CSV always; TensorBoard too when it is installed (an optional extra, never required)."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        return [csv_logger]
    from lightning.pytorch.loggers import TensorBoardLogger

    return [csv_logger, TensorBoardLogger(save_dir=str(out), name="", version="tensorboard")]


def train(config: TrainConfig, resume: bool = False, callbacks: list | None = None) -> Path:
    """Train (or resume) a run; returns the run directory. ``callbacks``: extra Lightning ones."""
    import lightning as L  # noqa: N812
    import numpy as np
    import torch
    import yaml
    from lightning.pytorch.callbacks import ModelCheckpoint, OnExceptionCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from getx.model import preset
    from getx.model.checkpoint import load_weights
    from getx.store import open_store
    from getx.train.data import prepare_data
    from getx.train.lit import GETLightning, collate

    if config.min_context and (config.task != "expression" or config.loss_on != "tss"):
        raise InputError(
            "min_context selects the TSSs of the expression loss: it needs task expression and "
            f"loss_on tss (got {config.task}, {config.loss_on})"
        )
    out = Path(config.out)
    ckpt_path = None
    col_max = None
    if resume:
        stored = out / "config.yaml"
        if not stored.exists():
            raise InputError("no run to resume here (config.yaml missing)", out)
        saved = TrainConfig.from_dict(yaml.safe_load(stored.read_text()))
        saved.epochs, saved.max_steps = config.epochs, config.max_steps
        config = saved
        ckpt_path = latest_checkpoint(out)
        scaling = json.loads((out / "scaling.json").read_text())
        col_max = np.asarray(scaling["max"], dtype=np.float32)
        log.info("resuming %s from %s", out, ckpt_path)
    elif (out / "checkpoints").exists() and any((out / "checkpoints").glob("*.ckpt")):
        raise InputError("run directory already has checkpoints; use --resume or a new --out", out)

    import warnings

    # With OnExceptionCheckpoint present Lightning resolves ckpt_path=None to "last"; we only
    # resume on request (and refuse to overwrite), so its warning about that is noise.
    warnings.filterwarnings("ignore", message=r".*ckpt_path=None\)` was called without a model")
    warnings.filterwarnings("ignore", message=r".*there is no last checkpoint available")
    L.seed_everything(config.seed, workers=True)
    store = open_store(config.store)
    data = prepare_data(store, config.data_config(), col_max=col_max)
    model_cfg = preset(
        config.preset,
        n_features=len(store.feature_names) + 1,
        task=config.task,
        arch=config.arch,
        **config.model,
    )
    out.mkdir(parents=True, exist_ok=True)
    _write_text(out / "config.yaml", yaml.safe_dump(asdict(config), sort_keys=False))
    _write_text(
        out / "scaling.json",
        json.dumps({"feature_names": data.feature_names, "max": data.col_max.tolist()}, indent=1),
    )
    module = GETLightning(
        model=model_cfg.to_dict(),
        optim={
            "lr": config.lr,
            "min_lr": config.min_lr,
            "weight_decay": config.weight_decay,
            "layer_decay": config.layer_decay,
            "warmup_steps": config.warmup_steps,
        },
        data=asdict(config.data_config()),
        scaling=data.col_max.tolist(),
        feature_names=data.feature_names,
        cell_types=data.plan.cell_types,
        chroms=data.plan.chroms,
        lora_rank=config.lora_rank,
        lora_alpha=config.lora_alpha,
        loss=config.loss,
        loss_on=config.loss_on,
        mask_ratio=config.mask_ratio,
    )
    if config.init_checkpoint and ckpt_path is None:
        # The encoder must match fully; heads may differ (pretrained -> finetune).
        report = load_weights(module.model, config.init_checkpoint, backbone_only=True)
        log.info("initialised from %s (%s)", config.init_checkpoint, report)
    if config.task == "expression" and config.loss_on == "tss" and ckpt_path is None:
        # Start the head at the mean label: Adam moves a bias by ~lr per step, so from 0 the
        # first thousands of steps would only learn the mean (labels are log10 CPM ~ 1-4).
        mean = data.training_label_mean()
        if mean > 0:
            head = module.model.head_exp.bias
            with torch.no_grad():
                head.fill_(float(np.log(np.expm1(mean))))

    generator = torch.Generator().manual_seed(config.seed)
    loader_args = {
        "batch_size": config.batch_size,
        "collate_fn": collate,
        "num_workers": config.num_workers,
        "persistent_workers": config.num_workers > 0,
    }
    train_loader = torch.utils.data.DataLoader(
        data.dataset(
            "train",
            config.task,
            shift=config.step // 2 if config.random_shift else 0,
            min_context=config.min_context,
        ),
        shuffle=True,
        generator=generator,
        **loader_args,
    )
    val_set = data.dataset("val", config.task)
    val_loader = torch.utils.data.DataLoader(val_set, shuffle=False, **loader_args)

    if resume:
        _set_aside_logs(out / "logs")
    gpu = torch.cuda.is_available()
    precision = (
        config.precision if config.precision != "auto" else ("bf16-mixed" if gpu else "32-true")
    )
    ckpt_dir = out / "checkpoints"
    trainer = L.Trainer(
        max_epochs=config.epochs,
        max_steps=config.max_steps,
        accelerator="gpu" if gpu else "cpu",
        devices=config.devices if gpu else 1,
        strategy="ddp" if gpu and torch.cuda.device_count() > 1 else "auto",
        precision=precision,
        deterministic=config.deterministic,
        logger=_loggers(out, CSVLogger(save_dir=str(out), name="", version="logs")),
        callbacks=[
            ModelCheckpoint(
                dirpath=ckpt_dir,
                filename="epoch{epoch:03d}",
                auto_insert_metric_name=False,
                save_top_k=-1,
                every_n_epochs=config.checkpoint_every,
                save_last=True,
            ),
            OnExceptionCheckpoint(dirpath=ckpt_dir, filename="interrupted"),
            *(callbacks or []),
        ],
        plugins=[_checkpoint_io()],
        enable_progress_bar=config.progress,
        enable_model_summary=config.progress,
        num_sanity_val_steps=0,
        limit_val_batches=config.limit_val_batches if len(val_set) else 0,
        log_every_n_steps=1,
    )
    try:
        trainer.fit(module, train_loader, val_loader if len(val_set) else None, ckpt_path=ckpt_path)
    finally:
        _merge_logs(out / "logs")
    return out
