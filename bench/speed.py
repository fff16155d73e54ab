"""Speed, as ratios to peers measured in the same run: motif scanning (MOODS, lightmotif),
per-peak motif features (MOODS's scan of the same peaks), a training step (GET's reference
implementation, GET-Foundation/get_model, when a checkout is given) and gradient x input
interpretation (batched against the per-gene loop GET's reference code runs).

Seconds depend on the machine and, on a shared one, on its load; the ratios are what carry
over. The standalone scripts (``bench/motif_scan.py``, ``region_features.py``,
``train_step.py``, ``interpret.py speed``) measure more (threads, FIMO, thresholds, memory); this
module reuses their functions so the figures are the same measurement.

The reference training step needs a get_model checkout in ``$GETX_BENCH_REFERENCE`` and its
dependencies importable (timm, hydra-core, omegaconf; see ``bench/train_step.py``); without it
the table says so and lists getx alone.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bench._data import BCELL, CHR2_PIECE, V1_MOTIFS, missing, read_sequence

NAME = "speed"
TITLE = "Speed against peers (MOODS, lightmotif, GET's reference code), same run"
P_VALUE = 1e-4


def available() -> str | None:
    return missing(CHR2_PIECE, V1_MOTIFS / "nrmotif_v1.json", BCELL / "test.atac.bed.gz")


def motif_scan_table(quick: bool) -> dict:
    """getx (1 numba thread), MOODS and lightmotif on the chr2 piece: CPU seconds and ratios."""
    import numba

    from bench.motif_scan import (
        lightmotif_counts,
        moods_matrices,
        moods_thresholds,
        moods_version,
        rates,
        run_moods,
        timed,
    )
    from getx.motifs import encode, load_motifs, scan_arrays, select
    from getx.motifs.pvalues import strand_thresholds

    motifs = load_motifs(str(V1_MOTIFS))
    seq = read_sequence(CHR2_PIECE)
    if quick:
        motifs = select(motifs, names=list(motifs.names[:20]))
        seq = seq[:200_000]
    thresholds = strand_thresholds(motifs, P_VALUE)
    codes = encode(seq)
    scan_arrays(codes[:20_000], motifs, thresholds=thresholds)  # compile, build tables
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    _, wall, cpu = timed(lambda: scan_arrays(codes, motifs, thresholds=thresholds), 2)
    numba.set_num_threads(threads)
    measured = {"getx 1 thread (ours)": rates(len(seq), len(motifs), wall, cpu)}
    try:
        mats = moods_matrices(motifs)
        moods_thr = moods_thresholds(mats, motifs.background, P_VALUE)
        _, wall, cpu = timed(lambda: run_moods(mats, motifs.background, moods_thr, seq))
        measured[f"MOODS {moods_version()} (peer)"] = rates(len(seq), len(motifs), wall, cpu)
    except ImportError:
        pass
    try:
        import lightmotif

        _, wall, cpu = timed(lambda: lightmotif_counts(motifs, thresholds, seq))
        measured[f"lightmotif {lightmotif.__version__} (peer)"] = rates(
            len(seq), len(motifs), wall, cpu
        )
    except ImportError:
        pass
    ours = measured["getx 1 thread (ours)"]["cpu_s"]
    return {
        "title": f"Motif scan: {len(motifs):,} GET v1 motifs, both strands, p < {P_VALUE:g}, "
        f"hg38 chr2:1-{len(seq):,}",
        "columns": ["scanner", "CPU s", "wall s", "bp x motifs per CPU s", "CPU s / getx's"],
        "rows": [
            [
                name,
                r["cpu_s"],
                r["wall_s"],
                r["bp_motifs_per_cpu_s"],
                r["cpu_s"] / ours,
            ]
            for name, r in measured.items()
        ],
    }


def region_table(quick: bool) -> dict:
    from bench.region_features import MOTIF_SETS, measure
    from getx.motifs import load_motifs, select

    sets: dict = dict(MOTIF_SETS)
    if quick:  # the first 50 GET v1 motifs
        v1 = load_motifs(str(V1_MOTIFS))
        sets = {"GET v1 (first 50 motifs)": select(v1, names=list(v1.names[:50]))}
    rows = measure(sets, n_peaks=30 if quick else 1000, rounds=1 if quick else 5)
    return {
        "title": f"Per-peak motif features: {rows[0]['mean_width_bp'] if rows else 0:.0f}-bp "
        "B-cell peak widths and 500 bp, placed in hg38 chr2:1-2,333,275, 1 numba thread",
        "columns": [
            "motifs",
            "peaks",
            "getx CPU s per 1,000 peaks (ours)",
            "MOODS scan only, CPU s per 1,000 (peer)",
            "MOODS / getx",
        ],
        "rows": [
            [
                r["motifs"],
                f"{r['peaks']} (mean {r['mean_width_bp']:.0f} bp)",
                r["getx_cpu_s_per_1000"],
                r["moods_scan_cpu_s_per_1000"],
                None
                if r["moods_scan_cpu_s_per_1000"] is None
                else r["moods_scan_cpu_s_per_1000"] / r["getx_cpu_s_per_1000"],
            ]
            for r in rows
        ],
    }


def train_table(quick: bool) -> tuple[dict, list[str]]:
    from bench.train_step import compare

    reference = os.environ.get("GETX_BENCH_REFERENCE")
    presets = ["small"] if quick else ["paper", "small"]
    steps, warmup, repeat = (1, 1, 1) if quick else (5, 2, 2)
    results, notes = compare(presets, steps, warmup, repeat, reference)
    getx = {r["preset"]: r for r in results if r["impl"] == "getx" and "error" not in r}
    rows = []
    for r in results:
        ours = r["impl"] == "getx"
        label = "getx (ours)" if ours else "GET reference, get_model (peer)"
        if "error" in r:
            rows.append([label, r["preset"], None, None, None, None, None])
            notes.append(f"{label} {r['preset']} failed: {r['error']}")
            continue
        base = getx.get(r["preset"])
        rows.append(
            [
                label,
                r["preset"],
                r["parameters"],
                r["seconds_per_step"],
                r["cpu_seconds_per_step"],
                r["peak_rss_gib"],
                r["seconds_per_step"] / base["seconds_per_step"] if base else None,
            ]
        )
    table = {
        "title": "Training step: zero_grad + forward + Poisson NLL + backward + AdamW, "
        "8 windows x 200 regions x 283 features, fp32, each measurement in its own process",
        "columns": [
            "implementation",
            "preset",
            "parameters",
            "s per step",
            "CPU s per step",
            "peak RSS GiB",
            "time / getx's",
        ],
        "rows": rows,
    }
    return table, notes


def interpretation_table(work: Path, quick: bool) -> tuple[dict, str]:
    """Gradient x input on the B-cell chr2 piece store (GET's 282 v1 features + accessibility:
    GET's input width), random weights (speed does not depend on them)."""
    from bench import interpret
    from bench._data import bcell_chr2_inputs
    from getx.prepare import prepare

    store = work / "bcell_chr2_v1.zarr"
    if not store.exists():
        inputs, _ = bcell_chr2_inputs(work / "inputs")
        prepare(inputs, store)
    args = argparse.Namespace(
        store=str(store), targets=4 if quick else 64, threads=1, batch_size=32,
        repeats=1 if quick else 3,
    )  # fmt: skip
    result = interpret.speed(args)
    rows = [
        [
            r["preset"],
            r.get("torch_threads", result["torch_threads"]),
            r["regions_per_window"],
            r["features"],
            r["tss_targets"],
            r["tss_per_s_batched"],
            r["tss_per_s_per_gene_loop"],
            r["speedup"],
            r["region_knockouts_per_s"],
        ]
        for r in result["rows"]
    ]
    table = {
        "title": "Gradient x input interpretation: batched (getx) vs one TSS at a time (as GET's "
        "reference code interprets), same model and inputs",
        "columns": [
            "preset",
            "torch threads",
            "regions per window",
            "features",
            "TSSs",
            "TSS/s batched (ours)",
            "TSS/s per-gene loop (reference approach)",
            "batched / loop",
            "region knock-outs/s (ours)",
        ],
        "rows": rows,
    }
    return table, f"load average {result['load_average_at_end']:.1f} at the end of it"


def recorded_ratios_table(results: Path) -> dict | None:
    """The time ratios that ``bench/input_checks.py`` and ``bench/store_integrity.py`` recorded in
    ``results`` (quoted from their records, not measured in this run); None when neither has
    one."""
    rows = []
    checks = results / "input_checks.json"
    if checks.exists():
        record = json.loads(checks.read_text())
        for name, ratio in record.get("ratios", {}).items():
            rows.append(["input_checks.py", name, ratio, record.get("when")])
    integrity = results / "store_integrity.json"
    if integrity.exists():
        record = json.loads(integrity.read_text())
        for key, label in (
            ("open_ratio", "open a store + region/gene reads, checked / unchecked"),
            ("read_ratio", "read every array, checked / unchecked"),
            ("manifest_share_of_write", "manifest's share of a 200k-region store's write"),
        ):
            if key in record:
                rows.append(["store_integrity.py", label, record[key], None])
    if not rows:
        return None
    return {
        "title": "Recorded by the standalone scripts (quoted from bench/results/*.json, not "
        "measured in this run): getx's time over its peer's (each peer in the script's .md)",
        "columns": ["script", "measurement", "ratio", "recorded"],
        "rows": rows,
    }


def run(work: Path, quick: bool) -> dict:
    scan = motif_scan_table(quick)
    regions = region_table(quick)
    train, train_notes = train_table(quick)
    interpretation, load = interpretation_table(work, quick)
    recorded = recorded_ratios_table(Path(__file__).resolve().parent / "results")
    ratios = {row[0]: row[4] for row in scan["rows"]}
    moods = next((v for k, v in ratios.items() if k.startswith("MOODS")), None)
    light = next((v for k, v in ratios.items() if k.startswith("lightmotif")), None)
    reference = [r for r in train["rows"] if r[0].startswith("GET reference") and r[6]]
    batched = [r[7] for r in interpretation["rows"]]
    summary = (
        f"Motif scan: MOODS takes {_ratio(moods)} and lightmotif {_ratio(light)} getx's CPU "
        "time; training step: "
        + (
            ", ".join(f"GET's reference {r[6]:.2f}x getx's time ({r[1]})" for r in reference)
            if reference
            else "reference not measured"
        )
        + f"; batched interpretation {', '.join(f'{b:.1f}x' for b in batched)} the per-gene loop."
    )
    return {
        "summary": summary,
        "tables": [scan, regions, train, interpretation, *([recorded] if recorded else [])],
        "published": [],
        "notes": [
            "Ratios are measured side by side in one run; on a shared machine seconds vary with "
            "co-tenants' load, so compare within a table.",
            "Motif scan: getx single-threaded (numba) after its tables are built; MOODS 1.9.4 "
            "(C++, one thread, its scanner set-up included) and lightmotif (SIMD, float32) with "
            "the same thresholds; hit identity is in the motif_real benchmark.",
            *train_notes,
            "Interpretation store: the B-cell-like peaks of hg38 chr2:1-2,333,275 with GET's "
            f"v1 motif features; random weights; {load}.",
        ],
    }


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}x"
