"""TF gene symbols from motif names: the one parser for every database's naming."""

from __future__ import annotations

import re

# Leading JASPAR matrix ids, once or repeated: "MA0035.5.GATA1", "MA0004.1_MA0004.1.Arnt".
_JASPAR_ID = re.compile(r"^(?:MA\d{4}\.\d+[._ ]?)+")
# JASPAR's variant tags on a TF name (before 2022): "PAX3(var.2)", "JUN (var.2)".
_VARIANT = re.compile(r"\s*\(var\.\d+\)")
_DIMER = re.compile(r"\+|::")


def motif_genes(name: str) -> list[str]:
    """Upper-case TF gene symbols named by a motif (or factor) name, dimers giving both.

    JASPAR ``MA0035.5.GATA1``, ``MA0006.1.Ahr::Arnt`` and bare TF names ``Ahr::Arnt``; GET's v1
    ``ALX3_homeodomain_1``, ``Vdr.mouse_nuclearreceptor_1``, ``JUN+JUNB_MA1133.1``; HOCOMOCO
    ``FOXO4_HUMAN.H11MO.0.C``, ``AHR.H12CORE.0.P.B``; gimmemotifs ``MA0004.1_MA0004.1.Arnt``.
    Each partner of a dimer (``+`` or ``::``) is cut at its first ``_`` or ``.``.
    """
    s = _JASPAR_ID.sub("", _VARIANT.sub("", name.strip()))
    genes = (part.split("_")[0].split(".")[0].strip().upper() for part in _DIMER.split(s))
    return [g for g in genes if g]
