"""Read predicted two-chain complexes: coordinates and pLDDT (gemmi), ColabFold score and PAE JSON.

A structure is PDB or mmCIF, gzipped or not. Every amino-acid residue of the first model is kept
per chain; a residue's contact atom is its CB (CA for glycine), the convention of pDockQ, and its
pLDDT is that atom's B-factor (AlphaFold writes one pLDDT per residue into every atom's
B-factor). Files whose pLDDT is on a 0-1 scale (all B-factors <= 1) are scaled to 0-100.
A residue lacking N, CA or C (a file cut between lines), a file cut mid-line, a truncated gzip
stream and an empty file are InputErrors naming the file.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from getx.errors import InputError

BACKBONE = ("N", "CA", "C")


@dataclass(frozen=True)
class Chain:
    """One protein chain: residue numbers, sequence, contact-atom coordinates and pLDDT."""

    name: str
    numbers: np.ndarray  # author residue numbers, int
    sequence: str  # one-letter codes, X for unknown amino acids
    coords: np.ndarray  # (n, 3) CB (CA for glycine); NaN where a residue lacks its CB
    plddt: np.ndarray  # (n,) 0-100

    def __len__(self) -> int:
        return len(self.numbers)


@dataclass(frozen=True)
class Scores:
    """What a ColabFold score JSON (or a PAE JSON) adds to a structure; None where absent."""

    iptm: float | None = None
    ptm: float | None = None
    pae: np.ndarray | None = None  # (n, n), row = aligned residue, column = scored residue


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when gzipped; a truncated or empty file is an InputError."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as err:
            raise InputError(f"truncated or corrupt gzip ({err})", path) from None
    if not raw.strip():
        raise InputError("empty file", path)
    return raw


def read_complex(path: str | Path) -> tuple[Chain, Chain]:
    """The two protein chains of a predicted complex (chains in file order)."""
    import gemmi

    path = Path(path)
    text = read_bytes(path).decode("utf-8", errors="replace")
    try:
        if _is_mmcif(text):
            structure = gemmi.make_structure_from_block(gemmi.cif.read_string(text).sole_block())
        else:
            structure = gemmi.read_pdb_string(text)
    except (RuntimeError, ValueError) as err:
        reason = " ".join(str(err).split())  # gemmi quotes the bad line on a line of its own
        raise InputError(f"cannot parse structure: {reason}", path) from None
    if len(structure) == 0:
        raise InputError("no atoms: not a PDB or mmCIF structure?", path)
    chains = [chain for chain in (_chain(c, path) for c in structure[0]) if chain is not None]
    if len(chains) != 2:
        names = ", ".join(c.name for c in chains) or "none"
        hint = " (truncated file?)" if len(chains) == 1 else ""
        raise InputError(
            f"{len(chains)} protein chain(s) ({names}); a complex needs exactly two{hint}", path
        )
    if chains[0].name == chains[1].name:
        raise InputError(f"both chains are named {chains[0].name!r}", path)
    plddt_max = max(float(np.max(c.plddt)) for c in chains)
    if plddt_max <= 1.0:  # ESMFold/Boltz style 0-1 confidences
        chains = [_scaled(c, 100.0) for c in chains]
    return chains[0], chains[1]


def _is_mmcif(text: str) -> bool:
    """mmCIF starts with ``data_`` after any comment lines (AlphaFold3 puts its terms first)."""
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            return line.startswith("data_")
    return False


def _chain(chain, path: Path) -> Chain | None:
    """A Chain of the amino-acid residues of a gemmi chain; None when it has none."""
    import gemmi

    numbers, letters, coords, plddt = [], [], [], []
    for residue in chain:
        info = gemmi.find_tabulated_residue(residue.name)
        if info is None or not info.is_amino_acid():
            continue
        if residue.seqid.icode.strip():
            raise InputError(
                f"chain {chain.name} residue {residue.seqid.num}{residue.seqid.icode}: "
                "insertion codes are not supported",
                path,
            )
        missing = [name for name in BACKBONE if not residue.find_atom(name, "*")]
        if missing:
            raise InputError(
                f"chain {chain.name} residue {residue.name} {residue.seqid.num} lacks "
                f"{', '.join(missing)} (truncated file?)",
                path,
            )
        ca = residue.find_atom("CA", "*")
        contact = ca if residue.name == "GLY" else residue.find_atom("CB", "*")
        numbers.append(residue.seqid.num)
        letters.append(info.one_letter_code.upper() if info.one_letter_code.strip() else "X")
        coords.append(contact.pos.tolist() if contact else [np.nan] * 3)
        plddt.append((contact or ca).b_iso)
    if not numbers:
        return None
    return Chain(
        name=chain.name,
        numbers=np.asarray(numbers, dtype=np.int64),
        sequence="".join(letters),
        coords=np.asarray(coords, dtype=np.float64),
        plddt=_decimal(plddt),
    )


def _decimal(float32_values: list[float]) -> np.ndarray:
    """gemmi keeps B-factors as float32: recover the decimals the file holds (the shortest
    decimal that rounds to the same float32), so 27.62 reads as 27.62, not 27.6200008."""
    return np.asarray(float32_values, dtype=np.float32).astype(str).astype(np.float64)


def _scaled(chain: Chain, factor: float) -> Chain:
    return Chain(chain.name, chain.numbers, chain.sequence, chain.coords, chain.plddt * factor)


def _load_json(path: Path):
    try:
        return json.loads(read_bytes(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"not valid JSON ({err})", path) from None


def _pae_matrix(value, n_residues: int, path: Path) -> np.ndarray:
    try:
        pae = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("PAE is not a numeric matrix", path) from None
    if pae.ndim != 2 or pae.shape[0] != pae.shape[1]:
        raise InputError(f"PAE has shape {pae.shape}, not a square matrix", path)
    if pae.shape[0] != n_residues:
        raise InputError(
            f"PAE is {pae.shape[0]} x {pae.shape[1]} but the structure has {n_residues} residues",
            path,
        )
    return pae


def _number(data: dict, key: str, path: Path) -> float | None:
    if key not in data:
        return None
    try:
        return float(data[key])
    except (TypeError, ValueError):
        raise InputError(f"{key!r} is {data[key]!r}, not a number", path) from None


def read_scores(path: str | Path, n_residues: int) -> Scores:
    """A ColabFold ``*_scores_*.json``: ipTM (required: a multimer prediction), pTM, PAE, pLDDT.

    ``n_residues`` is the structure's residue count; a pLDDT list or PAE of another size means
    the JSON belongs to another prediction.
    """
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict):
        raise InputError("expected a JSON object with 'iptm', 'ptm', 'plddt', 'pae'", path)
    if "iptm" not in data:
        raise InputError(
            "no 'iptm' in the score JSON (not an AlphaFold2-multimer prediction of a complex?)",
            path,
        )
    plddt = data.get("plddt")
    if plddt is not None and len(plddt) != n_residues:
        raise InputError(
            f"pLDDT lists {len(plddt)} residues but the structure has {n_residues}", path
        )
    pae = data.get("pae", data.get("predicted_aligned_error"))
    return Scores(
        iptm=_number(data, "iptm", path),
        ptm=_number(data, "ptm", path),
        pae=None if pae is None else _pae_matrix(pae, n_residues, path),
    )


def read_pae(path: str | Path, n_residues: int) -> np.ndarray:
    """A PAE JSON: ColabFold's ``*_predicted_aligned_error_v1.json`` or the AlphaFold DB list."""
    path = Path(path)
    data = _load_json(path)
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise InputError("expected a JSON object with 'predicted_aligned_error'", path)
    value = data.get("predicted_aligned_error", data.get("pae"))
    if value is None:
        raise InputError("no 'predicted_aligned_error' (or 'pae') matrix", path)
    return _pae_matrix(value, n_residues, path)
