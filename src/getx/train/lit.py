"""The Lightning module shared by every task: pretraining, expression and accessibility finetuning.

What differs between tasks (mask, target, loss, scored entries) is the model's head's
(:mod:`getx.model.heads`). Validation metrics are torchmetrics objects updated on every batch and
computed and reset once per epoch (corpus-level, not a mean of per-batch values), overall and per
cell type and per chromosome. Expression is scored on TSS entries only.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L  # noqa: N812
import torch
import torchmetrics
from torch import nn

from getx.errors import InputError
from getx.model import GETModel, ModelConfig, add_lora
from getx.model.config import LOSSES
from getx.train.optim import build_optimizer

log = logging.getLogger(__name__)


def _regression_metrics(spearman: bool = True) -> torchmetrics.MetricCollection:
    metrics: dict[str, torchmetrics.Metric] = {
        "pearson": torchmetrics.PearsonCorrCoef(),
        "r2": torchmetrics.R2Score(),
    }
    if spearman:
        metrics["spearman"] = torchmetrics.SpearmanCorrCoef()
    return torchmetrics.MetricCollection(metrics)


class GETLightning(L.LightningModule):
    """Wraps :class:`GETModel` with its loss, optimizer, schedule and metrics.

    Hyperparameters are plain dicts and lists so checkpoints load with ``weights_only=True``.
    """

    def __init__(
        self,
        model: dict[str, Any],
        optim: dict[str, Any],
        data: dict[str, Any],
        scaling: list[float],
        feature_names: list[str],
        cell_types: list[str],
        chroms: list[str],
        lora_rank: int = 0,
        lora_alpha: float | None = None,
        loss: str = "poisson",
        mask_ratio: float = 0.5,
        loss_on: str = "tss",
        motif_checksum: str | None = None,  # the store's motif set, checked at prediction
    ):
        super().__init__()
        if loss_on not in ("tss", "all"):
            raise InputError(f"loss_on {loss_on!r}: use tss or all")
        if loss not in LOSSES:
            raise InputError(f"loss {loss!r}: use {' or '.join(LOSSES)}")
        self.save_hyperparameters()
        self.model = GETModel(ModelConfig.from_dict(model))
        if lora_rank:
            add_lora(self.model, rank=lora_rank, alpha=lora_alpha)
        detailed = self.model.head.detailed_metrics
        self.val_metrics = _regression_metrics(spearman=detailed)
        self.group_metrics = nn.ModuleDict()
        if detailed:
            for i, _ in enumerate(cell_types):
                self.group_metrics[f"ct{i}"] = _regression_metrics(spearman=False)
            for i, _ in enumerate(chroms):
                self.group_metrics[f"chrom{i}"] = _regression_metrics(spearman=False)
        self._group_counts: dict[str, int] = {}

    def forward(self, x, pad=None, mask=None, positions=None):
        return self.model(x, pad, mask, positions)

    def _step(self, batch: dict[str, torch.Tensor], generator=None):
        head = self.model.head
        pad = batch["pad"]
        mask = head.draw_mask(pad, self.hparams.mask_ratio, generator)
        pred = self.model(batch["x"], pad, mask, batch.get("pos"))
        target, keep = head.target_and_keep(batch, mask, self.hparams.loss_on)
        return pred, target, keep, head.loss(pred.float(), target, keep, self.hparams.loss)

    def training_step(self, batch, batch_idx):
        _, _, _, loss = self._step(batch)
        self.log(
            "train_loss",
            loss,
            prog_bar=True,
            on_step=True,
            on_epoch=True,
            batch_size=len(batch["x"]),
        )
        return loss

    def validation_step(self, batch, batch_idx):
        # A fixed mask per validation batch (for heads that draw one), so epochs compare.
        pred, target, keep, loss = self._step(batch, torch.Generator().manual_seed(batch_idx))
        self.log(
            "val_loss",
            loss,
            prog_bar=True,
            on_epoch=True,
            sync_dist=True,
            batch_size=len(batch["x"]),
        )
        pred = pred.float()
        keep = self.model.head.scored(batch, keep, pred)
        if not keep.any():
            return
        self.val_metrics.update(pred[keep], target[keep])
        if not self.model.head.detailed_metrics:
            return
        for kind, codes in (("ct", batch["cell_type"]), ("chrom", batch["chrom"])):
            for code in torch.unique(codes).tolist():
                rows = codes == code
                sel = keep & rows.view(-1, *([1] * (keep.ndim - 1)))
                n = int(sel.sum())
                if n:
                    key = f"{kind}{code}"
                    self.group_metrics[key].update(pred[sel], target[sel])
                    self._group_counts[key] = self._group_counts.get(key, 0) + n

    def on_validation_epoch_end(self):
        if self.val_metrics.pearson.update_count:
            for name, value in self.val_metrics.compute().items():
                self.log(f"val_{name}", value, prog_bar=name == "pearson")
        self.val_metrics.reset()
        names = {"ct": self.hparams.cell_types, "chrom": self.hparams.chroms}
        groups = []  # (kind=label, pearson, rows) of each group with enough rows
        present = [key.rstrip("0123456789") for key, n in self._group_counts.items() if n]
        for key, metrics in self.group_metrics.items():
            count = self._group_counts.get(key, 0)
            if count >= 3:
                kind = "ct" if key.startswith("ct") else "chrom"
                label = names[kind][int(key[len(kind) :])]
                values = metrics.compute()
                for name, value in values.items():
                    self.log(f"val_{name}/{kind}={label}", value)
                groups.append((f"{kind}={label}", float(values["pearson"]), count))
            metrics.reset()
        self._group_counts = {}
        if sorted(present) == ["chrom", "ct"] and len(groups) == 2:
            # One cell type and one chromosome: every validation row is in both (validation is
            # the held-out chromosome within the held-out cell type), so one figure, not two.
            groups = [(" on ".join(group[0] for group in groups), *groups[0][1:])]
        if groups:
            log.info(
                "validation epoch %d: %s",
                self.current_epoch,
                "; ".join(f"{name} pearson {r:.3f} (n={n})" for name, r, n in groups),
            )

    def configure_optimizers(self):
        o = self.hparams.optim
        total = int(self.trainer.estimated_stepping_batches) if self.trainer else 1
        if not math.isfinite(total) or total <= 0:
            total = 1
        warmup = int(o.get("warmup_steps", 0))
        optimizer, scheduler = build_optimizer(
            self.model,
            lr=o["lr"],
            weight_decay=o["weight_decay"],
            layer_decay=o["layer_decay"],
            total_steps=total,
            warmup_steps=min(warmup, total),
            min_lr=o["min_lr"],
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A seed for one ``stream`` of an epoch's randomness, from the run's seed and the epoch."""
    import numpy as np

    return int(np.random.SeedSequence([seed, epoch, stream]).generate_state(1)[0])


class EpochShuffle(torch.utils.data.Sampler):
    """The training windows in an order drawn from (seed, epoch) alone: Lightning sets the epoch
    before each epoch (``set_epoch``), so a run resumed from a checkpoint visits the windows in
    the order the uninterrupted run would have."""

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch, 0))
        yield from torch.randperm(self.size, generator=generator).tolist()


class EpochSeeds(L.Callback):
    """Seeds torch's global generator at each training epoch's start from (seed, epoch): the
    dropout, masks and window shifts of an epoch do not depend on what came before, so a resumed
    run draws what an uninterrupted one would have (worker processes aside: their seeds come
    from the loader when its iterator is made)."""

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.manual_seed(epoch_seed(self.seed, trainer.current_epoch, 1))


def collate(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    out = {
        key: torch.stack([item[key] for item in items])
        for key in ("x", "pos", "pad", "y", "tss", "best")
    }
    out["cell_type"] = torch.tensor([item["cell_type"] for item in items])
    out["chrom"] = torch.tensor([item["chrom"] for item in items])
    return out
