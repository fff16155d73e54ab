"""Per-peak motif features: CPU seconds per 1,000 peaks, by peak width and motif set.

The issue's target is under 1 CPU-second per 1,000 peaks for a genome-wide set of ~500 bp peaks.
1,000 peaks are placed at random in hg38 chr2:1-2,333,275 with (a) the widths of the first 1,000
real B-cell peaks (mean ~830 bp) and (b) a fixed 500 bp, and featurised with
``getx.motifs.region_features`` (scan both strands, merge overlapping hits per cluster, sum) for
GET's 2,174 v1 motifs and for the default clustered JASPAR 2024 set, one numba thread. The peer,
run side by side on the same sequences: MOODS scanning them (hits only, no aggregation), when
installed. Writes bench/results/region_features.{json,md}.

    python bench/region_features.py
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numba
import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as a script: make the bench package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._data import BCELL, CHR2_PIECE, V1_MOTIFS, read_sequence
from bench.motif_scan import ROOT, moods_matrices, moods_scanner, timed
from getx.motifs import load_motifs, region_features
from getx.motifs.pvalues import strand_thresholds
from getx.motifs.sequences import SequenceGenome

ROUNDS = 5
MOTIF_SETS = {"GET v1 (2,174 motifs)": str(V1_MOTIFS), "JASPAR 2024 clustered": "jaspar2024"}


def moods_peer(motifs, sequences: list[str], p_value: float) -> float | None:
    """CPU seconds for MOODS to scan the same sequences with the same thresholds, or None."""
    try:
        import MOODS.scan  # noqa: F401
    except ImportError:
        return None
    scanner = moods_scanner(
        moods_matrices(motifs), motifs.background, strand_thresholds(motifs, p_value)
    )
    _, _, cpu = timed(lambda: [scanner.scan(s) for s in sequences])
    return cpu


def measure(sets: dict, n_peaks: int = 1000, rounds: int = ROUNDS) -> list[dict]:
    """Per motif set (name -> ``load_motifs`` spec or a MotifSet) and peak layout, getx's and
    MOODS's CPU seconds per 1,000 peaks (1 numba thread; the fastest of ``rounds`` interleaved
    rounds)."""
    seq = read_sequence(CHR2_PIECE)
    genome = SequenceGenome({"chr2": seq})
    peaks = pd.read_csv(
        BCELL / "test.atac.bed.gz",
        sep="\t",
        header=None,
        usecols=[0, 1, 2],
        nrows=n_peaks,
    )
    rng = np.random.default_rng(0)
    real = (peaks[2] - peaks[1]).to_numpy()
    starts = rng.integers(10_000, len(seq) - 5_000, len(real))
    layouts = {"B-cell widths": real, "500 bp": np.full(len(real), 500)}
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    configs = []
    for set_name, spec in sets.items():
        motifs = load_motifs(spec) if isinstance(spec, str) else spec
        for layout, widths in layouts.items():
            regions = pd.DataFrame({"chrom": "chr2", "start": starts, "end": starts + widths})
            region_features(genome, regions.iloc[:20], motifs, 1e-4)  # thresholds, tables, JIT
            configs.append((set_name, motifs, layout, widths, regions, [np.inf, np.inf]))
    # Rounds over all configurations, fastest per configuration: on a shared machine the
    # bursts of a co-tenant then hit every configuration alike.
    for _ in range(rounds):
        for _set, motifs, _layout, _widths, regions, best in configs:
            _, wall, cpu = timed(lambda r=regions, m=motifs: region_features(genome, r, m, 1e-4))
            if cpu < best[1]:
                best[:] = [wall, cpu]
    numba.set_num_threads(threads)
    rows = []
    for set_name, motifs, layout, widths, regions, (wall, cpu) in configs:
        sequences = [
            genome.fetch("chr2", int(s), int(e))
            for s, e in zip(regions.start, regions.end, strict=True)
        ]
        peer = moods_peer(motifs, sequences, 1e-4)
        rows.append(
            {
                "motifs": set_name,
                "n_motifs": len(motifs.names),
                "peaks": layout,
                "mean_width_bp": float(widths.mean()),
                "getx_cpu_s_per_1000": cpu / len(regions) * 1000,
                "getx_wall_s_per_1000": wall / len(regions) * 1000,
                "moods_scan_cpu_s_per_1000": None if peer is None else peer / len(regions) * 1000,
            }
        )
    return rows


def main() -> None:
    rows = measure(MOTIF_SETS)
    for row in rows:
        print(row, flush=True)
    table = pd.DataFrame(rows)
    record = {
        "bench": "region_features",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
        "load_average": os.getloadavg(),
        "threads": 1,
        "rounds": ROUNDS,
        "p_value": 1e-4,
        "rows": rows,
    }
    out = ROOT / "bench" / "results"
    (out / "region_features.json").write_text(json.dumps(record, indent=1))
    lines = [
        "# Per-peak motif features (bench/region_features.py)",
        "",
        f"{record['date']}, {record['machine']}, load average {record['load_average'][0]:.1f}; "
        "1,000 peaks at random places in hg38 chr2:1-2,333,275, p < 1e-4, 1 numba thread, fastest "
        f"of {ROUNDS} rounds over all rows (interleaved, so a co-tenant's bursts hit every row "
        "alike). MOODS (peer) only scans the same sequences (no flanks, no aggregation).",
        "",
        "| motifs | peaks | mean bp | getx CPU-s / 1,000 | getx wall-s / 1,000 "
        "| MOODS scan CPU-s / 1,000 |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        peer = "-" if r.moods_scan_cpu_s_per_1000 is None else f"{r.moods_scan_cpu_s_per_1000:.2f}"
        lines.append(
            f"| {r.motifs} | {r.peaks} | {r.mean_width_bp:.0f} | {r.getx_cpu_s_per_1000:.2f} | "
            f"{r.getx_wall_s_per_1000:.2f} | {peer} |"
        )
    (out / "region_features.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
