"""Variant effects: a VCF (plain or bgzipped; SNVs and short indels) or a table (chrom, pos,
ref, alt) scored by re-running the model with the variant's region rescanned.

For each variant overlapping a store region: its ``ref`` is checked against the genome (a
mismatch is an error naming the variant, or with ``on_mismatch="flag"`` a flagged row); the
region's sequence with the reference and with the alternate allele (an indel shifts the region's
end) is scanned with the store's motif set, p-value and background by the same scanner as
``getx prepare`` (:func:`getx.motifs.region_features`); the region's motif features become the
store's plus (alt scan - ref scan); and every gene whose window holds the region is predicted
again (:func:`getx.interpret.perturb.perturbation_effects`), with the first-order estimate and
the motif features that changed beside the change. Positions are VCF's: 1-based, the first base
of ``ref``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.interpret.context import CellTypeContext
from getx.interpret.perturb import perturbation_effects
from getx.io.files import open_text, table_kind

log = logging.getLogger(__name__)

VARIANT_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "source_line"]
_BASES = set("ACGTN")


def read_variants(path: str | Path) -> pd.DataFrame:
    """Variants of a VCF (``##fileformat=VCF`` first; plain, gzip or bgzip) or of a
    tab-separated table with columns chrom, pos, ref, alt (a header line, any order; optional
    id). Multi-allelic records give one row per alternate allele; symbolic alleles (``<DEL>``,
    ``*``) are skipped with a warning. Columns: chrom, pos (1-based), id, ref, alt (upper case),
    source_line."""
    path = Path(path)
    if not path.exists():
        raise InputError("variant file not found", path)
    with open_text(path) as handle:
        first = handle.readline()
    if not first.strip():
        raise InputError("empty file (or a blank first line)", path)
    table = _read_vcf(path) if first.startswith("##fileformat=VCF") else _read_table(path)
    if table.empty:
        raise InputError("no variants in the file", path)
    return table


def _read_vcf(path: Path) -> pd.DataFrame:
    import pysam

    with open(path, "rb") as raw:
        if raw.read(3) == b"\xef\xbb\xbf":
            raise InputError(
                "starts with a byte-order mark, which VCF readers refuse: save it without one",
                path,
            )
    rows, skipped = [], 0
    verbosity = pysam.set_verbosity(0)  # htslib's own stderr lines ("no index file") stay out
    try:
        with pysam.VariantFile(str(path)) as vcf:
            for record in vcf:
                for alt in record.alts or ():
                    if alt.startswith("<") or alt in ("*", "."):
                        skipped += 1
                        continue
                    rows.append((record.chrom, record.pos, record.id or "", record.ref, alt, 0))
    except (ValueError, OSError) as error:
        raise InputError(f"cannot read the VCF: {error}", path) from None
    finally:
        pysam.set_verbosity(verbosity)
    if skipped:
        log.warning("%s: %d symbolic or missing alleles skipped", path, skipped)
    table = pd.DataFrame(rows, columns=VARIANT_COLUMNS)
    return _checked(table, path)


def _read_table(path: Path) -> pd.DataFrame:
    with open_text(path) as handle:
        lines = handle.read().splitlines()
    header = [c.strip().lower() for c in lines[0].lstrip("#").split("\t")] if lines else []
    need = ("chrom", "pos", "ref", "alt")
    missing = [c for c in need if c not in header]
    if missing:
        raise InputError(
            f"not a VCF, and the table header lacks {', '.join(missing)} "
            "(expected tab-separated chrom, pos, ref, alt)",
            path,
        )
    index = {c: header.index(c) for c in (*need, "id") if c in header}
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < len(header):
            raise InputError(f"{len(fields)} columns, header has {len(header)}", path, number)
        try:
            pos = int(fields[index["pos"]])
        except ValueError:
            raise InputError(
                f"pos {fields[index['pos']]!r} is not an integer", path, number
            ) from None
        ident = fields[index["id"]] if "id" in index else ""
        for alt in fields[index["alt"]].split(","):
            rows.append((fields[index["chrom"]], pos, ident, fields[index["ref"]], alt, number))
    return _checked(pd.DataFrame(rows, columns=VARIANT_COLUMNS), path)


def _checked(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    table["ref"] = table["ref"].str.upper()
    table["alt"] = table["alt"].str.upper()
    for row in table.itertuples():
        where = "" if row.source_line else f"{row.chrom}:{row.pos}: "
        line = row.source_line or None
        if row.pos < 1:
            raise InputError(f"{where}pos {row.pos} must be 1 or more (VCF is 1-based)", path, line)
        for name, allele in (("ref", row.ref), ("alt", row.alt)):
            if not allele or set(allele) - _BASES:
                raise InputError(f"{where}{name} {allele!r} is not a DNA sequence", path, line)
    return table


@dataclasses.dataclass
class EditedGenome:
    """A genome with one variant applied: ``fetch`` in the edited coordinates (positions after
    the variant shift by len(alt) - len(ref))."""

    genome: Any
    chrom: str
    start: int  # 0-based first base of ref
    ref: str
    alt: str

    def fetch(self, chrom: str, start: int, end: int) -> str:
        if chrom != self.chrom:
            return self.genome.fetch(chrom, start, end)
        s, a, delta = self.start, len(self.alt), len(self.alt) - len(self.ref)
        parts = []
        if start < s:
            parts.append(self.genome.fetch(chrom, start, min(end, s)))
        lo, hi = max(start, s), min(end, s + a)
        if lo < hi:
            parts.append(self.alt[lo - s : hi - s])
        if end > s + a:
            lo = max(start, s + a)
            parts.append(self.genome.fetch(chrom, lo - delta, end - delta))
        return "".join(parts)


def _motif_set(store: Any, motifs: Any) -> Any:
    from getx.motifs import load_motifs

    info = store.attrs.get("motif_set") or {}
    if not store.feature_names:
        raise InputError(
            "the store has no motif features (built with --motifs none): a variant acts on the "
            "model through the motifs it changes",
            store.path,
        )
    if info.get("from_hit_bed"):
        raise InputError(
            "the store's motif features come from a precomputed hit BED; variants need a store "
            "whose features were scanned (`getx prepare` without --motif-hits)",
            store.path,
        )
    if info.get("background") not in (None, "motif set"):
        raise InputError(
            f"the store was scanned against a {info.get('background')!r} background, which a "
            "single region cannot reproduce; variants need the motif set's own background",
            store.path,
        )
    motif_set = load_motifs(motifs) if isinstance(motifs, (str, Path)) else motifs
    if info.get("checksum") and motif_set.checksum() != info["checksum"]:
        raise InputError(
            f"motif set {motifs!r} (checksum {motif_set.checksum()[:12]}) is not the store's "
            f"({info['checksum'][:12]}): pass the motif set the store was prepared with",
            store.path,
        )
    return motif_set, float(info.get("p_value", 1e-4))


def variant_effects(
    context: CellTypeContext,
    variants: pd.DataFrame,
    genome: Any,
    motifs: Any = "jaspar2024",
    on_mismatch: str = "error",
    source: str | Path | None = None,
    batch_size: int = 32,
    device: str | None = None,
) -> pd.DataFrame:
    """One row per (variant in a region, gene whose window holds it): the change in predicted
    expression, its first-order estimate and the motif features that changed (see module doc).
    ``genome``: an open genome; ``motifs``: the store's motif set (a spec or a MotifSet)."""
    from getx.io.genome import chrom_mapping, log_renamed
    from getx.io.intervals import IntervalIndex
    from getx.motifs import region_features

    if on_mismatch not in ("error", "flag"):
        raise InputError(f"on_mismatch {on_mismatch!r}: use error or flag")
    store, inputs = context.store, context.inputs
    motif_set, p_value = _motif_set(store, motifs)
    col_max = np.asarray(context.predictor.hparams["scaling"], dtype=np.float32)
    raw = store.features
    names = list(store.feature_names)
    rows = []
    outside = 0
    index = IntervalIndex(store.regions)
    spelling = chrom_mapping(
        variants["chrom"].astype(str).unique(), store.regions["chrom"].unique()
    )
    log_renamed(spelling, source, "the store's")
    variants = variants.assign(
        chrom=variants["chrom"].astype(str).map(lambda c: spelling.get(c, c))
    )
    for v in variants.itertuples(index=False):
        start = v.pos - 1
        _, hits = index.overlaps(str(v.chrom), np.array([start]), np.array([start + len(v.ref)]))
        if not len(hits):
            outside += 1
            continue
        label = v.id or f"{v.chrom}:{v.pos}:{v.ref}>{v.alt}"
        found = genome.fetch(str(v.chrom), start, start + len(v.ref))
        if found != v.ref:
            message = f"ref {v.ref} does not match the genome ({found}) at {v.chrom}:{v.pos}"
            if on_mismatch == "error":
                raise InputError(f"{label}: {message}", source, v.source_line or None)
            rows.append({"variant": label, "chrom": v.chrom, "pos": v.pos, "ref": v.ref,
                         "alt": v.alt, "status": message})  # fmt: skip
            continue
        region = int(hits[0])
        bounds = store.regions.iloc[[region]][["chrom", "start", "end"]].reset_index(drop=True)
        delta = len(v.alt) - len(v.ref)
        alt_bounds = bounds.copy()
        if start < int(bounds.loc[0, "end"]):
            alt_bounds.loc[0, "end"] = max(int(bounds.loc[0, "end"]) + delta, start + 1)
        ref_scan = region_features(genome, bounds, motif_set, p_value=p_value)[0]
        edited_genome = EditedGenome(genome, str(v.chrom), start, v.ref, v.alt)
        alt_scan = region_features(edited_genome, alt_bounds, motif_set, p_value=p_value)[0]
        diff = alt_scan - ref_scan
        new_raw = np.asarray(raw[region], np.float32) + diff
        features = inputs.features.copy()
        features[region] = np.clip(new_raw / col_max, 0.0, 1.0)
        edited = dataclasses.replace(inputs, features=features)
        changed = "; ".join(
            f"{names[i]} {diff[i]:+.2f}" for i in np.argsort(-np.abs(diff)) if diff[i] != 0
        )
        effects = perturbation_effects(context, edited, batch_size, device)
        base = {"variant": label, "chrom": v.chrom, "pos": v.pos, "ref": v.ref, "alt": v.alt,
                "variant_region": region, "motifs_changed": changed}  # fmt: skip
        if effects.empty:
            rows.append({**base, "status": "no motif feature changed" if not changed else
                         "no gene window holds the region"})  # fmt: skip
            continue
        for e in effects.itertuples(index=False):
            rows.append({**base, "gene_id": e.gene_id, "gene_name": e.gene_name,
                         "strand": e.strand, "cell_type": e.cell_type, "predicted": e.predicted,
                         "alternate": e.perturbed, "change": e.change,
                         "first_order": e.first_order, "status": "ok"})  # fmt: skip
    if outside:
        log.info("%d variant(s) overlap no store region and have no effect", outside)
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


RESULT_COLUMNS = [
    "variant",
    "chrom",
    "pos",
    "ref",
    "alt",
    "variant_region",
    "gene_id",
    "gene_name",
    "strand",
    "cell_type",
    "predicted",
    "alternate",
    "change",
    "first_order",
    "motifs_changed",
    "status",
]
OUTPUT_KIND = table_kind("variant effect table", RESULT_COLUMNS)
