"""A small, seeded example dataset in the formats users bring, for ``getx prepare --example``.

Two chromosomes of random sequence, genes on both strands with a GTF, peaks at promoters and
nearby enhancers carrying planted JASPAR motifs, and two cell types whose TF activities decide
accessibility (bedGraph counts) and expression (gene tables). It shows the pipeline running on a
fresh machine with no downloads; the simulator (``getx.simulate``) is its fuller successor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from getx.io.files import atomic_output

log = logging.getLogger(__name__)

_BASES = np.array(list("ACGT"))
# Motifs planted in the example (JASPAR 2024 ids): GATA1, SPI1, CTCF, SP1, CEBPB, NFYA.
EXAMPLE_MOTIFS = ("MA0035", "MA0080", "MA0139", "MA0079", "MA0466", "MA0060")


@dataclass
class ExampleFiles:
    genome: Path
    peaks: Path
    annotation: Path
    accessibility: dict[str, Path]
    expression: dict[str, Path]


def write_example(folder: str | Path, seed: int = 0) -> ExampleFiles:
    """Write the example's input files into ``folder`` and return their paths."""
    from getx.motifs.databases import load_jaspar

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    motifs = load_jaspar()
    chosen = [i for i, name in enumerate(motifs.names) if name.split(".")[0] in EXAMPLE_MOTIFS][
        : len(EXAMPLE_MOTIFS)
    ]
    probabilities = [
        motifs.background[None, :] * np.exp(motifs.matrices[i]) for i in chosen
    ]  # (W, 4) rows sum to 1 for log-odds against that background

    chrom_sizes = {"chr1": 300_000, "chr2": 200_000}
    sequences = {
        c: rng.choice(4, size=n, p=[0.295, 0.205, 0.205, 0.295]) for c, n in chrom_sizes.items()
    }
    genes, peaks = [], []
    for chrom, size in chrom_sizes.items():
        tss_positions = np.sort(rng.choice(np.arange(20_000, size - 20_000, 4_000), 24, False))
        for k, tss in enumerate(tss_positions):
            strand = "+" if rng.random() < 0.5 else "-"
            length = int(rng.integers(3_000, 15_000))
            start, end = (tss, tss + length) if strand == "+" else (tss - length + 1, tss + 1)
            genes.append((chrom, int(start), int(end), strand, f"EX{chrom[3:]}_{k:02d}"))
            peaks.append((chrom, int(tss) - 200, int(tss) + 200))
            for offset in rng.integers(-15_000, 15_000, size=2):
                centre = int(tss + offset)
                peaks.append((chrom, centre - 200, centre + 200))
    peak_table = (
        pd.DataFrame(peaks, columns=["chrom", "start", "end"])
        .sort_values(["chrom", "start"])
        .reset_index(drop=True)
    )
    # Plant 0-3 motif instances per peak; remember which motifs each peak carries.
    carried = np.zeros((len(peak_table), len(chosen)))
    for row, (chrom, start, end) in enumerate(peak_table.itertuples(index=False)):
        for _ in range(int(rng.integers(0, 4))):
            m = int(rng.integers(len(chosen)))
            probs = probabilities[m]
            site = np.array([rng.choice(4, p=p / p.sum()) for p in probs])
            at = int(rng.integers(start + 10, end - 10 - len(site)))
            sequences[chrom][at : at + len(site)] = site
            carried[row, m] += 1

    activity = {
        "erythroid": rng.gamma(2.0, 1.0, len(chosen)),
        "myeloid": rng.gamma(2.0, 1.0, len(chosen)),
    }
    accessibility, expression = {}, {}
    gene_table = pd.DataFrame(genes, columns=["chrom", "start", "end", "strand", "name"])
    for cell_type, tf in activity.items():
        signal = 5 + carried @ tf * 20
        counts = rng.poisson(signal)
        path = folder / f"{cell_type}.counts.bedgraph"
        with atomic_output(path) as tmp:
            peak_table.assign(count=counts).to_csv(tmp, sep="\t", header=False, index=False)
        accessibility[cell_type] = path
        values = []
        for gene in gene_table.itertuples(index=False):
            tss = gene.start if gene.strand == "+" else gene.end - 1
            near = (peak_table["chrom"] == gene.chrom) & (
                (peak_table["start"] - tss).abs() < 20_000
            )
            contact = np.exp(-np.abs(peak_table.loc[near, "start"] - tss) / 10_000)
            drive = float((np.log1p(counts[near.to_numpy()]) * contact).sum())
            values.append(np.log10(1 + drive * 5 * rng.lognormal(0, 0.2)))
        path = folder / f"{cell_type}.rna.csv"
        with atomic_output(path) as tmp:
            pd.DataFrame({"gene_name": gene_table["name"], "TPM": values}).to_csv(tmp, index=False)
        expression[cell_type] = path

    genome = folder / "genome.fa"
    with atomic_output(genome) as tmp, open(tmp, "w") as handle:
        for chrom, codes in sequences.items():
            text = "".join(_BASES[codes])
            handle.write(f">{chrom}\n")
            handle.writelines(text[i : i + 60] + "\n" for i in range(0, len(text), 60))
    annotation = folder / "genes.gtf"
    with atomic_output(annotation) as tmp, open(tmp, "w") as handle:
        for gene in gene_table.itertuples(index=False):
            attrs = (
                f'gene_id "ENSGEX{gene.name[2:]}"; gene_name "{gene.name}"; '
                f'gene_type "protein_coding";'
            )
            for feature, extra in (("gene", ""), ("transcript", f' transcript_id "T{gene.name}";')):
                handle.write(
                    f"{gene.chrom}\texample\t{feature}\t{gene.start + 1}\t{gene.end}\t.\t"
                    f"{gene.strand}\t.\t{attrs}{extra}\n"
                )
    peaks_path = folder / "peaks.bed"
    with atomic_output(peaks_path) as tmp:
        peak_table.to_csv(tmp, sep="\t", header=False, index=False)
    log.info("example inputs written to %s", folder)
    return ExampleFiles(genome, peaks_path, annotation, accessibility, expression)
