"""What every interpretation runs on: a model, a store and a cell type, the genes asked about,
their TSS windows, and two batched model runners.

A **target** is one (TSS region, strand) that a gene's prediction is read from: the gene index
has a row per (gene, strand, TSS region), and genes sharing a region and strand share a target.
``CellTypeContext.genes`` keeps the selected gene rows with the target each reads; the windows
are those of prediction (:func:`getx.train.predict.tss_windows`), each TSS at its own position.

:func:`forward` predicts many windows at once, optionally with one window position zeroed per
item (a region knock-out); :func:`gradients` yields, per batch, the inputs and the gradient of
each item's prediction (its TSS position on its strand) with respect to its whole window, from one
forward and one backward pass for the batch (items are independent, so the gradient of their
sum is each item's own gradient).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from getx.errors import InputError

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass
class Targets:
    """(TSS region, strand) units and their windows; arrays have one entry per target."""

    region: np.ndarray  # (N,) int64 store row of the TSS region
    strand: np.ndarray  # (N,) int8 0 = +, 1 = -
    rows: np.ndarray  # (N, R) int64 window rows, -1 = padding
    focus: np.ndarray  # (N,) int64 the TSS region's position in the window

    def __len__(self) -> int:
        return len(self.region)


@dataclass
class CellTypeContext:
    predictor: Any  # getx.train.predict.Predictor
    store: Any  # RegionStore, checked against the predictor
    cell_type: str
    inputs: Any  # getx.train.predict.WindowInputs
    genes: pd.DataFrame  # gene_id, gene_name, strand, region, target (row of ``targets``)
    targets: Targets


def select_genes(store: Any, genes: list[str] | None) -> pd.DataFrame:
    """Gene-index rows of ``genes`` (ids or names; None: all), with an unknown one refused."""
    table = store.genes.reset_index(drop=True)
    if genes is None:
        return table
    genes = [str(g).strip() for g in genes if str(g).strip()]
    if not genes:
        raise InputError("the gene list is empty")
    ids, names = set(table["gene_id"]), set(table["gene_name"])
    unknown = [g for g in genes if g not in ids and g not in names]
    if unknown:
        shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise InputError(
            f"{len(unknown)} gene(s) not in the store's gene index (no TSS in a region): {shown}",
            store.path,
        )
    wanted = set(genes)
    return table[table["gene_id"].isin(wanted) | table["gene_name"].isin(wanted)]


def cell_type_context(
    predictor: Any, store: Any, cell_type: str, genes: list[str] | None = None
) -> CellTypeContext:
    """The context for ``genes`` (ids or names; None: every gene) whose TSS region is accessible
    in ``cell_type``; genes asked for by name or id but closed there are logged and left out."""
    store = predictor.check_store(store)
    inputs = predictor.inputs(store, cell_type)
    table = select_genes(store, genes)
    open_rows = inputs.accessible[table["region"].to_numpy()]
    if genes is not None and not open_rows.all():
        closed = sorted(
            set(table.loc[~open_rows, "gene_name"]) - set(table.loc[open_rows, "gene_name"])
        )
        if closed:
            log.warning("no accessible TSS region in %s for: %s", cell_type, ", ".join(closed[:20]))
    table = table.loc[open_rows].reset_index(drop=True)
    if table.empty:
        raise InputError(f"no selected gene has an accessible TSS region in {cell_type!r}")
    strand = (table["strand"].to_numpy() == "-").astype(np.int8)
    keys = table["region"].to_numpy(np.int64) * 2 + strand
    unique, target = np.unique(keys, return_inverse=True)
    windows = predictor.windows(store, inputs, unique // 2)
    slot = np.searchsorted(windows.region, unique // 2)
    targets = Targets(
        unique // 2, (unique % 2).astype(np.int8), windows.rows[slot], windows.focus[slot]
    )
    return CellTypeContext(
        predictor, store, cell_type, inputs, table.assign(target=target), targets
    )


def _device(device: str | None) -> str:
    import torch

    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def forward(
    predictor: Any,
    inputs: Any,
    rows: np.ndarray,
    focus: np.ndarray,
    zero: np.ndarray | None = None,
    batch_size: int = 32,
    device: str | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """(N, 2) predictions at each window's ``focus`` for windows ``rows`` (N, R) built from
    ``inputs``; ``zero``: window positions whose motifs and accessibility are set to 0, either
    (N,) one position per window (-1: none) or an (N, R) bool mask."""
    import torch

    device = _device(device)
    model = predictor.model.to(device)
    out = np.zeros((len(rows), 2), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            part = slice(start, start + batch_size)
            x, pad, positions = inputs.batch(rows[part])
            index = np.arange(len(x))
            if zero is not None and zero.ndim == 2:
                x[zero[part]] = 0.0
            elif zero is not None:
                knocked = zero[part] >= 0
                x[index[knocked], zero[part][knocked]] = 0.0
            x, pad, positions = (torch.from_numpy(a).to(device) for a in (x, pad, positions))
            pred = model(x, pad, positions=positions).float()
            out[part] = pred[torch.from_numpy(index), torch.from_numpy(focus[part])].cpu().numpy()
            if progress is not None:
                progress(min(start + batch_size, len(rows)), len(rows))
    return out


def gradients(
    predictor: Any,
    inputs: Any,
    targets: Targets,
    batch_size: int = 32,
    device: str | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[slice, np.ndarray, np.ndarray, np.ndarray]]:
    """Per batch of targets: (slice of targets, inputs x (B, R, F+1), d prediction / d x of the
    same shape, predictions (B,)). Padding rows have x = 0 and a zero gradient."""
    import torch

    device = _device(device)
    model = predictor.model.to(device)
    n = len(targets)
    for start in range(0, n, batch_size):
        part = slice(start, min(start + batch_size, n))
        x_np, pad, positions = inputs.batch(targets.rows[part])
        x = torch.from_numpy(x_np).to(device).requires_grad_(True)
        pred = model(
            x, torch.from_numpy(pad).to(device), positions=torch.from_numpy(positions).to(device)
        )
        index = torch.arange(len(x_np), device=device)
        focus = torch.from_numpy(targets.focus[part]).to(device)
        strand = torch.from_numpy(targets.strand[part].astype(np.int64)).to(device)
        y = pred[index, focus, strand]
        (grad,) = torch.autograd.grad(y.sum(), x)
        yield part, x_np, grad.float().cpu().numpy(), y.detach().float().cpu().numpy()
        if progress is not None:
            progress(part.stop, n)
