"""The catalog on the simulator's truth, and duckdb queries at scale.

    python bench/catalog.py --demo DIR [--work DIR] [--runs 5] [--top-motifs 100]

truth: on a finished `getx demo --out DIR` (its finetuned model), the importance of every gene in
every cell type (``WORK/importance.zarr``, reused when there) and the catalog built from it with
the causal network computed as `getx catalog build` does (``--runs`` bootstrap runs over the
``--top-motifs`` most important motifs; ``WORK/catalog.parquet``, reused). Per cell type with a
planted cooperative pair (truth/tf_pairs.tsv, mapped to the store's clusters), the AUROC of the
catalog's score and of each piece of evidence alone against (1) every other cluster pair, (2)
the pairs of the clusters of the simulator's 24 TFs, (3) the pairs of the cell type's own
program TFs (role "specific", activity above 0.5 there), and the planted pair's rank. Beside
them, the alternatives tried when the score was chosen, and a reference that needs no model:
the two motifs' co-occurrence in the cell type's accessible regions (log of the observed over
the expected joint frequency). Then the catalog as the demo builds it (250 genes, a small
network: getx.demo.demo_catalog) on the same model.

demo step: the demo's catalog step from scratch beside the demo's prediction of every gene in
every cell type with the same model, in the same run.

queries: the catalog copied into many files (as if catalogued in batches of cell types) and
queried for one TF through duckdb (getx.catalog.query) beside pandas reading and filtering one
file at a time, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _ranks(values: np.ndarray) -> np.ndarray:
    return pd.Series(np.nan_to_num(values, nan=-np.inf)).rank().to_numpy() / len(values)


def evidence_columns(part: pd.DataFrame) -> dict[str, np.ndarray]:
    """The score, each piece of evidence alone and the alternatives tried."""
    spec_a, spec_b = part["specificity_a"].to_numpy(), part["specificity_b"].to_numpy()
    geo = np.sqrt(spec_a * spec_b)
    stability = part["stability"].to_numpy()
    r = part["co_importance"].to_numpy()
    strength = np.sqrt(part["importance_a"].to_numpy() * part["importance_b"].to_numpy())
    return {
        "score (catalog)": part["score"].to_numpy(),
        "network edge stability": stability,
        "network |edge weight|": np.abs(part["edge_weight"].to_numpy()),
        "co-importance r": r,
        "co-importance |r|": np.abs(r),
        "importance (geometric mean)": strength,
        "specificity (smaller of the two)": np.minimum(spec_a, spec_b),
        "score x (1 + stability)": geo * (1 + stability),
        "score x (1 + stability / 2)": geo * (1 + stability / 2),
        "score x (1 + |r|)": geo * (1 + np.abs(r)),
        "rank(score) + rank(stability)": _ranks(geo) + _ranks(stability),
    }


def cooccurrence(store, cell_type: str) -> np.ndarray:
    """(F, F) log(observed / expected) co-occurrence of motif hits in the cell type's open
    regions (a pseudo-count of 1e-4 on both frequencies)."""
    open_regions = np.asarray(store.cell_type(cell_type).accessibility_raw) > 0
    hits = (store.read_features()[open_regions] > 0).astype(np.float64)
    single = hits.mean(axis=0)
    joint = hits.T @ hits / len(hits)
    return np.log((joint + 1e-4) / (np.outer(single, single) + 1e-4))


def evaluate(table: pd.DataFrame, store, truth: dict, reference: bool = True) -> list[dict]:
    """Per cell type with a planted pair: AUROC of every evidence column against the three
    negative sets, and the planted pair's rank."""
    from getx.interpret.metrics import auroc

    activity = truth["tf_activity"]
    planted_tfs = set(activity["cluster"])
    rows = []
    for cell_type, pairs in truth["tf_pairs"].groupby("cell_type"):
        part = table[table["cell_type"] == cell_type].reset_index(drop=True)
        keys = [frozenset(p) for p in zip(part["cluster_a"], part["cluster_b"], strict=True)]
        truth_keys = {
            frozenset(p) for p in zip(pairs["cluster_a"], pairs["cluster_b"], strict=True)
        }
        label = np.array([k in truth_keys for k in keys])
        in_planted = part["cluster_a"].isin(planted_tfs) & part["cluster_b"].isin(planted_tfs)
        program = activity[(activity["role"] == "specific") & (activity[cell_type] > 0.5)]
        in_program = part["cluster_a"].isin(program["cluster"]) & part["cluster_b"].isin(
            program["cluster"]
        )
        columns = evidence_columns(part)
        if reference:
            index = {name: i for i, name in enumerate(store.feature_names)}
            lift = cooccurrence(store, cell_type)
            a = part["cluster_a"].map(index).to_numpy()
            b = part["cluster_b"].map(index).to_numpy()
            columns["motif co-occurrence in open regions (no model)"] = lift[a, b]
        for name, values in columns.items():
            top = np.nan_to_num(values, nan=-np.inf)
            rows.append(
                {
                    "cell_type": cell_type,
                    "planted": " / ".join(
                        f"{x.tf_a}-{x.tf_b} ({x.cluster_a}-{x.cluster_b})"
                        for x in pairs.itertuples()
                    ),
                    "evidence": name,
                    "auroc_all_pairs": auroc(label, values),
                    "auroc_planted_tf_pairs": auroc(label[in_planted], values[in_planted]),
                    "auroc_program_pairs": auroc(label[in_program], values[in_program]),
                    "program_pairs": int(in_program.sum()),
                    "pairs": len(part),
                    "rank": int((top > top[label].max()).sum()) + 1,
                }
            )
    return rows


def truth_part(args) -> dict:
    import torch

    from getx.catalog.build import CatalogSources, NetworkOptions, build_catalog, write_catalog
    from getx.demo import CATALOG_GENES, CATALOG_NETWORK, demo_catalog
    from getx.interpret.importance import importance, write_importance
    from getx.interpret.truth import read_truth
    from getx.store import open_store
    from getx.train.predict import load_model

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    demo, work = Path(args.demo), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    store = open_store(demo / "store.zarr")
    truth = read_truth(demo / "sim")
    predictor = load_model(demo / "runs" / "finetune")
    timings: dict[str, float] = {}
    interp = work / "importance.zarr"
    if not interp.exists():
        t0 = time.perf_counter()
        results = [importance(predictor, store, ct) for ct in store.cell_types]
        write_importance(interp, results, predictor.source, store)
        timings["importance, every gene, every cell type"] = round(time.perf_counter() - t0, 1)
    path = work / f"catalog_runs{args.runs}_top{args.top_motifs}.parquet"
    if not path.exists():
        t0 = time.perf_counter()
        options = NetworkOptions(runs=args.runs, top_motifs=args.top_motifs)
        table, metadata = build_catalog(CatalogSources(interp, store.path), options)
        write_catalog(table, metadata, path)
        timings["catalog build (networks included)"] = round(time.perf_counter() - t0, 1)
    full = pd.read_parquet(path)
    demo_dir = work / "demo_settings"
    demo_table = pd.read_parquet(demo_catalog(predictor, store, demo_dir, seed=0))
    return {
        "demo": str(demo),
        "network": {"runs": args.runs, "top_motifs": args.top_motifs},
        "pairs_per_cell_type": int((full["cell_type"] == full["cell_type"].iloc[0]).sum()),
        "rows": evaluate(full, store, truth),
        "demo_settings": {
            "genes": CATALOG_GENES,
            "network": CATALOG_NETWORK,
            "rows": evaluate(demo_table, store, truth, reference=False),
        },
        "timings_s": timings,
        "load_average": os.getloadavg()[0],
    }


def demo_step_part(args) -> dict:
    """The demo's catalog step from scratch, beside the demo's own prediction of every gene in
    every cell type with the same model (part of its "predict and evaluate" stage), same run."""
    from getx.demo import demo_catalog
    from getx.store import open_store
    from getx.train.predict import load_model

    demo = Path(args.demo)
    store = open_store(demo / "store.zarr")
    predictor = load_model(demo / "runs" / "finetune")
    folder = Path(args.work) / "demo_step"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    for cell_type in store.cell_types:
        predictor.predict(store, cell_type)
    predict = time.perf_counter() - t0
    t0 = time.perf_counter()
    demo_catalog(predictor, store, folder, seed=0)
    catalog = time.perf_counter() - t0
    shutil.rmtree(folder)
    return {
        "catalog_step_s": round(catalog, 1),
        "predict_every_gene_s": round(predict, 1),
        "ratio": round(catalog / predict, 2),
        "load_average": os.getloadavg()[0],
    }


def queries_part(args) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from getx.catalog.query import query_catalog

    work = Path(args.work)
    source = work / f"catalog_runs{args.runs}_top{args.top_motifs}.parquet"
    table = pd.read_parquet(source)
    folder = work / "many"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    metadata = pq.read_schema(source).metadata
    for k in range(args.copies):  # each copy stands for another batch of cell types
        part = table.assign(cell_type=table["cell_type"] + f"_{k:03d}")
        arrow = pa.Table.from_pandas(part, preserve_index=False)
        pq.write_table(arrow.replace_schema_metadata(metadata), folder / f"batch{k:03d}.parquet")
    tf = "NFYB"
    rows = len(table) * args.copies
    best = {"duckdb": np.inf, "pandas": np.inf}
    found = {}
    for _ in range(3):
        t0 = time.perf_counter()
        found["duckdb"] = len(query_catalog([folder], tf=tf))
        best["duckdb"] = min(best["duckdb"], time.perf_counter() - t0)
        t0 = time.perf_counter()
        hits = []  # one file at a time: all of them at once would not fit in memory
        for file in sorted(folder.glob("*.parquet")):
            part = pd.read_parquet(file)
            keep = part["tfs_a"].map(lambda g: tf in g) | part["tfs_b"].map(lambda g: tf in g)
            hits.append(part[keep])
        found["pandas"] = len(pd.concat(hits, ignore_index=True))
        best["pandas"] = min(best["pandas"], time.perf_counter() - t0)
    size = sum(f.stat().st_size for f in folder.glob("*.parquet"))
    shutil.rmtree(folder)
    return {
        "tf": tf,
        "files": args.copies,
        "rows": rows,
        "megabytes": round(size / 1e6, 1),
        "rows_found": found,
        "seconds": {k: round(v, 3) for k, v in best.items()},
        "speedup": round(best["pandas"] / best["duckdb"], 2),
        "load_average": os.getloadavg()[0],
    }


def _table(rows: list[dict], evidence: list[str] | None = None) -> list[str]:
    frame = pd.DataFrame(rows)
    if evidence is not None:
        frame = frame[frame["evidence"].isin(evidence)]
    lines = [
        "| evidence | cell type | planted pair | rank of pairs | AUROC vs all pairs | "
        "AUROC vs planted TFs' pairs | AUROC vs program pairs |",
        "|---|---|---|---|---|---|---|",
    ]
    order = list(dict.fromkeys(frame["evidence"]))
    for name in order:
        for row in frame[frame["evidence"] == name].itertuples():
            program = (
                "-" if np.isnan(row.auroc_program_pairs)
                else f"{row.auroc_program_pairs:.3f} (of {row.program_pairs})"
            )  # fmt: skip
            lines.append(
                f"| {name} | {row.cell_type} | {row.planted} | {row.rank} of {row.pairs} | "
                f"{row.auroc_all_pairs:.3f} | {row.auroc_planted_tf_pairs:.3f} | {program} |"
            )
    return lines


def _means(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    return frame.groupby("evidence", sort=False)[
        ["auroc_all_pairs", "auroc_planted_tf_pairs", "auroc_program_pairs"]
    ].mean()


def _markdown(result: dict) -> str:
    t, q = result["truth"], result.get("queries")
    lines = [
        "# Catalog benchmarks",
        "",
        f"`bench/catalog.py`, Python {platform.python_version()}; demo `{t['demo']}` (its "
        "finetuned small GET, seed 0). Load average at the end "
        f"{t['load_average']:.1f} on 2 cores (shared machine: compare ratios, not seconds).",
        "",
        "## Simulator truth: planted cooperative pairs",
        "",
        f"Importance of every gene in every cell type, {t['pairs_per_cell_type']:,} cluster "
        f"pairs per cell type, networks of {t['network']['runs']} bootstrap runs over the "
        f"{t['network']['top_motifs']} most important motifs. One planted pair per cell type "
        "(ct5 has none). Negatives: every other cluster pair; the pairs of the clusters of the "
        "simulator's 24 TFs; the pairs of the cell type's own program TFs (role specific, "
        "activity above 0.5; '-' where the planted pair is not among them). Ranks count pairs "
        "scoring strictly higher, plus one.",
        "",
        "Mean AUROC over the four cell types:",
        "",
        "| evidence | vs all pairs | vs planted TFs' pairs | vs program pairs |",
        "|---|---|---|---|",
    ]
    for name, row in _means(t["rows"]).iterrows():
        lines.append(
            f"| {name} | {row.auroc_all_pairs:.3f} | {row.auroc_planted_tf_pairs:.3f} | "
            f"{row.auroc_program_pairs:.3f} |"
        )
    lines += ["", "Per cell type:", "", *_table(t["rows"]), ""]
    d = t["demo_settings"]
    lines += [
        f"### As the demo builds it ({d['genes']} genes per cell type, network of "
        f"{d['network']['runs']} runs over {d['network']['top_motifs']} motifs)",
        "",
        *_table(d["rows"], ["score (catalog)", "network edge stability", "co-importance r"]),
        "",
    ]
    if t["timings_s"]:
        lines += [
            "Timings (s): "
            + ", ".join(f"{k} {v}" for k, v in t["timings_s"].items())
            + " (the steps this run computed; the rest were reused from the work folder).",
            "",
        ]
    step = result.get("demo_step")
    if step:
        lines += [
            "### The demo's catalog step",
            "",
            f"From scratch, in the same run: the catalog step (importance of {d['genes']} genes "
            f"in every cell type, the catalog) {step['catalog_step_s']} s; the demo's prediction "
            f"of every gene in every cell type with the same model {step['predict_every_gene_s']}"
            f" s; ratio {step['ratio']} (load average {step['load_average']:.1f}). The demo's "
            "whole prediction stage (GET, the MLP and the baselines) took 45.7 s of its 354 s on "
            "a quiet machine (bench/results/demo_accuracy.md); GET's prediction of every gene is "
            "about half of that stage (the baseline demo's stage took 460 s on this loaded "
            "machine, GET's prediction 224 s here), so the catalog step should add some 15-20 s "
            "to a quiet demo: an estimate across runs, not a measurement.",
            "",
        ]
    if q:
        lines += [
            "## Queries at scale",
            "",
            f"The catalog above copied into {q['files']} parquet files ({q['rows']:,} rows, "
            f"{q['megabytes']} MB), as if built in batches of cell types; every pair of TF "
            f"{q['tf']} (rows found: {q['rows_found']}), best of 3: duckdb "
            f"(`getx catalog query`) {q['seconds']['duckdb']} s, pandas reading and filtering one "
            f"file at a time {q['seconds']['pandas']} s ({q['speedup']}x); pandas reading all "
            "files at once ran past 8 GB of memory and was stopped.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", required=True, help="a finished `getx demo --out DIR`")
    parser.add_argument("--work", default="/tmp/getx_bench_catalog")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top-motifs", type=int, default=100)
    parser.add_argument("--copies", type=int, default=20, help="catalog files for the queries")
    args = parser.parse_args()
    result = {
        "truth": truth_part(args),
        "demo_step": demo_step_part(args),
        "queries": queries_part(args),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "catalog.json").write_text(json.dumps(result, indent=1, default=float))
    (RESULTS / "catalog.md").write_text(_markdown(result) + "\n")
    sys.stdout.write(_markdown(result) + "\n")


if __name__ == "__main__":
    main()
