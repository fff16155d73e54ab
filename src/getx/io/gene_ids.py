"""Gene identifiers: one definition of a version suffix, shared by every reader.

Annotations and expression tables often write the same gene with different versions
(``ENSG00000223972.5`` in a GTF, ``ENSG00000223972.4`` in an older count table), so genes are
compared without them. The version is a trailing ``.N``, before GENCODE's ``_PAR_Y`` when
present, and ``_PAR_Y`` always survives: ``ENSG00000182378.14_PAR_Y`` is the chrY copy of a
pseudo-autosomal gene, a different gene of the annotation than the chrX ``ENSG00000182378.14``,
and its expression must not be read as the chrX gene's.

Where a field holds an id by definition (an annotation's ``gene_id``), any ``.N`` is its
version: :func:`strip_version`. Where a column mixes names and ids (an expression table's gene
column, 10x features), a name may end in ``.N`` without it being a version: clone-based names
such as ``AL627309.1`` and ``AL627309.3`` are different genes. There :func:`strip_versions`
strips only what is shaped like a stable id (at least three letters, then at least six digits:
``ENSG``, ``ENSMUSG``, ``ENSGR``, ``WBGene``, the simulator's ``SIMG``); clone-based names have
one or two letters and keep their suffix. Both give the same result on every stable id, so an
expression row and its annotation gene meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

_VERSION = re.compile(r"\.\d+(?=(?:_PAR_Y)?$)")
_STABLE_ID = re.compile(r"^[A-Za-z]{3,}\d{6,}\.\d+(?:_PAR_Y)?$")


def strip_version(gene_id: str) -> str:
    """An annotation's gene id without its version: ``ENSG00000223972.5`` -> ``ENSG00000223972``,
    ``ENSG00000182378.14_PAR_Y`` -> ``ENSG00000182378_PAR_Y``."""
    return _VERSION.sub("", gene_id)


def strip_versions(genes: Iterable[str]) -> pd.Index:
    """Gene names or ids (object Index, input order) with stable ids stripped of their version;
    names, including ``AL627309.1``, unchanged."""
    genes = pd.Index(genes, dtype=object).astype(str)
    stable = np.asarray(genes.str.match(_STABLE_ID), dtype=bool)
    stripped = genes.str.replace(_VERSION, "", regex=True)
    return pd.Index(np.where(stable, stripped, genes), dtype=object)
