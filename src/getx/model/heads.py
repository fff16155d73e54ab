"""GET's task heads, one class each, and the registry that names them.

A head is the output layer on the encoder's per-region embeddings (B, R, D). Its class owns that
layer and its activation, what it learns (the training array it reads, or the masked input), its
loss and the entries the loss and the validation metrics count, and the names of its weights in
checkpoints (ours, and GET's published ones). :class:`~getx.model.core.GETModel` builds
``HEADS[config.task]``; checkpoint loading, LoRA, training, the CLI's ``--task`` and prediction
read everything task-specific from the head, so a new head is one class and one ``HEADS``
entry.

Batches are the dicts of :func:`getx.train.lit.collate`: ``x`` (B, R, F) inputs, ``pad`` (B, R)
padding, ``y`` the target array, ``tss`` (B, R, 2) labelled TSS entries, ``best`` (B, R) each
region's best-context window (validation).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from getx.errors import InputError


def masked_loss(
    pred: torch.Tensor, target: torch.Tensor, keep: torch.Tensor, kind: str
) -> torch.Tensor:
    """Mean loss over the entries where ``keep`` is true (padding and unmasked regions excluded)."""
    if kind == "poisson":
        # PoissonNLLLoss(log_input=False): pred - target * log(pred + eps)
        per = pred - target * torch.log(pred + 1e-8)
    elif kind == "mse":
        per = (pred - target) ** 2
    else:
        # getx.model.config.LOSSES names these two (that module imports this one)
        raise InputError(f"unknown loss {kind!r} (choose from poisson, mse)")
    keep = keep.to(per.dtype)
    while keep.ndim < per.ndim:
        keep = keep.unsqueeze(-1)
    keep = keep.expand_as(per)
    return (per * keep).sum() / keep.sum().clamp_min(1.0)


class Head(nn.Linear):
    """One output layer of GET. Subclasses set the class attributes and override what differs.

    The weights stay plain ``weight`` and ``bias`` under ``layer_name``, so state dicts, LoRA and
    the layer-wise learning rates treat a head as the Linear it is.
    """

    task: ClassVar[str]  # its name in HEADS, ModelConfig.task and checkpoint hyperparameters
    layer_name: ClassVar[str]  # the layer's attribute on GETModel, the prefix of its weights
    # GET checkpoint prefixes -> ours, for published weights (getx's own names load as they are)
    get_prefixes: ClassVar[tuple[tuple[str, str], ...]] = ()
    mask_token: ClassVar[bool] = False  # the encoder learns a token that replaces masked regions
    # the per-region array it learns, a field of getx.train.data.CellTypeArrays ("labels",
    # "accessibility", ...; None: the input itself)
    target: ClassVar[str | None] = None
    sees_accessibility: ClassVar[bool] = True  # False: the input's accessibility column is 1
    loss_kind: ClassVar[str | None] = None  # its fixed loss (None: the run's ``loss``)
    # Spearman and per cell type / chromosome breakdowns in validation (off where every masked
    # feature is an entry: too many to rank)
    detailed_metrics: ClassVar[bool] = True

    def __init__(self, dim: int, n_features: int):
        super().__init__(dim, self.width(n_features))

    @classmethod
    def width(cls, n_features: int) -> int:
        """Outputs per region."""
        raise NotImplementedError

    @classmethod
    def checkpoint_prefixes(cls) -> tuple[str, ...]:
        """Names of every parameter this head brings to a model (its layer, its mask token)."""
        return (f"{cls.layer_name}.", *(("mask_token",) if cls.mask_token else ()))

    @classmethod
    def reads_tss(cls, loss_on: str) -> bool:
        """Whether its loss counts the labelled TSS entries only (what ``min_context`` selects)."""
        return False

    def draw_mask(
        self, pad: torch.Tensor, ratio: float, generator: torch.Generator | None
    ) -> torch.Tensor | None:
        """(B, R) regions to hide behind the mask token, or None when the head reads them all."""
        return None

    def target_and_keep(
        self, batch: dict[str, torch.Tensor], mask: torch.Tensor | None, loss_on: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """What the predictions are compared with, and the entries the loss counts."""
        return batch["y"], ~batch["pad"]

    def scored(
        self, batch: dict[str, torch.Tensor], keep: torch.Tensor, pred: torch.Tensor
    ) -> torch.Tensor:
        """The entries of ``pred`` the validation metrics read (``keep``: the loss's entries)."""
        return keep

    def loss(
        self, pred: torch.Tensor, target: torch.Tensor, keep: torch.Tensor, kind: str
    ) -> torch.Tensor:
        """:func:`masked_loss` with the head's own loss, or the run's ``kind`` when it has none."""
        return masked_loss(pred, target, keep, self.loss_kind or kind)

    def warm_start(self, label_mean: float) -> None:
        """Start from the training labels' mean, where the head knows how (default: no-op)."""


class ExpressionHead(Head):
    """Expression per region and strand: softplus(Linear(D -> 2)), Poisson NLL on TSS entries."""

    task = "expression"
    layer_name = "head_exp"
    get_prefixes = (("head_exp.head.", "head_exp."), ("head.", "head_exp."))
    target = "labels"

    @classmethod
    def width(cls, n_features: int) -> int:
        return 2

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.softplus(super().forward(h))

    @classmethod
    def reads_tss(cls, loss_on: str) -> bool:
        return loss_on == "tss"

    def target_and_keep(
        self, batch: dict[str, torch.Tensor], mask: torch.Tensor | None, loss_on: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # GET scores every region and strand (non-TSS entries are 0); "tss" scores only the
        # entries where a measured gene starts, the ones predictions are read from.
        return batch["y"], batch["tss"] if self.reads_tss(loss_on) else ~batch["pad"]

    def scored(
        self, batch: dict[str, torch.Tensor], keep: torch.Tensor, pred: torch.Tensor
    ) -> torch.Tensor:
        # Each labelled TSS once, in the window where it has the most context: the way
        # predictions are made (centred windows). Training reads every window's TSSs (a TSS
        # seen with less context on one side is still informative: measured, training on
        # best-context entries only lost 0.035 held-out Pearson on the demo store).
        return batch["tss"] & batch["best"][..., None] if "best" in batch else batch["tss"]

    def warm_start(self, label_mean: float) -> None:
        # Adam moves a bias by ~lr per step, so from 0 the first thousands of steps would only
        # learn the mean (labels are log10 CPM ~ 1-4).
        if label_mean > 0:
            with torch.no_grad():
                self.bias.fill_(float(np.log(np.expm1(label_mean))))


class MaskedRegionHead(Head):
    """Masked-region reconstruction (pretraining): Linear(D -> F) of the regions hidden behind the
    mask token, MSE against their input features."""

    task = "pretrain"
    layer_name = "head_mask"
    get_prefixes = (("encoder.head.", "head_mask."), ("encoder.mask_token", "mask_token"))
    mask_token = True
    loss_kind = "mse"
    detailed_metrics = False

    @classmethod
    def width(cls, n_features: int) -> int:
        return n_features

    def draw_mask(
        self, pad: torch.Tensor, ratio: float, generator: torch.Generator | None
    ) -> torch.Tensor | None:
        draw = torch.rand(pad.shape, generator=generator, device="cpu").to(pad.device)
        return (draw < ratio) & ~pad

    def target_and_keep(
        self, batch: dict[str, torch.Tensor], mask: torch.Tensor | None, loss_on: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return batch["x"], mask

    def scored(
        self, batch: dict[str, torch.Tensor], keep: torch.Tensor, pred: torch.Tensor
    ) -> torch.Tensor:
        return keep[..., None].expand_as(pred)


class AccessibilityHead(Head):
    """Accessibility per region from motifs alone: softplus(Linear(D -> 1)); the input's
    accessibility column is held at 1."""

    task = "accessibility"
    layer_name = "head_atac"
    target = "accessibility"
    sees_accessibility = False

    @classmethod
    def width(cls, n_features: int) -> int:
        return 1

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.softplus(super().forward(h)).squeeze(-1)


HEADS: dict[str, type[Head]] = {
    head.task: head for head in (ExpressionHead, MaskedRegionHead, AccessibilityHead)
}


def head_class(task: str) -> type[Head]:
    """The head registered for ``task``."""
    if task not in HEADS:
        raise InputError(f"task {task!r} is not one of {tuple(HEADS)}")
    return HEADS[task]
