"""Small file helpers shared by every reader and writer: gzip-aware text input, atomic output
that replaces only what getx wrote (:class:`OutputKind`, :func:`check_output`), and cleanup of
what a failed command created (:func:`removed_on_failure`)."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

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


def _head_bytes(path: Path, limit: int) -> bytes:
    """The first ``limit`` bytes of ``path``, decompressed when it is gzipped."""
    with open(path, "rb") as handle:
        head = handle.read(limit)
    if head[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as handle:
            head = handle.read(limit)
    return head


def check_text(path: str | Path) -> None:
    """An :class:`InputError` when ``path`` is a folder, unreadable, or a known binary format.

    Looks at the first bytes only (decompressed when gzipped): a known binary signature or a
    NUL byte means the file is not text.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, not a file", path)
    try:
        head = _head_bytes(path, _SNIFF_BYTES)
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


@dataclass(frozen=True)
class OutputKind:
    """What a writer puts at a path, and how to recognise an earlier output of its own there.

    getx never deletes what it did not write: an existing path is replaced only when
    ``recognise`` says it is an earlier output of this kind (for a folder kind, an empty folder
    counts too); anything else is refused with an :class:`InputError`. ``folder``: the output
    is a directory (a store, a run, a folder of tables), else a file.
    """

    name: str
    folder: bool = False
    recognise: Callable[[Path], bool] = field(default=lambda path: False, compare=False)


def _first_line(path: Path, limit: int = 65536) -> str:
    """The first line of a (possibly gzipped) text file, '' when unreadable as text."""
    try:
        return _head_bytes(path, limit).split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
        return ""


def table_kind(name: str, columns: Sequence[str], sep: str = "\t") -> OutputKind:
    """A delimited table getx writes: recognised by a header starting with ``columns``."""
    expected = list(columns)

    def recognise(path: Path) -> bool:
        return path.is_file() and _first_line(path).split(sep)[: len(expected)] == expected

    return OutputKind(name, recognise=recognise)


def text_kind(name: str, start: str, holding: str = "") -> OutputKind:
    """A text file getx writes: recognised by its first line starting with ``start`` and
    holding ``holding``."""

    def recognise(path: Path) -> bool:
        line = _first_line(path) if path.is_file() else ""
        return line.startswith(start) and holding in line

    return OutputKind(name, recognise=recognise)


def read_json_object(path: Path) -> dict | None:
    """The JSON object in ``path``, None when the file is missing, not JSON or not an object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def json_kind(name: str, marker: dict[str, Any]) -> OutputKind:
    """A JSON object getx writes, recognised by holding every ``marker`` key with its value
    (``None``: any value)."""

    def recognise(path: Path) -> bool:
        value = read_json_object(path) if path.is_file() else None
        return value is not None and all(
            key in value and (want is None or value[key] == want) for key, want in marker.items()
        )

    return OutputKind(name, recognise=recognise)


def folder_marked_by(name: str, entry: str, kind: OutputKind) -> OutputKind:
    """A folder getx writes whole, recognised by its ``entry`` being an output of ``kind``."""
    return OutputKind(name, folder=True, recognise=lambda path: kind.recognise(path / entry))


def zarr_kind(name: str, format_name: str) -> OutputKind:
    """A zarr v3 store getx writes: a folder whose root attributes hold ``format``."""

    def recognise(path: Path) -> bool:
        root = read_json_object(path / "zarr.json")
        return root is not None and (root.get("attributes") or {}).get("format") == format_name

    return OutputKind(name, folder=True, recognise=recognise)


def folder_of(name: str, entries: dict[str, OutputKind | None]) -> OutputKind:
    """A folder getx writes entries into (a run, a demo, tables): recognised when it holds
    nothing but those entries (name -> its kind, None: any content), each as its kind says.
    A name may end in ``*`` to match every entry with that prefix."""

    def kind_of(entry: str) -> tuple[bool, OutputKind | None]:
        for pattern, kind in entries.items():
            if entry == pattern or (pattern.endswith("*") and entry.startswith(pattern[:-1])):
                return True, kind
        return False, None

    def recognise(path: Path) -> bool:
        if not path.is_dir():
            return False
        for child in path.iterdir():
            known, kind = kind_of(child.name)
            if not known:
                return False
            if kind is not None and not _may_replace(child, kind):
                return False
        return True

    return OutputKind(name, folder=True, recognise=recognise)


FILE = OutputKind("file", recognise=lambda path: path.is_file() and not path.is_symlink())
"""The default kind: a file getx owns outright (a cache entry, a file inside its own output);
an earlier file is replaced, a folder never."""


def _may_replace(path: Path, kind: OutputKind) -> bool:
    """True when an existing ``path`` may be replaced by an output of ``kind``."""
    if kind.folder and path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
        return True
    return kind.recognise(path)


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder``: tried, since permission bits do not tell
    (root, read-only mounts)."""
    try:
        probe = tempfile.mkdtemp(prefix=".getx-write-test.", dir=folder)
    except OSError:
        return False
    os.rmdir(probe)
    return True


def _read_whole(folder: Path) -> bool:
    """An input folder getx reads as one unit (a zarr store, a run directory): writing into it
    would change that input."""
    return (folder / "zarr.json").is_file() or (folder / "config.yaml").is_file()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(
    destination: str | Path,
    kind: OutputKind = FILE,
    inputs: Sequence[str | Path | None] = (),
) -> Path:
    """Refuse, before any work starts, an output location getx may not write; returns it.

    Refused with an :class:`InputError` naming the path: a destination that is, or holds, one of
    ``inputs`` (paths this command reads; an input folder read as one unit, a store or a run, may
    not hold the destination either); a file where a folder is wanted or the reverse; an existing
    path that is not an earlier output of ``kind`` (see :class:`OutputKind`); a folder getx
    cannot write in. Nothing is created.
    """
    destination = Path(destination)
    where = destination.absolute()
    target = where.resolve()
    for given in inputs:
        if given is None or not Path(given).exists():
            continue
        source = Path(given).resolve()
        if _inside(source, target):
            what = "is" if source == target else "holds"
            raise InputError(
                f"the output {what} an input of this command ({given}): choose another path",
                destination,
            )
        if _read_whole(source) and _inside(target, source):
            raise InputError(
                f"the output lies inside the input folder {given}: choose a path outside it",
                destination,
            )
    if destination.exists() or destination.is_symlink():
        if kind.folder and not destination.is_dir():
            raise InputError(f"is a file, but a folder is wanted here ({kind.name})", destination)
        if not kind.folder and destination.is_dir():
            raise InputError(
                f"is a folder, but a file is wanted here ({kind.name}): give a file name",
                destination,
            )
        if not _may_replace(destination, kind):
            raise InputError(
                f"exists and is not {'an' if kind.name[0] in 'aeiou' else 'a'} {kind.name} "
                "written by getx: refusing to replace it "
                "(choose another path, or move it away yourself)",
                destination,
            )
        folders = [where.parent] + ([where] if destination.is_dir() else [])
    else:
        ancestor = _nearest_existing(where.parent)
        if not ancestor.is_dir():
            raise InputError(f"cannot create a folder here: {ancestor} is a file", destination)
        folders = [ancestor]
    for folder in folders:
        if not _writable(folder):
            raise InputError(
                f"cannot write in {folder} (permission denied or read-only)", destination
            )
    return destination


@contextlib.contextmanager
def atomic_output(destination: str | Path, kind: OutputKind = FILE) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; on success rename it into place.

    Works for files and directories (a zarr store is a directory). An existing ``destination``
    is replaced only when it is an earlier output of ``kind`` (:func:`check_output`, checked
    again just before the rename); otherwise nothing is touched. On error the temporary path,
    and any parent folder created for it, is removed and ``destination`` is left as it was, so
    readers never see half a file.
    """
    destination = Path(destination)
    check_output(destination, kind)
    created = _nearest_existing(destination.parent.absolute())
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    tmp = tmp_dir / destination.name
    try:
        yield tmp
        check_output(destination, kind)
        if destination.is_dir() and not destination.is_symlink():
            # A directory cannot be replaced atomically by rename: move the old one aside first.
            old = tmp_dir / (destination.name + ".old")
            os.replace(destination, old)
            os.replace(tmp, destination)
        else:
            os.replace(tmp, destination)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        _remove_empty_parents(destination.parent.absolute(), created)
        raise
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _remove_empty_parents(folder: Path, keep: Path) -> None:
    """Remove ``folder`` and its empty parents up to (not including) ``keep``."""
    while folder != keep and keep in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


@contextlib.contextmanager
def removed_on_failure(
    folder: str | Path, keep: Callable[[BaseException], bool] = lambda error: False
) -> Iterator[Path]:
    """Leave nothing new in ``folder`` when the block fails: remove the folder when the block
    created it, else only the entries the block added (never what was there before). A failure
    for which ``keep(error)`` is true (an interrupted run that can be resumed) keeps everything.
    """
    folder = Path(folder)
    existed = folder.exists()
    created = _nearest_existing(folder.absolute())
    before = set(os.listdir(folder)) if existed and folder.is_dir() else set()
    try:
        yield folder
    except BaseException as error:
        if keep(error):
            raise
        if not existed:
            shutil.rmtree(folder, ignore_errors=True)
            _remove_empty_parents(folder.absolute().parent, created)
        elif folder.is_dir():
            for name in set(os.listdir(folder)) - before:
                entry = folder / name
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        raise


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
