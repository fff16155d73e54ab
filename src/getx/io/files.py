"""Small file helpers shared by every reader and writer: gzip-aware text input, atomic output."""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import tempfile
import zlib
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


# Leading bytes of binary formats users hand in by mistake, with a hint for the message.
_BINARY_MAGIC = (
    (b"BZh", "a bzip2 file: decompress it, or recompress it with gzip"),
    (b"\xfd7zXZ\x00", "an xz file: decompress it, or recompress it with gzip"),
    (b"\x28\xb5\x2f\xfd", "a zstd file: decompress it, or recompress it with gzip"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx is one): unzip it, or save the table as CSV"),
    (b"\x89HDF", "an HDF5 file (.h5/.h5ad), not a text table"),
    (b"BAM\x01", "a BAM file, not a text table"),
    (b"ARROW1", "an Arrow/feather file, not a text table"),
    (b"PAR1", "a Parquet file, not a text table"),
    (b"\x43\x27\x41\x1a", "a 2bit genome, not a text file"),
    (b"\x1a\x41\x27\x43", "a 2bit genome, not a text file"),
)
_SNIFF_BYTES = 8192
# What a damaged gzip stream raises while it is read: EOFError for a truncated one, BadGzipFile
# (an OSError) or zlib.error for corrupt bytes.
_GZIP_ERRORS = (EOFError, OSError, zlib.error)


class TextInput:
    """A text file open for reading whose decoding and decompression errors are InputErrors.

    Iterate it, or call ``read``/``readline`` (pandas reads it as a file object). A byte that is
    not UTF-8, a truncated or corrupt gzip stream, each becomes one :class:`InputError` naming
    the file and, where it can be found, the line; the line is looked up again only on error,
    so reading costs no more than the plain file.
    """

    def __init__(self, path: Path, handle: IO[str], gzipped: bool):
        self.path = path
        self.name = str(path)
        self._handle = handle
        self._gzipped = gzipped

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self._handle
        except (UnicodeDecodeError, *_GZIP_ERRORS) as error:
            raise self._error(error) from None

    def read(self, size: int = -1) -> str:
        try:
            return self._handle.read(size)
        except (UnicodeDecodeError, *_GZIP_ERRORS) as error:
            raise self._error(error) from None

    def readline(self, size: int = -1) -> str:
        try:
            return self._handle.readline(size)
        except (UnicodeDecodeError, *_GZIP_ERRORS) as error:
            raise self._error(error) from None

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> TextInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str):
        return getattr(self._handle, name)

    def _error(self, error: Exception) -> InputError:
        if isinstance(error, UnicodeDecodeError):
            return decode_error(self.path, self._gzipped)
        if self._gzipped:
            return _gzip_error(self.path, error)
        return InputError(f"cannot be read ({error})", self.path)


def _raw_lines(path: Path, gzipped: bool) -> Iterator[bytes]:
    opener = gzip.open if gzipped else open
    with opener(path, "rb") as handle:
        yield from handle


def decode_error(path: Path, gzipped: bool) -> InputError:
    """An :class:`InputError` naming the first line of ``path`` that is not UTF-8, found by
    reading the file again as bytes (only after decoding failed, so reading costs nothing)."""
    try:
        for number, raw in enumerate(_raw_lines(path, gzipped), start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                byte = raw[error.start]
                return InputError(
                    f"not UTF-8 text (byte 0x{byte:02x} at character {error.start + 1}): a "
                    "binary file, or text in another encoding (save it as UTF-8)?",
                    path,
                    number,
                )
    except _GZIP_ERRORS as error:
        return _gzip_error(path, error)
    return InputError("not UTF-8 text", path)


def _gzip_error(path: Path, error: Exception) -> InputError:
    """A truncated or corrupt gzip stream, with the last line that could be read."""
    lines = 0
    with contextlib.suppress(*_GZIP_ERRORS):
        for _ in _raw_lines(path, gzipped=True):
            lines += 1
    after = f" after line {lines}" if lines else ""
    if isinstance(error, EOFError):
        return InputError(
            f"gzip data ends early{after} (a truncated file: an interrupted download or copy? "
            "`gzip -t` checks it)",
            path,
        )
    return InputError(f"gzip data is corrupt{after} ({error})", path)


def check_text(path: str | Path) -> None:
    """An :class:`InputError` when ``path`` is a folder, unreadable, or a known binary format.

    Looks at the first bytes only (decompressed when gzipped): a known binary signature or a
    NUL byte means the file is not text.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, not a file", path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as handle:
                head = handle.read(_SNIFF_BYTES)
    except PermissionError:
        raise InputError("cannot be read (permission denied)", path) from None
    except _GZIP_ERRORS as error:
        # a gzip file shorter than the sniffed bytes can still be whole
        with contextlib.suppress(*_GZIP_ERRORS), gzip.open(path, "rb") as handle:
            handle.read()
            return
        raise _gzip_error(path, error) from None
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise InputError(f"is {what}", path)
    if b"\x00" in head:
        raise InputError("is a binary file (it holds NUL bytes), not text", path)


def open_text(path: str | Path) -> TextInput:
    """Open a text file for reading: gzip/bgzip decompressed, a UTF-8 BOM dropped, any line
    ending kept (readers strip ``\\r\\n``).

    Every reader of a user's text file opens it here, so that a folder, a binary file, a byte
    that is not UTF-8 and a truncated or corrupt gzip file each end in one
    :class:`InputError` naming the file (and the line where one is to blame) rather than a
    traceback.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    check_text(path)
    if is_gzipped(path):
        return TextInput(path, gzip.open(path, "rt", encoding="utf-8-sig", newline=""), True)
    return TextInput(path, open(path, encoding="utf-8-sig", newline=""), False)


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
        with open_text(path) as handle:
            return pd.read_csv(
                handle,
                sep=sep,
                header=header,
                skiprows=skiprows,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                skip_blank_lines=False,
            )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except pd.errors.ParserError as err:
        # pandas' message carries the line number ("Expected 4 fields in line 12, saw 5").
        raise InputError(f"malformed table: {err}", path) from None
