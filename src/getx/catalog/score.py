"""The catalog's ranked score (version 1; rationale and measurements in docs/catalog.md).

``regulatory_score`` = sqrt(specificity_a x specificity_b): the geometric mean of how much more
the cell type's genes rest on each of the two motifs than the average cell type's do (a motif's
mean |gradient x input| over the genes of this cell type, over its mean over the importance
store's cell types; with a store of one cell type, over the median motif's importance). A pair
ranks high when both of its TFs act specifically in this cell type, the condition for them to
cooperate there. The causal network's edge and the co-importance are reported beside it but left
out of the score: on the simulator, adding either lowered the planted cooperative pairs' ranks
(``bench/catalog.py``).

``score`` = the regulatory score where no complex of the pair's TF genes was predicted, and the
regulatory score x (1 + pDockQ) / (1 + PDOCKQ_ACCEPTABLE) where one was: a confident interface
(pDockQ above 0.23, Bryant et al.'s cut-off for acceptable models) raises the pair by up to 40%,
a complex without an interface (pDockQ 0.02) lowers it by 17%; structure never outweighs the
regulatory evidence, since TFs also cooperate without touching (through DNA or a cofactor).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SCORE_VERSION = 1
PDOCKQ_ACCEPTABLE = 0.23


def regulatory_score(table: pd.DataFrame) -> np.ndarray:
    """sqrt(specificity_a x specificity_b) per row of a :func:`getx.catalog.evidence.pair_evidence`
    table (0 where either motif has no importance)."""
    a = table["specificity_a"].to_numpy(np.float64)
    b = table["specificity_b"].to_numpy(np.float64)
    return np.sqrt(np.clip(a, 0, None) * np.clip(b, 0, None))


def catalog_score(regulatory: pd.Series, pdockq: pd.Series) -> np.ndarray:
    """The ranked score: ``regulatory`` moved by the pair's best pDockQ where there is one."""
    regulatory = np.asarray(regulatory, dtype=np.float64)
    pdockq = np.asarray(pdockq, dtype=np.float64)
    factor = np.where(np.isnan(pdockq), 1.0, (1.0 + pdockq) / (1.0 + PDOCKQ_ACCEPTABLE))
    return regulatory * factor
