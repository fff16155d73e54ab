"""Training settings in one place: the data's (:class:`DataConfig`), the run's
(:class:`TrainConfig`, which nests them) and the named presets carrying GET's and CPU defaults.

``TrainConfig(store, out)`` is the ``small`` preset (a CPU-sized model and run);
``TrainConfig.from_preset("paper", store, out, task="pretrain")`` is GET's pretraining. The CLI
builds its config the same way, so ``getx pretrain|finetune`` and the library train alike. A run
writes its resolved config to ``config.yaml``; :func:`read_config` reads it back, runs written
before the data settings were nested (flat keys) included.

A field whose metadata holds a ``help`` (:func:`getx.model.config.option`) is an option of
``getx pretrain`` and ``getx finetune``: :mod:`getx.train.commands` builds the options from these
fields, so a new setting is declared once, here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from getx.errors import InputError, check_range
from getx.model.config import LOSSES, option

ACCESSIBILITY_MODES = ("binary", "quantitative", "linear")
DEFAULT_PRESET = "small"
# Lightning's precision names (lightning.fabric.plugins.precision), and ours for "pick by device"
PRECISIONS = (
    "auto",
    *("64-true", "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true"),
    *("transformer-engine", "transformer-engine-float16", "64", "32", "16", "bf16"),
)
MAX_REGIONS = 100_000  # per window: far beyond GET's 900, before numpy runs out of memory
LOSS_ON = ("tss", "all")


@dataclass
class DataConfig:
    """How windows, splits, inputs and labels are made from a store."""

    regions: int = field(default=200, metadata=option("Regions per window (R)."))
    step: int = field(default=100, metadata=option("Regions between window starts."))
    cell_types: list[str] | None = field(
        default=None,  # None: every cell type in the store
        metadata=option("Use only these cell types (repeatable).", flag="--cell-type"),
    )
    holdout_chroms: list[str] = field(
        default_factory=list,
        metadata=option("Validation chromosome (repeatable).", flag="--holdout-chrom"),
    )
    holdout_cell_types: list[str] = field(
        default_factory=list,
        metadata=option("Validation cell type (repeatable).", flag="--holdout-cell-type"),
    )
    drop_zero_accessibility: bool = field(
        default=False,
        metadata=option("Windows of accessible regions only (per cell type), as GET."),
    )
    # binary: 1 where accessible; quantitative: GET's log10 aCPM / max; linear: reads / mean
    accessibility: str = field(
        default="binary",
        metadata=option(
            "Accessibility input column: binary, quantitative (GET's log10 aCPM / max) or "
            "linear (reads / mean over accessible regions)."
        ),
    )
    label_cutoff: float = field(
        default=0.05,
        metadata=option("Zero labels below this normalised accessibility.", commands=("finetune",)),
    )
    random_shift: bool = field(
        default=False,
        metadata=option("Move training windows by up to step/2 regions each epoch (GET: on)."),
    )
    # Training counts a TSS only where its window gives it this many regions of context on each
    # side (a chromosome end counts as full context); 0 counts every TSS, as GET.
    min_context: int = field(
        default=0,
        metadata=option(
            "Expression loss only on TSSs with at least this many regions of context on each "
            "side in their window (0: every TSS, as GET; the demo uses a quarter window).",
            commands=("finetune",),
        ),
    )

    def __post_init__(self) -> None:
        if self.accessibility not in ACCESSIBILITY_MODES:
            raise InputError(
                f"accessibility mode {self.accessibility!r} is not one of {ACCESSIBILITY_MODES}"
            )
        check_range("regions", self.regions, 1, MAX_REGIONS)
        check_range("step", self.step, 1, MAX_REGIONS)
        check_range("label_cutoff", self.label_cutoff, 0)
        if not 0 <= self.min_context <= self.regions // 2:
            raise InputError(
                f"min_context {self.min_context} must lie in 0..{self.regions // 2} (half a window)"
            )


@dataclass
class TrainConfig:
    """Everything a run needs; written to ``config.yaml`` as resolved. The defaults are the
    ``small`` preset's (:data:`PRESETS`)."""

    store: str
    out: str
    task: str = field(
        default="expression",
        metadata=option(
            "The head to train: expression or accessibility (or another head registered in "
            "getx.model.heads).",
            commands=("finetune",),
        ),
    )
    preset: str = field(
        default=DEFAULT_PRESET,
        metadata=option(
            "Named settings: small (256x4x8 model and CPU-sized training) or paper (GET's "
            "768x12x12 model and training). Other options override it."
        ),
    )
    arch: str = field(
        default="transformer",
        metadata=option("transformer, or mlp (GET's per-region baseline).", commands=("finetune",)),
    )
    model: dict[str, Any] = field(default_factory=dict)  # ModelConfig overrides
    data: DataConfig = field(default_factory=DataConfig)
    # objective
    loss: str = field(
        default="poisson",
        metadata=option(
            "poisson (GET) or mse (expression and accessibility).", commands=("finetune",)
        ),
    )
    loss_on: str = field(
        default="tss",
        metadata=option(
            "tss: labelled TSS entries; all: every region (GET, 0 off TSS).", commands=("finetune",)
        ),
    )
    mask_ratio: float = field(
        default=0.5, metadata=option("Fraction of regions masked.", commands=("pretrain",))
    )
    # optimisation
    epochs: int = field(default=10, metadata=option("Training epochs."))
    max_steps: int = field(default=-1, metadata=option("Stop after this many steps (-1: epochs)."))
    batch_size: int = field(default=8, metadata=option("Windows per batch."))
    lr: float = field(
        default=1e-4, metadata=option("Peak learning rate (AdamW, warmup then cosine).")
    )
    min_lr: float = field(default=1e-6, metadata=option("Learning rate at the end of the cosine."))
    weight_decay: float = field(default=0.05, metadata=option("AdamW weight decay."))
    warmup_steps: int = field(default=0, metadata=option("Warmup steps."))
    layer_decay: float = field(default=1.0, metadata=option("Layer-wise LR decay (1 = off)."))
    # initialisation and adaptation
    init_checkpoint: str | None = field(
        default=None,
        metadata=option("Pretrained getx .ckpt or published GET .pth to start from."),
    )
    lora_rank: int = field(
        default=0, metadata=option("LoRA rank; 0 trains every weight.", commands=("finetune",))
    )
    lora_alpha: float | None = field(
        default=None, metadata=option("LoRA alpha (default: the rank).", commands=("finetune",))
    )
    # machinery
    seed: int = field(default=0, metadata=option("Random seed."))
    num_workers: int = field(default=0, metadata=option("DataLoader worker processes."))
    precision: str = field(
        default="auto", metadata=option("Lightning precision (auto: bf16-mixed on GPU, 32 on CPU).")
    )
    devices: str = field(default="auto", metadata=option("GPUs to use (Lightning's devices)."))
    deterministic: bool = field(
        default=False,
        metadata=option(
            "Deterministic algorithms: the same seed gives the same weights on the same machine "
            "(on CPU with several threads the distance bias's gradient otherwise varies run to "
            "run)."
        ),
    )
    progress: bool = field(default=True, metadata=option("Show progress bars."))
    limit_val_batches: float = field(
        default=1.0, metadata=option("Fraction (or number) of validation batches per epoch.")
    )
    checkpoint_every: int = field(
        default=1,
        metadata=option("Epochs between kept checkpoints (last.ckpt is always written)."),
    )

    def __post_init__(self) -> None:
        """Every setting checked here, before a run creates anything."""
        if self.loss not in LOSSES:
            raise InputError(f"loss {self.loss!r}: use {' or '.join(LOSSES)}")
        if self.loss_on not in LOSS_ON:
            raise InputError(f"loss_on {self.loss_on!r}: use {' or '.join(LOSS_ON)}")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        check_range("mask_ratio", self.mask_ratio, 0, 1, low_open=True, high_open=True)
        check_range("epochs", self.epochs, 1)
        if self.max_steps != -1:
            check_range("max_steps", self.max_steps, 1)
        check_range("batch_size", self.batch_size, 1)
        check_range("lr", self.lr, 0, low_open=True)
        check_range("min_lr", self.min_lr, 0)
        check_range("weight_decay", self.weight_decay, 0)
        check_range("warmup_steps", self.warmup_steps, 0)
        check_range("layer_decay", self.layer_decay, 0, 1, low_open=True)
        check_range("lora_rank", self.lora_rank, 0)
        if self.lora_alpha is not None:
            check_range("lora_alpha", self.lora_alpha, 0, low_open=True)
        check_range("seed", self.seed, 0, 2**32 - 1)  # numpy's and Lightning's seed range
        check_range("num_workers", self.num_workers, 0)
        check_range("limit_val_batches", self.limit_val_batches, 0)  # 0: no validation
        if self.limit_val_batches > 1:  # a number of batches (the CLI reads a float)
            if not float(self.limit_val_batches).is_integer():
                raise InputError(
                    f"limit_val_batches {self.limit_val_batches}: a fraction lies in (0, 1], "
                    "a number of batches is a whole number"
                )
            self.limit_val_batches = int(self.limit_val_batches)
        check_range("checkpoint_every", self.checkpoint_every, 1)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """A config from its dict (as ``config.yaml`` holds it). DataConfig's fields may also sit
        at the top level, as in runs written before they were nested."""
        values = _nested(values)
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"unknown config keys {unknown}")
        data = values.pop("data", {})
        unknown = sorted(set(data) - _DATA_FIELDS)
        if unknown:
            raise InputError(f"unknown data config keys {unknown}")
        missing = [k for k in ("store", "out") if not values.get(k)]
        if missing:
            raise InputError(f"the config names no {' or '.join(missing)}")
        return cls(**values, data=DataConfig(**data))

    @classmethod
    def from_preset(
        cls, name: str, store: str, out: str, task: str = "expression", **overrides: Any
    ) -> TrainConfig:
        """The config of preset ``name`` for ``task``, with ``overrides`` (TrainConfig fields;
        DataConfig's may be given at the top level too) replacing what they name."""
        base = cls(store=str(store), out=str(out), task=task, preset=name)
        return base.updated(preset_settings(name, task)).updated(overrides)

    def updated(self, changes: dict[str, Any]) -> TrainConfig:
        """A copy with ``changes`` (as for :meth:`from_preset`) replacing what they name."""
        return TrainConfig.from_dict(_merge(self.to_dict(), _nested(changes)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_DATA_FIELDS = {f.name for f in fields(DataConfig)}

# What each preset changes from the TrainConfig defaults (which are the "small" preset): for every
# task ("all"), for pretraining and for finetuning (every other head). "paper" is GET's model and
# training as its released configs and tutorials run them (reference study: 900-region
# pretraining windows, 200 for finetuning, windows of accessible regions only).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "small": {},
    "paper": {
        "all": {"data": {"drop_zero_accessibility": True}, "num_workers": 2},
        "pretrain": {
            "data": {"regions": 900, "step": 450},
            "epochs": 100,
            "lr": 1.5e-4,
            "warmup_steps": 1000,
        },
        "finetune": {"epochs": 20, "warmup_steps": 500},
    },
}


def preset_settings(name: str, task: str) -> dict[str, Any]:
    """The settings preset ``name`` changes from the TrainConfig defaults for ``task``."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    stage = "pretrain" if task == "pretrain" else "finetune"
    return _merge(PRESETS[name].get("all", {}), PRESETS[name].get(stage, {}))


def read_config(path: str | Path) -> TrainConfig:
    """The config a run saved (``config.yaml``, or a run directory holding one)."""
    import yaml

    path = Path(path)
    if path.is_dir():
        path = path / "config.yaml"
    if not path.exists():
        raise InputError("no run config here", path)
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise InputError(f"not YAML: {error}".replace("\n", " "), path) from None
    if not isinstance(values, dict):
        raise InputError("not a run config (expected a mapping of settings)", path)
    try:
        return TrainConfig.from_dict(values)
    except InputError as error:
        raise InputError(str(error), path) from None


def _nested(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with DataConfig's fields moved under ``data`` (a DataConfig becomes a dict)."""
    values = dict(values)
    data = values.pop("data", None) or {}
    data = asdict(data) if isinstance(data, DataConfig) else dict(data)
    flat = {k: values.pop(k) for k in list(values) if k in _DATA_FIELDS}
    twice = sorted(set(flat) & set(data))
    if twice:
        raise InputError(f"{twice} given both at the top level and under data")
    if data or flat:
        values["data"] = {**data, **flat}
    return values


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied, nested dicts (``data``, ``model``) merged key by key."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
