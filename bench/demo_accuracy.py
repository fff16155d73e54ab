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
    """Mean over cell types of Pearson(expression, log drive) for the true and count-based drive."""
    genes = pd.read_csv(sim_dir / "truth" / "genes.tsv", sep="\t")
    regions = pd.read_csv(sim_dir / "truth" / "regions.tsv", sep="\t").set_index("region_id")
    links = pd.read_csv(sim_dir / "truth" / "enhancer_gene.tsv", sep="\t")
    manifest = json.loads((sim_dir / "manifest.json").read_text())
    beta, floor = manifest["beta_promoter"], manifest["config"]["accessibility_floor"]
    true_r, counts_r = [], []
    for ct in cell_types:
        y = genes[f"expression_{ct}"].to_numpy()
        true_r.append(np.corrcoef(y, np.log(genes[f"drive_{ct}"]))[0, 1])
        count = regions[f"count_{ct}"]
        # reads -> activity on the simulator's scale (mean-matched), floor removed
        activity = (count / count.mean() * (floor + regions[f"activity_{ct}"].mean()) - floor).clip(
            lower=0
        )
        enhancer = (
            links.assign(part=activity.reindex(links["region_id"]).to_numpy() * links["weight"])
            .groupby("gene_name")["part"]
            .sum()
            .reindex(genes["gene_name"])
            .fillna(0)
            .to_numpy()
        )
        drive = beta * activity.reindex(genes["promoter"]).to_numpy() + enhancer
        counts_r.append(np.corrcoef(y, np.log(drive + 1e-3))[0, 1])
    return {
        "pearson_true_drive": float(np.mean(true_r)),
        "pearson_counts_with_true_weights": float(np.mean(counts_r)),
    }


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
    args = parser.parse_args()

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
        "scores": summary["scores"],
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
        "rebuilt from observed read counts and the true enhancer weights "
        f"{truth['pearson_counts_with_true_weights']:.3f}.",
        "",
    ]
    (RESULTS / "demo_accuracy.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
