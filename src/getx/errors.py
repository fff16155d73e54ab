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
