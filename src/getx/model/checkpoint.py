"""Load published GET v1 checkpoints (and getx ones) into :class:`GETModel`.

GET's released ``.pth`` files hold a dict with the weights under ``model`` (sometimes
``state_dict``), named after GET's older module layout. Names are translated by prefix (the
encoder's, then each head's own, :attr:`getx.model.heads.Head.get_prefixes`), so
``encoder.head.`` (the pretraining head) never collides with ``head.`` (the expression head).
Files are always read with ``torch.load(weights_only=True)``: no unpickling of code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from getx.errors import InputError
from getx.model.heads import HEADS

log = logging.getLogger(__name__)

# GET v1 prefix -> getx prefix for the encoder; each head adds its own (getx.model.heads).
# Prefixes of getx's own names map to themselves (identity), so native state dicts and GET's
# newer layout (region_embed.embed, head_exp.head, head_mask) load too.
_ENCODER_PREFIXES: list[tuple[str, str]] = [
    ("encoder.region_embed.proj.", "region_embed."),
    ("encoder.region_embed.embed.", "region_embed."),
    ("region_embed.proj.", "region_embed."),
    ("region_embed.embed.", "region_embed."),
    ("encoder.cls_token", "cls_token"),
    ("encoder.blocks.", "blocks."),
    ("encoder.norm.", "norm."),
    ("fc_norm.", "norm."),
]


def head_prefixes() -> tuple[str, ...]:
    """Names of the parameters that belong to a task head rather than the shared encoder."""
    return tuple(prefix for head in HEADS.values() for prefix in head.checkpoint_prefixes())


@dataclass
class LoadReport:
    missing: list[str]
    unexpected: list[str]
    mismatched: list[str]


def translate_key(key: str) -> str:
    """getx name for one key of a GET v1 (or getx) state dict."""
    for prefix in ("module.", "model."):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    heads = [pair for head in HEADS.values() for pair in head.get_prefixes]
    for old, new in _ENCODER_PREFIXES + heads:
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def read_checkpoint(path: str | Path) -> Any:
    """The contents of a checkpoint file, read with ``torch.load(weights_only=True)``; any file
    torch cannot read that way is refused with one :class:`InputError` naming it."""
    import pickle
    import warnings

    import torch

    path = Path(path)
    if not path.exists():
        raise InputError("checkpoint file not found", path)
    if path.is_dir():
        raise InputError("is a folder, not a checkpoint file", path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):
            raise InputError(
                "the checkpoint holds Python objects besides weights and plain values; getx "
                "reads weights only (no code is unpickled)",
                path,
            ) from None
        reason = "not a PyTorch checkpoint"
    except Exception:
        reason = "truncated, damaged or not a PyTorch checkpoint"
    raise InputError(f"cannot read the checkpoint: {reason}", path)


def extract_state_dict(obj: Any, source: str | Path = "checkpoint") -> dict[str, Any]:
    """The weights of a loaded checkpoint: under ``model``, ``state_dict``, or the dict itself."""
    import torch

    if not isinstance(obj, dict):
        raise InputError("checkpoint is not a dict of weights", source)
    for key in ("model", "state_dict"):
        if key in obj and isinstance(obj[key], dict):
            return extract_state_dict(obj[key], source)
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise InputError(
            "checkpoint holds no tensors (expected key 'model' or 'state_dict')", source
        )
    return tensors


def translate_state_dict(state: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in state.items():
        new = translate_key(key)
        if new in out:
            raise ValueError(f"two checkpoint keys map to {new!r}")
        out[new] = value
    return out


def load_weights(
    model: Any,
    source: str | Path | dict[str, Any],
    strict: bool = True,
    backbone_only: bool = False,
) -> LoadReport:
    """Load a GET v1 or getx checkpoint (path or state dict) into ``model``.

    ``strict`` raises :class:`InputError` naming missing, unexpected and wrongly shaped keys.
    ``backbone_only`` does not require task heads and the mask token on either side (to
    finetune from a pretrained checkpoint) while still checking every encoder weight; heads
    present on both sides with the same shape are loaded too.
    """

    name = "state dict" if isinstance(source, dict) else str(source)
    raw = source if isinstance(source, dict) else read_checkpoint(source)
    state = translate_state_dict(extract_state_dict(raw, name))
    own = model.state_dict()
    # Parts this run adds to GET keep their own initialisation when the checkpoint has none:
    # LoRA matrices, and the genomic-distance attention bias (GET reads no distances).
    for part in (".lora_", ".distance_bias"):
        if not any(part in k for k in state):
            own = {k: v for k, v in own.items() if part not in k}
    heads = {}
    if backbone_only:
        prefixes = head_prefixes()
        heads = {
            k: v
            for k, v in state.items()
            if k.startswith(prefixes) and k in own and tuple(v.shape) == tuple(own[k].shape)
        }
        state = {k: v for k, v in state.items() if not k.startswith(prefixes)}
        own = {k: v for k, v in own.items() if not k.startswith(prefixes)}
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    mismatched = sorted(
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    )
    report = LoadReport(missing, unexpected, mismatched)
    if missing or unexpected or mismatched:
        message = (
            f"checkpoint does not match the model: missing {missing[:10]}"
            f"{' ...' if len(missing) > 10 else ''} ({len(missing)}), unexpected {unexpected[:10]}"
            f"{' ...' if len(unexpected) > 10 else ''} ({len(unexpected)}), "
            f"wrong shape {mismatched[:5]} ({len(mismatched)})"
        )
        if strict or mismatched:
            raise InputError(message, None if isinstance(source, dict) else source)
        log.warning("%s: %s", name, message)
    loadable = {k: v for k, v in state.items() if k in own}
    loadable.update(heads)
    model.load_state_dict(loadable, strict=False)
    log.info("loaded %d tensors from %s", len(loadable), name)
    return report
