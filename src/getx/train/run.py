"""One training run: resolve the config, build data and model, fit with Lightning.

The run directory holds ``config.yaml`` (the resolved :class:`~getx.train.config.TrainConfig`),
``scaling.json`` (the motif scaling fitted on training rows), ``checkpoints/`` (one per epoch,
``last.ckpt``, and ``interrupted.ckpt`` when stopped) and ``logs/metrics.csv``. Every file is
written atomically.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

from getx.errors import InputError
from getx.io.files import (
    atomic_output,
    check_output,
    folder_of,
    json_kind,
    read_json_object,
    removed_on_failure,
    text_kind,
)
from getx.train.config import TrainConfig, read_config

log = logging.getLogger(__name__)

# A run directory holds nothing but what a run writes (an empty folder will do too).
RUN_KIND = folder_of(
    "run directory",
    {
        "config.yaml": text_kind("run config", "store: "),
        "scaling.json": json_kind("feature scaling", {"feature_names": None, "max": None}),
        "checkpoints": None,
        "logs": None,
        "tensorboard": None,
        ".*": None,  # an atomic write cut short by a hard kill
    },
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
    """Train (or resume) a run; returns the run directory. ``callbacks``: extra Lightning ones.

    Everything that can be refused (settings, the store, the run directory, the checkpoints) is
    checked before the run directory is created. A run that fails before its first epoch ends
    leaves nothing new behind; one stopped by the user (Ctrl-C), or failing after an epoch, keeps
    its checkpoints so that ``resume`` continues it.
    """
    import lightning as L  # noqa: N812
    import numpy as np
    import yaml

    from getx.model import preset
    from getx.model.checkpoint import load_weights, read_checkpoint
    from getx.model.heads import head_class
    from getx.store import open_store
    from getx.train.data import prepare_data
    from getx.train.lit import GETLightning

    if config.data.min_context and not head_class(config.task).reads_tss(config.loss_on):
        raise InputError(
            "min_context selects the TSSs of the expression loss: it needs task expression and "
            f"loss_on tss (got {config.task}, {config.loss_on})"
        )
    out = Path(config.out)
    ckpt_path = None
    col_max = None
    if resume:
        if not (out / "config.yaml").exists():
            raise InputError("no run to resume here (config.yaml missing)", out)
        saved = read_config(out / "config.yaml")
        saved.epochs, saved.max_steps = config.epochs, config.max_steps
        config = saved
        ckpt_path = latest_checkpoint(out)
        if ckpt_path is None:
            raise InputError("no checkpoint to resume from (checkpoints/*.ckpt)", out)
        read_checkpoint(ckpt_path)  # refused here, naming the file, rather than by Lightning
        scaling = read_json_object(out / "scaling.json")
        if scaling is None or not isinstance(scaling.get("max"), list):
            raise InputError("missing or not a getx feature scaling", out / "scaling.json")
        col_max = np.asarray(scaling["max"], dtype=np.float32)
        log.info("resuming %s from %s", out, ckpt_path)
    else:
        check_output(out, RUN_KIND, inputs=[config.store, config.init_checkpoint])
        if (out / "checkpoints").exists() and any((out / "checkpoints").glob("*.ckpt")):
            raise InputError(
                "run directory already has checkpoints; use --resume or a new --out", out
            )

    import warnings

    # With OnExceptionCheckpoint present Lightning resolves ckpt_path=None to "last"; we only
    # resume on request (and refuse to overwrite), so its warning about that is noise.
    warnings.filterwarnings("ignore", message=r".*ckpt_path=None\)` was called without a model")
    warnings.filterwarnings("ignore", message=r".*there is no last checkpoint available")
    L.seed_everything(config.seed, workers=True, verbose=False)
    store = open_store(config.store)
    # The model's settings are checked before the store's arrays are read.
    model_cfg = preset(
        config.preset,
        n_features=len(store.feature_names) + 1,
        task=config.task,
        arch=config.arch,
        **config.model,
    )
    data = prepare_data(store, config.data, col_max=col_max)
    data.check_learnable(head_class(config.task).target, store, config.data)
    module = GETLightning(
        model=model_cfg.to_dict(),
        optim={
            "lr": config.lr,
            "min_lr": config.min_lr,
            "weight_decay": config.weight_decay,
            "layer_decay": config.layer_decay,
            "warmup_steps": config.warmup_steps,
        },
        data=asdict(config.data),
        scaling=data.col_max.tolist(),
        feature_names=data.feature_names,
        cell_types=data.plan.cell_types,
        chroms=data.plan.chroms,
        lora_rank=config.lora_rank,
        lora_alpha=config.lora_alpha,
        loss=config.loss,
        loss_on=config.loss_on,
        mask_ratio=config.mask_ratio,
        motif_checksum=(store.attrs.get("motif_set") or {}).get("checksum"),
    )
    if config.init_checkpoint and ckpt_path is None:
        # The encoder must match fully; heads may differ (pretrained -> finetune).
        report = load_weights(module.model, config.init_checkpoint, backbone_only=True)
        log.info("initialised from %s (%s)", config.init_checkpoint, report)
    if ckpt_path is None and module.model.head.reads_tss(config.loss_on):
        # The mean label over the TSS entries the loss reads.
        module.model.head.warm_start(data.training_label_mean())

    def keep_run(error: BaseException) -> bool:
        # Ctrl-C (Lightning exits) or a failure after an epoch: the checkpoints can resume it.
        return (
            isinstance(error, (KeyboardInterrupt, SystemExit))
            or (out / "checkpoints" / "last.ckpt").exists()
        )

    with removed_on_failure(out, keep=keep_run):
        out.mkdir(parents=True, exist_ok=True)
        _write_text(out / "config.yaml", yaml.safe_dump(asdict(config), sort_keys=False))
        _write_text(
            out / "scaling.json",
            json.dumps(
                {"feature_names": data.feature_names, "max": data.col_max.tolist()}, indent=1
            ),
        )
        _fit(config, data, module, out, ckpt_path, callbacks or [])
    return out


def _fit(config, data, module, out: Path, ckpt_path, callbacks: list) -> None:
    """Lightning's fit of ``module`` on ``data`` into the run directory ``out``."""
    import lightning as L  # noqa: N812
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint, OnExceptionCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from getx.train.lit import EpochSeeds, EpochShuffle, collate

    generator = torch.Generator().manual_seed(config.seed)
    loader_args = {
        "batch_size": config.batch_size,
        "collate_fn": collate,
        "num_workers": config.num_workers,
        "persistent_workers": config.num_workers > 0,
    }
    train_set = data.dataset(
        "train",
        config.task,
        shift=config.data.step // 2 if config.data.random_shift else 0,
        min_context=config.data.min_context,
    )
    train_loader = torch.utils.data.DataLoader(
        train_set,
        sampler=EpochShuffle(len(train_set), config.seed),
        generator=generator,
        **loader_args,
    )
    val_set = data.dataset("val", config.task)
    val_loader = torch.utils.data.DataLoader(val_set, shuffle=False, **loader_args)

    if ckpt_path is not None:
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
            EpochSeeds(config.seed),
            *callbacks,
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
