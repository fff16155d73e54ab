"""Small file helpers shared by every reader and writer: gzip-aware text input, atomic output."""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from getx.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


def is_gzipped(path: str | Path) -> bool:
    """True when the file starts with the gzip magic bytes (plain gzip and bgzip alike)."""
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def open_text(path: str | Path) -> IO[str]:
    """Open a text file for reading, decompressing gzip/bgzip transparently."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if is_gzipped(path):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


@contextlib.contextmanager
def atomic_output(destination: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; on success rename it into place.

    Works for files and directories (a zarr store is a directory). On error the temporary
    path is removed and ``destination`` is left as it was, so readers never see half a file.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    tmp = tmp_dir / destination.name
    try:
        yield tmp
        if destination.is_dir() and not destination.is_symlink():
            # A directory cannot be replaced atomically by rename: move the old one aside first.
            old = tmp_dir / (destination.name + ".old")
            os.replace(destination, old)
            os.replace(tmp, destination)
        else:
            os.replace(tmp, destination)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def compression(path: str | Path) -> str | None:
    """pandas' ``compression`` argument for ``path``, judged by content rather than suffix."""
    return "gzip" if is_gzipped(path) else None


def sniff_separator(path: str | Path) -> str:
    """Tab if the first non-empty line has a tab, else comma: users hand in TSV and CSV alike."""
    with open_text(path) as handle:
        for line in handle:
            if line.strip():
                return "\t" if "\t" in line else ","
    raise InputError("empty file", Path(path))


def require_columns(fields: list[str], names: tuple[str, ...], path: Path, line: int) -> None:
    """An :class:`InputError` naming the line unless it has at least the ``names`` columns.

    Line-by-line readers check this before indexing into ``fields``, so a short line is
    reported as such rather than as an IndexError.
    """
    if len(fields) < len(names):
        raise InputError(
            f"expected at least {len(names)} tab-separated columns ({', '.join(names)}), "
            f"found {len(fields)}",
            path=path,
            line=line,
        )


def read_string_table(
    path: str | Path, sep: str, header: int | None = 0, skiprows: int = 0
) -> pd.DataFrame:
    """A delimited text table (gzip ok) read as strings, blank lines kept.

    Readers validate and convert the values themselves, so that an error can name the line.
    """
    import pandas as pd

    try:
        return pd.read_csv(
            path,
            sep=sep,
            header=header,
            skiprows=skiprows,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            compression=compression(path),
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except pd.errors.ParserError as err:
        # pandas' message carries the line number ("Expected 4 fields in line 12, saw 5").
        raise InputError(f"malformed table: {err}", path) from None
