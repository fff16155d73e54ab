"""Benchmark: getx's motif scanner against MOODS (ground truth) and lightmotif.

Real hg38 chr2:1-2,333,275 (first 10 kb N), GET's 2,174 v1 motifs, both strands, p < 1e-4
against the motifs' own background (A/T 0.2977, C/G 0.2023). Throughput is bp x motifs / s
(both strands scanned; the motif count is not doubled), wall and CPU time (all threads). Hits
are compared per motif with MOODS's (scanned with MOODS's own thresholds, forward and reverse-
complement matrices). Writes bench/results/motif_scan.json and .md.

    python bench/motif_scan.py [--subset N] [--p 1e-4]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import platform
import time
from pathlib import Path

import numpy as np

from getx.io.files import atomic_output
from getx.motifs import encode, load_motifs, scan_arrays, select, strand_thresholds

log = logging.getLogger("bench.motif_scan")
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GETX_SHARED_DATA", ROOT.parent / "shared" / "data"))


def read_fasta_gz(path: Path) -> str:
    with gzip.open(path, "rt") as fh:
        return "".join(line.strip() for line in fh if not line.startswith(">"))


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subset", type=int, default=0, help="first N motifs only (quick run)")
    ap.add_argument("--p", type=float, default=1e-4)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "motif_scan")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    motifs = load_motifs(DATA / "motifs")
    if args.subset:
        motifs = select(motifs, names=list(motifs.names[: args.subset]))
    seq = read_fasta_gz(DATA / "genome" / "chr2_1-2333275.fa.gz")
    n_bp, n_m = len(seq), len(motifs)
    bg = motifs.background
    res: dict = {
        "sequence": "hg38 chr2:1-2,333,275",
        "bp": n_bp,
        "motifs": n_m,
        "p_value": args.p,
        "background": bg.tolist(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    os.environ.setdefault("GETX_CACHE_DIR", str(Path("/tmp") / "getx_bench_cache"))

    thr, w, c = timed(lambda: strand_thresholds(motifs, args.p, use_cache=False))
    res["getx_thresholds_s"] = {"wall": w, "cpu": c}
    codes = encode(seq)
    scan_arrays(codes[:20000], motifs, thresholds=thr)  # compile / load kernels
    hits, w, c = timed(lambda: scan_arrays(codes, motifs, thresholds=thr))
    ours_counts = np.bincount(hits["motif"], minlength=n_m)
    res["getx"] = {
        "wall_s": w,
        "cpu_s": c,
        "bp_motifs_per_s_wall": n_bp * n_m / w,
        "bp_motifs_per_s_cpu": n_bp * n_m / c,
        "hits": len(hits["motif"]),
        "threads": _threads(),
        "hits_in_first_10kb_N": int((hits["start"] < 10000).sum()),
    }
    log.info("getx: %.1f s wall, %.1f s CPU, %d hits", w, c, len(hits["motif"]))

    try:
        import MOODS.scan
        import MOODS.tools

        mats, _names = [], []
        for m in motifs.matrices:
            fwd = m.T.tolist()
            mats += [fwd, MOODS.tools.reverse_complement(fwd)]
        mthr, w, c = timed(
            lambda: [MOODS.tools.threshold_from_p(m, bg.tolist(), args.p) for m in mats]
        )
        mthr = np.array(mthr).reshape(-1, 2)
        res["moods_thresholds_s"] = {"wall": w, "cpu": c}
        res["thresholds_equal_moods"] = int((mthr == thr).sum())
        res["thresholds_total"] = int(thr.size)
        res["thresholds_max_abs_diff"] = float(np.abs(mthr - thr).max())
        res["motifs_with_threshold_le_0"] = int((thr[:, 0] <= 0).sum())

        def run_moods():
            scanner = MOODS.scan.Scanner(7)
            scanner.set_motifs(mats, bg.tolist(), mthr.reshape(-1).tolist())
            return scanner.scan(seq)

        mres, w, c = timed(run_moods)
        me, ms, mv = [], [], []
        for e, lst in enumerate(mres):
            for h in lst:
                me.append(e)
                ms.append(h.pos)
                mv.append(h.score)
        me, ms, mv = np.array(me), np.array(ms, dtype=np.int64), np.array(mv)
        moods_counts = np.bincount(me // 2, minlength=n_m)
        res["moods"] = {
            "version": getattr(MOODS, "__version__", "1.9.4.1"),
            "wall_s": w,
            "cpu_s": c,
            "bp_motifs_per_s_wall": n_bp * n_m / w,
            "bp_motifs_per_s_cpu": n_bp * n_m / c,
            "hits": len(me),
            "threads": 1,
            "hits_in_first_10kb_N": int((ms < 10000).sum()),
        }
        ours_e = hits["motif"].astype(np.int64) * 2 + hits["strand"]
        ours_set = set(zip(ours_e.tolist(), hits["start"].tolist(), strict=True))
        moods_set = set(zip(me.tolist(), ms.tolist(), strict=True))
        # Scores: MOODS sums in its own column order; compare on the shared hits.
        o = np.lexsort((ours_e, hits["start"]))
        m_ = np.lexsort((me, ms))
        same_len = len(o) == len(m_)
        res["agreement"] = {
            "motifs_same_hit_count": int((ours_counts == moods_counts).sum()),
            "motifs_total": n_m,
            "hits_only_getx": len(ours_set - moods_set),
            "hits_only_moods": len(moods_set - ours_set),
            "identical_hit_sets": ours_set == moods_set,
            "max_abs_score_diff": float(np.abs(hits["score"][o] - mv[m_]).max())
            if same_len and ours_set == moods_set and len(o)
            else None,
        }
        log.info("MOODS: %.1f s, %d hits; agreement %s", w, len(me), res["agreement"])
    except ImportError as e:
        res["moods"] = f"missing: {e}"

    try:
        import lightmotif

        def run_lightmotif():
            striped = lightmotif.stripe(seq.upper())
            counts = np.zeros(n_m, dtype=np.int64)
            for i, m in enumerate(motifs.matrices):
                for strand, mat in enumerate((m, m[::-1, ::-1])):
                    values = {b: mat[:, j].tolist() for j, b in enumerate("ACGT")}
                    values["N"] = [-1e9] * mat.shape[0]
                    pssm = lightmotif.ScoringMatrix(values)
                    t = float(thr[i, strand])
                    counts[i] += sum(1 for _ in lightmotif.scan(pssm, striped, threshold=t))
            return counts

        lcounts, w, c = timed(run_lightmotif)
        res["lightmotif"] = {
            "version": lightmotif.__version__,
            "wall_s": w,
            "cpu_s": c,
            "bp_motifs_per_s_wall": n_bp * n_m / w,
            "bp_motifs_per_s_cpu": n_bp * n_m / c,
            "hits": int(lcounts.sum()),
            "motifs_same_hit_count_as_moods": int((lcounts == moods_counts).sum())
            if isinstance(res.get("moods"), dict)
            else None,
            "note": "float32 scores, same thresholds as getx; N column set to -1e9",
        }
        log.info("lightmotif: %.1f s, %d hits", w, lcounts.sum())
    except ImportError as e:
        res["lightmotif"] = f"missing: {e}"
    except Exception as e:  # a peer failing must not lose the other figures
        res["lightmotif"] = f"failed: {type(e).__name__}: {e}"

    out = (
        args.out if not args.subset else args.out.with_name(args.out.name + f".subset{args.subset}")
    )
    with atomic_output(out.parent / (out.name + ".json")) as tmp:
        tmp.write_text(json.dumps(res, indent=2) + "\n")
    with atomic_output(out.parent / (out.name + ".md")) as tmp:
        tmp.write_text(_markdown(res))
    log.info("wrote %s(.json/.md)", out)


def _threads() -> int:
    import numba

    return numba.get_num_threads()


def _markdown(res: dict) -> str:
    lines = [
        "# Motif scan benchmark",
        "",
        f"{res['sequence']} ({res['bp']:,} bp), {res['motifs']:,} motifs (GET v1), both strands, "
        f"p < {res['p_value']:g}, background {res['background']}. "
        f"Machine: {res['machine']['cpus']} CPUs.",
        "",
        "| scanner | threads | wall s | CPU s | bp x motifs / s (wall) | hits |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("getx", "moods", "lightmotif"):
        r = res.get(name)
        if isinstance(r, dict):
            lines.append(
                f"| {name} | {r.get('threads', 1)} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
                f"{r['bp_motifs_per_s_wall']:.3g} | {r['hits']:,} |"
            )
        else:
            lines.append(f"| {name} | {r} | | | | |")
    if "agreement" in res:
        a = res["agreement"]
        lines += [
            "",
            f"Thresholds equal to MOODS's: {res['thresholds_equal_moods']}/"
            f"{res['thresholds_total']} (max diff {res['thresholds_max_abs_diff']:g}).",
            f"Per-motif hit counts equal to MOODS: {a['motifs_same_hit_count']}/"
            f"{a['motifs_total']};"
            f" identical hit sets: {a['identical_hit_sets']} (only getx {a['hits_only_getx']}, "
            f"only MOODS {a['hits_only_moods']}); max |score diff| {a['max_abs_score_diff']}.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
