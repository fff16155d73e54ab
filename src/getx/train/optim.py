"""AdamW parameter groups with layer-wise LR decay, and the warmup + cosine schedule.

Each group's ``lr`` is the base rate times its ``lr_scale`` and the schedule multiplies every
group's rate by the same factor, so the scales really apply (GET computed them and never used
them; reference study §5.3 #4).
"""

from __future__ import annotations

import math
from typing import Any


def layer_id(name: str, depth: int) -> int:
    """0 for the embedding, CLS and mask token; i + 1 for block i; depth + 1 for the rest."""
    if name.startswith(("region_embed.", "cls_token", "mask_token")):
        return 0
    if name.startswith("blocks."):
        return int(name.split(".")[1]) + 1
    return depth + 1


def param_groups(
    model: Any, lr: float, weight_decay: float, layer_decay: float = 1.0
) -> list[dict[str, Any]]:
    """AdamW groups: one per (layer, decay or not). No weight decay on biases, norms, tokens.

    Layer-wise decay gives embedding/CLS ``layer_decay**(L+1)``, block i ``layer_decay**(L-i)``
    and the final norm and heads 1 (L = number of blocks).
    """
    depth = len(model.blocks) if hasattr(model, "blocks") else 0
    groups: dict[str, dict[str, Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        no_decay = param.ndim == 1 or name.endswith(".bias") or name in ("cls_token", "mask_token")
        lid = layer_id(name, depth) if depth else 0
        scale = layer_decay ** (depth + 1 - lid) if depth else 1.0
        key = f"layer_{lid}_{'no_decay' if no_decay else 'decay'}"
        group = groups.setdefault(
            key,
            {
                "name": key,
                "params": [],
                "param_names": [],
                "weight_decay": 0.0 if no_decay else weight_decay,
                "lr_scale": scale,
                "lr": lr * scale,
            },
        )
        group["params"].append(param)
        group["param_names"].append(name)
    return list(groups.values())


def cosine_factor(step: int, total: int, warmup: int, min_ratio: float) -> float:
    """LR multiplier: linear warmup from ``min_ratio`` to 1, then cosine down to ``min_ratio``.

    Past ``total`` it stays at ``min_ratio`` (GET's table lookup could run off its end).
    """
    if warmup > 0 and step < warmup:
        return min_ratio + (1.0 - min_ratio) * step / warmup
    span = max(total - warmup, 1)
    progress = min(max(step - warmup, 0) / span, 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_optimizer(
    model: Any,
    lr: float,
    weight_decay: float,
    layer_decay: float,
    total_steps: int,
    warmup_steps: int,
    min_lr: float,
) -> tuple[Any, Any]:
    import torch

    groups = param_groups(model, lr, weight_decay, layer_decay)
    for group in groups:
        group.pop("param_names")
    optimizer = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999))
    min_ratio = min_lr / lr if lr > 0 else 0.0
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: cosine_factor(step, total_steps, warmup_steps, min_ratio),
    )
    return optimizer, scheduler
