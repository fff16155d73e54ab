"""Enhancer-gene links on the ENCODE CRISPRi K562 benchmark (chr22), with a GET trained on the
benchmark genes and with GET models that never saw them.

Pairs: the benchmark's K562 element-gene pairs on chr22, pooled over its files (one row per
pair, regulated if any file says so). Scoring (:func:`score_pairs`): a store of ABC's K562 chr22
DNase regions without sequence (accessibility alone; the whole chromosome, so a window may cross
the segments the models were trained on), and each pair whose element overlaps a region of its
gene's prediction window scored by the model's link scores (gradient x input importance, its
signed share, the in-silico knock-out decrease, the ABC-style activity x contact score and GET's
combination ``get_abc``; :mod:`getx.interpret.links`) beside distance and the ABC numerator
(accessibility x power-law contact), with bootstrap intervals. The models are the GET runs of
``bench/expression_k562.py``'s segment store:

* held out: the five segment models, each pair scored by the model whose held-out segment holds
  its gene's TSS (the model never saw that gene's label nor any input of its segment);
* in training: one GET trained on every chr22 gene, so the benchmark genes' expression was a
  training label.

Both GETs are trained the same way (the demo's finetuning; the two K562 RNA clusters pooled);
distance, ``abc`` and the ABC numerator do not depend on the model and are the same in both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench import _expression as ex
from bench import expression_k562 as k562_expression
from bench._data import CHROM_SIZES, missing
from bench.suite import SHARED, format_cell

NAME = "enhancer_links"
TITLE = "Enhancer-gene links: ENCODE CRISPRi K562 benchmark (chr22), in training and held out"
CRISPR = [
    SHARED / "crispr" / name
    for name in (
        "EPCrisprBenchmark_combined_data.training_K562.GRCh38.tsv.gz",
        "EPCrisprBenchmark_combined_data.heldout_5_cell_types.GRCh38.tsv.gz",
        "EPCrisprBenchmark_Fulco2019_K562_GRCh38.tsv.gz",
    )
]
QUICK_GENES = ("MGAT3", "RPL3")  # in the quick held-out segment: 1 regulated pair, 5 not
OURS = ("importance", "importance_signed", "knockout decrease", "get_abc")
BASELINES = ("abc", "abc_numerator", "distance alone")


def available() -> str | None:
    return missing(*CRISPR, k562_expression.COUNTS) or k562_expression.available()


def crispr_pairs(genes: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The benchmark's K562 pairs on chr22 (only ``genes``' when given), one row per (element,
    gene): ``start``, ``end``, ``gene``, ``regulated`` (in any file), ``files``."""
    frames = []
    for path in CRISPR:
        table = pd.read_csv(path, sep="\t")
        table = table[(table["chrom"] == "chr22") & (table["CellType"] == "K562")]
        frames.append(
            pd.DataFrame(
                {
                    "start": table["chromStart"],
                    "end": table["chromEnd"],
                    "gene": table["measuredGeneSymbol"],
                    "regulated": table["Regulated"].astype(str).str.upper() == "TRUE",
                    "file": path.name,
                }
            )
        )
    pairs = pd.concat(frames, ignore_index=True)
    if genes is not None:
        pairs = pairs[pairs["gene"].isin(genes)]
    return pairs.groupby(["start", "end", "gene"], as_index=False).agg(
        regulated=("regulated", "max"), files=("file", "nunique")
    )


def chr22_store(work: Path, expression: Path) -> Path:
    """ABC's K562 chr22 DNase regions and reads as one store without sequence, with the
    models' expression table (built once)."""
    from getx.prepare import PrepareInputs, PrepareOptions, prepare

    store = work / "k562_chr22.zarr"
    if not store.exists():
        inputs = PrepareInputs(
            peaks=k562_expression.PEAKS,
            genome=None,
            chrom_sizes=CHROM_SIZES,
            annotation=k562_expression.GENES,
            motifs="none",
            accessibility={"K562": k562_expression.COUNTS},
            expression={"K562": expression},
        )
        prepare(inputs, store, PrepareOptions(canonical_only=False))
    return store


def score_pairs(store_path: Path, run: Path, pairs: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` whose element overlaps an accessible region of its gene's window (the region
    overlapping it most), with every link score of ``run``'s model for that region and gene."""
    from getx.interpret.context import cell_type_context
    from getx.interpret.importance import importance_of
    from getx.interpret.links import PowerLaw, knockouts, link_table
    from getx.store import open_store
    from getx.train.predict import load_model

    predictor = load_model(run)
    store = open_store(store_path)
    genes = sorted(set(pairs["gene"]) & set(store.genes["gene_name"]))
    columns = ["element", "gene", "regulated", "distance", "abc_numerator", *OURS, "abc"]
    if not genes:
        return pd.DataFrame(columns=columns)
    context = cell_type_context(predictor, store, "K562", genes)
    links = link_table(context, importance_of(context), knockouts(context))
    links = links[~links["is_tss"]]
    rows = []
    for pair in pairs.itertuples(index=False):
        mine = links[links["gene_name"] == pair.gene]
        overlap = np.minimum(mine["end"], pair.end) - np.maximum(mine["start"], pair.start)
        if not (overlap > 0).any():
            continue
        best = mine.iloc[int(np.argmax(overlap.to_numpy()))]
        rows.append(
            [
                f"chr22:{pair.start}-{pair.end}",
                pair.gene,
                bool(pair.regulated),
                float(best["distance"]),
                float(best["accessibility"] * PowerLaw()(best["distance"])),
                float(best["importance"]),
                float(best["importance_signed"]),
                -float(best["knockout"]),
                float(best["get_abc"]),
                float(best["abc"]),
            ]
        )
    return pd.DataFrame(rows, columns=columns)


def metrics_table(title: str, scored: pd.DataFrame, intervals: int) -> dict:
    from getx.interpret.metrics import ranking_summary

    labels = scored["regulated"].to_numpy(bool)
    rows = []
    for name in (*OURS, *BASELINES):
        values = -np.abs(scored["distance"]) if name == "distance alone" else scored[name]
        m = ranking_summary(labels, values.to_numpy(float), intervals=intervals)
        rows.append(
            [
                f"{name} ({'ours' if name in OURS else 'baseline'})",
                m["n"],
                m["positives"],
                ex.finite(m["auprc"]),
                _interval(m, "auprc"),
                ex.finite(m["precision_at_70_recall"]),
                _interval(m, "precision_at_70_recall"),
                ex.finite(m["auroc"]),
            ]
        )
    return {
        "title": title,
        "columns": [
            "score",
            "pairs",
            "regulated",
            "AUPRC",
            "AUPRC 95% bootstrap",
            "precision at 70% recall",
            "95% bootstrap",
            "AUROC",
        ],
        "rows": rows,
    }


def _interval(metrics: dict, name: str) -> list[float] | None:
    low, high = metrics.get(f"{name}_low"), metrics.get(f"{name}_high")
    if low is None or not (np.isfinite(low) and np.isfinite(high)):
        return None
    return [float(low), float(high)]


def run(work: Path, quick: bool) -> dict:
    from getx.io.annotation import load_annotation

    root = work.parent / "k562_segments"
    segment_store, cuts, segment_runs = k562_expression.fold_runs(root, quick)
    intervals = 50 if quick else 1000
    store = chr22_store(work, k562_expression.expression_table(root, quick))
    pairs = crispr_pairs(QUICK_GENES if quick else None)
    genes = load_annotation(k562_expression.GENES)
    segment_of = dict(
        zip(genes["gene_name"], k562_expression.segment_names(genes["tss"].to_numpy(), cuts),
            strict=True)
    )  # fmt: skip
    pairs = pairs.assign(segment=pairs["gene"].map(segment_of))
    held_out = pd.concat(
        [
            score_pairs(store, models["GET (ours)"], pairs[pairs["segment"] == segment])
            for segment, models in segment_runs.items()
        ],
        ignore_index=True,
    )
    tables = [
        metrics_table(
            "Held out: each pair scored by the GET that never saw its gene's segment",
            held_out,
            intervals,
        )
    ]
    # The in-training variant trains one more GET on every chr22 gene (the held-out one reuses
    # expression_k562's segment models); a quick run skips it, its path being the held-out one's.
    if not quick:
        everything = ex.train_once(
            segment_store, root / "runs" / "get_all", [], ex.get_settings(), quick
        )
        in_training = score_pairs(store, everything, pairs)
        title = "In training: one GET trained on every chr22 gene (benchmark genes included)"
        tables.append(metrics_table(title, in_training, intervals))
    auprc = [{row[0]: row[3] for row in table["rows"]} for table in tables]
    seen = (
        f" ({format_cell(auprc[1]['get_abc (ours)'])} with the genes in training)"
        if len(auprc) > 1
        else ""
    )
    return {
        "summary": f"K562 CRISPRi on chr22 ({len(held_out)} scored pairs, "
        f"{int(held_out['regulated'].sum())} regulated): get_abc AUPRC "
        f"{format_cell(auprc[0]['get_abc (ours)'])} held out{seen} vs ABC-style "
        f"{format_cell(auprc[0]['abc (baseline)'])} and distance "
        f"{format_cell(auprc[0]['distance alone (baseline)'])}; too few pairs to conclude.",
        "tables": tables,
        "published": [],
        "notes": [
            "Pairs: the ENCODE CRISPRi K562 benchmark files (EngreitzLab/CRISPR_comparison: "
            f"combined training and held-out-cell-type sets, Fulco 2019), chr22 pairs pooled: "
            f"{len(pairs)} pairs, {int(pairs['regulated'].sum())} regulated (one row per "
            "element-gene pair, regulated if any file says so); a pair is scored when its "
            "element overlaps an accessible region of its gene's prediction window, in a store "
            "of the whole chromosome's regions (windows may cross segments).",
            f"Held-out models: chr22 cut into {len(cuts) + 1} segments (cuts at "
            f"{', '.join(f'{c:,}' for c in cuts)}; bench/expression_k562.py), a pair goes to "
            "the model of its gene's TSS segment.",
            "GET training: the demo's finetuning settings, fixed in advance "
            "(bench/_expression.py), on DNase accessibility alone (no sequence on chr22), on "
            "the segment store of bench/expression_k562.py; nothing is chosen on the CRISPRi "
            "pairs.",
            "Intervals: 1,000 bootstrap resamples of the pairs (resamples without both classes "
            "skipped). With a handful of regulated pairs, AUPRC moves by ~0.1 when one pair "
            "changes rank.",
        ],
    }
