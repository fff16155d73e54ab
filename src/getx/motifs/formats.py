"""Readers of the motif text formats people bring: MEME, JASPAR, HOCOMOCO, gimmemotifs PFM.

Each returns a :class:`~getx.motifs.motifset.MotifSet` with every motif its own cluster.
Probability matrices (rows summing to ~1, e.g. MEME) are first scaled to counts with their
``nsites`` (MEME) or :data:`DEFAULT_NSITES`, then converted to ln-odds by
:func:`~getx.motifs.motifset.counts_to_log_odds`. Bad input raises ``InputError`` naming the
file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from getx.errors import InputError
from getx.io.files import atomic_output, open_text
from getx.motifs.genes import motif_genes
from getx.motifs.motifset import (
    BASES,
    PSEUDOCOUNT,
    UNIFORM,
    MotifSet,
    counts_to_log_odds,
    singletons,
)

DEFAULT_NSITES = 20.0


def _numbers(text: str, path: Path, lineno: int) -> list[float]:
    try:
        values = [float(x) for x in text.split()]
    except ValueError:
        raise InputError(f"expected numbers, got {text.strip()[:60]!r}", path, lineno) from None
    if not np.isfinite(values).all():
        raise InputError(f"expected finite numbers, got {text.strip()[:60]!r}", path, lineno)
    return values


def _finish_counts(
    rows: list[list[float]], name: str, path: Path, lineno: int, nsites: float | None = None
) -> np.ndarray:
    """Rows of (W, 4) numbers -> counts; probability rows are scaled to ``nsites``."""
    if not rows:
        raise InputError(f"motif {name!r} has no matrix rows", path, lineno)
    m = np.array(rows, dtype=np.float64)
    if np.any(m < 0):
        raise InputError(f"motif {name!r} has negative counts", path, lineno)
    sums = m.sum(axis=1)
    if np.any(sums <= 0):
        raise InputError(f"motif {name!r} has an empty column", path, lineno)
    if np.all(np.abs(sums - 1.0) < 0.02):
        m = m / sums[:, None] * (nsites or DEFAULT_NSITES)
    return m


def read_meme(path: str | Path, pseudocount: float = PSEUDOCOUNT) -> MotifSet:
    """MEME text format: ``MOTIF id [alt]`` + ``letter-probability matrix: ... nsites= N``.

    Log-odds against the file's ``Background letter frequencies`` (uniform if absent).
    """
    path = Path(path)
    bg = UNIFORM.copy()
    names, mats = [], []
    with open_text(path) as fh:
        lines = fh.read().splitlines()
    i = 0
    seen_header = False
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("MEME version"):
            seen_header = True
        elif line.startswith("ALPHABET") and "ACGT" not in line.replace(" ", ""):
            raise InputError(f"only DNA (ACGT) alphabets are supported: {line!r}", path, i + 1)
        elif line.startswith("Background letter frequencies"):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j == len(lines):
                raise InputError("background frequencies missing", path, i + 1)
            toks = lines[j].split()
            try:
                freqs = dict(zip(toks[0::2], (float(x) for x in toks[1::2]), strict=False))
                bg = np.array([freqs[b] for b in BASES])
            except (KeyError, ValueError):
                raise InputError(f"bad background line {lines[j]!r}", path, j + 1) from None
            if not (np.isfinite(bg).all() and (bg > 0).all()):
                raise InputError(f"background {lines[j]!r} is not 4 positive numbers", path, j + 1)
            bg = bg / bg.sum()
            i = j
        elif line.startswith("MOTIF"):
            parts = line.split()
            if len(parts) < 2:
                raise InputError("MOTIF line without a name", path, i + 1)
            name = parts[1] if len(parts) == 2 else f"{parts[1]}.{parts[2]}"
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("letter-probability"):
                if lines[j].strip().startswith("MOTIF"):
                    raise InputError(f"motif {name!r} has no letter-probability matrix", path, j)
                j += 1
            if j == len(lines):
                raise InputError(f"motif {name!r} has no letter-probability matrix", path, i + 1)
            header = lines[j]
            w_match = re.search(r"w=\s*(\d+)", header)
            n_match = re.search(r"nsites=\s*([0-9.eE+-]+)", header)
            width = int(w_match.group(1)) if w_match else None
            nsites = float(n_match.group(1)) if n_match else DEFAULT_NSITES
            rows = []
            k = j + 1
            while k < len(lines) and (width is None or len(rows) < width):
                s = lines[k].strip()
                if not s:
                    if rows and width is None:
                        break
                    k += 1
                    continue
                if s[0].isalpha():
                    break
                vals = _numbers(s, path, k + 1)
                if len(vals) != 4:
                    raise InputError(f"expected 4 probabilities, got {len(vals)}", path, k + 1)
                rows.append(vals)
                k += 1
            if width is not None and len(rows) != width:
                raise InputError(f"motif {name!r}: w={width} but {len(rows)} rows", path, j + 1)
            counts = _finish_counts(rows, name, path, j + 1, nsites)
            names.append(name)
            mats.append(counts_to_log_odds(counts, bg, pseudocount))
            i = k - 1
        i += 1
    if not names:
        raise InputError("no MOTIF entries found" + ("" if seen_header else " (not MEME?)"), path)
    return singletons(names, mats, bg, f"MEME {path.name}")


def _read_headed_blocks(path: Path) -> list[tuple[str, int, list[tuple[int, str]]]]:
    """Split a ">"-headed file into (header, line no, [(line no, text)]), skipping "#" lines."""
    blocks: list[tuple[str, int, list[tuple[int, str]]]] = []
    with open_text(path) as fh:
        for n, raw in enumerate(fh, start=1):
            s = raw.strip()
            if not s or s.startswith("#"):
                continue
            if s.startswith(">"):
                blocks.append((s[1:].strip(), n, []))
            elif not blocks:
                raise InputError("expected a '>' motif header first", path, n)
            else:
                blocks[-1][2].append((n, s))
    if not blocks:
        raise InputError("no '>' motif headers found", path)
    return blocks


def read_jaspar(path: str | Path, pseudocount: float = PSEUDOCOUNT) -> MotifSet:
    """JASPAR .jaspar / .pfm: ``>ID NAME`` then 4 rows A, C, G, T (``A [ ... ]`` or bare)."""
    path = Path(path)
    names, mats, genes = [], [], {}
    for header, hline, body in _read_headed_blocks(path):
        if not header:
            raise InputError("empty motif header", path, hline)
        parts = header.split(None, 1)
        name = f"{parts[0]}.{parts[1].strip()}" if len(parts) == 2 else parts[0]
        if len(body) != 4:
            raise InputError(
                f"motif {name!r}: expected 4 rows (A C G T), got {len(body)}", path, hline
            )
        rows = {}
        for k, (n, s) in enumerate(body):
            letter = BASES[k]
            m = re.match(r"^([ACGTacgt])\s*\[(.*)\]\s*$", s)
            if m:
                letter, s = m.group(1).upper(), m.group(2)
            elif s[0].isalpha():
                raise InputError(f"bad matrix row {s[:40]!r}", path, n)
            rows[letter] = _numbers(s, path, n)
        if set(rows) != set(BASES):
            raise InputError(f"motif {name!r}: rows must be A, C, G, T", path, hline)
        widths = {len(v) for v in rows.values()}
        if len(widths) != 1:
            raise InputError(f"motif {name!r}: rows have different lengths {widths}", path, hline)
        counts = _finish_counts(
            [list(c) for c in zip(*(rows[b] for b in BASES), strict=True)], name, path, hline
        )
        names.append(name)
        mats.append(counts_to_log_odds(counts, UNIFORM, pseudocount))
        if len(parts) == 2:
            genes[name] = motif_genes(parts[1])
    return singletons(names, mats, UNIFORM.copy(), f"JASPAR {path.name}", genes)


def _read_row_matrices(path: Path) -> list[tuple[str, int, np.ndarray]]:
    """'>NAME' headers followed by W rows of 4 numbers (HOCOMOCO, gimmemotifs PFM)."""
    out = []
    for header, hline, body in _read_headed_blocks(path):
        name = header.split()[0] if header else ""
        if not name:
            raise InputError("empty motif header", path, hline)
        rows = []
        for n, s in body:
            vals = _numbers(s, path, n)
            if len(vals) != 4:
                raise InputError(f"motif {name!r}: expected 4 columns, got {len(vals)}", path, n)
            rows.append(vals)
        if not rows:
            raise InputError(f"motif {name!r} has no matrix rows", path, hline)
        out.append((name, hline, np.array(rows, dtype=np.float64)))
    return out


def read_hocomoco(
    path: str | Path, kind: str | None = None, pseudocount: float = PSEUDOCOUNT
) -> MotifSet:
    """HOCOMOCO ``.pcm`` (counts) or ``.pwm`` (ln-odds vs uniform, kept as is): '>NAME' + W x 4.

    ``kind`` ("pcm"/"pwm") defaults to the suffix, else to "pwm" when any value is negative.
    """
    path = Path(path)
    entries = _read_row_matrices(path)
    if kind is None:
        suffix = path.suffix.lower().lstrip(".")
        if suffix in ("pcm", "pwm"):
            kind = suffix
        else:
            kind = "pwm" if any(np.any(m < 0) for _, _, m in entries) else "pcm"
    names, mats = [], []
    for name, hline, m in entries:
        if kind == "pwm":
            mats.append(m)
        else:
            mats.append(
                counts_to_log_odds(
                    _finish_counts(m.tolist(), name, path, hline), UNIFORM, pseudocount
                )
            )
        names.append(name)
    genes = {n: motif_genes(n) for n in names if ".H1" in n}
    return singletons(names, mats, UNIFORM.copy(), f"HOCOMOCO {path.name}", genes)


def read_motif2factors(path: str | Path) -> dict[str, list[str]]:
    """gimmemotifs motif2factors table (Motif, Factor, ...) -> motif -> gene symbols (a factor
    may carry its JASPAR matrix id, "MA0004.1.Arnt")."""
    path = Path(path)
    out: dict[str, list[str]] = {}
    with open_text(path) as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
        if header[:2] != ["Motif", "Factor"]:
            raise InputError(f"expected header 'Motif<TAB>Factor...', got {header[:2]}", path, 1)
        for n, raw in enumerate(fh, start=2):
            if not raw.strip():
                continue
            cols = raw.rstrip("\r\n").split("\t")
            if len(cols) < 2:
                raise InputError("expected at least 2 tab-separated columns", path, n)
            genes = out.setdefault(cols[0], [])
            for gene in motif_genes(cols[1]):
                if gene not in genes:
                    genes.append(gene)
    return out


def read_gimme_pfm(
    path: str | Path,
    motif2factors: str | Path | None = None,
    pseudocount: float = PSEUDOCOUNT,
) -> MotifSet:
    """gimmemotifs PFM ('#' comments, '>NAME', W rows of 4 counts A C G T), each motif a cluster.

    ``motif2factors`` (default: ``<stem>.motif2factors.txt`` beside the file when present) gives
    ``cluster_genes``.
    """
    path = Path(path)
    if motif2factors is None:
        guess = path.with_name(path.stem + ".motif2factors.txt")
        motif2factors = guess if guess.exists() else None
    genes = read_motif2factors(motif2factors) if motif2factors is not None else {}
    names, mats = [], []
    for name, hline, m in _read_row_matrices(path):
        names.append(name)
        mats.append(
            counts_to_log_odds(_finish_counts(m.tolist(), name, path, hline), UNIFORM, pseudocount)
        )
    return singletons(names, mats, UNIFORM.copy(), f"gimme PFM {path.name}", genes)


def write_meme(
    path: Path, motifs: list[tuple[str, str, np.ndarray]], background: np.ndarray
) -> None:
    """MEME text file (atomically) of (name, alternate name, (W, 4) probabilities) entries."""
    bg = " ".join(f"{b} {x:.4f}" for b, x in zip(BASES, background, strict=True))
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", ""]
    lines += ["Background letter frequencies", bg, ""]
    for name, alt, p in motifs:
        lines.append(f"MOTIF {name} {alt}")
        lines.append(f"letter-probability matrix: alength= 4 w= {p.shape[0]} nsites= 20 E= 0")
        lines += [" ".join(f"{x:.6f}" for x in row) for row in p]
        lines.append("")
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(lines))
