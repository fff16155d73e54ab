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
    rebuilt from the observed read counts with the true enhancer weights: reads taken as activity
    (what accessibility alone allows), and reads times each element's true activating share
    h / o (what accessibility plus perfectly read motifs allow)."""
    genes = pd.read_csv(sim_dir / "truth" / "genes.tsv", sep="\t")
    regions = pd.read_csv(sim_dir / "truth" / "regions.tsv", sep="\t").set_index("region_id")
    links = pd.read_csv(sim_dir / "truth" / "enhancer_gene.tsv", sep="\t")
    manifest = json.loads((sim_dir / "manifest.json").read_text())
    beta, floor = manifest["beta_promoter"], manifest["config"]["accessibility_floor"]
    rebuilt: dict[str, list[float]] = {"true_drive": [], "counts": [], "counts_and_motifs": []}
    for ct in cell_types:
        y = genes[f"expression_{ct}"].to_numpy()
        rebuilt["true_drive"].append(np.corrcoef(y, np.log(genes[f"drive_{ct}"]))[0, 1])
        count, opening = regions[f"count_{ct}"], regions[f"opening_{ct}"]
        # reads -> opening on the simulator's scale (mean-matched), floor removed
        opened = (count / count.mean() * (floor + opening.mean()) - floor).clip(lower=0)
        share = (regions[f"activity_{ct}"] / opening.where(opening > 0)).fillna(0)
        for name, activity in (("counts", opened), ("counts_and_motifs", opened * share)):
            part = activity.reindex(links["region_id"]).to_numpy() * links["weight"]
            enhancer = (
                links.assign(part=part)
                .groupby("gene_name")["part"]
                .sum()
                .reindex(genes["gene_name"])
                .fillna(0)
                .to_numpy()
            )
            drive = beta * activity.reindex(genes["promoter"]).to_numpy() + enhancer
            rebuilt[name].append(np.corrcoef(y, np.log(drive + 1e-3))[0, 1])
    return {f"pearson_{name}": float(np.mean(values)) for name, values in rebuilt.items()}


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
        wall = None
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
        f"expression with the true log drive {truth['pearson_true_drive']:.3f}; with the drive "
        "rebuilt from the observed read counts and the true enhancer weights "
        f"{truth['pearson_counts']:.3f} (accessibility alone), and from the read counts times "
        "each element's true activating share (accessibility plus perfectly read motifs) "
        f"{truth['pearson_counts_and_motifs']:.3f}.",
        "",
    ]
    (RESULTS / "demo_accuracy.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
