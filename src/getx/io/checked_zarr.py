"""zarr v3 stores getx writes, with a manifest that lets a reader tell a damaged store.

:func:`array_manifest` records, for every array under a store folder, its shape, the number of
its chunk files, their total size and a CRC-32 of their contents; writers keep it in the root
attribute ``arrays``. :func:`open_checked` opens a store, checks its format, version and that
every recorded array is there with its chunk files at their recorded sizes (file metadata only,
cheap at any size); :meth:`CheckedZarr.read` reads an array whole after checking its CRC-32. zarr
alone reads a missing chunk file as zeros; here a lost or damaged file is an :class:`InputError`
naming the array.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from getx.errors import InputError


def _chunk_files(array_dir: Path) -> list[Path]:
    """The chunk files of the array in ``array_dir`` (zarr v3's ``c/...`` keys), sorted."""
    found = []
    for folder, _, files in os.walk(array_dir / "c"):
        found += [Path(folder) / f for f in files]
    return sorted(found)


def _crc32(files: list[Path]) -> int:
    crc = 0
    for path in files:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 22):
                crc = zlib.crc32(block, crc)
    return crc


def array_manifest(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Per array under the store ``folder`` (by its path in the store): ``shape``, ``chunks``
    (chunk files), ``bytes`` (their total size) and ``crc32`` (of their contents, in path order)."""
    folder = Path(folder)
    arrays = {}
    for meta in sorted(folder.rglob("zarr.json")):
        node = json.loads(meta.read_text())
        if node.get("node_type") != "array":
            continue
        files = _chunk_files(meta.parent)
        arrays[meta.parent.relative_to(folder).as_posix()] = {
            "shape": list(node["shape"]),
            "chunks": len(files),
            "bytes": sum(f.stat().st_size for f in files),
            "crc32": _crc32(files),
        }
    return arrays


@dataclass
class CheckedZarr:
    """A store opened by :func:`open_checked`: its root group, attributes and manifest."""

    path: Path
    root: Any  # the zarr group
    attrs: dict[str, Any]
    arrays: dict[str, dict[str, Any]]
    remedy: str  # what the user should do about a damaged store

    def _error(self, message: str) -> InputError:
        return InputError(f"{message}: {self.remedy}", self.path)

    def require(self, names: list[str] | tuple[str, ...]) -> None:
        """Refuse the store unless its manifest lists every array of ``names``."""
        unlisted = [name for name in names if name not in self.arrays]
        if unlisted:
            raise self._error(f"array {unlisted[0]!r} is not in the manifest")

    def read(self, name: str) -> Any:
        """Array ``name`` (its path in the store) read whole, after its CRC-32 is checked."""
        entry = self.arrays.get(name)
        if entry is None:
            raise self._error(f"array {name!r} is not in the store's manifest")
        if _crc32(_chunk_files(self.path / name)) != entry["crc32"]:
            raise self._error(f"array {name!r} is damaged (checksum differs)")
        try:
            array = self.root[name]
            values = array[...]
        except Exception as error:  # zarr's errors on damaged metadata vary: name the array
            raise self._error(f"array {name!r} cannot be read ({error})") from None
        if list(array.shape) != entry["shape"]:
            raise self._error(
                f"array {name!r} has shape {tuple(array.shape)}, its manifest "
                f"{tuple(entry['shape'])}"
            )
        return values

    def read_strings(self, name: str) -> Any:
        """A string array read whole (:meth:`read`) as Python strings: zarr returns numpy's
        variable-width StringDType, and plain object arrays suit pandas best."""
        import numpy as np

        return np.asarray(self.read(name).tolist(), dtype=object)


def open_checked(
    path: str | Path,
    what: str,
    format_name: str,
    schema_version: int,
    remedy: str,
    required: list[str] | tuple[str, ...] = (),
) -> CheckedZarr:
    """Open the store at ``path`` (a ``what``, e.g. "getx store"), refusing with one line naming
    it: a missing folder or ``zarr.json``, a ``zarr.json`` that is not JSON, another ``format``
    or ``schema_version``, a manifest missing or not listing every ``required`` array, and any
    recorded array missing or with chunk files other than recorded (see the module docstring).
    ``remedy`` ends the message of a damaged store (e.g. "rebuild it with `getx prepare`")."""
    import zarr

    path = Path(path)
    if not path.exists():
        raise InputError(f"no such {what}", path)
    if not (path / "zarr.json").is_file():
        raise InputError(f"not a {what} (no zarr.json); {remedy}", path)
    try:
        json.loads((path / "zarr.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InputError(f"not valid JSON ({error}): {remedy}", path / "zarr.json") from None
    root = zarr.open_group(path, mode="r")
    attrs = dict(root.attrs)
    if attrs.get("format") != format_name:
        raise InputError(f"not a {what} (format {attrs.get('format')!r})", path)
    if attrs.get("schema_version") != schema_version:
        raise InputError(
            f"{what} schema version {attrs.get('schema_version')} is not {schema_version}; "
            f"{remedy}",
            path,
        )
    store = CheckedZarr(path, root, attrs, attrs.get("arrays"), remedy)
    if not isinstance(store.arrays, dict):
        raise store._error("the manifest of arrays is missing")
    store.require(required)
    for name, entry in store.arrays.items():
        if not (path / name / "zarr.json").is_file():
            raise store._error(f"array {name!r} is missing")
        files = _chunk_files(path / name)
        size = sum(f.stat().st_size for f in files)
        if len(files) != entry["chunks"] or size != entry["bytes"]:
            raise store._error(
                f"array {name!r} is damaged: {len(files)} of {entry['chunks']} chunk files, "
                f"{size} of {entry['bytes']} bytes"
            )
    return store
