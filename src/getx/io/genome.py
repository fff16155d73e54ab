"""Reference genome access (FASTA, bgzip FASTA, UCSC 2bit) and chromosome-name harmonisation.

Coordinates are 0-based half-open. ``Genome.fetch`` pads with 'N' outside the stored sequence so
callers can take fixed-width windows at chromosome ends without special cases.
"""

from __future__ import annotations

import bisect
import logging
import re
import shutil
import struct
import tempfile
import weakref
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from getx.errors import InputError
from getx.io.files import decode_error, open_text

log = logging.getLogger(__name__)

_TWOBIT_SIGNATURES = (b"\x43\x27\x41\x1a", b"\x1a\x41\x27\x43")  # little / big endian 0x1A412743

# Anything but an IUPAC nucleotide code (upper case; U as T): digits, punctuation, gaps.
_NOT_IUPAC = re.compile(r"[^ACGTUNRYSWKMBDHV]")
# What reading a damaged bgzip FASTA through Bio.bgzf raises.
_BGZF_ERRORS = (OSError, EOFError, ValueError, struct.error, zlib.error)
# Records whose index entries are checked against the FASTA (evenly spaced, and the last).
_CHECKED_RECORDS = 2000

# Mitochondrion spellings that all mean the same sequence.
_MITO = {"M", "MT", "CHRM", "CHRMT"}


def chrom_alias(name: str) -> str:
    """Canonical form of a chromosome name for matching: no 'chr' prefix, upper case, MT for chrM.

    ``chr1`` and ``1`` both become ``1``; ``chrM``, ``MT`` and ``chrMT`` become ``MT``;
    ``chrX`` -> ``X``.
    Only used to compare names; tables keep the genome's own spelling.
    """
    upper = name.strip().upper()
    if upper in _MITO:
        return "MT"
    if upper.startswith("CHR"):
        upper = upper[3:]
    return upper


def chrom_mapping(names: Iterable[str], known: Iterable[str]) -> dict[str, str]:
    """``{name: known spelling}`` for each of ``names`` found in ``known`` exactly or, failing
    that, through :func:`chrom_alias` (``1`` -> ``chr1``, ``MT`` -> ``chrM``); names found
    neither way are left out."""
    known = [str(k) for k in known]
    known_set = set(known)
    by_alias: dict[str, str] = {}
    for k in known:
        by_alias.setdefault(chrom_alias(k), k)
    mapping: dict[str, str] = {}
    for name in dict.fromkeys(str(n) for n in names):
        if name in known_set:
            mapping[name] = name
        elif chrom_alias(name) in by_alias:
            mapping[name] = by_alias[chrom_alias(name)]
    return mapping


def log_renamed(mapping: Mapping[str, str], source: str | Path | None, target: str) -> None:
    """One log line saying which chromosome names of ``source`` were respelled as ``target``'s
    (e.g. "the peaks'"); nothing when none was."""
    renamed = {k: v for k, v in mapping.items() if k != v}
    if renamed:
        examples = ", ".join(f"{k}->{v}" for k, v in list(renamed.items())[:3])
        more = f" and {len(renamed) - 3} more" if len(renamed) > 3 else ""
        log.info(
            "%schromosome names harmonised to %s spelling: %s%s",
            f"{source}: " if source is not None else "",
            target,
            examples,
            more,
        )


def harmonise_chroms(
    names: Iterable[str],
    known: Iterable[str],
    source: str | Path | None = None,
    strict: bool = True,
    target: str = "the genome's",
) -> dict[str, str]:
    """Map user chromosome names onto the genome's names when they differ only by the 'chr' prefix.

    Returns ``{user_name: genome_name}`` for every name that matches (exactly, or via
    :func:`chrom_alias`), and logs the renamed ones (:func:`log_renamed`). With ``strict``
    (default) unmatched names raise an InputError naming ``source``, how many are unmatched
    and a few examples; otherwise they are left out of the map.
    """
    names = list(dict.fromkeys(str(n) for n in names))
    known = [str(k) for k in known]
    mapping = chrom_mapping(names, known)
    missing = [name for name in names if name not in mapping]
    if missing and strict:
        raise InputError(
            f"{len(missing)} chromosome name(s) not in the genome/chromosome sizes, e.g. "
            f"{', '.join(missing[:5])}; known names include {', '.join(known[:5])}",
            path=source,
        )
    log_renamed(mapping, source, target)
    return mapping


def _is_bgzf(path: Path) -> bool:
    """True for a BGZF (bgzip) file: gzip with the 'BC' extra subfield."""
    with open(path, "rb") as handle:
        head = handle.read(18)
    return len(head) >= 14 and head[:2] == b"\x1f\x8b" and head[3] & 4 and head[12:14] == b"BC"


@dataclass
class Genome:
    """An open reference genome.

    ``chrom_sizes`` lists the sequences in file order. With ``offsets`` (a FASTA holding a piece
    of a chromosome) the size is offset + stored length: the last addressable genomic position + 1.
    """

    path: Path
    chrom_sizes: dict[str, int]
    offsets: dict[str, int] = field(default_factory=dict)
    _reader: Any = field(default=None, repr=False)
    _kind: str = field(default="fasta", repr=False)
    _tmpdir: str | None = field(default=None, repr=False)
    _alias: dict[str, str] = field(default_factory=dict, repr=False)
    _index: str | None = field(default=None, repr=False)  # the .fai read, for messages
    _remove_tmpdir: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self._tmpdir is not None:
            # A genome dropped without close(), or open at exit, still removes its index.
            self._remove_tmpdir = weakref.finalize(self, shutil.rmtree, self._tmpdir, True)

    def _resolve(self, chrom: str) -> str:
        if chrom in self.chrom_sizes:
            return chrom
        alias = self._alias.get(chrom_alias(chrom))
        if alias is not None:
            return alias
        known = list(self.chrom_sizes)
        raise InputError(
            f"chromosome {chrom!r} is not in the genome ({len(known)} sequences, e.g. "
            f"{', '.join(known[:5])})",
            path=self.path,
        )

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Upper-case sequence of [start, end) on ``chrom``; positions with no sequence read 'N'."""
        name = self._resolve(chrom)
        start, end = int(start), int(end)
        if end < start:
            raise InputError(f"fetch {chrom}:{start}-{end}: end is before start", path=self.path)
        offset = self.offsets.get(name, 0)
        stored = self.chrom_sizes[name] - offset
        lo = max(start - offset, 0)
        hi = min(end - offset, stored)
        if hi <= lo:
            return "N" * (end - start)
        seq = self._read(name, lo, hi)
        left = (lo + offset) - start
        right = end - (hi + offset)
        return "N" * left + seq + "N" * right

    def _read(self, name: str, lo: int, hi: int) -> str:
        """Stored bases [lo, hi) of record ``name``, upper case, checked: as many as asked for,
        and every one an IUPAC nucleotide code."""
        if self._kind == "2bit":
            try:
                seq = self._reader.sequence(name, lo, hi)
            except RuntimeError as error:
                raise InputError(f"cannot read {name}:{lo}-{hi}: {error}", path=self.path) from None
        else:
            try:
                seq = self._reader[name][lo:hi]
            except (UnicodeDecodeError, *_BGZF_ERRORS) as error:
                raise InputError(
                    f"cannot read {name}:{lo}-{hi} ({error}): a damaged file?", path=self.path
                ) from None
        if len(seq) != hi - lo:
            raise InputError(
                f"reading {name}:{lo}-{hi} gave {len(seq)} bp, not {hi - lo}: the index "
                f"{self._index} does not describe this file (rebuild it with samtools faidx)",
                path=self.path,
            )
        seq = seq.upper()
        bad = _NOT_IUPAC.search(seq)
        if bad is not None:
            raise InputError(
                f"sequence {name}, position {lo + bad.start() + 1}: {bad.group()!r} is not a "
                "nucleotide (IUPAC) code",
                path=self.path,
            )
        return seq

    def close(self) -> None:
        """Release file handles (and any temporary index)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._remove_tmpdir is not None:
            self._remove_tmpdir()
            self._tmpdir = None

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_genome(path: str | Path, offsets: Mapping[str, int] | None = None) -> Genome:
    """Open a FASTA (plain, or bgzip with .fai/.gzi) or UCSC 2bit genome.

    ``offsets`` maps a sequence name to the genomic 0-based position of its first base, for files
    holding a piece of a chromosome (e.g. ``{"chr22": 32_000_000}``). A .fai/.gzi beside the FASTA
    is used when it describes the file (:func:`_layout_problem`); a missing or stale one is
    replaced by a temporary index that :meth:`Genome.close` removes (a stale one with a warning
    naming both files). The user's folder is never written. A truncated 2bit file is refused.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("genome file does not exist", path=path)
    if path.is_dir():
        raise InputError("is a folder, not a genome file", path=path)
    with open(path, "rb") as handle:
        magic = handle.read(4)
    genome = _open_twobit(path) if magic in _TWOBIT_SIGNATURES else _open_fasta(path, magic)
    offsets = dict(offsets or {})
    for name, off in offsets.items():
        if name not in genome.chrom_sizes:
            genome.close()
            raise InputError(f"offset given for unknown sequence {name!r}", path=path)
        if int(off) < 0:
            genome.close()
            raise InputError(f"offset for {name!r} is negative ({off})", path=path)
        genome.chrom_sizes[name] += int(off)
    genome.offsets = {k: int(v) for k, v in offsets.items()}
    genome._alias = {}
    for name in genome.chrom_sizes:
        genome._alias.setdefault(chrom_alias(name), name)
    return genome


def _open_twobit(path: Path) -> Genome:
    import py2bit

    short = _twobit_short(path)
    if short is not None:
        raise InputError(f"2bit file is truncated: {short}", path=path)
    try:
        reader = py2bit.open(str(path))
    except RuntimeError as exc:
        raise InputError(f"cannot read 2bit file: {exc}", path=path) from exc
    if reader is None:
        raise InputError("cannot read 2bit file", path=path)
    sizes = {str(k): int(v) for k, v in reader.chroms().items()}
    return Genome(path=path, chrom_sizes=sizes, _reader=reader, _kind="2bit")


def _twobit_short(path: Path) -> str | None:
    """Which record of a 2bit file runs past its end, or None: py2bit reads the missing bytes
    of a truncated file as T without a word, so the layout is checked here (UCSC's format:
    header, index of name + offset, then per record its size, N and mask blocks, packed bases).
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(16)
        if len(head) < 16:
            return "shorter than its header"
        order = "<" if head[:4] == _TWOBIT_SIGNATURES[0] else ">"
        version, count = struct.unpack(order + "II", head[4:12])
        offsets = []
        for _ in range(count):
            length = handle.read(1)
            if not length:
                return "its index is cut short"
            name = handle.read(length[0]).decode("utf-8", "replace")
            raw = handle.read(8 if version == 1 else 4)
            if len(raw) < (8 if version == 1 else 4):
                return "its index is cut short"
            offsets.append((name, struct.unpack(order + ("Q" if version == 1 else "I"), raw)[0]))
        for name, offset in offsets:
            handle.seek(offset)
            raw = handle.read(8)
            if len(raw) < 8:
                return f"sequence {name} is missing"
            bases, n_blocks = struct.unpack(order + "II", raw)
            handle.seek(offset + 8 + 8 * n_blocks)
            raw = handle.read(4)
            if len(raw) < 4:
                return f"sequence {name} is cut short"
            (n_masks,) = struct.unpack(order + "I", raw)
            end = offset + 8 + 8 * n_blocks + 4 + 8 * n_masks + 4 + (bases + 3) // 4
            if end > size:
                return f"sequence {name} needs {end} bytes, the file has {size}"
    return None


def _open_fasta(path: Path, magic: bytes) -> Genome:
    if magic[:2] == b"\x1f\x8b" and not _is_bgzf(path):
        raise InputError(
            "FASTA is plain-gzip compressed, which allows no random access; recompress it with "
            "bgzip (gunzip file.fa.gz && bgzip file.fa) or decompress it",
            path=path,
        )
    if magic[:3] == b"\xef\xbb\xbf":
        raise InputError(
            "starts with a byte-order mark, which FASTA indexes cannot skip: save it without one",
            path=path,
        )
    bgzipped = magic[:2] == b"\x1f\x8b"
    fai = Path(str(path) + ".fai")
    gzi = Path(str(path) + ".gzi") if bgzipped else None
    if fai.exists() and (gzi is None or gzi.exists()):
        reader, problem = _open_with_index(path, fai, gzi)
        if reader is not None:
            return _fasta_genome(path, reader, None, str(fai))
        stale = [str(p) for p in (fai, gzi) if p is not None]
        log.warning(
            "%s %s not match %s (%s); reading the FASTA through a temporary index built from "
            "it (samtools faidx %s replaces the stale one)",
            " and ".join(stale),
            "does" if len(stale) == 1 else "do",
            path,
            problem,
            path,
        )
    else:
        log.info(
            "%s: no .fai/.gzi index; building a temporary one (samtools faidx makes it permanent)",
            path,
        )
    # Reading never writes beside the input (it may be shared or read-only): a missing or
    # stale .fai/.gzi is built in a temporary directory that close() removes.
    tmpdir = tempfile.mkdtemp(prefix="getx-fai-")
    indexname = str(Path(tmpdir) / (path.name + ".fai"))
    gzi_indexname = str(Path(tmpdir) / (path.name + ".gzi")) if bgzipped else None
    try:
        reader = _fasta_reader(path, indexname, gzi_indexname)
    except InputError:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return _fasta_genome(path, reader, tmpdir, indexname)


def _fasta_reader(path: Path, indexname: str, gzi_indexname: str | None) -> Any:
    """pyfaidx's reader with the given index (built there when absent)."""
    import pyfaidx

    try:
        return pyfaidx.Fasta(
            str(path),
            indexname=indexname,
            gzi_indexname=gzi_indexname,
            as_raw=True,
            sequence_always_upper=True,
            rebuild=False,
        )
    except UnicodeDecodeError:
        raise decode_error(path, _is_bgzf(path)) from None
    except (
        pyfaidx.FastaIndexingError,
        pyfaidx.UnsupportedCompressionFormat,
        *_BGZF_ERRORS,
    ) as exc:
        raise InputError(f"cannot index FASTA: {exc}", path=path) from None


def _fasta_genome(path: Path, reader: Any, tmpdir: str | None, index: str) -> Genome:
    names = list(reader.keys())  # iterating a Fasta yields records, not names
    sizes = {name: len(reader[name]) for name in names}
    if not any(sizes.values()):
        reader.close()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise InputError("FASTA holds no sequence (headers only, or nothing)", path=path)
    return Genome(
        path=path, chrom_sizes=sizes, _reader=reader, _kind="fasta", _tmpdir=tmpdir, _index=index
    )


def _open_with_index(path: Path, fai: Path, gzi: Path | None) -> tuple[Any, str]:
    """The reader through the index files beside ``path``, or None and why they are stale.

    Stale: older than the FASTA, unreadable, or describing another layout than the file's
    (:func:`_layout_problem`).
    """
    fasta_time = path.stat().st_mtime
    for index in (fai, gzi):
        if index is not None and index.stat().st_mtime < fasta_time:
            return None, f"{index.name} is older than the FASTA"
    try:
        reader = _fasta_reader(path, str(fai), None if gzi is None else str(gzi))
    except (InputError, IndexError, *_BGZF_ERRORS) as error:
        return None, f"unreadable index: {error}"
    try:
        problem = _layout_problem(reader.faidx, path)
    except (IndexError, *_BGZF_ERRORS) as error:
        problem = f"reading through the index fails ({error})"
    if problem is not None:
        reader.close()
        return None, problem
    return reader, ""


def _layout_problem(faidx: Any, path: Path) -> str | None:
    """Why the index of ``faidx`` does not describe the FASTA's bytes, or None.

    Checks, for up to ``_CHECKED_RECORDS`` records (evenly spaced; the last always): the line
    before the record's offset is its '>' header; its first line has the indexed width and
    line ending; its last base ends a line where the index puts it, followed by a line ending
    and the next header (or the end of the file). A re-wrapped, edited, extended or truncated
    FASTA fails one of these; an index that passes reads the right bases.
    """
    raw = _RawFasta(faidx)
    records = list(faidx.index.items())
    if not records:
        return "the index lists no sequences"
    picks = sorted(
        set(np.linspace(0, len(records) - 1, min(len(records), _CHECKED_RECORDS)).astype(int))
    )
    for k in picks:
        name, rec = records[k]
        if rec.rlen == 0:
            continue
        ending = rec.lenb - rec.lenc
        if rec.lenc <= 0 or ending not in (1, 2):
            return f"{name}: line width {rec.lenc}/{rec.lenb} bytes is not a FASTA layout"
        before = raw.read(max(rec.offset - 4096, 0), min(rec.offset, 4096))
        if not before.endswith(b"\n"):
            return f"{name}: its indexed offset {rec.offset} does not start a line"
        if b"\n" in before[:-1] or rec.offset <= 4096:  # the whole header line is in view
            header = before[:-1].rstrip(b"\r").rsplit(b"\n", 1)[-1]
            words = header[1:].split()
            if not header.startswith(b">"):
                return f"{name}: no '>' header line before its indexed offset {rec.offset}"
            if not words or words[0].decode("utf-8", "replace") != name:
                return f"the header before {name}'s indexed offset names another sequence"
        first = raw.read(rec.offset, rec.lenb)
        width = min(rec.lenc, rec.rlen)
        terminator = b"\n" if ending == 1 else b"\r\n"
        if _has_break(first[:width]) or len(first) < width:
            return f"{name}: its first line is not {rec.lenc} bases long (re-wrapped?)"
        if rec.rlen > rec.lenc and first[width:] != terminator:
            return f"{name}: its first line is longer than {rec.lenc} bases (re-wrapped?)"
        last = rec.rlen - 1
        line_start = rec.offset + (last // rec.lenc) * rec.lenb
        in_line = last % rec.lenc + 1
        tail = raw.read(line_start - 1, in_line + 2 + ending)
        body, after = tail[1 : 1 + in_line], tail[1 + in_line :]
        if (
            tail[:1] != b"\n"
            or len(body) < in_line
            or _has_break(body)
            or not (after == b"" or after.startswith((terminator, b"\n")))
        ):
            return f"{name} is not {rec.rlen} bases long in the lines the index gives"
        rest = after[len(terminator) :] if after.startswith(terminator) else after[1:]
        if rest and not rest.startswith((b">", b"\n", b"\r", b" ")):
            return f"{name} goes on past its indexed length of {rec.rlen} bases"
    name, rec = records[-1]
    end = rec.offset + (rec.rlen // rec.lenc) * rec.lenb + rec.rlen % rec.lenc if rec.lenc else 0
    if raw.read(end, 4096).strip():
        return f"the file goes on after {name}, the last sequence the index lists"
    return None


def _has_break(chunk: bytes) -> bool:
    return any(c in chunk for c in (b"\n", b"\r", b">"))


@dataclass
class _RawFasta:
    """Bytes of an (uncompressed) FASTA at any offset, through pyfaidx's open file (and, for
    bgzip, its .gzi block table), for checking the index against the file."""

    faidx: Any

    def __post_init__(self) -> None:
        self._starts = [block.ustart for block in self.faidx.gzi_index] if self.faidx._bgzf else []

    def read(self, start: int, size: int) -> bytes:
        handle = self.faidx.file
        if self._starts:
            from Bio.bgzf import make_virtual_offset

            block = self.faidx.gzi_index[max(bisect.bisect_right(self._starts, start) - 1, 0)]
            handle.seek(make_virtual_offset(block.cstart, start - block.ustart))
        else:
            handle.seek(start)
        return handle.read(size) if size > 0 else b""


def read_chrom_sizes(path: str | Path) -> dict[str, int]:
    """Read a UCSC chrom.sizes file (``chrom<TAB>length``, extra columns ignored), in file order."""

    sizes: dict[str, int] = {}
    with open_text(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t") if "\t" in line else line.split()
            if len(fields) < 2:
                raise InputError("expected 'chrom<TAB>length'", path=path, line=lineno)
            name, length = fields[0], fields[1]
            try:
                size = int(length)
            except ValueError:
                if not sizes and lineno == 1:  # a header line such as 'chrom\tsize'
                    continue
                raise InputError(
                    f"length {length!r} is not an integer", path=path, line=lineno
                ) from None
            if size <= 0:
                raise InputError(f"length {size} of {name} is not positive", path=path, line=lineno)
            if name in sizes:
                raise InputError(f"chromosome {name} listed twice", path=path, line=lineno)
            sizes[name] = size
    if not sizes:
        raise InputError("no chromosome sizes found", path=path)
    return sizes
