"""``getx fetch-reference``: the one command that reaches the network.

It downloads a genome's reference files (sequence as 2bit, a GENCODE GTF, GET's v1 motif
archetype track) into a cache directory. Downloads resume from a ``.part`` file with an HTTP
Range request, are checked against a checksum, and are renamed into place only when complete
and correct, so a cache never holds half a file.

Checksums: a pinned sha256 when we know one, else the provider's own published checksum list
(UCSC ``md5sum.txt``, GENCODE ``MD5SUMS``), fetched alongside. Files whose provider publishes no
checksum get their sha256 recorded in ``<cache>/<genome>/checksums.tsv`` on first download and
verified against it afterwards.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from getx.cache import cache_dir as default_cache_dir
from getx.errors import InputError

log = logging.getLogger(__name__)

CHUNK = 1 << 20


@dataclass(frozen=True)
class ReferenceFile:
    """One downloadable file: where it lives and how its content is checked."""

    name: str  # file name in the cache
    url: str
    sha256: str | None = None  # pinned checksum
    md5_list_url: str | None = None  # provider's "md5  filename" list
    md5_list_name: str | None = None  # the file's name in that list (default: url basename)


def references(base: dict[str, str] | None = None) -> dict[str, list[ReferenceFile]]:
    """Known reference sets; ``base`` overrides each provider's root URL (tests use a local one)."""
    roots = {
        "ucsc": "https://hgdownload.soe.ucsc.edu/goldenPath",
        "gencode": "https://ftp.ebi.ac.uk/pub/databases/gencode/Gencode_human",
        "altius": "https://resources.altius.org/~jvierstra/projects/motif-clustering/releases",
    }
    roots.update(base or {})
    gencode = f"{roots['gencode']}/release_44"
    return {
        "hg38": [
            ReferenceFile(
                "hg38.2bit",
                f"{roots['ucsc']}/hg38/bigZips/hg38.2bit",
                md5_list_url=f"{roots['ucsc']}/hg38/bigZips/md5sum.txt",
            ),
            ReferenceFile(
                "gencode.v44.basic.annotation.gtf.gz",
                f"{gencode}/gencode.v44.basic.annotation.gtf.gz",
                md5_list_url=f"{gencode}/MD5SUMS",
            ),
            ReferenceFile(
                "hg38.archetype_motifs.v1.0.bed.gz",
                f"{roots['altius']}/v1.0/hg38.archetype_motifs.v1.0.bed.gz",
            ),
        ]
    }


def fetch_reference(
    genome: str = "hg38",
    cache_dir: Path | None = None,
    base_urls: dict[str, str] | None = None,
    on_progress: Callable[[str, int, int | None], None] | None = None,
) -> list[Path]:
    """Download (or verify) every file of ``genome`` and return their paths."""
    catalog = references(base_urls)
    if genome not in catalog:
        raise InputError(f"unknown reference {genome!r}; known: {', '.join(catalog)}")
    folder = (cache_dir or default_cache_dir()) / genome
    folder.mkdir(parents=True, exist_ok=True)
    recorded = _read_recorded(folder / "checksums.tsv")
    paths = []
    for item in catalog[genome]:
        destination = folder / item.name
        if destination.exists():
            log.info("%s already present; verifying", destination)
        else:
            download(item.url, destination.with_name(destination.name + ".part"), on_progress)
        source = destination if destination.exists() else destination.with_name(item.name + ".part")
        _verify(item, source, recorded, folder)
        if source != destination:
            os.replace(source, destination)
        paths.append(destination)
    return paths


def download(
    url: str, part: Path, on_progress: Callable[[str, int, int | None], None] | None = None
) -> Path:
    """Download ``url`` into ``part``, resuming from its current size when the server allows."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # already complete
            return part
        raise InputError(f"download failed: HTTP {error.code} for {url}") from error
    except urllib.error.URLError as error:
        raise InputError(f"download failed for {url}: {error.reason}") from error
    with response:
        resumed = response.status == 206
        if offset and not resumed:
            log.info("server ignored the range request; restarting %s", part.name)
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        done = offset
        with open(part, "ab" if resumed else "wb") as handle:
            while chunk := response.read(CHUNK):
                handle.write(chunk)
                done += len(chunk)
                if on_progress:
                    on_progress(part.name.removesuffix(".part"), done, total)
    if total is not None and done != total:
        raise InputError(
            f"download of {url} stopped at {done} of {total} bytes; run again to resume"
        )
    return part


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _verify(item: ReferenceFile, path: Path, recorded: dict[str, str], folder: Path) -> None:
    if item.sha256:
        expected, algorithm = item.sha256, "sha256"
    elif item.md5_list_url:
        expected, algorithm = _md5_from_list(item), "md5"
    elif item.name in recorded:
        expected, algorithm = recorded[item.name], "sha256"
    else:
        digest = _digest(path, "sha256")
        recorded[item.name] = digest
        _write_recorded(folder / "checksums.tsv", recorded)
        log.info("%s: no published checksum; recorded sha256 %s", item.name, digest)
        return
    actual = _digest(path, algorithm)
    if actual != expected:
        bad = path.with_name(path.name + ".bad")
        os.replace(path, bad)
        raise InputError(
            f"{item.name}: {algorithm} {actual} does not match the expected {expected}; "
            f"the file was moved to {bad}"
        )
    log.info("%s: %s verified", item.name, algorithm)


def _md5_from_list(item: ReferenceFile) -> str:
    wanted = item.md5_list_name or item.url.rsplit("/", 1)[-1]
    try:
        with urllib.request.urlopen(item.md5_list_url, timeout=60) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError) as error:
        raise InputError(f"cannot read the checksum list {item.md5_list_url}: {error}") from error
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*").lstrip("./") == wanted:
            return parts[0].lower()
    raise InputError(f"{wanted} is not listed in {item.md5_list_url}")


def _read_recorded(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    rows = (line.split("\t") for line in path.read_text().splitlines() if line.strip())
    return {name: digest for name, digest in rows}


def _write_recorded(path: Path, recorded: dict[str, str]) -> None:
    from getx.io.files import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text("".join(f"{k}\t{v}\n" for k, v in sorted(recorded.items())))
