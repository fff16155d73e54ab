"""fetch-reference against a local HTTP server on 127.0.0.1 (the only network this test uses)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import typing
from pathlib import Path

import pytest

from getx.errors import InputError
from getx.fetch import download, fetch_reference


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, honouring 'Range: bytes=N-' like real providers; counts requests."""

    requests: typing.ClassVar[list[str]] = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        RangeHandler.requests.append(self.path)
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        header = self.headers.get("Range")
        if header:
            start = int(header.removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            data = data[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    (root / "ucsc/hg38/bigZips").mkdir(parents=True)
    (root / "gencode/release_44").mkdir(parents=True)
    (root / "altius/v1.0").mkdir(parents=True)
    files = {
        "ucsc/hg38/bigZips/hg38.2bit": bytes(range(256)) * 5000,
        "gencode/release_44/gencode.v44.basic.annotation.gtf.gz": b"gtf" * 10000,
        "altius/v1.0/hg38.archetype_motifs.v1.0.bed.gz": b"motifs" * 3000,
    }
    for rel, data in files.items():
        (root / rel).write_bytes(data)
    md5 = {rel: hashlib.md5(data).hexdigest() for rel, data in files.items()}
    (root / "ucsc/hg38/bigZips/md5sum.txt").write_text(
        f"{md5['ucsc/hg38/bigZips/hg38.2bit']}  hg38.2bit\n0000  hg38.fa.gz\n"
    )
    (root / "gencode/release_44/MD5SUMS").write_text(
        f"{md5['gencode/release_44/gencode.v44.basic.annotation.gtf.gz']}  "
        "gencode.v44.basic.annotation.gtf.gz\n"
    )
    handler = functools.partial(RangeHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    RangeHandler.requests = []
    yield {
        "root": root,
        "files": files,
        "urls": {k: f"{base}/{k}" for k in ("ucsc", "gencode", "altius")},
    }
    httpd.shutdown()


def test_fetch_downloads_verifies_and_is_idempotent(server, tmp_path):
    cache = tmp_path / "cache"
    paths = fetch_reference("hg38", cache_dir=cache, base_urls=server["urls"])
    assert [p.name for p in paths] == [
        "hg38.2bit",
        "gencode.v44.basic.annotation.gtf.gz",
        "hg38.archetype_motifs.v1.0.bed.gz",
    ]
    for path, data in zip(paths, server["files"].values(), strict=True):
        assert path.read_bytes() == data
    assert not list(cache.rglob("*.part"))
    # The Altius file has no published checksum: its sha256 is recorded for later checks.
    recorded = (cache / "hg38" / "checksums.tsv").read_text()
    assert "hg38.archetype_motifs.v1.0.bed.gz" in recorded
    before = len(RangeHandler.requests)
    fetch_reference("hg38", cache_dir=cache, base_urls=server["urls"])
    data_requests = [
        r for r in RangeHandler.requests[before:] if not r.endswith(("md5sum.txt", "MD5SUMS"))
    ]
    assert data_requests == []  # present files are verified, not downloaded again


def test_download_resumes_from_partial_file(server, tmp_path):
    data = server["files"]["ucsc/hg38/bigZips/hg38.2bit"]
    part = tmp_path / "hg38.2bit.part"
    part.write_bytes(data[:1000])
    download(server["urls"]["ucsc"] + "/hg38/bigZips/hg38.2bit", part)
    assert part.read_bytes() == data


def test_checksum_mismatch_never_lands(server, tmp_path):
    (server["root"] / "ucsc/hg38/bigZips/hg38.2bit").write_bytes(b"corrupted")
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match="md5"):
        fetch_reference("hg38", cache_dir=cache, base_urls=server["urls"])
    assert not (cache / "hg38" / "hg38.2bit").exists()


def test_recorded_checksum_catches_a_changed_file(server, tmp_path):
    cache = tmp_path / "cache"
    fetch_reference("hg38", cache_dir=cache, base_urls=server["urls"])
    (cache / "hg38" / "hg38.archetype_motifs.v1.0.bed.gz").write_bytes(b"tampered")
    with pytest.raises(InputError, match="does not match"):
        fetch_reference("hg38", cache_dir=cache, base_urls=server["urls"])


def test_unknown_reference_and_unreachable_server(tmp_path):
    with pytest.raises(InputError, match="unknown reference"):
        fetch_reference("mm99", cache_dir=tmp_path)
    with pytest.raises(InputError, match="download failed"):
        fetch_reference("hg38", cache_dir=tmp_path, base_urls={"ucsc": "http://127.0.0.1:9/none"})
