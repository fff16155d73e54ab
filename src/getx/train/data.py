"""Training data: windows of consecutive regions, held-out splits, feature scaling, labels.

Everything is positional. A window is an array of R row numbers into the store's regions
(-1 for padding), built per cell type and chromosome from the chromosome's own rows, so a
window never crosses a chromosome and every split decision is made on the store's ``chrom``
column at those rows. (GET used pandas labels as positions after dropping rows, which leaked
held-out chromosomes into training; reference study §5.3 #1.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from getx.errors import InputError
from getx.train.config import DataConfig

log = logging.getLogger(__name__)


def chromosome_windows(rows: np.ndarray, regions: int, step: int) -> np.ndarray:
    """Windows (W, R) over ``rows`` (one chromosome's store rows, in order), -1 padded.

    Starts go 0, step, 2*step, ... and a last window is added so the final rows are covered;
    only a chromosome shorter than R gives a padded window.
    """
    n = len(rows)
    if n == 0:
        return np.empty((0, regions), dtype=np.int64)
    starts = list(range(0, max(n - regions, 0) + 1, step))
    if starts[-1] + regions < n:
        starts.append(n - regions)
    out = np.full((len(starts), regions), -1, dtype=np.int64)
    for i, start in enumerate(starts):
        chunk = rows[start : start + regions]
        out[i, : len(chunk)] = chunk
    return out


def window_context(windows: np.ndarray, first: int, last: int) -> np.ndarray:
    """(W, R) int: for each entry of ``windows`` (rows of one chromosome, whose first and last
    usable rows are ``first`` and ``last``), the regions of context on its poorer side; a
    chromosome end counts as full context (R), since nothing lies beyond it. -1 on padding."""
    R = windows.shape[1]
    valid = windows >= 0
    # Rows are increasing along a window, so column offsets measure context in regions.
    at_start = windows[:, :1] == first
    at_end = np.where(valid, windows, -1).max(axis=1, keepdims=True) == last
    col = np.arange(R)[None, :]
    left = np.where(at_start, R, col)
    right = np.where(at_end, R, (valid.sum(axis=1, keepdims=True) - 1) - col)
    return np.where(valid, np.minimum(left, right), -1)


def best_context(windows: np.ndarray) -> np.ndarray:
    """(W, R) bool: for each row of one chromosome's ``windows``, the one entry where it has the
    most regions of context on its poorer side (see :func:`window_context`). Every row is marked
    exactly once; padding never."""
    W, R = windows.shape
    valid = windows >= 0
    if not valid.any():
        return valid
    context = window_context(windows, windows[valid].min(), windows[valid].max()).ravel()
    flat_rows = windows.ravel()
    order = np.lexsort((-context, flat_rows))  # by row, best context first
    keep = np.zeros(W * R, dtype=bool)
    rows_sorted = flat_rows[order]
    firsts = np.r_[True, rows_sorted[1:] != rows_sorted[:-1]] & (rows_sorted >= 0)
    keep[order[firsts]] = True
    return keep.reshape(W, R)


@dataclass
class WindowPlan:
    """All windows of a store, with their split. Arrays have one entry per window."""

    positions: np.ndarray  # (W, R) int64 store rows, -1 = padding
    best: np.ndarray  # (W, R) bool, each row's entry with the most context (see best_context)
    cell_type: np.ndarray  # (W,) int index into cell_types
    chrom: np.ndarray  # (W,) int index into chroms
    cell_types: list[str]
    chroms: list[str]
    train: np.ndarray  # (W,) bool
    val: np.ndarray  # (W,) bool
    blocks: list[np.ndarray]  # usable rows of one cell type and chromosome, in order
    block: np.ndarray  # (W,) the window's block
    start: np.ndarray  # (W,) where the window starts in its block

    def shifted(self, w: int, shift: int) -> np.ndarray:
        """Window ``w``'s rows moved by ``shift`` regions, staying inside its chromosome."""
        rows = self.blocks[self.block[w]]
        R = self.positions.shape[1]
        if len(rows) <= R:
            return self.positions[w]
        start = int(np.clip(self.start[w] + shift, 0, len(rows) - R))
        return rows[start : start + R]


def plan_windows(
    region_chroms: np.ndarray,
    keep: dict[str, np.ndarray],
    config: DataConfig,
) -> WindowPlan:
    """Windows for every cell type in ``keep`` (cell type -> (n,) bool rows usable), with splits.

    Training windows are from cell types and chromosomes not held out. Validation windows are
    from held-out cell types (all when none) on held-out chromosomes (all when none); with
    nothing held out, validation is every window.
    """
    region_chroms = np.asarray(region_chroms).astype(str)
    chroms = list(dict.fromkeys(region_chroms.tolist()))
    cell_types = list(keep)
    for name, values in (
        ("chromosome", config.holdout_chroms),
        ("cell type", config.holdout_cell_types),
    ):
        known = chroms if name == "chromosome" else cell_types
        unknown = [v for v in values if v not in known]
        if unknown:
            raise InputError(f"held-out {name} {unknown} not in the store (has {known[:30]})")
    chrom_index = {c: i for i, c in enumerate(chroms)}
    codes = np.array([chrom_index[c] for c in region_chroms], dtype=np.int64)
    parts, bests, ct_ids, chrom_ids, blocks, block_ids, starts = [], [], [], [], [], [], []
    for ct_id, name in enumerate(cell_types):
        usable = np.asarray(keep[name], dtype=bool)
        for chrom_id in range(len(chroms)):
            rows = np.flatnonzero((codes == chrom_id) & usable)
            windows = chromosome_windows(rows, config.regions, config.step)
            parts.append(windows)
            bests.append(best_context(windows))
            block_ids.append(np.full(len(windows), len(blocks)))
            starts.append(np.searchsorted(rows, windows[:, 0]))
            blocks.append(rows)
            ct_ids.append(np.full(len(windows), ct_id))
            chrom_ids.append(np.full(len(windows), chrom_id))
    positions = np.concatenate(parts) if parts else np.empty((0, config.regions), np.int64)
    best = np.concatenate(bests) if bests else np.empty((0, config.regions), bool)
    ct = np.concatenate(ct_ids).astype(np.int64) if ct_ids else np.empty(0, np.int64)
    chrom = np.concatenate(chrom_ids).astype(np.int64) if chrom_ids else np.empty(0, np.int64)
    # The split is decided from the store rows each window actually holds (positional).
    first = positions[:, 0]
    window_chrom = np.array([chroms[c] for c in codes[first]]) if len(first) else np.array([])
    in_held_chrom = np.isin(window_chrom, config.holdout_chroms)
    in_held_ct = np.isin(
        np.array(cell_types)[ct] if len(ct) else np.array([]), config.holdout_cell_types
    )
    train = ~in_held_chrom & ~in_held_ct
    if config.holdout_chroms or config.holdout_cell_types:
        val_chrom = in_held_chrom if config.holdout_chroms else np.ones_like(train)
        val_ct = in_held_ct if config.holdout_cell_types else np.ones_like(train)
        val = val_chrom & val_ct
    else:
        log.warning("nothing held out: validation windows are the training windows")
        val = np.ones_like(train)
    block = np.concatenate(block_ids).astype(np.int64) if block_ids else np.empty(0, np.int64)
    start = np.concatenate(starts).astype(np.int64) if starts else np.empty(0, np.int64)
    return WindowPlan(
        positions, best, ct, chrom, cell_types, chroms, train, val, blocks, block, start
    )


def fit_scaling(features: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per motif column maximum over the given (training) rows; 1 where the column is all 0."""
    if len(rows) == 0:
        raise InputError("no training regions to fit the feature scaling on")
    col_max = np.asarray(features[np.unique(rows)], dtype=np.float64).max(axis=0)
    return np.where(col_max > 0, col_max, 1.0).astype(np.float32)


def scale_features(features: np.ndarray, col_max: np.ndarray) -> np.ndarray:
    """GET's motif scaling: divide by the training maximum, clip to [0, 1]."""
    return np.clip(np.asarray(features, np.float32) / col_max[None, :], 0.0, 1.0)


@dataclass
class CellTypeArrays:
    access_input: np.ndarray  # (n,) float32 the accessibility input column
    accessibility: np.ndarray  # (n,) float32 normalised accessibility (the accessibility target)
    labels: np.ndarray  # (n, 2) float32 expression, zeroed below the accessibility cutoff
    tss: np.ndarray  # (n, 2) bool, TSS entries that carry a label
    accessible: np.ndarray  # (n,) bool raw accessibility > 0


def linear_accessibility(raw: np.ndarray) -> np.ndarray:
    """Reads (or signal) divided by their mean over the accessible regions: a library-size
    normalisation that keeps the read scale linear, so twice the reads is twice the input."""
    raw = np.nan_to_num(np.asarray(raw, np.float64))
    accessible = raw > 0
    if not accessible.any():
        return np.zeros(raw.shape, np.float32)
    return (raw / raw[accessible].mean()).astype(np.float32)


def cell_type_arrays(data: Any, config: DataConfig) -> CellTypeArrays:
    """Model inputs and labels for one cell type (``data`` is a store ``CellTypeData``)."""
    accessible = np.asarray(data.accessibility_raw) > 0
    norm = np.nan_to_num(np.asarray(data.accessibility, np.float32))
    if config.accessibility == "binary":
        column = accessible.astype(np.float32)
    elif config.accessibility == "linear":
        column = linear_accessibility(data.accessibility_raw)
    else:
        column = norm
    open_enough = norm >= config.label_cutoff
    labels = np.nan_to_num(np.asarray(data.expression, np.float32)) * open_enough[:, None]
    tss = (np.asarray(data.tss) > 0) & open_enough[:, None]
    return CellTypeArrays(
        column.astype(np.float32), norm, labels.astype(np.float32), tss, accessible
    )


def usable_rows(arrays: CellTypeArrays, config: DataConfig) -> np.ndarray:
    return arrays.accessible if config.drop_zero_accessibility else np.ones_like(arrays.accessible)


class WindowDataset:
    """Map-style dataset of windows: each item is a dict of tensors for one window.

    ``x`` (R, F+1): scaled motifs then the accessibility column (1 for a head that predicts
    accessibility from motifs alone); ``pad`` (R,) bool; ``y`` the task head's target array
    (:attr:`getx.model.heads.Head.target`: (R, 2) expression labels, (R,) accessibility, or
    (R, 0) for a head that learns its input); ``tss`` (R, 2) bool; ``cell_type``/``chrom``
    window codes. With ``min_context`` > 0, ``tss`` keeps only the entries with that much
    context on each side.
    """

    def __init__(
        self,
        features: np.ndarray,
        cells: list[CellTypeArrays],
        plan: WindowPlan,
        indices: np.ndarray,
        task: str,
        centres: np.ndarray,
        shift: int = 0,
        min_context: int = 0,
    ):
        from getx.model.heads import head_class

        self.features = features
        self.min_context = min_context
        self.centres = centres
        self.shift = shift
        self.cells = cells
        self.plan = plan
        self.indices = np.asarray(indices, dtype=np.int64)
        self.head = head_class(task)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> dict[str, Any]:
        import torch

        w = self.indices[item]
        pos = self.plan.positions[w]
        if self.shift:
            # Another context each epoch (torch's RNG: seeded by Lightning, per worker).
            pos = self.plan.shifted(w, int(torch.randint(-self.shift, self.shift + 1, ())))
        ct = self.cells[self.plan.cell_type[w]]
        valid = pos >= 0
        rows = pos[valid]
        R, F = len(pos), self.features.shape[1]
        x = np.zeros((R, F + 1), dtype=np.float32)
        x[valid, :F] = self.features[rows]
        x[valid, F] = ct.access_input[rows] if self.head.sees_accessibility else 1.0
        tss = np.zeros((R, 2), dtype=bool)
        tss[valid] = ct.tss[rows]
        if self.min_context:
            block = self.plan.blocks[self.plan.block[w]]
            context = window_context(pos[None], block[0], block[-1])[0]
            tss &= (context >= self.min_context)[:, None]
        if self.head.target is None:
            y = np.zeros((R, 0), dtype=np.float32)
        else:
            values = getattr(ct, self.head.target)
            y = np.zeros((R, *values.shape[1:]), dtype=np.float32)
            y[valid] = values[rows]
        return {
            "x": torch.from_numpy(x),
            "pos": torch.from_numpy(window_positions(self.centres, pos)),
            "pad": torch.from_numpy(~valid),
            "y": torch.from_numpy(y),
            "tss": torch.from_numpy(tss),
            # best-context flags hold for the planned (unshifted) windows only
            "best": torch.from_numpy(self.plan.best[w] & (self.shift == 0)),
            "cell_type": int(self.plan.cell_type[w]),
            "chrom": int(self.plan.chrom[w]),
        }


def region_centres(regions: Any) -> np.ndarray:
    """(n,) int64 centre in bp of each store region (a table with ``start`` and ``end``)."""
    return (regions["start"].to_numpy() + regions["end"].to_numpy()).astype(np.int64) // 2


def window_positions(centres: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Region centres of windows ``rows`` (..., R) as float32 bp offsets from each window's first
    region (exact to the bp over 16 Mb, where absolute positions would not be); padding (-1)
    gets offset 0."""
    valid = rows >= 0
    first = np.take_along_axis(rows, valid.argmax(axis=-1)[..., None], axis=-1)
    first = np.maximum(first, 0)  # an all-padding window
    return (centres[np.where(valid, rows, first)] - centres[first]).astype(np.float32)


@dataclass
class PreparedData:
    plan: WindowPlan
    features: np.ndarray  # scaled motif features (n, F)
    col_max: np.ndarray  # (F,) scaling fitted on the training rows
    feature_names: list[str]
    cells: list[CellTypeArrays]
    centres: np.ndarray  # (n,) int64 region centres in bp

    def training_rows(self, c: int) -> np.ndarray:
        """The store rows of cell type ``c``'s training windows (with repeats)."""
        rows = self.plan.positions[self.plan.train & (self.plan.cell_type == c)].ravel()
        return rows[rows >= 0]

    def training_label_mean(self) -> float:
        """Mean expression label over the TSS entries of the training windows (0 if none)."""
        total, count = 0.0, 0
        for c, cell in enumerate(self.cells):
            rows = self.training_rows(c)
            tss = cell.tss[rows]
            total += float(cell.labels[rows][tss].sum())
            count += int(tss.sum())
        return total / count if count else 0.0

    def check_learnable(self, target: str | None, store: Any, config: DataConfig) -> None:
        """Refuse a training split with nothing to learn from for a head whose target is
        ``target`` (``labels``, ``accessibility``, or None: its input), with the counts and the
        likely cause, before a run creates anything."""
        rows = [np.unique(self.training_rows(c)) for c in range(len(self.cells))]
        cells = list(zip(self.cells, rows, strict=True))
        accessible = sum(int(cell.accessible[r].sum()) for cell, r in cells)
        labelled = sum(int(cell.tss[r].sum()) for cell, r in cells)
        informative = sum(
            int(((self.features[r] != 0).any(axis=1) | (cell.access_input[r] != 0)).sum())
            for cell, r in cells
        )
        found = {"labels": labelled, "accessibility": accessible}.get(target, informative)
        if found:
            return
        names = [self.plan.cell_types[c] for c in range(len(self.cells)) if len(rows[c])]
        measured = set()
        for name in names:
            values = store.cell_type(name).gene_expression
            measured |= set(store.genes.loc[~np.isnan(values), "gene_id"])
        genes = store.genes["gene_id"].nunique()
        if target is None:
            cause = "every training region has all-zero motif features and accessibility"
        elif target == "labels" and not genes:
            cause = "no annotated gene has its TSS in a region (another genome build or naming?)"
        elif target == "labels" and not measured:
            cause = "no gene of the expression tables matches the annotation's ids or names"
        elif not accessible:
            cause = "no training region is accessible in these cell types"
        else:
            cause = f"every measured TSS is held out or below label_cutoff {config.label_cutoff}"
        what = {"labels": "labelled TSS entries", "accessibility": "accessible regions"}
        raise InputError(
            f"nothing to learn from: 0 {what.get(target, 'regions with any input')} in the "
            f"training split ({int(self.plan.train.sum())} windows over {len(names)} cell "
            f"types, {sum(map(len, rows))} region rows, {accessible} accessible; {genes} genes "
            f"with a TSS region, {len(measured)} measured); likely cause: {cause}",
            store.path,
        )

    def dataset(self, split: str, task: str, shift: int = 0, min_context: int = 0) -> WindowDataset:
        """Training or validation windows; ``shift`` > 0 moves each window by a random number
        of regions in [-shift, shift] every time it is read (augmentation, training only);
        ``min_context`` > 0 flags only the TSSs with that much context on each side."""
        mask = self.plan.train if split == "train" else self.plan.val
        return WindowDataset(
            self.features,
            self.cells,
            self.plan,
            np.flatnonzero(mask),
            task,
            self.centres,
            shift,
            min_context,
        )


def prepare_data(store: Any, config: DataConfig, col_max: np.ndarray | None = None) -> PreparedData:
    """Read a store and make windows, splits and scaled features (scaling fitted on training rows
    unless ``col_max`` is given, e.g. when resuming)."""
    names = list(config.cell_types) if config.cell_types else list(store.cell_types)
    missing = [n for n in names if n not in store.cell_types]
    if missing:
        raise InputError(f"cell types {missing} are not in the store", store.path)
    cells = [cell_type_arrays(store.cell_type(n), config) for n in names]
    keep = {n: usable_rows(c, config) for n, c in zip(names, cells, strict=True)}
    plan = plan_windows(store.regions["chrom"].to_numpy(), keep, config)
    if not plan.train.any():
        raise InputError("no training windows: everything is held out", store.path)
    raw = store.read_features()
    if col_max is None:
        train_rows = plan.positions[plan.train]
        col_max = fit_scaling(raw, train_rows[train_rows >= 0])
    log.info(
        "%d windows (%d train, %d validation) of %d regions over %d cell types",
        len(plan.train),
        int(plan.train.sum()),
        int(plan.val.sum()),
        config.regions,
        len(names),
    )
    return PreparedData(
        plan,
        scale_features(raw, col_max),
        col_max,
        list(store.feature_names),
        cells,
        region_centres(store.regions),
    )
