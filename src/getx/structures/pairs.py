"""ColabFold input for TF pairs, wild type and missense variants (``getx structures pairs``).

Proteins come from a FASTA file; a record is found by its first header word, by the accession
and entry name of UniProt headers (``sp|O43474|KLF4_HUMAN``) and by their gene name (``GN=KLF4``).
Pairs come from a table with columns ``tf_a``/``tf_b`` (or ``gene_a``/``gene_b``) and an optional
``score``; ``top`` keeps the best-scored ones. Or from catalog files (``getx catalog build``, a
parquet file documented in docs/format.md, read here as a file like any other input): the best
pairs of TF genes by the catalog's score. A variant is HGVS protein notation for one amino
acid substitution (``p.G183S`` or ``p.Gly183Ser``) on one protein, checked against the
sequence's reference residue. Output is ColabFold's batch input, chains joined by ``:``: a CSV
(``id,sequence``) or a FASTA (``>id`` then ``SEQA:SEQB``), beside a manifest naming each job's
proteins and variant (``getx structures score --manifest`` reads it back).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from getx.errors import InputError
from getx.io.files import OutputKind, table_kind
from getx.structures.read import read_bytes
from getx.structures.tables import PairName

log = logging.getLogger(__name__)

AMINO_ACIDS = set("ACDEFGHIKLMNPQRSTVWY")
MANIFEST_COLUMNS = ("id", "protein_a", "protein_b", "variant", "score", "length_a", "length_b")
_HGVS = re.compile(r"^p\.\(?([A-Z][a-z]{2}|[A-Z])(\d+)([A-Z][a-z]{2}|[A-Z])\)?$")
_GENE = re.compile(r"\bGN=(\S+)")


@dataclass(frozen=True)
class Substitution:
    """A missense variant: ``ref`` at 1-based ``position`` becomes ``alt``."""

    protein: str
    ref: str
    position: int
    alt: str

    @property
    def label(self) -> str:
        return f"{self.protein}:p.{self.ref}{self.position}{self.alt}"


@dataclass(frozen=True)
class Job:
    """One ColabFold job: a pair of sequences and what they are."""

    id: str
    name: PairName
    sequence_a: str
    sequence_b: str
    score: float | None = None


def read_proteins(path: str | Path) -> dict[str, str]:
    """Sequences by every name a record answers to (first use of a name wins)."""
    import gemmi

    path = Path(path)
    text = read_bytes(path).decode("utf-8", errors="replace")
    try:
        records = gemmi.read_pir_or_fasta(text)
    except RuntimeError as err:
        raise InputError(f"not a FASTA file ({err})", path) from None
    proteins: dict[str, str] = {}
    for record in records:
        sequence = record.seq.upper().replace("*", "")
        bad = set(sequence) - AMINO_ACIDS - {"X"}
        if bad:
            raise InputError(
                f"record {record.header.split()[0]!r} has non-amino-acid letters "
                f"{''.join(sorted(bad))}",
                path,
            )
        for name in _record_names(record.header):
            if name in proteins and proteins[name] != sequence:
                log.warning("%s: %r names two records; using the first", path, name)
            proteins.setdefault(name, sequence)
    if not proteins:
        raise InputError("no sequences", path)
    return proteins


def _record_names(header: str) -> list[str]:
    first = header.split()[0] if header.split() else ""
    names = [first]
    parts = first.split("|")
    if len(parts) == 3 and parts[0] in ("sp", "tr"):  # UniProt: db|accession|entry name
        names += [parts[1], parts[2]]
    if gene := _GENE.search(header):
        names.append(gene.group(1))
    return [n for n in names if n]


def read_pair_list(path: str | Path, top: int | None = None) -> list[tuple[str, str, float | None]]:
    """(protein a, protein b, score) per pair, best score first when there is a score; an
    unordered pair listed twice is kept once."""
    from getx.io.files import read_string_table

    path = Path(path)
    sep = "," if path.name.lower().removesuffix(".gz").endswith(".csv") else "\t"
    table = read_string_table(path, sep=sep)
    if table.empty:
        raise InputError("empty pair list", path)
    columns = next(
        (c for c in (("tf_a", "tf_b"), ("gene_a", "gene_b")) if set(c) <= set(table.columns)),
        None,
    )
    if columns is None:
        raise InputError(
            f"needs columns tf_a and tf_b (or gene_a and gene_b); has {', '.join(table.columns)}",
            path,
        )
    table = table.dropna(how="all")
    scores = [None] * len(table)
    if "score" in table.columns:
        scores = pd.to_numeric(table["score"], errors="coerce")
        bad = scores.isna() & table["score"].notna()
        if bad.any():
            first = bad[bad].index[0]
            raise InputError(
                f"score {table['score'][first]!r} is not a number", path, int(first) + 2
            )
        table = table.assign(_score=scores).sort_values("_score", ascending=False, kind="stable")
        scores = [None if pd.isna(s) else float(s) for s in table["_score"]]
    elif top is not None:
        raise InputError("--top needs a 'score' column to rank the pairs by", path)
    pairs, seen = [], set()
    for (a, b), score in zip(table[list(columns)].itertuples(index=False), scores, strict=True):
        if pd.isna(a) or pd.isna(b):
            raise InputError(f"a pair with a missing protein ({a!r}, {b!r})", path)
        key = frozenset((a.strip(), b.strip()))
        if key not in seen:
            seen.add(key)
            pairs.append((a.strip(), b.strip(), score))
    return pairs[:top] if top is not None else pairs


CATALOG_COLUMNS = ("cell_type", "score", "tfs_a", "tfs_b", "tf_expression_a", "tf_expression_b")


def read_catalog_pairs(
    paths: list[str | Path], top: int, cell_type: str | None = None
) -> list[tuple[str, str, float | None]]:
    """The ``top`` best pairs of TF genes of catalog files (``getx catalog build``) by the
    catalog's score, in ``cell_type`` or at their best over all cell types.

    A motif-cluster pair gives every pair of its two clusters' TF genes (a gene is not paired
    with itself); within one cluster pair the gene pairs whose expression in the cell type is
    known come first, the higher the lower of the two expressions the earlier; an unordered pair
    of genes is kept once, at its best score.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if top < 1:
        raise InputError(f"--top must be positive, got {top}")
    tables = []
    for path in map(Path, paths):
        if not path.is_file():
            raise InputError("no such catalog file", path)
        try:
            table = pq.read_table(path, columns=list(CATALOG_COLUMNS))
        except (OSError, ValueError, KeyError, pa.ArrowInvalid) as error:
            reason = " ".join(str(error).split())[:200]
            raise InputError(f"not a catalog of `getx catalog build` ({reason})", path) from None
        tables.append(table)
    table = pa.concat_tables(tables)
    if cell_type is not None:
        known = sorted(set(table.column("cell_type").to_pylist()))
        if cell_type not in known:
            raise InputError(
                f"cell type {cell_type!r} is not in the catalog (has: {', '.join(known)})", paths[0]
            )
        table = table.filter(pc.equal(table.column("cell_type"), cell_type))
    order = pc.sort_indices(table, sort_keys=[("score", "descending")]).to_numpy()
    chosen: dict[frozenset, tuple[str, str, float | None]] = {}
    for start in range(0, len(order), 256):  # the best rows first, a batch at a time
        rows = table.take(order[start : start + 256]).to_pylist()
        for row in rows:
            for a, b in _gene_pairs(row):
                chosen.setdefault(frozenset((a, b)), (a, b, row["score"]))
                if len(chosen) == top:
                    return list(chosen.values())
    if not chosen:
        raise InputError("the catalog has no pair of two different TF genes", paths[0])
    return list(chosen.values())


def _gene_pairs(row: dict) -> list[tuple[str, str]]:
    """The TF gene pairs of one catalog row, those with the best known expression first."""

    def level(values: list | None, i: int) -> float:
        value = values[i] if values is not None and i < len(values) else None
        return float("-inf") if value is None or value != value else float(value)

    pairs = []
    for i, a in enumerate(row["tfs_a"] or []):
        for j, b in enumerate(row["tfs_b"] or []):
            if a != b:
                low = min(level(row["tf_expression_a"], i), level(row["tf_expression_b"], j))
                pairs.append((-low, a, b))
    return [(a, b) for _, a, b in sorted(pairs)]


def parse_substitution(value: str) -> Substitution:
    """``PROTEIN:p.G183S`` (or ``p.Gly183Ser``) as a Substitution."""
    import gemmi

    protein, sep, hgvs = value.partition(":")
    match = _HGVS.match(hgvs.strip()) if sep else None
    if not protein or match is None:
        raise InputError(
            f"mutation {value!r}: expected PROTEIN:p.<ref><position><alt>, e.g. PAX5:p.G183S "
            "(one amino-acid substitution)"
        )

    def letter(code: str) -> str:
        if len(code) == 1:
            if code not in AMINO_ACIDS:
                raise InputError(f"mutation {value!r}: {code!r} is not an amino acid")
            return code
        info = gemmi.find_tabulated_residue(code.upper())
        one = info.one_letter_code if info is not None and info.is_amino_acid() else ""
        if one not in AMINO_ACIDS:
            raise InputError(f"mutation {value!r}: {code!r} is not a standard amino acid")
        return one

    ref, position, alt = letter(match[1]), int(match[2]), letter(match[3])
    if ref == alt:
        raise InputError(f"mutation {value!r} changes nothing ({ref} to {alt})")
    return Substitution(protein.strip(), ref, position, alt)


def apply_substitution(sequence: str, sub: Substitution) -> str:
    """The sequence with ``sub`` applied; the reference residue must match."""
    if not 1 <= sub.position <= len(sequence):
        raise InputError(
            f"mutation {sub.label}: position {sub.position} is outside {sub.protein} "
            f"({len(sequence)} residues)"
        )
    found = sequence[sub.position - 1]
    if found != sub.ref:
        raise InputError(
            f"mutation {sub.label}: {sub.protein} has {found} at {sub.position}, not {sub.ref} "
            "(another isoform or numbering?)"
        )
    return sequence[: sub.position - 1] + sub.alt + sequence[sub.position :]


def build_jobs(
    proteins: dict[str, str],
    pairs: list[tuple[str, str, float | None]],
    substitutions: list[Substitution] = (),
    fasta: str | Path = "the FASTA",
) -> list[Job]:
    """A wild-type job per pair, and one job per substitution on a protein of the pair."""
    for name in {n for a, b, _ in pairs for n in (a, b)} | {s.protein for s in substitutions}:
        if name not in proteins:
            raise InputError(f"no sequence named {name!r}", fasta)
    jobs = []
    for a, b, score in pairs:
        sa, sb = proteins[a], proteins[b]
        jobs.append(Job(f"{a}_{b}", PairName(a, b), sa, sb, score))
        for sub in substitutions:
            if sub.protein not in (a, b):
                continue
            mutant_a = apply_substitution(sa, sub) if sub.protein == a else sa
            mutant_b = apply_substitution(sb, sub) if sub.protein == b else sb
            tag = f"{sub.protein}-{sub.ref}{sub.position}{sub.alt}"
            jobs.append(Job(f"{a}_{b}_{tag}", PairName(a, b, sub.label), mutant_a, mutant_b, score))
    return jobs


def _is_job_fasta(path: Path) -> bool:
    """A FASTA of ColabFold jobs: its first sequence line joins two chains with ':'."""
    try:
        with open(path, encoding="utf-8") as handle:
            header, sequence = handle.readline(), handle.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return header.startswith(">") and sequence.count(":") == 1


MANIFEST_KIND = table_kind("pair manifest", MANIFEST_COLUMNS)
_JOB_KINDS = {
    ".csv": table_kind("ColabFold batch CSV", ["id", "sequence"], sep=","),
    ".fasta": OutputKind("ColabFold job FASTA", recognise=_is_job_fasta),
}


def colabfold_outputs(out: str | Path) -> list[tuple[Path, OutputKind]]:
    """The files ``write_colabfold_input`` writes for ``out`` (the batch input, then its
    manifest), each with its kind; refuses a name that is neither .csv nor FASTA."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".fasta", ".fa", ".faa"):
        raise InputError(f"output {out.name!r}: use a .csv or .fasta name")
    manifest = out.with_name(out.stem + ".manifest.tsv")
    return [(out, _JOB_KINDS.get(suffix, _JOB_KINDS[".fasta"])), (manifest, MANIFEST_KIND)]


def write_colabfold_input(jobs: list[Job], out: str | Path) -> tuple[Path, Path]:
    """ColabFold batch input (``.csv``: id,sequence; ``.fasta``/``.fa``: ``>id``, ``A:B``) and
    its manifest ``<out stem>.manifest.tsv``; both written atomically, replacing only files
    getx wrote."""
    from getx.io.files import atomic_output

    (out, kind), (manifest_path, manifest_kind) = colabfold_outputs(out)
    suffix = out.suffix.lower()
    if not jobs:
        raise InputError("no pairs to write")
    if suffix == ".csv":
        lines = ["id,sequence", *(f"{j.id},{j.sequence_a}:{j.sequence_b}" for j in jobs)]
    else:
        lines = [f">{j.id}\n{j.sequence_a}:{j.sequence_b}" for j in jobs]
    manifest = pd.DataFrame(
        [
            (
                j.id,
                j.name.protein_a,
                j.name.protein_b,
                j.name.variant,
                j.score,
                len(j.sequence_a),
                len(j.sequence_b),
            )
            for j in jobs
        ],
        columns=list(MANIFEST_COLUMNS),
    )
    with (
        atomic_output(out, kind) as tmp,
        atomic_output(manifest_path, manifest_kind) as tmp_manifest,
    ):
        tmp.write_text("\n".join(lines) + "\n")
        manifest.to_csv(tmp_manifest, sep="\t", index=False, na_rep="NA")
    return out, manifest_path


def read_manifest(path: str | Path) -> dict[str, PairName]:
    """The job -> PairName map of a manifest written by ``write_colabfold_input``."""
    from getx.io.files import read_string_table

    path = Path(path)
    table = read_string_table(path, sep="\t")
    missing = {"id", "protein_a", "protein_b"} - set(table.columns)
    if missing:
        raise InputError(f"not a getx pair manifest: no column {', '.join(sorted(missing))}", path)
    table = table.fillna("")
    variants = table["variant"] if "variant" in table.columns else [""] * len(table)
    return {
        row_id: PairName(a, b, v)
        for row_id, a, b, v in zip(
            table["id"], table["protein_a"], table["protein_b"], variants, strict=True
        )
    }
