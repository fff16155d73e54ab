"""GET's region model (one configurable class), its task heads, published-checkpoint loading and
LoRA.

Names load on first use: ``getx.model.config`` (the model's settings) without torch, the others
with it, so the CLI can read the settings without loading torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ARCHS": "getx.model.config",
    "PRESETS": "getx.model.config",
    "ModelConfig": "getx.model.config",
    "preset": "getx.model.config",
    "GETModel": "getx.model.core",
    "count_parameters": "getx.model.core",
    "HEADS": "getx.model.heads",
    "load_weights": "getx.model.checkpoint",
    "translate_key": "getx.model.checkpoint",
    "add_lora": "getx.model.lora",
    "merge_lora": "getx.model.lora",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'getx.model' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
