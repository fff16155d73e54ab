"""Low-rank adaptation for the GET model, base weights frozen.

Each targeted ``nn.Linear`` is replaced by a :class:`LoRALinear` that keeps the original
``weight``/``bias`` names (so state dicts and checkpoint loading are unchanged) and adds
``lora_A`` (r x in) and ``lora_B`` (out x r, zero-initialised, so training starts from the base
model). Unlike GET (which relied on minLoRA and never froze anything) the base is frozen here:
only the LoRA matrices and the task head train.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from getx.errors import InputError
from getx.model.heads import HEADS

DEFAULT_TARGETS = ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2")


class LoRALinear(nn.Linear):
    """``y = x W^T + b + (alpha / r) x A^T B^T``."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float):
        super().__init__(base.in_features, base.out_features, bias=base.bias is not None)
        self.weight = base.weight
        self.bias = base.bias
        self.rank = rank
        self.scaling = alpha / rank
        self.lora_A = nn.Parameter(base.weight.new_empty(rank, base.in_features))
        self.lora_B = nn.Parameter(base.weight.new_zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling

    def merged(self) -> nn.Linear:
        out = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None)
        with torch.no_grad():
            out.weight.copy_(self.weight + self.scaling * self.lora_B @ self.lora_A)
            if self.bias is not None:
                out.bias.copy_(self.bias)
        return out


def add_lora(
    model: nn.Module,
    rank: int = 8,
    alpha: float | None = None,
    targets: tuple[str, ...] = DEFAULT_TARGETS,
    train_prefixes: tuple[str, ...] | None = None,
) -> int:
    """Wrap every Linear whose name ends with a target, freeze everything else but
    ``train_prefixes`` (default: every head's layer).

    Returns the number of wrapped layers.
    """
    if train_prefixes is None:
        train_prefixes = tuple(f"{head.layer_name}." for head in HEADS.values())
    if rank < 1:
        raise InputError(f"LoRA rank {rank} must be at least 1")
    alpha = float(rank if alpha is None else alpha)
    wrapped = 0
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if type(child) is nn.Linear and full.endswith(targets):
                setattr(module, child_name, LoRALinear(child, rank, alpha))
                wrapped += 1
    for name, param in model.named_parameters():
        param.requires_grad = "lora_" in name or name.startswith(train_prefixes)
    return wrapped


def merge_lora(model: nn.Module) -> None:
    """Fold every LoRA update into its base weight, restoring plain Linear layers."""
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, LoRALinear):
                setattr(module, child_name, child.merged())
