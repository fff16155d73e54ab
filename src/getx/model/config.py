"""The settings that fix a GET model's shape (:class:`ModelConfig`) and its named sizes.

Torch-free, so the CLI can build its options from these fields without loading torch.
:func:`option` marks a settings field (here or in :mod:`getx.train.config`) as a CLI option.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from getx.errors import InputError

ARCHS = ("transformer", "mlp")
# The losses getx.model.heads.masked_loss computes (named here, torch-free, for the settings).
LOSSES = ("poisson", "mse")
# Buckets are log-spaced from 500 bp to 500 kb: past a thousand they are finer than a region.
MAX_DISTANCE_BUCKETS = 1024


def option(
    help: str,
    flag: str | None = None,
    commands: tuple[str, ...] = ("pretrain", "finetune"),
) -> dict[str, Any]:
    """Field metadata that makes a setting a CLI option: its help, its flag (default
    ``--field-name``) and the commands that offer it."""
    return {"help": help, "flag": flag, "commands": commands}


@dataclass
class ModelConfig:
    """Everything that fixes the model's shape. ``n_features`` always comes from the store.

    Fields with a ``help`` in their metadata (:func:`option`) are options of
    ``getx pretrain|finetune``.
    """

    n_features: int
    task: str = "expression"  # a getx.model.heads.HEADS key: expression | pretrain | accessibility
    arch: str = "transformer"  # transformer | mlp (per-region baseline, no context)
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    drop_path: float = 0.1  # stochastic depth, rising linearly from 0 to this over the blocks
    ln_eps: float = 1e-6
    positional: bool = False  # optional sinusoidal absolute position encoding (GET default: off)
    # > 0: attention learns a bias per head and genomic-distance bucket (GET: 0, no distances)
    distance_buckets: int = field(
        default=0,
        metadata=option(
            "Genomic-distance buckets of a learned attention bias (0: none, as GET; the demo "
            "uses 32). GET weights load into either."
        ),
    )
    max_len: int = 1000
    # Training-time dropout on the motif columns of the input (not accessibility; GET: 0). Most
    # motif clusters carry only background hits, and a model that must not rely on any single
    # one learns which carry regulation from fewer genes (see bench/results/demo_accuracy.md).
    motif_dropout: float = field(
        default=0.0,
        metadata=option(
            "Dropout on the input's motif columns while training (0: none, as GET; the demo "
            "uses 0.3)."
        ),
    )
    mlp_hidden: list[int] = field(default_factory=lambda: [512, 256])

    def __post_init__(self) -> None:
        from getx.model.heads import HEADS

        if self.task not in HEADS:
            raise InputError(f"task {self.task!r} is not one of {tuple(HEADS)}")
        if self.arch not in ARCHS:
            raise InputError(f"arch {self.arch!r} is not one of {ARCHS}")
        if self.embed_dim % self.num_heads:
            raise InputError(
                f"embed_dim {self.embed_dim} is not divisible by {self.num_heads} heads"
            )
        if self.n_features < 1:
            raise InputError("n_features must be positive")
        if self.distance_buckets not in (0, *range(2, MAX_DISTANCE_BUCKETS + 1)):
            raise InputError(
                f"distance_buckets {self.distance_buckets} must be 0 (off) or at least 2 "
                f"(at most {MAX_DISTANCE_BUCKETS})"
            )
        if not 0.0 <= self.motif_dropout < 1.0:
            raise InputError(f"motif_dropout {self.motif_dropout} must lie in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"embed_dim": 768, "depth": 12, "num_heads": 12},
    "small": {"embed_dim": 256, "depth": 4, "num_heads": 8},
}


def preset(name: str, n_features: int, **overrides: Any) -> ModelConfig:
    """A :class:`ModelConfig` for a named preset (``paper`` or ``small``) and a store's F."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    unknown = sorted(set(overrides) - {f.name for f in fields(ModelConfig)})
    if unknown:
        raise InputError(f"unknown model settings {unknown}")
    return ModelConfig(n_features=n_features, **{**PRESETS[name], **overrides})
