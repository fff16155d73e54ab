"""Reference genome access (FASTA, bgzip FASTA, UCSC 2bit) and chromosome-name harmonisation.

Coordinates are 0-based half-open. ``Genome.fetch`` pads with 'N' outside the stored sequence so
callers can take fixed-width windows at chromosome ends without special cases.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from getx.errors import InputError

log = logging.getLogger(__name__)

_TWOBIT_SIGNATURES = (b"\x43\x27\x41\x1a", b"\x1a\x41\x27\x43")  # little / big endian 0x1A412743

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


def harmonise_chroms(
    names: Iterable[str],
    known: Iterable[str],
    source: str | Path | None = None,
    strict: bool = True,
) -> dict[str, str]:
    """Map user chromosome names onto the genome's names when they differ only by the 'chr' prefix.

    Returns ``{user_name: genome_name}`` for every name that matches (exactly, or via
    :func:`chrom_alias`). With ``strict`` (default) unmatched names raise an InputError naming
    ``source``, how many are unmatched and a few examples; otherwise they are left out of the map.
    """
    known = list(known)
    known_set = set(known)
    by_alias: dict[str, str] = {}
    for k in known:
        by_alias.setdefault(chrom_alias(k), k)
    mapping: dict[str, str] = {}
    missing: list[str] = []
    for name in dict.fromkeys(names):
        if name in known_set:
            mapping[name] = name
        elif chrom_alias(name) in by_alias:
            mapping[name] = by_alias[chrom_alias(name)]
        else:
            missing.append(name)
    if missing and strict:
        raise InputError(
            f"{len(missing)} chromosome name(s) not in the genome/chromosome sizes, e.g. "
            f"{', '.join(missing[:5])}; known names include {', '.join(known[:5])}",
            path=source,
        )
    renamed = {k: v for k, v in mapping.items() if k != v}
    if renamed:
        log.info(
            "renamed %d chromosome(s) to the genome's spelling, e.g. %s",
            len(renamed),
            ", ".join(f"{k}->{v}" for k, v in list(renamed.items())[:3]),
        )
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
        if self._kind == "2bit":
            seq = self._reader.sequence(name, lo, hi)
        else:
            seq = self._reader[name][lo:hi]
        seq = seq.upper()
        left = (lo + offset) - start
        right = end - (hi + offset)
        return "N" * left + seq + "N" * right

    def close(self) -> None:
        """Release file handles (and any temporary index)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_genome(path: str | Path, offsets: Mapping[str, int] | None = None) -> Genome:
    """Open a FASTA (plain, or bgzip with .fai/.gzi) or UCSC 2bit genome.

    ``offsets`` maps a sequence name to the genomic 0-based position of its first base, for files
    holding a piece of a chromosome (e.g. ``{"chr22": 32_000_000}``). A missing .fai is built beside
    the FASTA, or in a temporary directory when that folder is read-only.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("genome file does not exist", path=path)
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

    try:
        reader = py2bit.open(str(path))
    except RuntimeError as exc:
        raise InputError(f"cannot read 2bit file: {exc}", path=path) from exc
    if reader is None:
        raise InputError("cannot read 2bit file", path=path)
    sizes = {str(k): int(v) for k, v in reader.chroms().items()}
    return Genome(path=path, chrom_sizes=sizes, _reader=reader, _kind="2bit")


def _open_fasta(path: Path, magic: bytes) -> Genome:
    import pyfaidx

    if magic[:2] == b"\x1f\x8b" and not _is_bgzf(path):
        raise InputError(
            "FASTA is plain-gzip compressed, which allows no random access; recompress it with "
            "bgzip (gunzip file.fa.gz && bgzip file.fa) or decompress it",
            path=path,
        )
    # Reading never writes beside the input (it may be shared or read-only): a missing .fai/.gzi
    # is built in a temporary directory that close() removes.
    tmpdir = None
    indexname = None
    gzi_indexname = None
    missing_fai = not Path(str(path) + ".fai").exists()
    missing_gzi = magic[:2] == b"\x1f\x8b" and not Path(str(path) + ".gzi").exists()
    if missing_fai or missing_gzi:
        tmpdir = tempfile.mkdtemp(prefix="getx-fai-")
        log.info(
            "%s: no .fai/.gzi index; building a temporary one (samtools faidx makes it permanent)",
            path,
        )
        if missing_fai:
            indexname = str(Path(tmpdir) / (path.name + ".fai"))
        if missing_gzi:
            gzi_indexname = str(Path(tmpdir) / (path.name + ".gzi"))
    try:
        reader = pyfaidx.Fasta(
            str(path),
            indexname=indexname,
            gzi_indexname=gzi_indexname,
            as_raw=True,
            sequence_always_upper=True,
            rebuild=False,
        )
    except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, ValueError) as exc:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise InputError(f"cannot index FASTA: {exc}", path=path) from exc
    names = list(reader.keys())  # iterating a Fasta yields records, not names
    sizes = {name: len(reader[name]) for name in names}
    if not sizes:
        reader.close()
        raise InputError("FASTA holds no sequences", path=path)
    return Genome(path=path, chrom_sizes=sizes, _reader=reader, _kind="fasta", _tmpdir=tmpdir)


def read_chrom_sizes(path: str | Path) -> dict[str, int]:
    """Read a UCSC chrom.sizes file (``chrom<TAB>length``, extra columns ignored), in file order."""
    from getx.io.files import open_text

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
