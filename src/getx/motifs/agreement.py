"""Agreement between two clusterings (labelings of the same items).

:func:`adjusted_rand_index`, :func:`adjusted_mutual_information` (Vinh et al. 2010, arithmetic-
mean normalisation, as sklearn's default) and :func:`split_merge` (how many reference clusters
are split or merged).
"""

from __future__ import annotations

import numpy as np


def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    _, ia = np.unique(np.asarray(a), return_inverse=True)
    _, ib = np.unique(np.asarray(b), return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    return table


def adjusted_rand_index(a, b) -> float:
    """Hubert-Arabie adjusted Rand index of two labelings (1 = identical, ~0 = chance)."""
    t = _contingency(a, b)
    n = t.sum()

    def comb2(x):
        x = np.asarray(x, dtype=np.float64)
        return (x * (x - 1) / 2).sum()

    sum_ij, sum_a, sum_b = comb2(t), comb2(t.sum(axis=1)), comb2(t.sum(axis=0))
    expected = sum_a * sum_b / (n * (n - 1) / 2) if n > 1 else 0.0
    max_index = (sum_a + sum_b) / 2
    if max_index == expected:  # both labelings trivial (all one cluster or all singletons)
        return 1.0
    return float((sum_ij - expected) / (max_index - expected))


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def _expected_mutual_information(a_sizes: np.ndarray, b_sizes: np.ndarray, n: int) -> float:
    """E[MI] under the permutation (hypergeometric) model, summed over distinct size pairs."""
    from scipy.special import gammaln

    ua, ca = np.unique(a_sizes, return_counts=True)
    ub, cb = np.unique(b_sizes, return_counts=True)
    total = 0.0
    lg_n = gammaln(n + 1)
    for ai, wa in zip(ua, ca, strict=True):
        for bj, wb in zip(ub, cb, strict=True):
            nij = np.arange(max(1, ai + bj - n), min(ai, bj) + 1, dtype=np.float64)
            if len(nij) == 0:
                continue
            log_p = (
                gammaln(ai + 1)
                + gammaln(bj + 1)
                + gammaln(n - ai + 1)
                + gammaln(n - bj + 1)
                - lg_n
                - gammaln(nij + 1)
                - gammaln(ai - nij + 1)
                - gammaln(bj - nij + 1)
                - gammaln(n - ai - bj + nij + 1)
            )
            term = nij / n * np.log(n * nij / (ai * bj)) * np.exp(log_p)
            total += wa * wb * term.sum()
    return total


def adjusted_mutual_information(a, b) -> float:
    """Adjusted mutual information (Vinh et al. 2010), arithmetic-mean normalisation."""
    t = _contingency(a, b)
    n = int(t.sum())
    ra, rb = t.sum(axis=1), t.sum(axis=0)
    if len(ra) == len(rb) == 1 or len(ra) == len(rb) == n:
        return 1.0
    nz = t[t > 0].astype(np.float64)
    outer = np.outer(ra, rb)[t > 0].astype(np.float64)
    mi = float((nz / n * np.log(n * nz / outer)).sum())
    emi = _expected_mutual_information(ra, rb, n)
    ha, hb = _entropy(ra), _entropy(rb)
    denom = (ha + hb) / 2 - emi
    if abs(denom) < 1e-15:
        return 1.0 if abs(mi - emi) < 1e-15 else 0.0
    return float((mi - emi) / denom)


def split_merge(reference, predicted, min_fraction: float = 0.0) -> dict[str, int]:
    """How reference clusters map onto predicted ones.

    ``split``: reference clusters whose members land in more than one predicted cluster;
    ``merged``: predicted clusters holding members of more than one reference cluster;
    ``exact``: reference clusters reproduced exactly. ``min_fraction`` ignores stray members
    (cells below that fraction of their row/column).
    """
    t = _contingency(reference, predicted)
    rows = t / t.sum(axis=1, keepdims=True)
    cols = t / t.sum(axis=0, keepdims=True)
    split = int(((rows > min_fraction) & (t > 0)).sum(axis=1).__gt__(1).sum())
    merged = int(((cols > min_fraction) & (t > 0)).sum(axis=0).__gt__(1).sum())
    exact = int(((t == t.sum(axis=1, keepdims=True)) & (t == t.sum(axis=0, keepdims=True))).sum())
    return {
        "reference_clusters": int(t.shape[0]),
        "predicted_clusters": int(t.shape[1]),
        "split": split,
        "merged": merged,
        "exact": exact,
    }
