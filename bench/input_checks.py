"""What the input checks of issue #14 cost, side by side with the same work unchecked.

Rows, each the fastest of ``--rounds`` interleaved rounds on real files from ../shared/data:

- text: iterating GET's GENCODE TSS table (106,921 lines, gzip) through ``open_text`` (decode and
  gzip errors become InputErrors) vs a plain ``gzip.open``; pandas reading the K562 count matrix
  (62,757 genes x 500 cells, gzip) through ``open_text`` vs pandas opening the path itself.
- genome open: ``open_genome`` (checks the .fai/.gzi against the bgzip FASTA) vs ``pyfaidx.Fasta``
  on the same index, for the hg38 chr2 piece (1 record) and the GM12878 CTCF FASTA (500 records).
- fetch: 1,000 reads of 1,500 bp (a peak and the scanner's context) through ``Genome.fetch``
  (length and IUPAC check) vs pyfaidx's reader directly.
- prepare's sequence pre-pass (``check_region_sequence``: every region read once, N counted) vs
  the motif scan of the same 1,000 peaks (``region_features``, JASPAR 2024 clustered, p < 1e-4).

    python bench/input_checks.py [--rounds 5]

Writes ``bench/results/input_checks.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"
DATA = Path(
    os.environ.get("GETX_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
TSS = DATA / "annotation/gencode.v40.hg38.tss.tsv.gz"
MATRIX = DATA / "k562_chr22/scE2G_cluster1.rna_count_matrix.csv.gz"
CHR2 = DATA / "genome/chr2_1-2333275.fa.gz"
CTCF = DATA / "genome/Gm12878.CTCF.top500.w200.fa"


def fastest(rows: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Seconds per row: the fastest of ``rounds``, rows interleaved within each round."""
    best = dict.fromkeys(rows, np.inf)
    for _ in range(rounds):
        for name, work in rows.items():
            start = time.perf_counter()
            work()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import pyfaidx

    from getx.io.files import open_text
    from getx.io.genome import open_genome
    from getx.motifs.databases import load_motifs
    from getx.motifs.scanning import region_features
    from getx.prepare import check_region_sequence

    def lines_checked():
        with open_text(TSS) as handle:
            return sum(1 for _ in handle)

    def lines_plain():
        with gzip.open(TSS, "rt", encoding="utf-8", newline="") as handle:
            return sum(1 for _ in handle)

    def matrix_checked():
        with open_text(MATRIX) as handle:
            return pd.read_csv(handle, index_col=0).shape

    def matrix_plain():
        return pd.read_csv(MATRIX, index_col=0).shape

    def opener(path: Path, checked: bool):
        def run():
            if checked:
                open_genome(path).close()
            else:
                gzi = str(path) + ".gzi" if path.suffix == ".gz" else None
                pyfaidx.Fasta(str(path), gzi_indexname=gzi, as_raw=True, rebuild=False).close()

        return run

    # The shared data is read-only and the CTCF FASTA has no index: time an indexed copy.
    ctcf = Path(tempfile.mkdtemp(prefix="getx-bench-")) / CTCF.name
    shutil.copy(CTCF, ctcf)
    pyfaidx.Faidx(str(ctcf)).close()

    genome = open_genome(CHR2)
    rng = np.random.default_rng(0)
    size = genome.chrom_sizes["chr2"]
    starts = rng.integers(20_000, size - 2_000, 1_000)
    regions = pd.DataFrame({"chrom": "chr2", "start": starts, "end": starts + 830})
    regions = regions.sort_values("start").reset_index(drop=True)
    reader = genome._reader["chr2"]

    def fetch_checked():
        for s in starts:
            genome.fetch("chr2", int(s) - 335, int(s) + 1165)

    def fetch_plain():
        for s in starts:
            reader[int(s) - 335 : int(s) + 1165].upper()

    motifs = load_motifs("jaspar2024")
    region_features(genome, regions.iloc[:20], motifs)  # thresholds cached, kernels compiled

    rows = {
        "TSS table lines, open_text": lines_checked,
        "TSS table lines, gzip.open": lines_plain,
        "count matrix, pandas via open_text": matrix_checked,
        "count matrix, pandas on the path": matrix_plain,
        "open chr2 bgzip, open_genome": opener(CHR2, True),
        "open chr2 bgzip, pyfaidx": opener(CHR2, False),
        "open 500-record FASTA, open_genome": opener(ctcf, True),
        "open 500-record FASTA, pyfaidx": opener(ctcf, False),
        "1,000 fetches of 1,500 bp, Genome.fetch": fetch_checked,
        "1,000 fetches of 1,500 bp, pyfaidx": fetch_plain,
        "sequence pre-pass, 1,000 peaks": lambda: check_region_sequence(genome, regions),
        "motif scan, 1,000 peaks": lambda: region_features(genome, regions, motifs),
    }
    seconds = fastest(rows, args.rounds)
    names = list(rows)
    pairs = [(names[i], names[i + 1]) for i in range(0, len(names), 2)]
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        "rounds": args.rounds,
        "seconds": seconds,
        "ratios": {a: seconds[a] / seconds[b] for a, b in pairs},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "input_checks.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# What the input checks cost (bench/input_checks.py)",
        "",
        f"{result['when']}, {result['machine']}; fastest of {args.rounds} interleaved rounds.",
        "",
        "| checked | seconds | unchecked peer | seconds | ratio |",
        "|---|---|---|---|---|",
    ]
    for a, b in pairs:
        lines.append(
            f"| {a} | {seconds[a]:.4f} | {b} | {seconds[b]:.4f} | {seconds[a] / seconds[b]:.2f} |"
        )
    (RESULTS / "input_checks.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    genome.close()
    shutil.rmtree(ctcf.parent)


if __name__ == "__main__":
    main()
