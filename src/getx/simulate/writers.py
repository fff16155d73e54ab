"""Writers for the simulated files, in the formats a user brings. Output is byte-deterministic:
fixed float formats, no timestamps (gzip mtime 0), every file through ``atomic_output``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd

from getx.io.files import atomic_output

_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)
LINE = 60


def write_fasta(path: Path, seqs: dict[str, np.ndarray]) -> Path:
    """FASTA with 60 bp lines and its samtools .fai index (written by hand, same layout)."""
    fai_rows = []
    offset = 0
    with atomic_output(path) as tmp, open(tmp, "wb") as out:
        for chrom, codes in seqs.items():
            header = f">{chrom}\n".encode()
            out.write(header)
            offset += len(header)
            letters = _LETTERS[codes]
            n = len(letters)
            full = n // LINE
            body = np.empty((full, LINE + 1), dtype=np.uint8)
            body[:, :LINE] = letters[: full * LINE].reshape(full, LINE)
            body[:, LINE] = ord("\n")
            out.write(body.tobytes())
            tail = letters[full * LINE :]
            if tail.size:
                out.write(tail.tobytes() + b"\n")
            fai_rows.append(f"{chrom}\t{n}\t{offset}\t{LINE}\t{LINE + 1}\n")
            offset += full * (LINE + 1) + (tail.size + 1 if tail.size else 0)
    fai = path.with_name(path.name + ".fai")
    with atomic_output(fai) as tmp:
        tmp.write_text("".join(fai_rows))
    return fai


def write_table(path: Path, df: pd.DataFrame, sep: str = "\t", header: bool = True) -> Path:
    """A TSV/CSV (gzipped, with mtime 0, when the name ends in .gz)."""
    # Rounding first keeps pandas on its fast float writer (float_format is per-value Python).
    text = df.round(6).to_csv(sep=sep, header=header, index=False, lineterminator="\n")
    with atomic_output(path) as tmp:
        if path.name.endswith(".gz"):
            raw = open(tmp, "wb")  # noqa: SIM115 - closed below, after the gzip trailer
            with raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
                gz.write(text.encode())
        else:
            tmp.write_text(text)
    return path


def write_gtf(path: Path, genes: pd.DataFrame) -> Path:
    """GENCODE-like GTF: gene, transcript and exon lines (1-based, closed), one transcript each."""
    lines = ["##description: getx simulated annotation\n", "##format: gtf\n"]
    for g in genes.itertuples(index=False):
        gid, tid = f"{g.gene_id}.1", f"{g.gene_id.replace('SIMG', 'SIMT')}.1"
        base = f'gene_id "{gid}"; gene_type "{g.gene_type}"; gene_name "{g.gene_name}"; level 2;'
        tr = (
            f'gene_id "{gid}"; transcript_id "{tid}"; gene_type "{g.gene_type}"; '
            f'gene_name "{g.gene_name}"; transcript_type "{g.gene_type}"; '
            f'transcript_name "{g.gene_name}-201"; level 2; tag "basic"; tag "Ensembl_canonical";'
        )
        start, end = int(g.start) + 1, int(g.end)
        common = f"{g.chrom}\tgetx_sim\t{{}}\t{{}}\t{{}}\t.\t{g.strand}\t.\t"
        lines.append(common.format("gene", start, end) + base + "\n")
        lines.append(common.format("transcript", start, end) + tr + "\n")
        for k, (a, b) in enumerate(g.exons, start=1):
            lines.append(
                common.format("exon", a + 1, b)
                + tr
                + f' exon_number {k}; exon_id "{tid[:-2]}E{k}.1";\n'
            )
    with atomic_output(path) as tmp:
        tmp.write_text("".join(lines))
    return path


def exons(genes: pd.DataFrame, rng: np.random.Generator) -> list[list[tuple[int, int]]]:
    """1-6 exons per gene, the first at the TSS and the last at the gene end (0-based)."""
    out = []
    for start, end, strand in zip(genes["start"], genes["end"], genes["strand"], strict=True):
        length = end - start
        k = int(min(1 + rng.poisson(2.5), max(1, length // 400)))
        size = np.minimum(rng.integers(100, 300, k), length // (2 * k) + 1)
        if k == 1:
            out.append([(int(start), int(end))])
            continue
        inner = np.sort(rng.choice(np.arange(1, k * 4), k - 1, replace=False)) / (k * 4)
        centres = (start + inner * length).astype(np.int64)
        ex = [(int(start), int(start + size[0]))]
        ex += [(int(c), int(c + s)) for c, s in zip(centres, size[1:-1], strict=False)]
        ex += [(int(end - size[-1]), int(end))]
        ex = sorted(ex)
        merged = [ex[0]]
        for a, b in ex[1:]:
            if a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        out.append(merged if strand == "+" else merged[::-1])
    return out


def write_json(path: Path, obj: dict) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    return path
