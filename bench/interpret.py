"""Interpretation benchmarks: speed and recovery of the simulator's truth. Each part adds its
section to bench/results/interpret.{json,md}. (The real-data enhancer-gene benchmark, ENCODE
CRISPRi K562 pairs, is ``bench/enhancer_links.py``, run by ``python -m bench``.)

    python bench/interpret.py speed --store STORE [--targets 64]
    python bench/interpret.py truth --demo DIR      # a finished `getx demo --out DIR`
    python bench/interpret.py ensemble --demo DIR   # the same links, averaged over seed runs
    python bench/interpret.py oracle --demo DIR --out DIR2  # the demo on exact motif features

speed: gradient x input importance in TSSs per second for the ``small`` and ``paper`` presets
(random weights: speed does not depend on them), batched (32 windows per forward + backward) vs
a per-gene loop (one window per forward + backward, as GET's reference interpreted), in the
same run on the same targets; and region knock-outs per second (batched forwards).

truth: on the demo's held-out chromosome (genes never trained on), every cell type:
enhancer-gene AUPRC / precision at 70% recall / AUROC of every link score and of distance alone
(positives: truth links with effect >= 0.05 of the gene's drive); knocking out each gene's true
enhancers vs as many random accessible regions of its window; knocking out each planted TF
(AUROC of the decrease for its true target genes, tf_gene fraction >= 0.05); and the causal
network's ranking of the planted cooperative TF pairs against all other cluster pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
# the oracle part's scores with each region's reads replaced by its true openness
EXACT_READS = {"abc": "abc on exact reads", "get_abc": "get_abc with abc on exact reads"}
# (TF, cell type) cases with fewer true targets give AUROCs of 0 or 1 from one or two genes: the
# mean within TFs is also reported over the TFs with at least this many
TF_MIN_TARGETS = 10


def _link_scores(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each link score as 'higher = more likely a link'."""
    return {
        "importance": table["importance"].to_numpy(),
        "importance_signed": table["importance_signed"].to_numpy(),
        "knockout decrease": -table["knockout"].to_numpy(),
        "abc": table["abc"].to_numpy(),
        "get_abc": table["get_abc"].to_numpy(),
    }


# --- speed --------------------------------------------------------------------------------------


def _random_predictor(store, preset: str, regions: int):
    import torch

    from getx.model import GETModel
    from getx.model import preset as make
    from getx.train.config import DataConfig
    from getx.train.predict import Predictor

    torch.manual_seed(0)
    F = len(store.feature_names)
    model = GETModel(make(preset, F + 1, distance_buckets=32)).eval()
    config = DataConfig(regions=regions, accessibility="linear")
    hparams = {
        "data": {k: getattr(config, k) for k in config.__dataclass_fields__},
        "feature_names": list(store.feature_names),
        "scaling": np.maximum(store.read_features().max(axis=0), 1e-6).tolist(),
    }
    return Predictor(model=model, hparams=hparams, source=Path(f"random {preset}"))


def _gflop_per_target(predictor, inputs, targets) -> float:
    """Floating-point work of one target's forward and backward pass (matrix products, which
    dominate), counted by torch's FLOP counter on the first target."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x_np, pad, positions = inputs.batch(targets.rows[:1])
    leaf = torch.from_numpy(x_np).requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        x = leaf * 1.0  # the counter cannot follow a backward into a leaf
        pred = predictor.model(x, torch.from_numpy(pad), positions=torch.from_numpy(positions))
        torch.autograd.grad(pred[0, int(targets.focus[0]), int(targets.strand[0])], x)
    return counter.get_total_flops() / 1e9


def _gradient_rates(predictor, inputs, targets, batch_sizes, repeats: int) -> dict[int, float]:
    """Targets per second of :func:`gradients` at each batch size: the batch sizes take turns,
    ``repeats`` times, and each keeps its median (the machine's load drifts; turns share it)."""
    from getx.interpret.context import gradients

    for batch in batch_sizes:  # warm up
        for _ in gradients(predictor, inputs, targets, batch):
            break
    rates: dict[int, list[float]] = {batch: [] for batch in batch_sizes}
    for _ in range(repeats):
        for batch in batch_sizes:
            t0 = time.perf_counter()
            for _ in gradients(predictor, inputs, targets, batch):
                pass
            rates[batch].append(len(targets) / (time.perf_counter() - t0))
    return {batch: float(np.median(values)) for batch, values in rates.items()}


def speed(args) -> dict:
    """Batched vs per-gene-loop gradient x input, same model code and threads, side by side."""
    import torch

    from getx.interpret.context import Targets, cell_type_context, forward
    from getx.store import open_store

    threads = getattr(args, "threads", 1)
    batch_size = getattr(args, "batch_size", 32)
    repeats = getattr(args, "repeats", 3)
    store = open_store(args.store)
    cell_type = store.cell_types[0]
    rows = []
    cases = [("small", 100, args.targets, threads), ("paper", 200, args.targets // 4, threads)]
    if threads != (os.cpu_count() or 1):
        # the same comparison with a thread per core, as torch defaults to: on a shared machine
        # its threads wait for each other at every operation (see docs/interpret.md)
        cases.append(("small", 100, max(args.targets // 4, 1), os.cpu_count() or 1))
    for preset, regions, n, n_threads in cases:
        torch.set_num_threads(n_threads)
        predictor = _random_predictor(store, preset, regions)
        context = cell_type_context(predictor, store, cell_type)
        targets = context.targets
        pick = np.arange(min(n, len(targets)))
        sub = Targets(
            targets.region[pick], targets.strand[pick], targets.rows[pick], targets.focus[pick]
        )
        gflop = _gflop_per_target(predictor, context.inputs, sub)
        rate = _gradient_rates(predictor, context.inputs, sub, (batch_size, 1), repeats)
        ko_rows = sub.rows[np.repeat(np.arange(len(sub)), 4)]
        ko_focus = sub.focus[np.repeat(np.arange(len(sub)), 4)]
        zero = np.tile(np.arange(4), len(sub))
        forward(predictor, context.inputs, ko_rows[:32], ko_focus[:32], zero[:32])
        t0 = time.perf_counter()
        forward(predictor, context.inputs, ko_rows, ko_focus, zero, batch_size=batch_size)
        knockouts = len(ko_rows) / (time.perf_counter() - t0)
        rows.append(
            {
                "preset": preset,
                "torch_threads": n_threads,
                "regions_per_window": regions,
                "features": len(store.feature_names) + 1,
                "tss_targets": len(sub),
                "batch_size": batch_size,
                "gflop_per_tss": round(gflop, 2),
                "tss_per_s_batched": round(rate[batch_size], 2),
                "tss_per_s_per_gene_loop": round(rate[1], 2),
                "speedup": round(rate[batch_size] / rate[1], 2),
                "gflop_per_s_batched": round(gflop * rate[batch_size], 1),
                "gflop_per_s_per_gene_loop": round(gflop * rate[1], 1),
                "region_knockouts_per_s": round(knockouts, 1),
            }
        )
        print(rows[-1], flush=True)
    torch.set_num_threads(threads)
    return {
        "store": str(store.path),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "torch_threads": threads,
        "repeats": repeats,
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg()[0],
        "rows": rows,
    }


# --- simulator truth ----------------------------------------------------------------------------


def _contact_weighted_motifs(context) -> np.ndarray:
    """(targets, F) a model-free TF -> gene score: each motif feature over the accessible regions
    of the target's window, weighted by ABC's activity x contact (reads x power law), the
    weights of a window summing to 1. The TF knock-out's baseline, as distance is the links'."""
    from getx.interpret.links import PowerLaw

    inputs, targets = context.inputs, context.targets
    raw = np.nan_to_num(
        np.asarray(context.store.cell_type(context.cell_type).accessibility_raw, float)
    )
    rows = np.maximum(targets.rows, 0)
    open_rows = (targets.rows >= 0) & inputs.accessible[rows]
    distance = inputs.centres[rows] - inputs.centres[targets.region][:, None]
    weight = np.where(open_rows, raw[rows] * PowerLaw()(distance), 0.0)
    weight /= np.maximum(weight.sum(axis=1, keepdims=True), 1e-12)
    return np.einsum("nr,nrf->nf", weight, inputs.features[rows])


def _pair_ranking(net, matrix, pairs, clusters, feature_names) -> dict:
    """Where the planted cooperative pairs rank among all cluster pairs, by the network's edge
    stability and by |correlation| of the matrix's columns."""
    from getx.interpret.metrics import auroc

    scores = net.pair_scores()
    corr = np.nan_to_num(np.abs(np.corrcoef(np.asarray(matrix, dtype=np.float64).T)))
    F = len(feature_names)
    label = np.zeros((F, F), bool)
    for a, b in pairs:
        label[a, b] = label[b, a] = True
    upper = np.triu_indices(F, 1)
    planted = np.array(sorted(set(clusters.values())))
    sub = np.ix_(planted, planted)
    sub_upper = np.triu_indices(len(planted), 1)
    return {
        "pairs": [[feature_names[a], feature_names[b]] for a, b in pairs],
        "pair_stability": [float(scores[a, b]) for a, b in pairs],
        "pair_rank_by_stability": [int((scores[upper] > scores[a, b]).sum()) + 1 for a, b in pairs],
        "pair_abs_correlation": [float(corr[a, b]) for a, b in pairs],
        "cluster_pairs": len(upper[0]),
        "auroc_vs_all_cluster_pairs": auroc(label[upper], scores[upper]),
        "auroc_vs_pairs_of_planted_tf_clusters": auroc(
            label[sub][sub_upper], scores[sub][sub_upper]
        ),
        "correlation_auroc_vs_all_cluster_pairs": auroc(label[upper], corr[upper]),
        "edges_stability_0.5": int((net.stability >= 0.5).sum()),
    }


def _sim_config(sim_dir: Path):
    """The simulator's settings of a simulated folder (its manifest)."""
    from getx.simulate.config import SimConfig

    manifest = json.loads((sim_dir / "manifest.json").read_text())
    return SimConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in manifest["config"].items()}
    )


def _region_truth(links: pd.DataFrame, store, facts: dict, quantity: str) -> np.ndarray:
    """The truth's ``<quantity>_<cell type>`` (``activity``: h, ``opening``: o) of each row's
    region in the row's cell type; 0 for a region the truth lacks."""
    from getx.interpret.truth import region_ids

    truth = facts["regions"].set_index("region_id")
    ids = region_ids(store, facts["regions"])[links["region"].to_numpy()]
    values = np.zeros(len(links))
    for cell_type, part in links.groupby("cell_type", sort=False):
        rows = part.index.to_numpy()
        values[rows] = truth[f"{quantity}_{cell_type}"].reindex(ids[rows]).fillna(0).to_numpy()
    return values


def _window_share(links: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    """``values`` over their sum in the row's gene window (TSS region included), as ``abc``."""
    group = (
        links.groupby(["cell_type", "gene_id", "strand", "tss_region"], sort=False)
        .ngroup()
        .to_numpy()
    )
    total = np.bincount(group, weights=values)[group]
    return values / np.where(total > 0, total, 1.0)


def _link_ceilings(links: pd.DataFrame, store, facts: dict, sim_dir: Path) -> dict[str, np.ndarray]:
    """Scores built from the simulator's truth (no model) for the non-TSS rows of ``links``,
    each shared out over the gene row's window like ``abc`` (TSS region in the sum): how far
    reads and a perfect reading of the rest can go on these pairs."""
    from getx.simulate.regulation import contact

    law = contact(_sim_config(sim_dir), links["distance"].to_numpy())
    reads = links["accessibility"].to_numpy(dtype=np.float64)
    activity = _region_truth(links, store, facts, "activity")
    opening = _region_truth(links, store, facts, "opening")
    active_share = np.divide(activity, opening, out=np.zeros(len(links)), where=opening > 0)
    keep = ~links["is_tss"].to_numpy()
    return {
        name: _window_share(links, values)[keep]
        for name, values in (
            ("reads x the simulator's contact law", reads * law),
            ("reads x true active share (h/o) x contact law", reads * active_share * law),
            ("true activity (h) x contact law", activity * law),
        )
    }


def truth(args) -> dict:
    import torch

    from getx.interpret.context import cell_type_context, forward
    from getx.interpret.importance import importance_of
    from getx.interpret.links import knockouts, link_table
    from getx.interpret.metrics import auroc, ranking_summary
    from getx.interpret.network import SAMPLES, causal_network, motif_matrix
    from getx.interpret.perturb import scale_motifs
    from getx.interpret.truth import (
        TF_FRACTION,
        link_benchmark,
        link_labels,
        pair_labels,
        read_truth,
        tf_clusters,
    )
    from getx.store import open_store
    from getx.train.predict import load_model

    torch.set_num_threads(getattr(args, "threads", 1))
    demo = Path(args.demo)
    summary = json.loads((demo / "summary.json").read_text())
    store = open_store(demo / "store.zarr")
    predictor = load_model(demo / "runs" / "finetune")
    facts = read_truth(demo / "sim")
    held_chroms, held_cells = summary["holdout_chroms"], summary["holdout_cell_types"]
    gene_chrom = store.regions["chrom"].to_numpy()[store.genes["region"].to_numpy()]
    held_genes = sorted(set(store.genes["gene_id"][np.isin(gene_chrom, held_chroms)]))
    if args.limit:  # a quick smoke run
        held_genes = held_genes[: args.limit]
    clusters = tf_clusters(facts, store.feature_names)
    all_links, ko_rows, tf_rows, network_rows = [], [], [], []
    timings = {}
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    # held-out cell types first, so that a run summarised part-way (--cached-only) has both groups
    order = sorted(store.cell_types, key=lambda name: name not in held_cells)
    for cell_type in order:
        index = store.cell_types.index(cell_type)  # the cell type's seed, whatever the order
        # each cell type is kept as it finishes, so an interrupted run resumes
        cache = work / f"truth_{cell_type}{'_limit' if args.limit else ''}.pkl"
        if cache.exists():
            saved = pickle.loads(cache.read_bytes())
            all_links.append(saved["links"])
            ko_rows += saved["ko"]
            tf_rows += saved["tf"]
            network_rows += saved["network"]
            timings.update(saved["timings"])
            continue
        if args.cached_only:
            continue
        counts = len(ko_rows), len(tf_rows), len(network_rows)
        rng = np.random.default_rng(index)
        t0 = time.perf_counter()
        context = cell_type_context(predictor, store, cell_type, held_genes)
        result = importance_of(context)
        table = link_table(context, result, knockouts(context))
        table["label"] = link_labels(table, store, facts)
        all_links.append(table)
        timings[f"links {cell_type}"] = round(time.perf_counter() - t0, 1)

        # true enhancers vs as many random accessible regions of the same window
        targets = context.targets
        n_targets, R = targets.rows.shape
        true_mask = np.zeros((n_targets, R), bool)
        random_mask = np.zeros((n_targets, R), bool)
        candidates = (targets.rows >= 0) & context.inputs.accessible[np.maximum(targets.rows, 0)]
        candidates[np.arange(n_targets), targets.focus] = False
        positives = table[table["label"]]
        genes = context.genes
        for t in range(n_targets):
            names = set(genes.loc[genes["target"] == t, "gene_name"])
            mine = positives[
                positives["gene_name"].isin(names) & (positives["tss_region"] == targets.region[t])
            ]
            pos = np.flatnonzero(np.isin(targets.rows[t], mine["region"].to_numpy()))
            others = np.flatnonzero(
                candidates[t] & ~np.isin(targets.rows[t], mine["region"].to_numpy())
            )
            if len(pos) and len(others) >= len(pos):
                true_mask[t, pos] = True
                random_mask[t, rng.choice(others, len(pos), replace=False)] = True
        used = np.flatnonzero(true_mask.any(axis=1))
        if len(used):
            base = forward(predictor, context.inputs, targets.rows[used], targets.focus[used])
            on_true = forward(
                predictor, context.inputs, targets.rows[used], targets.focus[used], true_mask[used]
            )
            on_random = forward(
                predictor,
                context.inputs,
                targets.rows[used],
                targets.focus[used],
                random_mask[used],
            )
            s = targets.strand[used].astype(int)
            k = np.arange(len(used))
            for i in k:
                ko_rows.append(
                    {
                        "cell_type": cell_type,
                        "regions": int(true_mask[used[i]].sum()),
                        "true_enhancers": float(on_true[i, s[i]] - base[i, s[i]]),
                        "random_regions": float(on_random[i, s[i]] - base[i, s[i]]),
                    }
                )

        # TF knock-outs: decrease of every held-out gene, per planted TF
        gene_of_target = genes.drop_duplicates("target").set_index("target")["gene_name"]
        s = targets.strand.astype(int)
        base = forward(predictor, context.inputs, targets.rows, targets.focus)[
            np.arange(n_targets), s
        ]
        fractions = facts["tf_gene"][facts["tf_gene"]["cell_type"] == cell_type]
        motif_input = _contact_weighted_motifs(context)
        for tf, column in clusters.items():
            edited = scale_motifs(context.inputs, [column], 0.0)
            after = forward(predictor, edited, targets.rows, targets.focus)[np.arange(n_targets), s]
            true = set(
                fractions.loc[
                    (fractions["tf"] == tf) & (fractions["fraction"] >= TF_FRACTION), "gene_name"
                ]
            )
            for t in range(n_targets):
                name = gene_of_target[t]
                tf_rows.append(
                    {
                        "cell_type": cell_type,
                        "tf": tf,
                        "gene": name,
                        "decrease": float(base[t] - after[t]),
                        "motif_input": float(motif_input[t, column]),
                        "target": name in true,
                    }
                )
        timings[f"knock-outs {cell_type}"] = round(
            time.perf_counter() - t0 - timings[f"links {cell_type}"], 1
        )

        # causal network on the motif importance of every gene in this cell type, with the genes
        # (GET's input) or the accessible regions as samples
        pairs = pair_labels(facts, store.feature_names, cell_type)
        if pairs:
            every_gene = (
                None if not args.limit else sorted(store.genes["gene_id"])[: 10 * args.limit]
            )
            everything = importance_of(cell_type_context(predictor, store, cell_type, every_gene))
            for samples in SAMPLES:
                t1 = time.perf_counter()
                matrix = motif_matrix(everything, samples)
                net = causal_network(
                    matrix,
                    runs=args.runs,
                    seed=0,
                    cell_type=cell_type,
                    max_samples=args.max_samples or None,
                    top_motifs=args.top_motifs,
                )
                network_rows.append(
                    {
                        "cell_type": cell_type,
                        "samples": samples,
                        "rows": len(matrix),
                        **_pair_ranking(net, matrix, pairs, clusters, store.feature_names),
                        "seconds": round(time.perf_counter() - t1, 1),
                    }
                )
                print(network_rows[-1], flush=True)
        print(cell_type, timings, flush=True)
        saved = {
            "links": table,
            "ko": ko_rows[counts[0] :],
            "tf": tf_rows[counts[1] :],
            "network": network_rows[counts[2] :],
            "timings": {k: v for k, v in timings.items() if k.endswith(cell_type)},
        }
        cache.write_bytes(pickle.dumps(saved))

    links = pd.concat(all_links, ignore_index=True)
    ceilings = _link_ceilings(links, store, facts, demo / "sim")
    candidates = links[~links["is_tss"]].reset_index(drop=True)
    training = ~candidates["cell_type"].isin(held_cells)
    link_results, ceiling_results = {}, {}
    for label, chosen in (
        ("held-out chromosome, training cell types", training.to_numpy()),
        ("held-out chromosome and cell type", ~training.to_numpy()),
    ):
        part = candidates[chosen].reset_index(drop=True)
        if part.empty:
            continue
        bench = link_benchmark(part, part["label"].to_numpy(), _link_scores(part))
        link_results[label] = bench.to_dict(orient="records")
        print(label, "\n", bench.to_string(), flush=True)
        ceiling_results[label] = [
            {"score": name, **ranking_summary(part["label"].to_numpy(), values[chosen])}
            for name, values in ceilings.items()
        ]
    # every truth link of a held-out gene, and those inside the windows scored
    table = facts["enhancer_gene"]
    held_names = set(store.genes.loc[store.genes["gene_id"].isin(held_genes), "gene_name"])
    coverage = {}
    for cell_type in sorted(set(links["cell_type"])):
        strong = table[(table[f"effect_{cell_type}"] >= 0.05) & table["gene_name"].isin(held_names)]
        got = candidates[(candidates["cell_type"] == cell_type) & candidates["label"]]
        coverage[cell_type] = {"true_links": len(strong), "in_scored_windows": len(got)}
    ko = pd.DataFrame(ko_rows)
    tf = pd.DataFrame(tf_rows)
    tf_scores = {"knock-out decrease": "decrease", "contact-weighted motif input": "motif_input"}
    tf_results = []
    for name, column in tf_scores.items():
        per_tf, per_active_tf = [], []
        for _, part in tf.groupby(["cell_type", "tf"]):
            if part["target"].any() and not part["target"].all():
                value = auroc(part["target"].to_numpy(), part[column].to_numpy())
                per_tf.append(value)
                if part["target"].sum() >= TF_MIN_TARGETS:
                    per_active_tf.append(value)
        tf_results.append(
            {
                "score": name,
                "auroc_pooled": auroc(tf["target"].to_numpy(), tf[column].to_numpy()),
                "auroc_mean_per_tf": float(np.mean(per_tf)) if per_tf else float("nan"),
                "tfs_scored": len(per_tf),
                f"auroc_mean_per_tf_{TF_MIN_TARGETS}_targets": float(np.mean(per_active_tf))
                if per_active_tf
                else float("nan"),
                f"tfs_with_{TF_MIN_TARGETS}_targets": len(per_active_tf),
                **ranking_summary(tf["target"].to_numpy(), tf[column].to_numpy()),
            }
        )
    return {
        "demo": str(demo),
        "holdout_chroms": held_chroms,
        "holdout_cell_types": held_cells,
        "held_out_genes": len(held_genes),
        "cell_types_scored": sorted(set(links["cell_type"])),
        "link_effect_threshold": 0.05,
        "links": link_results,
        "link_ceilings": ceiling_results,
        "link_coverage": coverage,
        "enhancer_knockout": {
            "gene_rows": len(ko),
            "mean_change_true_enhancers": float(ko["true_enhancers"].mean()),
            "mean_change_random_regions": float(ko["random_regions"].mean()),
            "fraction_true_lowers_more": float(
                (ko["true_enhancers"] < ko["random_regions"]).mean()
            ),
            "median_regions_knocked_out": float(ko["regions"].median()),
        },
        "tf_knockout": {
            "pairs": len(tf),
            "true_targets": int(tf["target"].sum()),
            "min_targets": TF_MIN_TARGETS,
            **{k: v for k, v in tf_results[0].items() if k != "score"},
            "scores": tf_results,
        },
        "network": {
            "runs": args.runs,
            "top_motifs": args.top_motifs,
            "max_samples": args.max_samples,
            "cell_types": network_rows,
        },
        "timings_s": timings,
    }


def _held_out_links(demo: Path, runs: dict[str, Path]) -> tuple[pd.DataFrame, list[str]]:
    """The links of the demo's held-out-chromosome genes in every cell type (TSS rows included),
    with their truth label and, per run, that run's ``get_abc`` (column named after the run) and
    its activating importance share (``share <run>``); and the demo's held-out cell types.
    Importance only (no knock-outs): seconds per cell type and run."""
    from getx.interpret.context import cell_type_context
    from getx.interpret.importance import importance_of
    from getx.interpret.links import link_table
    from getx.interpret.truth import link_labels, read_truth
    from getx.store import open_store
    from getx.train.predict import load_model

    summary = json.loads((demo / "summary.json").read_text())
    store = open_store(demo / "store.zarr")
    facts = read_truth(demo / "sim")
    predictors = {name: load_model(run) for name, run in runs.items()}
    gene_chrom = store.regions["chrom"].to_numpy()[store.genes["region"].to_numpy()]
    held_genes = sorted(set(store.genes["gene_id"][np.isin(gene_chrom, summary["holdout_chroms"])]))
    no_knockouts = (np.zeros(0, int), np.zeros(0, int), np.zeros((0, 2), np.float32))
    parts = []
    for cell_type in store.cell_types:
        columns, table = {}, None
        for name, predictor in predictors.items():
            context = cell_type_context(predictor, store, cell_type, held_genes)
            table = link_table(context, importance_of(context), no_knockouts)
            columns[name] = table["get_abc"].to_numpy()
            activating = np.clip(table["importance_signed"].to_numpy(np.float64), 0, None)
            columns[f"share {name}"] = _window_share(table, activating)
        table = table.assign(label=link_labels(table, store, facts), **columns)
        parts.append(table)
    return pd.concat(parts, ignore_index=True), summary["holdout_cell_types"]


def _auprc_rows(links: pd.DataFrame, held_cells: list[str], scores: list[str]) -> list[dict]:
    """AUPRC and precision at 70% recall of each score column over the non-TSS rows, in the
    training cell types and in the held-out ones."""
    from getx.interpret.metrics import ranking_summary

    links = links[~links["is_tss"].to_numpy()]
    rows = []
    for label, chosen in (
        ("held-out chromosome, training cell types", ~links["cell_type"].isin(held_cells)),
        ("held-out chromosome and cell type", links["cell_type"].isin(held_cells)),
    ):
        part = links[chosen.to_numpy()]
        for name in scores:
            m = ranking_summary(part["label"].to_numpy(), part[name].to_numpy())
            rows.append({"pairs": label, "score": name, **m})
    return rows


def ensemble(args) -> dict:
    """``get_abc`` from each of the demo's seed runs (the demo_accuracy benchmark's ``seed1/`` and
    ``seed2/`` beside the seed-0 run, trained on the same simulated files) and from their mean
    importance share: does averaging GET's attributions over training seeds lift link AUPRC?"""
    import torch

    torch.set_num_threads(getattr(args, "threads", 1))
    demo = Path(args.demo)
    runs = {"seed 0": demo / "runs" / "finetune"} | {
        f"seed {s}": demo / f"seed{s}" / "runs" / "finetune"
        for s in (1, 2)
        if (demo / f"seed{s}" / "runs" / "finetune").exists()
    }
    links, held_cells = _held_out_links(demo, runs)
    shares = np.mean([links[f"share {name}"].to_numpy() for name in runs], axis=0)
    links["mean of seeds"] = (shares + links["abc"].to_numpy()) / 2
    rows = _auprc_rows(links, held_cells, [*runs, "mean of seeds"])
    rows = [{"get_abc of": r.pop("score"), **r} for r in rows]
    return {"demo": str(demo), "runs": {k: str(v) for k, v in runs.items()}, "rows": rows}


def _planted_site_hits(sim: Path, bed: Path) -> None:
    """The simulator's planted sites (truth/sites.tsv) as a motif-hit BED (chrom, start, end,
    cluster, ln-odds score, strand, motif), sorted as ``getx prepare --motif-hits`` reads it."""
    sites = pd.read_csv(sim / "truth" / "sites.tsv", sep="\t")
    sites = sites.sort_values(["chrom", "start"], kind="stable")
    columns = ["chrom", "start", "end", "cluster", "score", "strand", "motif"]
    sites[columns].to_csv(bed, sep="\t", header=False, index=False)


def oracle(args) -> dict:
    """The demo trained again, with its own options, on a store whose motif features are the
    simulator's planted sites instead of the scanner's hits (per region and cluster the summed
    ln-odds of the sites planted there: a perfect scanner with no background hits), beside the
    demo itself: how far does the link score rise when the motif features are exact? Everything
    else (simulated files, reads, held-out chromosome and cell type, training) is the demo's.
    For both models also ``abc`` and ``get_abc`` with each region's reads replaced by its true
    openness (exact reads): what the reads' noise costs."""
    import shutil
    import tempfile

    import torch

    from getx.demo import DemoOptions, run_demo
    from getx.interpret.links import PowerLaw
    from getx.interpret.truth import read_truth
    from getx.prepare import discover_inputs, prepare
    from getx.store import open_store

    torch.set_num_threads(getattr(args, "threads", 1))
    demo, out = Path(args.demo), Path(args.out)
    saved = json.loads((demo / "summary.json").read_text())["options"]
    options = DemoOptions(**{**saved, "progress": False})
    if not (out / "store.zarr").exists():
        shutil.copytree(demo / "sim", out / "sim", dirs_exist_ok=True)
        with tempfile.TemporaryDirectory() as work:
            bed = Path(work) / "planted_sites.bed"
            _planted_site_hits(out / "sim", bed)
            inputs = discover_inputs(out / "sim", options.motifs)
            inputs.motif_hits = bed
            prepare(inputs, out / "store.zarr")
    run_demo(out, options=options)  # reuses the store, and every stage already finished
    facts = read_truth(demo / "sim")
    floor = _sim_config(demo / "sim").accessibility_floor
    rows, expression = [], {}
    for features, folder in (("scanned motifs", demo), ("planted sites", out)):
        links, held_cells = _held_out_links(folder, {"get_abc": folder / "runs" / "finetune"})
        links = links.rename(columns={"share get_abc": "importance share"})
        # abc on exact reads: each region's true openness (floor + o, what its reads measure
        # without count noise or the region's efficiency) in place of its reads
        openness = floor + _region_truth(links, open_store(folder / "store.zarr"), facts, "opening")
        exact = _window_share(links, openness * PowerLaw()(links["distance"].to_numpy()))
        links[EXACT_READS["abc"]] = exact
        links[EXACT_READS["get_abc"]] = (links["importance share"] + exact) / 2
        names = ["get_abc", "importance share", "abc", *EXACT_READS.values()]
        for r in _auprc_rows(links, held_cells, names):
            rows.append({"features": features, **r})
        evaluation = pd.read_csv(folder / "scores.tsv", sep="\t")
        get = evaluation[evaluation["model"] == "GET (finetuned)"].set_index("group")["pearson"]
        expression[features] = {group: round(float(v), 4) for group, v in get.items()}
    return {"demo": str(demo), "oracle_demo": str(out), "rows": rows, "pearson": expression}


# --- report -------------------------------------------------------------------------------------


def _markdown(result: dict) -> str:
    lines = [
        "# Interpretation benchmarks",
        "",
        f"`bench/interpret.py`, Python {platform.python_version()}. The real-data enhancer-gene "
        "benchmark (ENCODE CRISPRi K562 pairs on chr22) is `bench/enhancer_links.py`: "
        "[README.md](README.md#enhancer-gene-links-encode-crispri-k562-benchmark-chr22-in-training-and-held-out-enhancer_links).",
        "",
    ]
    if "speed" in result:
        s = result["speed"]
        lines += [
            "## Speed (gradient x input)",
            "",
            f"Store `{s['store']}`, device {s['device']}, {s['cpu_count']} cores (load average "
            f"{s['load_average_at_end']:.1f} at the end: the machine is shared, so compare "
            "ratios measured side by side, not seconds). Batched: the library's batches of "
            "targets, one forward and one backward each; per-gene loop: the same code one target "
            "at a time. The two take turns "
            f"{s.get('repeats', 1)} times; medians. GFLOP/TSS: forward and backward, counted by "
            "torch's FLOP counter.",
            "",
            "| preset | threads | R | F+1 | TSSs | batch | GFLOP/TSS | TSS/s batched | TSS/s per-gene loop | speed-up | GFLOP/s batched | GFLOP/s loop | region knock-outs/s |",  # noqa: E501
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in s["rows"]:
            lines.append(
                f"| {r['preset']} | {r.get('torch_threads', s['torch_threads'])} | "
                f"{r['regions_per_window']} | {r['features']} | {r['tss_targets']} | "
                f"{r.get('batch_size', 32)} | {r.get('gflop_per_tss', float('nan')):.2f} | "
                f"{r['tss_per_s_batched']} | {r['tss_per_s_per_gene_loop']} | {r['speedup']}x | "
                f"{r.get('gflop_per_s_batched', float('nan'))} | "
                f"{r.get('gflop_per_s_per_gene_loop', float('nan'))} | "
                f"{r['region_knockouts_per_s']} |"
            )
        lines.append("")
    if "truth" in result:
        t = result["truth"]
        lines += [
            "## Simulator truth (demo preset, held-out chromosome)",
            "",
            f"Demo `{t['demo']}`; held-out chromosome {', '.join(t['holdout_chroms'])} "
            f"({t['held_out_genes']} genes never trained on); positives: truth links with "
            f"effect >= {t['link_effect_threshold']} of the gene's drive. Cell types scored: "
            f"{', '.join(t.get('cell_types_scored', []))}.",
            "",
        ]
        for group, rows in t["links"].items():
            lines += [
                f"Enhancer-gene links, {group}:",
                "",
                "| score | pairs | positives | AUPRC | precision at 70% recall | AUROC |",
                "|---|---|---|---|---|---|",
            ]
            for r in rows:
                lines.append(
                    f"| {r['score']} | {r['n']} | {r['positives']} | {r['auprc']:.3f} | "
                    f"{r['precision_at_70_recall']:.3f} | {r['auroc']:.3f} |"
                )
            lines.append("")
        for group, rows in t.get("link_ceilings", {}).items():
            lines += [
                f"Scores built from the simulator's truth, no model ({group}; each shared out over "
                "the gene's window like `abc`): what reads, and reads with a perfect reading of "
                "the motifs, reach on the same pairs with the simulator's own contact law:",
                "",
                "| score | AUPRC | precision at 70% recall | AUROC |",
                "|---|---|---|---|",
            ]
            for r in rows:
                lines.append(
                    f"| {r['score']} | {r['auprc']:.3f} | {r['precision_at_70_recall']:.3f} | "
                    f"{r['auroc']:.3f} |"
                )
            lines.append("")
        cov = t["link_coverage"]
        lines += [
            "True links (effect >= 0.05) of held-out genes inside the scored windows: "
            + ", ".join(f"{c} {v['in_scored_windows']}/{v['true_links']}" for c, v in cov.items())
            + ".",
            "",
        ]
        e = t["enhancer_knockout"]
        lines += [
            f"Knocking out a gene's true enhancers (median {e['median_regions_knocked_out']:g} regions) "  # noqa: E501
            f"changes its prediction by {e['mean_change_true_enhancers']:.4f} on average, as many "
            f"random accessible regions of its window by {e['mean_change_random_regions']:.4f}; the "  # noqa: E501
            f"true enhancers lower it more for {100 * e['fraction_true_lowers_more']:.1f}% of "
            f"{e['gene_rows']} gene rows.",
            "",
        ]
        k = t["tf_knockout"]
        least = k.get("min_targets", TF_MIN_TARGETS)
        lines += [
            f"TF knock-outs ({k['pairs']} (TF, gene, cell type) rows, {k['true_targets']} true "
            "targets: tf_gene fraction >= 0.05): AUROC for the TF's true target genes, pooled and "
            f"averaged within (TF, cell type), over all of them and over those with at least "
            f"{least} targets; beside the model's knock-out, a model-free score (each motif "
            "feature averaged over the window's accessible regions with ABC's reads x contact "
            "weights):",
            "",
            f"| score | AUROC pooled | AUPRC pooled | mean AUROC within TF (n) | within TF, >= {least} targets (n) |",  # noqa: E501
            "|---|---|---|---|---|",
        ]
        for r in k.get("scores", [{"score": "knock-out decrease", **k}]):
            active = r.get(f"auroc_mean_per_tf_{least}_targets", float("nan"))
            lines.append(
                f"| {r['score']} | {r['auroc_pooled']:.3f} | {r['auprc']:.3f} | "
                f"{r['auroc_mean_per_tf']:.3f} ({r['tfs_scored']}) | {active:.3f} "
                f"({r.get(f'tfs_with_{least}_targets', '-')}) |"
            )
        lines.append("")
        n = t["network"]
        lines += [
            f"Causal network (DirectLiNGAM, {n['runs']} bootstrap runs of at most "
            f"{n.get('max_samples') or 'all'} rows, top {n['top_motifs']} motifs), on the gene x "
            "motif matrix (GET's input) or the region x motif matrix: the planted cooperative "
            "pair against every other cluster pair, by edge stability (rank 1 = first of all "
            "pairs) and by |correlation| of the two columns:",
            "",
            "| cell type | samples | rows | planted pair | stability | rank | AUROC vs all pairs | AUROC vs pairs of planted TFs | abs correlation | correlation AUROC | s |",  # noqa: E501
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in n["cell_types"]:
            lines.append(
                f"| {r['cell_type']} | {r.get('samples', 'genes')} | {r.get('rows', '')} | "
                f"{' / '.join('-'.join(p) for p in r['pairs'])} | "
                f"{', '.join(f'{v:.2f}' for v in r['pair_stability'])} | "
                f"{', '.join(str(v) for v in r.get('pair_rank_by_stability', []))} | "
                f"{r['auroc_vs_all_cluster_pairs']:.3f} | {r['auroc_vs_pairs_of_planted_tf_clusters']:.3f} | "  # noqa: E501
                f"{', '.join(f'{v:.3f}' for v in r['pair_abs_correlation'])} | "
                f"{r['correlation_auroc_vs_all_cluster_pairs']:.3f} | {r['seconds']} |"
            )
        lines.append("")
    if "ensemble" in result:
        e = result["ensemble"]
        lines += [
            "## Seed ensemble of the link score",
            "",
            f"`get_abc` of each demo run trained on the same simulated files with another seed "
            f"({', '.join(e['runs'])}; demo `{e['demo']}`) and of their mean importance share, "
            "on the same pairs and positives as above:",
            "",
            "| pairs | get_abc of | pairs scored | positives | AUPRC | precision at 70% recall |",
            "|---|---|---|---|---|---|",
        ]
        for r in e["rows"]:
            lines.append(
                f"| {r['pairs']} | {r['get_abc of']} | {r['n']} | {r['positives']} | "
                f"{r['auprc']:.3f} | {r['precision_at_70_recall']:.3f} |"
            )
        lines.append("")
    if "oracle" in result:
        o = result["oracle"]
        pearson = o["pearson"]
        lines += [
            "## Exact motif features (planted sites)",
            "",
            f"The demo `{o['demo']}` trained again with its own options on a store whose motif "
            "features are the simulator's planted sites (per region and cluster the summed "
            "ln-odds of the sites planted there; no background hits) instead of the scanner's "
            f"hits (`{o['oracle_demo']}`); the same reads, pairs and positives as above. "
            "`importance share`: the region's share of the window's activating importance, "
            "`get_abc`'s model half. *On exact reads*: the `abc` half computed from each "
            "region's true openness (the simulator's accessibility floor + o, what its reads "
            "measure without count noise or the region's efficiency) instead of its reads (the "
            "model's importance share unchanged). GET's held-out-chromosome expression Pearson: "
            + ", ".join(
                f"{name} {v.get('held-out chromosome', float('nan')):.3f}"
                for name, v in pearson.items()
            )
            + ".",
            "",
            "| motif features | pairs | score | pairs scored | positives | AUPRC | precision at 70% recall |",  # noqa: E501
            "|---|---|---|---|---|---|---|",
        ]
        for r in o["rows"]:
            lines.append(
                f"| {r['features']} | {r['pairs']} | {r['score']} | {r['n']} | "
                f"{r['positives']} | {r['auprc']:.3f} | {r['precision_at_70_recall']:.3f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    p = sub.add_parser("speed")
    p.add_argument("--store", required=True, help="a region store (e.g. a demo's store.zarr)")
    p.add_argument("--targets", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="torch threads (see docs)")
    p.add_argument("--batch-size", type=int, default=32, help="targets per batched pass")
    p.add_argument("--repeats", type=int, default=3, help="alternating timed runs per side")
    p = sub.add_parser("truth")
    p.add_argument("--demo", required=True, help="a finished `getx demo --out DIR`")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--limit", type=int, default=0, help="only this many held-out genes (smoke)")
    p.add_argument("--work", default="/tmp/getx_interpret_truth", help="per-cell-type results")
    p.add_argument("--threads", type=int, default=1, help="torch threads (see docs)")
    p.add_argument("--cached-only", action="store_true", help="summarise the cell types done")
    p.add_argument(
        "--max-samples", type=int, default=2000, help="network rows per bootstrap run (0: all)"
    )
    p.add_argument("--top-motifs", type=int, default=100, help="network columns (most important)")
    p = sub.add_parser("ensemble")
    p.add_argument("--demo", required=True, help="a finished `getx demo --out DIR`")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p = sub.add_parser("oracle")
    p.add_argument("--demo", required=True, help="a finished `getx demo --out DIR`")
    p.add_argument("--out", required=True, help="the demo on planted-site features goes here")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    parts = {"speed": speed, "truth": truth, "ensemble": ensemble, "oracle": oracle}
    part = parts[args.part](args)
    out = RESULTS / "interpret.json"
    result = json.loads(out.read_text()) if out.exists() else {}  # read last: parts run in parallel
    result[args.part] = part
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    (RESULTS / "interpret.md").write_text(_markdown(result) + "\n")
    sys.stdout.write(_markdown(result) + "\n")


if __name__ == "__main__":
    main()
