"""Confidence scores of a predicted interface: pDockQ, ipSAE, AlphaFold2-multimer's ranking.

pDockQ (Bryant, Pozzati & Elofsson, Nat Commun 2022) is a sigmoid of
``x = mean interface pLDDT * log10(number of interface contacts)``; it is 0 when there are no
contacts, as in the authors' code (FoldDock ``src/pdockq.py``).

ipSAE (Dunbrack, bioRxiv 2025; DunbrackLab/IPSAE ``ipsae.py``, its ``ipSAE`` column) scores chain
A against chain B from the PAE rows of A's residues: for residue i of A, the residues j of B with
``PAE[i, j] < cutoff`` are kept, ``d0`` comes from their count n (the TM-score d0 of
max(n, 26) residues, at least 1 A) and i's score is the mean of ``1 / (1 + (PAE[i, j] / d0)^2)``
over them (0 when none). The A->B value is the best residue's; ipSAE is the larger of A->B and
B->A.
"""

from __future__ import annotations

import numpy as np

PDOCKQ_L, PDOCKQ_X0, PDOCKQ_K, PDOCKQ_B = 0.724, 152.611, 0.052, 0.018
IPSAE_MIN_RESIDUES = 26  # d0 of fewer residues would fall below 1 A


def pdockq(interface_plddt: float, n_contacts: int) -> float:
    """pDockQ from the mean pLDDT of the interface residues and the contact count."""
    if n_contacts < 1:
        return 0.0
    x = interface_plddt * np.log10(n_contacts)
    return float(PDOCKQ_L / (1.0 + np.exp(-PDOCKQ_K * (x - PDOCKQ_X0))) + PDOCKQ_B)


def tm_d0(n_residues: np.ndarray | float) -> np.ndarray:
    """TM-score's d0 (Yang & Skolnick 2004) as ipSAE uses it: n floored at 26, d0 at least 1."""
    n = np.maximum(np.asarray(n_residues, dtype=np.float64), IPSAE_MIN_RESIDUES)
    return np.maximum(1.0, 1.24 * np.cbrt(n - 15.0) - 1.8)


def ipsae_directed(pae_block: np.ndarray, cutoff: float) -> float:
    """ipSAE of the rows' chain against the columns' chain (``pae_block[i, j]`` = PAE(i, j))."""
    valid = pae_block < cutoff
    n = valid.sum(axis=1)
    d0 = tm_d0(n)[:, None]
    per_residue = np.where(valid, 1.0 / (1.0 + (pae_block / d0) ** 2), 0.0).sum(axis=1)
    per_residue = np.divide(per_residue, n, out=np.zeros_like(per_residue), where=n > 0)
    return float(per_residue.max()) if per_residue.size else 0.0


def ipsae(pae: np.ndarray, n_a: int, cutoff: float = 10.0) -> tuple[float, float]:
    """(A->B, B->A) ipSAE of a two-chain PAE matrix whose first ``n_a`` rows are chain A."""
    return (
        ipsae_directed(pae[:n_a, n_a:], cutoff),
        ipsae_directed(pae[n_a:, :n_a], cutoff),
    )


def ranking_confidence(iptm: float | None, ptm: float | None) -> float:
    """AlphaFold2-multimer's model ranking, 0.8 ipTM + 0.2 pTM (NaN when either is missing)."""
    if iptm is None or ptm is None:
        return float("nan")
    return 0.8 * iptm + 0.2 * ptm
