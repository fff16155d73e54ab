"""The on-disk cache: one folder, keyed JSON + npz entries, rebuilt when unreadable.

Everything getx keeps between runs lives under :func:`cache_dir` (``$GETX_CACHE_DIR``, default
``~/.cache/getx``): downloaded references (``getx fetch-reference``), motif p-value thresholds,
motif clusterings and the JASPAR sets. An entry is ``<kind>/<digest>.json`` (what it is and the
key it was made for) beside its arrays in an npz (no pickle), or the npz alone. Files are
written atomically, the npz before the JSON, so a reader that finds the JSON finds its arrays.
A damaged or mismatched entry is recomputed with a warning; a cache that cannot be written
only logs a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from getx.errors import InputError
from getx.io.files import atomic_output

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a damaged, foreign or truncated entry raises while it is read.
UNREADABLE = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, InputError)


def cache_dir() -> Path:
    """``$GETX_CACHE_DIR``, else ``~/.cache/getx``."""
    return Path(os.environ.get("GETX_CACHE_DIR", Path.home() / ".cache" / "getx"))


def entry_path(kind: str, digest: str, suffix: str) -> Path:
    """``<cache>/<kind>/<first 32 hex digits of digest><suffix>``."""
    return cache_dir() / kind / f"{digest[:32]}{suffix}"


def json_digest(key: object) -> str:
    """sha256 (hex) of a JSON-able key, independent of dict order."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def write_entry(
    npz_path: Path,
    arrays: dict[str, np.ndarray],
    json_path: Path | None = None,
    doc: dict | None = None,
    compressed: bool = False,
    indent: int | None = None,
) -> None:
    """Write the arrays to ``npz_path``, then ``doc`` to ``json_path`` (when given), atomically."""
    save = np.savez_compressed if compressed else np.savez
    with atomic_output(npz_path) as tmp, open(tmp, "wb") as fh:
        save(fh, **arrays)
    if json_path is not None:
        with atomic_output(json_path) as tmp:
            tmp.write_text(json.dumps(doc, indent=indent) + "\n")


def read_json(path: Path) -> dict:
    """An entry's JSON document; raises ValueError when it is not a JSON object."""
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return doc


def cached(
    path: Path,
    what: str,
    read: Callable[[], T],
    compute: Callable[[], T],
    write: Callable[[T], None],
    use_cache: bool = True,
) -> T:
    """``read()`` when ``path`` exists and reads, else ``compute()`` and ``write()`` the result.

    ``what`` names the cache in the warnings ("rebuilding the <what> <path> (<why>)").
    ``use_cache=False`` neither reads nor writes.
    """
    if use_cache and path.exists():
        try:
            return read()
        except UNREADABLE as e:
            log.warning("rebuilding the %s %s (%s)", what, path, e)
    out = compute()
    if use_cache:
        try:
            write(out)
        except OSError as e:  # a read-only cache must not stop the caller
            log.warning("could not write the %s %s: %s", what, path, e)
    return out
