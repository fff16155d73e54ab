"""Score every model of every pair and build the tables ``getx structures score`` writes.

The tables (docs/format.md, "Structure scores") are ``models`` (one row per model), ``pairs``
(the best model of each pair: the table the catalog joins on ``pair_key``), ``segments``,
``segment_contacts`` and ``contacts`` (residue pairs). The best model of a pair is the one with
the highest AlphaFold2-multimer ranking confidence (0.8 ipTM + 0.2 pTM, ColabFold's own
``rank_001`` rule) when every model of the pair has a score JSON, else the one with the highest
pDockQ; ties go to the better ColabFold rank, then to the model name.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from getx.errors import check_range
from getx.io.files import folder_marked_by, json_kind
from getx.structures.colabfold import ModelFiles
from getx.structures.interface import (
    CONTACT_CUTOFF,
    Contacts,
    find_contacts,
    interface_plddt,
    residue_ranges,
)
from getx.structures.read import Chain, Scores, read_complex, read_pae, read_scores
from getx.structures.scores import ipsae, pdockq, ranking_confidence
from getx.structures.segments import CUT, MIN_LENGTH, WINDOW, Segment, segment_chain

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
TABLES = ("pairs", "models", "segments", "segment_contacts", "contacts")
OUTPUT_KIND = folder_marked_by(
    "structure score folder",
    "structures.json",
    json_kind("structure scores", {"schema_version": None, "tables": None, "options": None}),
)


@dataclass(frozen=True)
class ScoreOptions:
    """Cut-offs of the interface, ipSAE and segment definitions (defaults: docs/structures.md)."""

    contact_cutoff: float = CONTACT_CUTOFF
    pae_cutoff: float = 10.0
    segment_window: int = WINDOW
    segment_cut: float = CUT
    segment_min_length: int = MIN_LENGTH

    def __post_init__(self) -> None:
        check_range("contact_cutoff", self.contact_cutoff, 0, low_open=True)
        check_range("pae_cutoff", self.pae_cutoff, 0, low_open=True)


@dataclass(frozen=True)
class PairName:
    """The proteins of a pair (chain A, chain B) and the variant it carries ('' = wild type)."""

    protein_a: str
    protein_b: str
    variant: str = ""


def names_from_job(job: str) -> PairName:
    """``A_B`` job names (UniProt accessions and HGNC symbols have no ``_``) split in two."""
    parts = job.split("_")
    return PairName(*parts) if len(parts) == 2 else PairName("", "")


@dataclass
class ScoredModel:
    """One scored model: its chains, scores, contacts and segments, and its ``models`` row."""

    files: ModelFiles
    a: Chain
    b: Chain
    scores: Scores
    contacts: Contacts
    segments: tuple[list[Segment], list[Segment]]
    row: dict = field(default_factory=dict)


def score_model(files: ModelFiles, options: ScoreOptions = ScoreOptions()) -> ScoredModel:
    """Read and score one model."""
    a, b = read_complex(files.structure)
    n = len(a) + len(b)
    scores = read_scores(files.scores, n) if files.scores else Scores()
    if scores.pae is None and files.pae is not None:
        scores = Scores(scores.iptm, scores.ptm, read_pae(files.pae, n))
    contacts = find_contacts(a, b, options.contact_cutoff)
    segments = tuple(
        segment_chain(
            chain.plddt,
            options.segment_window,
            options.segment_cut,
            options.segment_min_length,
        )
        for chain in (a, b)
    )
    model = ScoredModel(files, a, b, scores, contacts, segments)
    model.row = _model_row(model, options)
    return model


def _model_row(m: ScoredModel, options: ScoreOptions) -> dict:
    a, b, contacts, pae = m.a, m.b, m.contacts, m.scores.pae
    mean_if = interface_plddt(a, b, contacts)
    row = {
        "pair": m.files.job,
        "model": m.files.model,
        "rank": m.files.rank,
        "chain_a": a.name,
        "chain_b": b.name,
        "length_a": len(a),
        "length_b": len(b),
        "mean_plddt_a": float(a.plddt.mean()),
        "mean_plddt_b": float(b.plddt.mean()),
        "n_contacts": len(contacts),
        "n_interface_a": int(np.unique(contacts.a).size),
        "n_interface_b": int(np.unique(contacts.b).size),
        "interface_plddt": mean_if,
        "pdockq": pdockq(mean_if, len(contacts)),
        "iptm": _nan(m.scores.iptm),
        "ptm": _nan(m.scores.ptm),
        "ranking_confidence": ranking_confidence(m.scores.iptm, m.scores.ptm),
        "min_pae": math.nan,
        "interface_pae": math.nan,
        "ipsae": math.nan,
        "ipsae_ab": math.nan,
        "ipsae_ba": math.nan,
        "interface_a": residue_ranges(a.numbers[contacts.a]),
        "interface_b": residue_ranges(b.numbers[contacts.b]),
        "structure": str(m.files.structure),
    }
    if pae is not None:
        n_a = len(a)
        ab, ba = pae[:n_a, n_a:], pae[n_a:, :n_a]
        row["min_pae"] = float(min(ab.min(), ba.min()))
        if len(contacts):
            row["interface_pae"] = float(
                ((ab[contacts.a, contacts.b] + ba[contacts.b, contacts.a]) / 2).mean()
            )
        row["ipsae_ab"], row["ipsae_ba"] = ipsae(pae, n_a, options.pae_cutoff)
        row["ipsae"] = max(row["ipsae_ab"], row["ipsae_ba"])
    return row


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _segment_labels(chain: Chain, segments: list[Segment]) -> np.ndarray:
    labels = np.empty(len(chain), dtype=object)
    for k, seg in enumerate(segments, start=1):
        labels[seg.start : seg.end] = f"{chain.name}{k}"
    return labels


def _segment_rows(m: ScoredModel) -> list[dict]:
    rows = []
    for chain, segments in zip((m.a, m.b), m.segments, strict=True):
        for k, seg in enumerate(segments, start=1):
            rows.append(
                {
                    "chain": chain.name,
                    "segment": f"{chain.name}{k}",
                    "kind": seg.kind,
                    "start": int(chain.numbers[seg.start]),
                    "end": int(chain.numbers[seg.end - 1]),
                    "length": seg.end - seg.start,
                    "mean_plddt": float(chain.plddt[seg.start : seg.end].mean()),
                }
            )
    return rows


def _contact_frame(m: ScoredModel) -> pd.DataFrame:
    a, b, c, pae = m.a, m.b, m.contacts, m.scores.pae
    n_a = len(a)
    frame = pd.DataFrame(
        {
            "residue_a": a.numbers[c.a],
            "aa_a": [a.sequence[i] for i in c.a],
            "residue_b": b.numbers[c.b],
            "aa_b": [b.sequence[j] for j in c.b],
            "distance": c.distance,
            "plddt_a": a.plddt[c.a],
            "plddt_b": b.plddt[c.b],
            "pae_ab": pae[c.a, n_a + c.b] if pae is not None else np.full(len(c), np.nan),
            "pae_ba": pae[n_a + c.b, c.a] if pae is not None else np.full(len(c), np.nan),
            "segment_a": _segment_labels(a, m.segments[0])[c.a],
            "segment_b": _segment_labels(b, m.segments[1])[c.b],
        }
    )
    return frame


def _segment_contact_rows(m: ScoredModel, contacts: pd.DataFrame) -> list[dict]:
    a, b, pae = m.a, m.b, m.scores.pae
    kinds = {
        f"{chain.name}{k}": seg
        for chain, segments in zip((a, b), m.segments, strict=True)
        for k, seg in enumerate(segments, start=1)
    }
    rows = []
    for (sa, sb), group in contacts.groupby(["segment_a", "segment_b"], sort=True):
        seg_a, seg_b = kinds[sa], kinds[sb]
        residues_a = group.drop_duplicates("residue_a")["plddt_a"]
        residues_b = group.drop_duplicates("residue_b")["plddt_b"]
        min_pae = math.nan
        if pae is not None:
            rows_a = slice(seg_a.start, seg_a.end)
            rows_b = slice(len(a) + seg_b.start, len(a) + seg_b.end)
            min_pae = float(min(pae[rows_a, rows_b].min(), pae[rows_b, rows_a].min()))
        rows.append(
            {
                "segment_a": sa,
                "kind_a": seg_a.kind,
                "segment_b": sb,
                "kind_b": seg_b.kind,
                "n_contacts": len(group),
                "n_interface_a": len(residues_a),
                "n_interface_b": len(residues_b),
                "interface_plddt": float(pd.concat([residues_a, residues_b]).mean()),
                "min_pae": min_pae,
            }
        )
    return rows


@dataclass
class StructureTables:
    """The five tables, as pandas DataFrames keyed by ``pair`` and ``model``."""

    pairs: pd.DataFrame
    models: pd.DataFrame
    segments: pd.DataFrame
    segment_contacts: pd.DataFrame
    contacts: pd.DataFrame


def _with_key(frame: pd.DataFrame, m: ScoredModel) -> pd.DataFrame:
    frame.insert(0, "model", m.files.model)
    frame.insert(0, "pair", m.files.job)
    return frame


def score_models(
    models: list[ModelFiles],
    options: ScoreOptions = ScoreOptions(),
    names: Mapping[str, PairName] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StructureTables:
    """Score ``models`` and build the tables. ``names`` maps job names to the pair's proteins
    (``getx structures pairs`` writes it as its manifest); other jobs are split at ``_``."""
    rows, segments, segment_contacts, contacts = [], [], [], []
    for done, files in enumerate(models, start=1):
        m = score_model(files, options)
        pair = (names or {}).get(files.job) or names_from_job(files.job)
        key = "|".join(sorted((pair.protein_a, pair.protein_b))) if pair.protein_a else ""
        rows.append(
            {
                "pair": files.job,
                "protein_a": pair.protein_a,
                "protein_b": pair.protein_b,
                "pair_key": key,
                "variant": pair.variant,
                **{k: v for k, v in m.row.items() if k != "pair"},
            }
        )
        frame = _contact_frame(m)
        segments.append(_with_key(pd.DataFrame(_segment_rows(m)), m))
        segment_contacts.append(_with_key(pd.DataFrame(_segment_contact_rows(m, frame)), m))
        contacts.append(_with_key(frame, m))
        if progress:
            progress(done, len(models))
    table = pd.DataFrame(rows)
    table["rank"] = table["rank"].astype("Int64")
    table.insert(table.columns.get_loc("rank") + 1, "best", best_models(table))
    pairs = table[table["best"]].drop(columns="best").reset_index(drop=True)
    n_models = table.groupby("pair").size()
    pairs.insert(pairs.columns.get_loc("model"), "n_models", pairs["pair"].map(n_models))
    return StructureTables(
        pairs=pairs,
        models=table,
        segments=_concat(segments, ["pair", "model", "chain", "segment"]),
        segment_contacts=_concat(segment_contacts, ["pair", "model", "segment_a", "segment_b"]),
        contacts=_concat(contacts, ["pair", "model", "residue_a", "residue_b"]),
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def best_models(models: pd.DataFrame) -> pd.Series:
    """True on the best model of each pair (the rule in the module docstring)."""
    best = pd.Series(False, index=models.index)
    ranked = models.assign(_rank=pd.to_numeric(models["rank"]).fillna(0))
    for _, group in ranked.groupby("pair", sort=False):
        metric = "ranking_confidence" if group["ranking_confidence"].notna().all() else "pdockq"
        order = group.sort_values([metric, "_rank", "model"], ascending=[False, True, True])
        best[order.index[0]] = True
    return best


def write_tables(tables: StructureTables, out: Path, options: ScoreOptions) -> Path:
    """Write every table as ``NAME.parquet`` and ``NAME.tsv`` plus ``structures.json`` into the
    folder ``out``, all at once (a failed run leaves ``out`` as it was; only an earlier score
    folder is replaced)."""
    from getx.io.files import atomic_output

    out = Path(out)
    with atomic_output(out, OUTPUT_KIND) as tmp:
        tmp.mkdir()
        for name in TABLES:
            frame: pd.DataFrame = getattr(tables, name)
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
            frame.to_csv(tmp / f"{name}.tsv", sep="\t", index=False, na_rep="NA")
        meta = {
            "schema_version": SCHEMA_VERSION,
            "tables": list(TABLES),
            "options": asdict(options),
            "pairs": len(tables.pairs),
            "models": len(tables.models),
        }
        (tmp / "structures.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out
