"""GET's region model (one configurable class), published-checkpoint loading and LoRA.

Import is cheap only for the names below; torch is imported when these modules load.
"""

from getx.model.checkpoint import load_weights, translate_key
from getx.model.core import PRESETS, GETModel, ModelConfig, count_parameters, preset
from getx.model.lora import add_lora, merge_lora

__all__ = [
    "PRESETS",
    "GETModel",
    "ModelConfig",
    "add_lora",
    "count_parameters",
    "load_weights",
    "merge_lora",
    "preset",
    "translate_key",
]
