"""Motif databases, exact p-value thresholds, PWM scanning and GET's motif-cluster features.

Kernels compile lazily (numba, cached on disk); importing this package is cheap.
"""

from getx.motifs.databases import (
    MotifSet,
    background_from_sequence,
    gc_background,
    load_jaspar,
    load_motifs,
    load_nrmotif_v1,
    read_gimme_pfm,
    read_hocomoco,
    read_jaspar,
    read_meme,
    select,
    with_background,
)
from getx.motifs.hits import aggregate_hit_bed
from getx.motifs.pvalues import strand_thresholds, threshold_from_p, thresholds
from getx.motifs.scanning import encode, region_features, scan_arrays, scan_hits

__all__ = [
    "MotifSet",
    "aggregate_hit_bed",
    "background_from_sequence",
    "encode",
    "gc_background",
    "load_jaspar",
    "load_motifs",
    "load_nrmotif_v1",
    "read_gimme_pfm",
    "read_hocomoco",
    "read_jaspar",
    "read_meme",
    "region_features",
    "scan_arrays",
    "scan_hits",
    "select",
    "strand_thresholds",
    "threshold_from_p",
    "thresholds",
    "with_background",
]
