"""What the region store's manifest costs: writing it, checking it on open, checking CRCs on read.

Writes a store of random features and accessibility (``--regions`` regions, ``--features`` motif
columns, ``--cell-types`` cell types) and measures, side by side in this one process, each
repetition alternating the two readers:

- write: ``write_store`` in full, and the manifest alone (``array_manifest`` over the written
  folder), so its share of the write;
- open: opening with the checks (format, manifest, the stat of every chunk file) and reading the
  region and gene arrays with their CRCs, vs zarr opening the group and reading them;
- read: the same for every array of the store.

Results: ``bench/results/store_integrity.json`` and ``.md``.

    python bench/store_integrity.py [--regions 200000] [--features 282] [--repeats 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from getx.io.checked_zarr import array_manifest, open_checked
from getx.store import SCHEMA_VERSION, CellTypeData, write_store

RESULTS = Path(__file__).parent / "results"


def _store(path: Path, regions: int, features: int, cell_types: int) -> Path:
    rng = np.random.default_rng(0)
    chrom = np.repeat([f"chr{i + 1}" for i in range(10)], -(-regions // 10))[:regions]
    start = np.tile(np.arange(-(-regions // 10)) * 1000, 10)[:regions]
    table = pd.DataFrame({"chrom": chrom, "start": start, "end": start + 400})
    genes = pd.DataFrame(
        {
            "gene_id": [f"G{i}" for i in range(regions // 10)],
            "gene_name": [f"g{i}" for i in range(regions // 10)],
            "strand": np.where(rng.random(regions // 10) < 0.5, "+", "-"),
            "region": np.sort(rng.choice(regions, regions // 10, replace=False)),
        }
    )
    # Motif features are sparse sums of hit scores: mostly 0, as in real stores.
    values = np.where(
        rng.random((regions, features)) < 0.15, rng.gamma(2, 4, (regions, features)), 0
    )
    cells = {}
    for c in range(cell_types):
        raw = rng.poisson(3, regions).astype(np.float32)
        cells[f"ct{c + 1}"] = CellTypeData(
            accessibility_raw=raw,
            accessibility=(raw / raw.max()).astype(np.float32),
            expression=rng.random((regions, 2)).astype(np.float32),
            tss=(rng.random((regions, 2)) < 0.05).astype(np.int8),
            gene_expression=rng.random(len(genes)).astype(np.float32),
        )
    names = [f"m{i}" for i in range(features)]
    return write_store(path, table, values.astype(np.float32), names, {}, cells, genes)


def _read(path: Path, names: list[str], checked: bool) -> float:
    """Seconds to open the store and read ``names`` whole: through the manifest's checks
    (``checked``) or with zarr alone."""
    import zarr

    t = time.perf_counter()
    if checked:
        store = open_checked(path, "getx store", "getx-region-store", SCHEMA_VERSION, "rebuild")
        for name in names:
            store.read(name)
    else:
        root = zarr.open_group(path, mode="r")
        for name in names:
            root[name][...]
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=282)
    parser.add_argument("--cell-types", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.zarr"
        t = time.perf_counter()
        _store(path, args.regions, args.features, args.cell_types)
        write_s = time.perf_counter() - t
        t = time.perf_counter()
        manifest = array_manifest(path)
        manifest_s = time.perf_counter() - t
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        opening = [n for n in manifest if n.startswith(("regions/", "genes/"))]
        everything = list(manifest)
        timings = {
            "open_checked": [],
            "open_unchecked": [],
            "read_checked": [],
            "read_unchecked": [],
        }
        for repeat in range(args.repeats):
            # Alternate which reader goes first, so neither always meets a colder cache.
            for checked in (True, False) if repeat % 2 == 0 else (False, True):
                kind = "checked" if checked else "unchecked"
                timings[f"open_{kind}"].append(_read(path, opening, checked))
                timings[f"read_{kind}"].append(_read(path, everything, checked))
    median = {k: statistics.median(v) for k, v in timings.items()}
    result = {
        "regions": args.regions,
        "features": args.features,
        "cell_types": args.cell_types,
        "arrays": len(manifest),
        "chunk_files": sum(e["chunks"] for e in manifest.values()),
        "store_mb": round(size / 1e6, 1),
        "write_s": round(write_s, 3),
        "manifest_s": round(manifest_s, 3),
        "manifest_share_of_write": round(manifest_s / write_s, 3),
        **{f"{k}_s": round(v, 4) for k, v in median.items()},
        "open_ratio": round(median["open_checked"] / median["open_unchecked"], 2),
        "read_ratio": round(median["read_checked"] / median["read_unchecked"], 2),
        "repeats": args.repeats,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store_integrity.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "# Store integrity: what the manifest costs",
        "",
        f"A store of {args.regions:,} regions x {args.features} motif features, "
        f"{args.cell_types} cell types: {result['arrays']} arrays, {result['chunk_files']} chunk "
        f"files, {result['store_mb']} MB. Medians of {args.repeats} repeats, checked and "
        "unchecked readers alternating in one process (`bench/store_integrity.py`).",
        "",
        "| step | with the manifest (s) | zarr alone (s) | ratio |",
        "|---|---|---|---|",
        f"| write (manifest: {result['manifest_s']} s) | {result['write_s']} | "
        f"{round(write_s - manifest_s, 3)} | {round(write_s / (write_s - manifest_s), 2)} |",
        f"| open, read regions and genes | {result['open_checked_s']} | "
        f"{result['open_unchecked_s']} | "
        f"{result['open_ratio']} |",
        f"| open, read every array | {result['read_checked_s']} | {result['read_unchecked_s']} | "
        f"{result['read_ratio']} |",
        "",
        f"Machine: {result['machine']}.",
    ]
    (RESULTS / "store_integrity.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
