"""What a mutation changes at an interface: wild type against mutant of the same pair.

Each side is a folder (or file) holding the models of one pair, or ``FOLDER/JOB`` for one job of
a ColabFold folder; its best model (the rule of ``getx.structures.tables``) is compared. Both
must have the same chains and residue numbering (a missense variant changes residues, not their
count). The comparison gives every interface metric on both sides and the change, the sequence
differences, the residue pairs that are contacts on one side only, and the residues whose
contact count changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.files import folder_marked_by, table_kind
from getx.structures.colabfold import ModelFiles, find_models
from getx.structures.tables import ScoredModel, ScoreOptions, best_models, score_model

METRICS = (
    "n_contacts",
    "n_interface_a",
    "n_interface_b",
    "interface_plddt",
    "pdockq",
    "iptm",
    "ptm",
    "ranking_confidence",
    "min_pae",
    "interface_pae",
    "ipsae",
    "mean_plddt_a",
    "mean_plddt_b",
)


METRIC_COLUMNS = ["metric", "wild_type", "mutant", "change"]
OUTPUT_KIND = folder_marked_by(
    "mutation comparison folder", "metrics.tsv", table_kind("metric table", METRIC_COLUMNS)
)


@dataclass
class Comparison:
    """Wild type against mutant: tables of metrics, contacts and residues, and the
    sequence differences (``A:G183S``)."""

    wild_type: ScoredModel
    mutant: ScoredModel
    differences: list[str]
    metrics: pd.DataFrame  # metric, wild_type, mutant, change
    contacts: pd.DataFrame  # residue pairs gained or lost
    residues: pd.DataFrame  # residues whose contact count changed


def pair_models(path: Path) -> list[ModelFiles]:
    """The models of one pair: a folder or file of that pair only, or ``FOLDER/JOB`` for the
    files of job ``JOB`` in a folder of many (ColabFold writes all jobs into one folder)."""
    path = Path(path)
    if not path.exists() and path.parent.is_dir():
        models = [m for m in find_models([path.parent]) if m.job == path.name]
        if not models:
            raise InputError(f"no such file or folder, and no job {path.name!r} in {path.parent}")
        return models
    models = find_models([path])
    jobs = sorted({m.job for m in models})
    if len(jobs) > 1:
        raise InputError(
            f"holds {len(jobs)} pairs ({', '.join(jobs[:4])}{'...' if len(jobs) > 4 else ''}); "
            f"give the models of one pair, e.g. {path / jobs[0]}",
            path,
        )
    return models


def best_model(path: Path, options: ScoreOptions | None = None) -> ScoredModel:
    """The best model of the one pair at ``path`` (see ``pair_models``)."""
    options = options or ScoreOptions()
    models = pair_models(path)
    scored = [score_model(m, options) for m in models]
    best = best_models(pd.DataFrame([m.row for m in scored]))
    return scored[int(np.flatnonzero(best.to_numpy())[0])]


def compare(
    wild_type: str | Path, mutant: str | Path, options: ScoreOptions | None = None
) -> Comparison:
    """Compare the best models of the wild-type and the mutant pair."""
    wt, mut = best_model(Path(wild_type), options), best_model(Path(mutant), options)
    differences = []
    for chain_wt, chain_mut in ((wt.a, mut.a), (wt.b, mut.b)):
        if len(chain_wt) != len(chain_mut) or not np.array_equal(
            chain_wt.numbers, chain_mut.numbers
        ):
            raise InputError(
                f"chain {chain_wt.name} has {len(chain_wt)} residues in the wild type "
                f"({wt.files.structure}) and {len(chain_mut)} in the mutant "
                f"({mut.files.structure}); compare needs the same residues on both sides"
            )
        differences += [
            f"{chain_wt.name}:{x}{chain_wt.numbers[i]}{y}"
            for i, (x, y) in enumerate(zip(chain_wt.sequence, chain_mut.sequence, strict=True))
            if x != y
        ]
    metrics = pd.DataFrame(
        {
            "metric": METRICS,
            "wild_type": [float(wt.row[k]) for k in METRICS],
            "mutant": [float(mut.row[k]) for k in METRICS],
        }
    )
    metrics["change"] = metrics["mutant"] - metrics["wild_type"]
    return Comparison(
        wt, mut, differences, metrics, _contact_changes(wt, mut), _residue_changes(wt, mut)
    )


def _contact_changes(wt: ScoredModel, mut: ScoredModel) -> pd.DataFrame:
    def pairs(m: ScoredModel) -> dict[tuple[int, int], float]:
        return dict(
            zip(
                zip(m.contacts.a.tolist(), m.contacts.b.tolist(), strict=True),
                m.contacts.distance,
                strict=True,
            )
        )

    before, after = pairs(wt), pairs(mut)
    rows = []
    changes = (("gained", after.keys() - before.keys()), ("lost", before.keys() - after.keys()))
    for status, keys in changes:
        for i, j in sorted(keys):
            rows.append(
                {
                    "status": status,
                    "residue_a": int(wt.a.numbers[i]),
                    "aa_a": mut.a.sequence[i],
                    "residue_b": int(wt.b.numbers[j]),
                    "aa_b": mut.b.sequence[j],
                    "distance_wild_type": _distance(wt, i, j),
                    "distance_mutant": _distance(mut, i, j),
                }
            )
    columns = ["status", "residue_a", "aa_a", "residue_b", "aa_b"]
    return pd.DataFrame(rows, columns=[*columns, "distance_wild_type", "distance_mutant"])


def _distance(m: ScoredModel, i: int, j: int) -> float:
    return float(np.linalg.norm(m.a.coords[i] - m.b.coords[j]))


def _residue_changes(wt: ScoredModel, mut: ScoredModel) -> pd.DataFrame:
    frames = []
    for side, (chain_wt, chain_mut) in enumerate(((wt.a, mut.a), (wt.b, mut.b))):
        index_wt = wt.contacts.a if side == 0 else wt.contacts.b
        index_mut = mut.contacts.a if side == 0 else mut.contacts.b
        n_wt = np.bincount(index_wt, minlength=len(chain_wt))
        n_mut = np.bincount(index_mut, minlength=len(chain_mut))
        changed = np.flatnonzero(n_wt != n_mut)
        status = np.where(
            n_wt[changed] == 0, "gained", np.where(n_mut[changed] == 0, "lost", "changed")
        )
        frames.append(
            pd.DataFrame(
                {
                    "chain": chain_wt.name,
                    "residue": chain_wt.numbers[changed],
                    "aa_wild_type": [chain_wt.sequence[i] for i in changed],
                    "aa_mutant": [chain_mut.sequence[i] for i in changed],
                    "contacts_wild_type": n_wt[changed],
                    "contacts_mutant": n_mut[changed],
                    "change": n_mut[changed] - n_wt[changed],
                    "status": status,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_comparison(comparison: Comparison, out: Path) -> Path:
    """``metrics.tsv``, ``contacts.tsv``, ``residues.tsv`` and ``differences.txt`` in ``out``,
    written at once."""
    from getx.io.files import atomic_output

    with atomic_output(Path(out), OUTPUT_KIND) as tmp:
        tmp.mkdir()
        for name in ("metrics", "contacts", "residues"):
            frame = getattr(comparison, name)
            frame.to_csv(tmp / f"{name}.tsv", sep="\t", index=False, na_rep="NA")
        (tmp / "differences.txt").write_text("".join(f"{d}\n" for d in comparison.differences))
    return Path(out)
