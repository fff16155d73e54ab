"""getx's DirectLiNGAM beside the ``lingam`` package's, on the same data, in one script.

``lingam`` pins scipy <= 1.13.1, so it lives in its own environment, never in getx's; this
script runs there and imports only getx's ``directlingam`` module (numpy + scikit-learn):

    python -m venv /tmp/lingam-venv && /tmp/lingam-venv/bin/pip install lingam
    /tmp/lingam-venv/bin/python bench/lingam_check.py [--matrix gene_by_motif.tsv] [--columns 40]

Data: LiNGAM models with known B (random DAGs, Laplace and uniform noise, several sizes) and,
with ``--matrix``, a real gene x motif importance matrix (``getx interpret --gene-motif-tsv``;
the first ``--columns`` motifs by variance, z-scored). Per data set: whether the causal orders
are equal, the largest |B_getx - B_lingam|, both run times, and for the known models how many
true edges each recovers. Results go to bench/results/lingam_check.{json,md}.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _directlingam():
    # Only this module: getx's package imports (torch, zarr, ...) are not in lingam's venv.
    path = ROOT / "src" / "getx" / "interpret" / "directlingam.py"
    spec = importlib.util.spec_from_file_location("getx_directlingam", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lingam_model(p: int, n: int, noise: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Samples (n, p) of x = B x + e over a random DAG (edge probability 0.3), columns shuffled."""
    rng = np.random.default_rng(seed)
    B = np.tril(rng.uniform(0.5, 1.0, (p, p)) * rng.choice([-1, 1], (p, p)), -1)
    B *= (rng.random((p, p)) < 0.3) | (p == 2)  # two variables: always one edge
    e = rng.laplace(size=(n, p)) if noise == "laplace" else rng.uniform(-1, 1, (n, p))
    X = np.linalg.solve(np.eye(p) - B, e.T).T
    perm = rng.permutation(p)
    return X[:, perm], B[np.ix_(perm, perm)]


def compare(name: str, X: np.ndarray, ours, B_true: np.ndarray | None = None) -> dict:
    import lingam

    t0 = time.perf_counter()
    order, B = ours.direct_lingam(X)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    reference = lingam.DirectLiNGAM().fit(X)
    t_ref = time.perf_counter() - t0
    row = {
        "data": name,
        "samples": int(X.shape[0]),
        "variables": int(X.shape[1]),
        "same_order": [int(i) for i in order] == [int(i) for i in reference.causal_order_],
        "max_abs_B_difference": float(np.abs(B - reference.adjacency_matrix_).max()),
        "getx_s": round(t_ours, 3),
        "lingam_s": round(t_ref, 3),
    }
    if B_true is not None:
        true = B_true != 0
        for label, est in (("getx", B), ("lingam", reference.adjacency_matrix_)):
            row[f"{label}_true_edges_found"] = int((true & (est != 0)).sum())
            row[f"{label}_wrong_edges"] = int((~true & (est != 0)).sum())
        row["true_edges"] = int(true.sum())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrix", type=Path, help="gene x motif TSV (genes as rows)")
    parser.add_argument("--columns", type=int, default=40)
    args = parser.parse_args()
    import lingam

    ours = _directlingam()
    rows = []
    for p, n, noise, seed in ((2, 1000, "uniform", 0), (6, 1000, "laplace", 1),
                              (12, 2000, "uniform", 2), (25, 800, "laplace", 3)):  # fmt: skip
        X, B = lingam_model(p, n, noise, seed)
        rows.append(compare(f"LiNGAM model p={p} {noise} noise", X, ours, B))
        print(rows[-1], flush=True)
    if args.matrix:
        import pandas as pd

        table = pd.read_csv(args.matrix, sep="\t", index_col=0)
        table = table.loc[:, table.var().sort_values(ascending=False).index[: args.columns]]
        X = ((table - table.mean()) / table.std(ddof=0)).to_numpy()
        rows.append(compare(f"{args.matrix.name}, top {X.shape[1]} motifs by variance", X, ours))
        print(rows[-1], flush=True)
    result = {
        "lingam_version": lingam.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lingam_check.json").write_text(json.dumps(result, indent=1))
    lines = [
        "# getx DirectLiNGAM vs the lingam package",
        "",
        f"lingam {lingam.__version__}, Python {platform.python_version()}; same data, same "
        "process (`bench/lingam_check.py`).",
        "",
        "| data | n | p | same order | max abs B diff | getx s | lingam s | true edges found "
        "(getx / lingam of all) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        found = (
            f"{r['getx_true_edges_found']} / {r['lingam_true_edges_found']} of {r['true_edges']}"
            if "true_edges" in r
            else "-"
        )
        lines.append(
            f"| {r['data']} | {r['samples']} | {r['variables']} | {r['same_order']} | "
            f"{r['max_abs_B_difference']:.2e} | {r['getx_s']} | {r['lingam_s']} | {found} |"
        )
    (RESULTS / "lingam_check.md").write_text("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
