"""Inter-chain contacts and the interface metrics of a two-chain complex.

A contact is a residue pair, one from each chain, whose contact atoms (CB, CA for glycine) lie
within the cutoff (8 A, inclusive, as pDockQ defines it). The interface residues are the residues
with at least one contact; the interface pLDDT is their mean pLDDT, both chains pooled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from getx.structures.read import Chain

CONTACT_CUTOFF = 8.0


@dataclass(frozen=True)
class Contacts:
    """Contacting residue pairs: positions in chain A and in chain B, and their distance."""

    a: np.ndarray  # (k,) int, index into chain A
    b: np.ndarray  # (k,) int, index into chain B
    distance: np.ndarray  # (k,) A

    def __len__(self) -> int:
        return len(self.a)


def find_contacts(a: Chain, b: Chain, cutoff: float = CONTACT_CUTOFF) -> Contacts:
    """Residue pairs across the two chains within ``cutoff`` (sorted by A, then B)."""
    from scipy.spatial import cKDTree

    ia = np.flatnonzero(np.isfinite(a.coords).all(axis=1))
    ib = np.flatnonzero(np.isfinite(b.coords).all(axis=1))
    pairs = cKDTree(a.coords[ia]).sparse_distance_matrix(
        cKDTree(b.coords[ib]), cutoff, output_type="ndarray"
    )
    order = np.lexsort((pairs["j"], pairs["i"]))
    pairs = pairs[order]
    return Contacts(a=ia[pairs["i"]], b=ib[pairs["j"]], distance=pairs["v"].astype(np.float64))


def interface_plddt(a: Chain, b: Chain, contacts: Contacts) -> float:
    """Mean pLDDT of the interface residues of both chains (NaN without contacts)."""
    if not len(contacts):
        return float("nan")
    values = np.concatenate([a.plddt[np.unique(contacts.a)], b.plddt[np.unique(contacts.b)]])
    return float(values.mean())


def residue_ranges(numbers: np.ndarray) -> str:
    """Residue numbers as compact ranges, e.g. ``12-15,20`` (empty string for none)."""
    numbers = np.unique(numbers)
    if not numbers.size:
        return ""
    breaks = np.flatnonzero(np.diff(numbers) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [numbers.size - 1]])
    return ",".join(
        str(numbers[s]) if s == e else f"{numbers[s]}-{numbers[e]}"
        for s, e in zip(starts, ends, strict=True)
    )
