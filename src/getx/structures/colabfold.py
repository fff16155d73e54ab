"""Find the models of each predicted pair in folders of ColabFold results (or plain files).

ColabFold names a job's files after the job (the FASTA header or CSV ``id``)::

    <job>_unrelaxed_rank_001_alphafold2_multimer_v3_model_2_seed_000.pdb   (and _relaxed_)
    <job>_scores_rank_001_alphafold2_multimer_v3_model_2_seed_000.json     (plddt, pae, ptm, iptm)
    <job>_predicted_aligned_error_v1.json                                  (PAE of rank 1)

Unranked names (``<job>_unrelaxed_<model tag>.pdb``) match the same way. A structure under any
other name is one model of its own pair, named after the file. When a model has both a relaxed
and an unrelaxed structure the unrelaxed one is scored: ColabFold writes it for every rank, so
all ranks of a pair are scored alike.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from getx.errors import InputError

STRUCTURE_SUFFIXES = (".pdb", ".ent", ".cif", ".mmcif")
_RANKED = r"(?:rank_(?P<rank>\d+)_)?(?P<tag>.+?)"
_STRUCTURE = re.compile(
    rf"^(?P<job>.+?)_(?P<kind>unrelaxed|relaxed)_{_RANKED}\.(?:pdb|cif)(?:\.gz)?$"
)
_SCORES = re.compile(rf"^(?P<job>.+?)_scores_{_RANKED}\.json(?:\.gz)?$")
_PAE = re.compile(r"^(?P<job>.+?)_predicted_aligned_error_v1\.json(?:\.gz)?$")


@dataclass(frozen=True)
class ModelFiles:
    """The files of one model of one pair."""

    job: str  # the pair's job name
    model: str  # the model tag, e.g. alphafold2_multimer_v3_model_2_seed_000
    rank: int | None  # ColabFold's rank (1 = its best); None when unranked
    structure: Path
    scores: Path | None = None  # ColabFold score JSON
    pae: Path | None = None  # PAE JSON, used when the score JSON has no PAE


def _is_structure(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(STRUCTURE_SUFFIXES)


def _plain_stem(path: Path) -> str:
    name = path.name.removesuffix(".gz")
    return name[: name.rfind(".")]


def find_models(paths: list[Path] | tuple[Path, ...]) -> list[ModelFiles]:
    """Every model under ``paths`` (structure files, or folders searched recursively)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    scores: dict[tuple[str, str, int | None], Path] = {}
    pae: dict[str, Path] = {}
    structures: dict[tuple[str, str, int | None], tuple[bool, Path]] = {}
    plain: list[ModelFiles] = []
    for file in files:
        if match := _SCORES.match(file.name):
            scores[_key(match)] = file
        elif match := _PAE.match(file.name):
            pae[match["job"]] = file
        elif match := _STRUCTURE.match(file.name):
            relaxed = match["kind"] == "relaxed"
            key = _key(match)
            # Unrelaxed wins over relaxed (see the module docstring).
            if key not in structures or structures[key][0]:
                structures[key] = (relaxed, file)
        elif _is_structure(file):
            plain.append(ModelFiles(_plain_stem(file), model="model", rank=None, structure=file))
    models = [
        ModelFiles(
            job=job,
            model=model,
            rank=rank,
            structure=structure,
            scores=scores.get((job, model, rank)),
        )
        for (job, model, rank), (_, structure) in structures.items()
    ]
    per_job = Counter(m.job for m in models)
    # The PAE JSON holds rank 1's PAE; an unranked model takes it only when it is its job's one.
    models = [
        replace(m, pae=pae.get(m.job))
        if m.rank == 1 or (m.rank is None and per_job[m.job] == 1)
        else m
        for m in models
    ]
    models.extend(plain)
    if not models:
        shown = ", ".join(str(p) for p in paths)
        raise InputError(f"no PDB or mmCIF structures found in {shown}")
    seen: dict[tuple[str, str, int | None], Path] = {}
    for m in models:
        key = (m.job, m.model, m.rank)
        if key in seen:
            raise InputError(
                f"two structures for pair {m.job!r} model {m.model!r}: {seen[key]} and "
                f"{m.structure}"
            )
        seen[key] = m.structure
    return sorted(models, key=lambda m: (m.job, m.rank or 0, m.model))


def _key(match: re.Match) -> tuple[str, str, int | None]:
    rank = match["rank"]
    return match["job"], match["tag"], None if rank is None else int(rank)
