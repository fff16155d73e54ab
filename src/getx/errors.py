"""The one exception type for bad user input."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class InputError(ValueError):
    """Bad user input: the message names the file, and the line or value, at fault."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}" + (f", line {line}" if line is not None else "") + ": "
        super().__init__(where + message)
        self.path = None if path is None else Path(path)
        self.line = line


def examples(names: Iterable[object], n: int = 3) -> str:
    """A few names for a message, plainly: ``chr1, chr2, chr3 (+22 more)`` (no numpy reprs)."""
    names = [str(x) for x in names]
    more = f" (+{len(names) - n} more)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def check_range(
    name: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """An :class:`InputError` unless ``value`` is a finite number (not a bool) within the bounds:
    ``low`` <= value (< with ``low_open``) and value <= ``high`` (< with ``high_open``); None
    leaves a side unbounded. The message names the setting and the value given."""
    import math

    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    inside = number and math.isfinite(value)
    if inside and low is not None:
        inside = value > low if low_open else value >= low
    if inside and high is not None:
        inside = value < high if high_open else value <= high
    if inside:
        return

    def show(bound: float) -> str:
        return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"

    if low is not None and high is not None:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        bounds = f"lie in {left}{show(low)}, {show(high)}{right}"
    elif low is not None:
        bounds = f"be {'above' if low_open else 'at least'} {show(low)}"
    elif high is not None:
        bounds = f"be {'below' if high_open else 'at most'} {show(high)}"
    else:
        bounds = "be a finite number"
    raise InputError(f"{name} {value!r} must {bounds}")
