"""Motif databases, exact p-value thresholds, PWM scanning and GET's motif-cluster features.

Modules, each importing only those before it: ``motifset`` (the MotifSet type and its maths),
``genes`` (TF genes from motif names), ``formats`` and ``nrmotif`` (file readers and writers),
``alignment``, ``clustering``, ``agreement`` and ``cluster_io`` (similarity clusters),
``databases`` (motif sets by name or path, JASPAR via pyjaspar), ``pvalues`` (exact thresholds),
``scanning`` (hits and per-region features), ``hits`` (precomputed hit BEDs). Kernels compile
lazily (numba, cached on disk); importing this package is cheap.
"""

from getx.motifs.databases import load_jaspar, load_motifs
from getx.motifs.formats import read_gimme_pfm, read_hocomoco, read_jaspar, read_meme
from getx.motifs.hits import aggregate_hit_bed
from getx.motifs.motifset import (
    MotifSet,
    background_from_sequence,
    gc_background,
    select,
    with_background,
)
from getx.motifs.nrmotif import load_nrmotif_v1
from getx.motifs.pvalues import strand_thresholds, threshold_from_p, thresholds
from getx.motifs.scanning import (
    encode,
    region_features,
    scan_arrays,
    scan_hits,
    sequence_features,
)
from getx.motifs.sequences import SequenceGenome

__all__ = [
    "MotifSet",
    "SequenceGenome",
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
    "sequence_features",
    "strand_thresholds",
    "threshold_from_p",
    "thresholds",
    "with_background",
]
