"""Motif features on real sequence: CTCF ChIP-seq summits against their shuffles, and getx's
hits against MOODS's on real hg38.

CTCF: the 500 strongest GM12878 CTCF ChIP-seq summits (200 bp, hg19) against one dinucleotide
shuffle of each (same length, same dinucleotide counts, so the same GC and CpG content), scored
by getx's CTCF-cluster feature (GET v1 motifs, p < 1e-4, merged hits summed) with the motifs' own
AT-rich background and with the GC-aware one (``background="gc"``: the sequences' pooled GC);
AUROC with a bootstrap interval. Hit identity: every GET v1 motif on both strands of hg38
chr2:1-2,333,275, p < 1e-4, getx's hits and scores against MOODS's (the exact reference scanner,
its own thresholds) and lightmotif's hit counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench._data import CHR2_PIECE, V1_MOTIFS, missing, read_fasta, read_sequence
from bench.suite import SHARED

NAME = "motif_real"
TITLE = "Motif features on real sequence (CTCF summits, hit identity with MOODS)"
CTCF_SUMMITS = SHARED / "genome" / "Gm12878.CTCF.top500.w200.fa"
P_VALUE = 1e-4


def available() -> str | None:
    return missing(CTCF_SUMMITS, V1_MOTIFS / "nrmotif_v1.json", CHR2_PIECE)


def ctcf_summit_scores(motifs, n: int = 500, seed: int = 42) -> dict[str, np.ndarray]:
    """The CTCF-cluster feature of the first ``n`` summits and of one dinucleotide shuffle of
    each (``labels``: True for summits), with the motifs' own background (``plain``) and the
    GC-aware one (``gc``), and the count of CTCF-cluster motif hits (``hits``, plain)."""
    from getx.motifs import region_features, scan_hits, select
    from getx.motifs.sequences import SequenceGenome, dinucleotide_shuffle

    _, summits = read_fasta(CTCF_SUMMITS)
    summits = [s.upper() for s in summits[:n]]
    rng = np.random.default_rng(seed)
    shuffles = [dinucleotide_shuffle(s, rng) for s in summits]
    sequences = summits + shuffles
    names = [f"seq{i}" for i in range(len(sequences))]
    genome = SequenceGenome(dict(zip(names, sequences, strict=True)))
    regions = pd.DataFrame({"chrom": names, "start": 0, "end": [len(s) for s in sequences]})
    ctcf = select(motifs, clusters=["CTCF"])
    return {
        "labels": np.r_[np.ones(len(summits), bool), np.zeros(len(shuffles), bool)],
        "plain": region_features(genome, regions, ctcf, P_VALUE)[:, 0],
        "gc": region_features(genome, regions, ctcf, P_VALUE, background="gc")[:, 0],
        "hits": np.array([len(scan_hits(s, ctcf, P_VALUE)) for s in sequences], float),
    }


def ctcf_table(motifs, n: int, intervals: int) -> dict:
    from getx.interpret.metrics import auroc, bootstrap_interval

    scores = ctcf_summit_scores(motifs, n)
    labels = scores["labels"]
    rows = []
    for label, key in (
        ("getx CTCF feature, GC-aware background (ours)", "gc"),
        ("getx CTCF feature, GET v1 background (ours)", "plain"),
        ("CTCF motif hit count, GET v1 background (baseline)", "hits"),
    ):
        low, high = bootstrap_interval(auroc, labels, scores[key], n=intervals)
        rows.append(
            [label, auroc(labels, scores[key]), [low, high], int(labels.sum()), len(labels)]
        )
    return {
        "title": f"CTCF ChIP-seq summits vs dinucleotide shuffles ({int(labels.sum())} each)",
        "columns": ["score", "AUROC", "95% bootstrap interval", "summits", "sequences"],
        "rows": rows,
    }


def hit_identity_table(motifs, seq: str) -> tuple[dict, dict]:
    """getx, MOODS and lightmotif on ``seq``: the table and getx's agreement record."""
    from bench.motif_scan import (
        hit_agreement,
        lightmotif_counts,
        moods_hits,
        moods_matrices,
        moods_thresholds,
        moods_version,
        run_moods,
    )
    from getx.motifs import encode, scan_arrays
    from getx.motifs.pvalues import strand_thresholds

    thresholds = strand_thresholds(motifs, P_VALUE)
    hits = scan_arrays(encode(seq), motifs, thresholds=thresholds)
    mats = moods_matrices(motifs)
    moods_thr = moods_thresholds(mats, motifs.background, P_VALUE)
    me, ms, mv = moods_hits(run_moods(mats, motifs.background, moods_thr, seq))
    agreement = hit_agreement(hits, len(motifs), me, ms, mv)
    agreement["thresholds_equal"] = int((moods_thr == thresholds).sum())
    moods_counts = np.bincount(me // 2, minlength=len(motifs))
    rows = [
        [
            "getx (ours)",
            agreement["thresholds_equal"],
            agreement["motifs_same_hit_count"],
            agreement["hits_getx"],
            agreement["hits_only_getx"],
            agreement["hits_only_moods"],
            agreement["max_abs_score_diff"],
        ],
        [f"MOODS {moods_version()} (reference)", None, None, len(me), None, None, None],
    ]
    try:
        import lightmotif

        counts = lightmotif_counts(motifs, thresholds, seq)
        rows.append(
            [
                f"lightmotif {lightmotif.__version__} (peer, float32, getx's thresholds)",
                None,
                int((counts == moods_counts).sum()),
                int(counts.sum()),
                None,
                None,
                None,
            ]
        )
    except ImportError:
        pass
    table = {
        "title": f"Hits of {len(motifs):,} GET v1 motifs (both strands, p < {P_VALUE:g}) in "
        f"hg38 chr2:1-{len(seq):,}",
        "columns": [
            "scanner",
            "strand thresholds equal to MOODS's",
            "motifs with MOODS's hit count",
            "hits",
            "hits MOODS lacks",
            "MOODS hits missed",
            "max abs score difference",
        ],
        "rows": rows,
    }
    return table, agreement


def run(work: Path, quick: bool) -> dict:
    from getx.motifs import load_motifs, select

    motifs = load_motifs(str(V1_MOTIFS))
    ctcf = ctcf_table(motifs, n=40 if quick else 500, intervals=50 if quick else 1000)
    seq = read_sequence(CHR2_PIECE)
    if quick:
        motifs = select(motifs, names=list(motifs.names[:20]))
        seq = seq[:200_000]
    identity, agreement = hit_identity_table(motifs, seq)
    gc, plain = ctcf["rows"][0][1], ctcf["rows"][1][1]
    return {
        "summary": f"CTCF ChIP-seq summits vs their dinucleotide shuffles: AUROC {gc:.3f} with "
        f"the GC-aware background, {plain:.3f} with GET's v1 background; getx's hits on hg38 "
        f"chr2 {'equal' if agreement['identical_hit_sets'] else 'differ from'} MOODS's "
        f"({agreement['hits_getx']:,} vs {agreement['hits_moods']:,} hits, max score "
        f"difference {agreement['max_abs_score_diff']}).",
        "tables": [ctcf, identity],
        "published": [],
        "notes": [
            "CTCF summits: GM12878 CTCF ChIP-seq, top 500 by signal, 200 bp around the summit "
            "(hg19; shared/data/genome/Gm12878.CTCF.top500.w200.fa); negatives: one "
            "Altschul-Erickson dinucleotide shuffle of each summit (seed 42), so GC and CpG "
            "content cannot separate them. Intervals: 1,000 bootstrap resamples of the "
            "sequences.",
            "Nothing is fitted here: the p-value (1e-4) is GET's and the scanner's default, the "
            "two backgrounds are the motif set's own and the sequences' pooled GC.",
            "Hit identity: a hit is (motif, strand, start); MOODS scans the forward and "
            "reverse-complement matrices with its own thresholds (threshold_from_p), lightmotif "
            "(float32 scores) uses getx's thresholds and reports counts only.",
        ],
    }
