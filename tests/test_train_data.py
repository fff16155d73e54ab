"""Windows, splits, scaling and labels for training (no model involved)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from getx.errors import InputError
from getx.store import CellTypeData
from getx.train.data import (
    CellTypeArrays,
    DataConfig,
    WindowDataset,
    best_context,
    cell_type_arrays,
    chromosome_windows,
    fit_scaling,
    plan_windows,
    scale_features,
    window_positions,
)


def test_chromosome_windows_cover_and_pad():
    rows = np.arange(10, 23)  # 13 rows
    w = chromosome_windows(rows, regions=5, step=4)
    assert w.tolist() == [[10, 11, 12, 13, 14], [14, 15, 16, 17, 18], [18, 19, 20, 21, 22]]
    w = chromosome_windows(rows, regions=5, step=3)
    assert w[-1].tolist() == [18, 19, 20, 21, 22]  # an extra window covers the tail
    short = chromosome_windows(np.array([4, 7]), regions=4, step=2)
    assert short.tolist() == [[4, 7, -1, -1]]
    assert chromosome_windows(np.array([], dtype=np.int64), 4, 2).shape == (0, 4)


@st.composite
def _layouts(draw):
    n_chrom = draw(st.integers(1, 5))
    sizes = draw(st.lists(st.integers(0, 40), min_size=n_chrom, max_size=n_chrom))
    chroms = np.repeat([f"chr{i}" for i in range(n_chrom)], sizes)
    n = len(chroms)
    n_ct = draw(st.integers(1, 3))
    cell_types = [f"ct{i}" for i in range(n_ct)]
    drop = draw(st.booleans())
    keep = {}
    for ct in cell_types:
        bits = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        keep[ct] = np.array(bits, dtype=bool) if drop else np.ones(n, dtype=bool)
    present = sorted(set(chroms.tolist()))
    held_chroms = draw(st.lists(st.sampled_from(present), unique=True)) if present else []
    held_cts = draw(st.lists(st.sampled_from(cell_types), unique=True, max_size=n_ct - 1))
    regions = draw(st.integers(1, 12))
    step = draw(st.integers(1, 12))
    config = DataConfig(
        regions=regions, step=step, holdout_chroms=held_chroms, holdout_cell_types=held_cts
    )
    return chroms, keep, config


@settings(max_examples=150, deadline=None)
@given(_layouts())
def test_split_never_leaks(layout):
    chroms, keep, config = layout
    plan = plan_windows(chroms, keep, config)
    held_chrom = set(config.holdout_chroms)
    held_ct = set(config.holdout_cell_types)
    for w in range(len(plan.positions)):
        rows = plan.positions[w][plan.positions[w] >= 0]
        assert len(rows) > 0
        ct = plan.cell_types[plan.cell_type[w]]
        row_chroms = set(chroms[rows].tolist())
        assert len(row_chroms) == 1  # never crosses a chromosome
        assert keep[ct][rows].all()  # only usable (e.g. accessible) rows of that cell type
        padding = plan.positions[w] < 0
        assert not padding[: len(rows)].any()  # padding only at the end
        touches_held = bool(row_chroms & held_chrom) or ct in held_ct
        if plan.train[w]:
            assert not touches_held
        if plan.val[w] and (held_chrom or held_ct):
            assert touches_held
            if held_chrom:
                assert row_chroms <= held_chrom
            if held_ct:
                assert ct in held_ct
    # with step <= R, every usable row of a training (cell type, chromosome) is trained on
    for ct_id, ct in enumerate(plan.cell_types):
        if ct in held_ct or config.step > config.regions:
            continue
        usable = np.flatnonzero(keep[ct] & ~np.isin(chroms, list(held_chrom)))
        covered = plan.positions[plan.train & (plan.cell_type == ct_id)]
        assert set(usable.tolist()) == set(covered[covered >= 0].tolist())


def test_split_rejects_unknown_holdout():
    chroms = np.array(["chr1"] * 5)
    with pytest.raises(InputError, match="chrX"):
        plan_windows(
            chroms, {"a": np.ones(5, bool)}, DataConfig(regions=2, holdout_chroms=["chrX"])
        )


def test_scaling_fitted_on_training_rows_only():
    features = np.array([[1.0, 0.0], [2.0, 0.0], [10.0, 0.0]], dtype=np.float32)
    col_max = fit_scaling(features, np.array([0, 1]))  # row 2 is validation
    assert col_max.tolist() == [2.0, 1.0]
    scaled = scale_features(features, col_max)
    assert scaled[:, 0].tolist() == [0.5, 1.0, 1.0]  # clipped to 1
    assert scaled[:, 1].tolist() == [0.0, 0.0, 0.0]


def test_labels_zeroed_below_cutoff_and_accessibility_modes():
    data = CellTypeData(
        accessibility_raw=np.array([0.0, 3.0, 10.0], np.float32),
        accessibility=np.array([0.0, 0.04, 1.0], np.float32),
        expression=np.array([[1.0, 0.0], [2.0, 0.5], [3.0, 0.0]], np.float32),
        tss=np.array([[1, 0], [1, 1], [1, 0]], np.int8),
        gene_expression=np.zeros(0, np.float32),
    )
    binary = cell_type_arrays(data, DataConfig())
    assert binary.labels.tolist() == [[0.0, 0.0], [0.0, 0.0], [3.0, 0.0]]
    assert binary.tss.tolist() == [[False, False], [False, False], [True, False]]
    assert binary.access_input.tolist() == [0.0, 1.0, 1.0]
    quant = cell_type_arrays(data, DataConfig(accessibility="quantitative", label_cutoff=0.01))
    assert quant.access_input.tolist() == pytest.approx([0.0, 0.04, 1.0])
    assert quant.labels[1].tolist() == [2.0, 0.5]
    # linear: reads over their mean on accessible regions ((3 + 10) / 2), labels as quantitative
    linear = cell_type_arrays(data, DataConfig(accessibility="linear", label_cutoff=0.01))
    assert linear.access_input.tolist() == pytest.approx([0.0, 3 / 6.5, 10 / 6.5])
    assert linear.labels.tolist() == quant.labels.tolist()
    with pytest.raises(InputError, match="log"):
        DataConfig(accessibility="log")


@given(st.integers(1, 60), st.integers(1, 12), st.integers(1, 12))
def test_best_context_marks_every_row_once_with_most_context(n, regions, step):
    rows = np.arange(100, 100 + n)
    windows = chromosome_windows(rows, regions, min(step, regions))
    best = best_context(windows)
    assert sorted(windows[best].tolist()) == rows.tolist()  # every row exactly once

    # No other entry of a row has strictly more context on its poorer side.
    def context(w, c):
        valid = windows[w] >= 0
        left = regions if windows[w, 0] == rows[0] else c
        right = regions if windows[w][valid].max() == rows[-1] else valid.sum() - 1 - c
        return min(left, right)

    for row in rows:
        entries = np.argwhere(windows == row)
        chosen = [context(w, c) for w, c in entries if best[w, c]]
        assert chosen[0] == max(context(w, c) for w, c in entries)


def test_window_positions_are_offsets_from_the_first_region():
    # Offsets stay small where absolute positions would not fit a float32 to the bp.
    centres = np.array([248_000_001, 248_005_003, 248_009_000, 248_900_123], dtype=np.int64)
    rows = np.array([[1, 2, 3, -1], [-1, 0, 1, 2]])
    got = window_positions(centres, rows)
    assert got.dtype == np.float32
    assert got.tolist() == [[0, 3_997, 895_120, 0], [0, 0, 5_002, 8_999]]


def test_shifted_windows_stay_contiguous_inside_their_chromosome():
    chroms = np.repeat(["chr1", "chr2"], [37, 9])
    keep = {"a": np.ones(46, bool), "b": np.arange(46) % 3 != 0}
    plan = plan_windows(chroms, keep, DataConfig(regions=8, step=4))
    seen = set()
    for w in range(len(plan.positions)):
        block = plan.blocks[plan.block[w]]
        assert plan.shifted(w, 0).tolist() == plan.positions[w].tolist()
        for shift in range(-6, 7):
            rows = plan.shifted(w, shift)
            real = rows[rows >= 0]  # a block shorter than a window stays as planned, padded
            assert len(rows) == 8 and set(real) <= set(block)  # same chromosome and cell type
            start = np.searchsorted(block, real[0])
            assert real.tolist() == block[start : start + len(real)].tolist()  # contiguous
            seen.add((w, tuple(rows)))
    assert len(seen) > len(plan.positions)  # shifting does reach other contexts


@given(st.integers(1, 80), st.sampled_from([(8, 2), (12, 3), (20, 5)]))
def test_min_context_flags_only_tss_with_context_and_each_one_somewhere(n, shape):
    regions, quarter = shape
    chroms = np.array(["chr1"] * n)
    plan = plan_windows(chroms, {"a": np.ones(n, bool)}, DataConfig(regions=regions, step=quarter))
    tss = np.ones((n, 2), dtype=bool)
    cell = CellTypeArrays(
        access_input=np.ones(n, np.float32),
        accessibility=np.ones(n, np.float32),
        labels=np.ones((n, 2), np.float32),
        tss=tss,
        accessible=np.ones(n, bool),
    )
    windows = WindowDataset(
        np.zeros((n, 3), np.float32),
        [cell],
        plan,
        np.arange(len(plan.positions)),
        "expression",
        np.arange(n) * 1_000,
        min_context=quarter,
    )
    flagged = set()
    for item in range(len(windows)):
        rows = plan.positions[item]
        kept = windows[item]["tss"].numpy().all(axis=1)
        for col in np.flatnonzero(kept):
            left = regions if rows[0] == 0 else col
            right = regions if rows[rows >= 0].max() == n - 1 else (rows >= 0).sum() - 1 - col
            assert min(left, right) >= quarter  # context on both sides, chromosome ends full
            flagged.add(int(rows[col]))
    # windows a quarter apart give every TSS one window with a quarter window on each side
    assert flagged == set(range(n))
    with pytest.raises(InputError, match="min_context"):
        DataConfig(regions=8, min_context=5)
