"""Held-out accuracy of the demo: finetuned small GET vs the baselines, on the demo preset.

Runs ``getx demo`` (simulate -> prepare -> pretrain -> finetune -> evaluate) into ``--out`` (or
reads a finished demo folder with ``--reuse``), then writes ``bench/results/demo_accuracy.json``
and ``.md``: Pearson / Spearman / R2 per model on the held-out chromosome, the held-out cell type
and both, the stage timings, and two ceilings computed from the simulator's truth: expression vs
the true log drive (what a perfect model of the generative process could reach) and vs the drive
rebuilt from the observed read counts with the *true* enhancer weights (what accessibility alone,
read perfectly, allows).

    python bench/demo_accuracy.py --out /tmp/demo-bench [--seed 0] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"


def ceilings(sim_dir: Path, cell_types: list[str]) -> dict[str, float]:
    """Mean over cell types of Pearson(expression, log drive) for the true drive and for drives
    rebuilt from the observed read counts: reads taken as activity (what accessibility alone
    allows) or times each element's true activating share h / o (accessibility plus perfectly
    read motifs), weighted by the true enhancer weights or by the contact law alone (every
    enhancer with c(d) >= min_contact: no domain boundaries or target boosts, which no model
    sees)."""
    from getx.simulate.config import SimConfig
    from getx.simulate.regulation import contact

    genes = pd.read_csv(sim_dir / "truth" / "genes.tsv", sep="\t")
    regions = pd.read_csv(sim_dir / "truth" / "regions.tsv", sep="\t")
    links = pd.read_csv(sim_dir / "truth" / "enhancer_gene.tsv", sep="\t")
    manifest = json.loads((sim_dir / "manifest.json").read_text())
    config = SimConfig(**manifest["config"])
    beta, floor = manifest["beta_promoter"], config.accessibility_floor
    row_of = pd.Series(np.arange(len(regions)), index=regions["region_id"])
    promoter = row_of[genes["promoter"]].to_numpy()
    true_weights = pd.DataFrame(
        {
            "gene": pd.Index(genes["gene_name"]).get_indexer(links["gene_name"]),
            "region": row_of[links["region_id"]].to_numpy(),
            "weight": links["weight"].to_numpy(),
        }
    )
    centre = ((regions["start"] + regions["end"]) // 2).to_numpy()
    enhancer = (regions["kind"] == "enhancer").to_numpy()
    law = []
    for g, (chrom, tss) in enumerate(zip(genes["chrom"], genes["tss"], strict=True)):
        rows = np.flatnonzero(enhancer & (regions["chrom"] == chrom).to_numpy())
        weight = contact(config, centre[rows] - tss)
        keep = weight >= config.min_contact
        law.append(pd.DataFrame({"gene": g, "region": rows[keep], "weight": weight[keep]}))
    weights = {"true weights": true_weights, "contact law": pd.concat(law, ignore_index=True)}

    rebuilt: dict[str, list[float]] = {"true drive": []}
    for ct in cell_types:
        y = genes[f"expression_{ct}"].to_numpy()
        rebuilt["true drive"].append(np.corrcoef(y, np.log(genes[f"drive_{ct}"]))[0, 1])
        count, opening = regions[f"count_{ct}"], regions[f"opening_{ct}"]
        # reads -> opening on the simulator's scale (mean-matched), floor removed
        opened = (count / count.mean() * (floor + opening.mean()) - floor).clip(lower=0)
        share = (regions[f"activity_{ct}"] / opening.where(opening > 0)).fillna(0)
        for source, activity in (("reads", opened), ("reads x motifs", opened * share)):
            activity = activity.to_numpy()
            for law_name, table in weights.items():
                part = np.bincount(
                    table["gene"],
                    weights=activity[table["region"]] * table["weight"],
                    minlength=len(genes),
                )
                drive = beta * activity[promoter] + part
                key = f"{source}, {law_name}"
                rebuilt.setdefault(key, []).append(np.corrcoef(y, np.log(drive + 1e-3))[0, 1])
    return {name: float(np.mean(values)) for name, values in rebuilt.items()}


def markdown(table: pd.DataFrame) -> str:
    """A plain markdown table (floats to 3 decimals)."""
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in table.values]
    lines = ["| " + " | ".join(map(str, table.columns)) + " |"]
    lines.append("|" + "---|" * len(table.columns))
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo-bench"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="read a finished demo in --out")
    parser.add_argument(
        "--no-ablation",
        action="store_true",
        help="skip the second demo run without the distance bias (GET as published)",
    )
    args = parser.parse_args()

    from dataclasses import replace

    from getx.demo import DemoOptions, run_demo

    started = time.perf_counter()
    if args.reuse and (args.out / "summary.json").exists():
        summary = json.loads((args.out / "summary.json").read_text())
        # the wall time measured when this demo ran, if these results came from it
        previous = RESULTS / "demo_accuracy.json"
        old = json.loads(previous.read_text()) if previous.exists() else {}
        wall = old.get("wall_s") if old.get("timings_s") == summary.get("timings_s") else None
    else:
        run_demo(args.out, options=DemoOptions(preset="demo", seed=args.seed, progress=False))
        summary = json.loads((args.out / "summary.json").read_text())
        wall = round(time.perf_counter() - started, 1)
    scores = pd.DataFrame(summary["scores"])
    if not args.no_ablation:
        # The same simulated files, pipeline and seed, with GET's attention (no distances).
        plain = args.out / "no-distance"
        if not (args.reuse and (plain / "summary.json").exists()):
            options = DemoOptions(preset="demo", seed=args.seed, progress=False)
            run_demo(plain, data=args.out / "sim", options=replace(options, distance_buckets=0))
        ablation = pd.DataFrame(json.loads((plain / "summary.json").read_text())["scores"])
        ablation = ablation[ablation["model"] == "GET (finetuned)"]
        scores = pd.concat(
            [scores, ablation.assign(model="GET without distance bias")], ignore_index=True
        )
    truth = ceilings(args.out / "sim", summary["cell_types"])
    record = {
        "bench": "demo_accuracy",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "preset": "demo",
        "seed": args.seed,
        "options": summary["options"],
        "holdout_chroms": summary["holdout_chroms"],
        "holdout_cell_types": summary["holdout_cell_types"],
        "wall_s": wall,
        "timings_s": summary.get("timings_s"),
        "scores": scores.to_dict(orient="records"),
        "ceilings": truth,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "demo_accuracy.json").write_text(json.dumps(record, indent=1))
    wide = scores.pivot_table(index="model", columns="group", values="pearson").reset_index()
    lines = [
        "# Demo accuracy (bench/demo_accuracy.py)",
        "",
        f"{record['date']}, {record['machine']}; simulator preset `demo`, seed {args.seed}; "
        f"held out chromosome {', '.join(record['holdout_chroms'])} and cell type "
        f"{', '.join(record['holdout_cell_types'])}. Demo wall time: {wall} s "
        f"(stages: {record['timings_s']}).",
        "",
        "Pearson per model and split:",
        "",
        markdown(wide),
        "",
        "All metrics:",
        "",
        markdown(scores),
        "",
        "Ceilings from the simulator's truth (mean over cell types, all genes): Pearson of "
        "expression with the log drive rebuilt from the observed read counts (reads), or from "
        "the reads times each element's true activating share (reads x motifs), weighted by the "
        "true enhancer weights or by the contact law alone; and with the true drive:",
        "",
        markdown(pd.DataFrame({"drive": list(truth), "pearson": list(truth.values())})),
        "",
    ]
    (RESULTS / "demo_accuracy.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
