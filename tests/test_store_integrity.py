"""Classes 2 and 3 of issue #14 on the store and run side: nothing silently wrong, no tracebacks.

A store whose files were lost or damaged is refused on open, naming the array (the manifest of
chunk files and checksums written with it); a damaged or foreign checkpoint, or a run without
one, is one line naming the file (never torch's advice to unpickle code); a store with nothing
to learn from is refused before a run is created, with the counts and the likely cause.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
from collections.abc import Callable
from pathlib import Path

# Imported before any CliRunner call: Lightning's log handler keeps the stderr it was imported
# under, and CliRunner closes its own after each call ("--- Logging error --- Traceback").
import lightning  # noqa: F401
import numpy as np
import pytest
import torch

from cli_checks import refused
from getx.store import CellTypeData, open_store, write_store
from tiny_dataset import TinyDataset, tiny_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> TinyDataset:
    return tiny_dataset(tmp_path_factory)


def _edit_root(store: Path, change: Callable[[dict], None]) -> None:
    meta = json.loads((store / "zarr.json").read_text())
    change(meta["attributes"])
    (store / "zarr.json").write_text(json.dumps(meta))


def _flip_a_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


# (id, damage done to a copy of the store, text the error line must hold)
DAMAGE = [
    ("chunk-deleted", lambda s: (s / "features" / "c" / "0" / "0").unlink(),
     "array 'features' is damaged: 0 of 1 chunk files"),
    ("chunk-truncated", lambda s: (s / "regions/start/c/0").write_bytes(b"\x00" * 7),
     "array 'regions/start' is damaged"),
    ("chunk-bytes-changed", lambda s: _flip_a_byte(s / "cell_types/ct2/tss/c/0/0"),
     "array 'cell_types/ct2/tss' is damaged (checksum differs)"),
    ("array-deleted", lambda s: shutil.rmtree(s / "genes" / "strand"),
     "array 'genes/strand' is missing"),
    ("cell-type-deleted", lambda s: shutil.rmtree(s / "cell_types" / "ct3"),
     "array 'cell_types/ct3/accessibility' is missing"),
    ("root-json-corrupt", lambda s: (s / "zarr.json").write_text('{"zarr_format": 3,'),
     "zarr.json: not valid JSON"),
    ("array-json-corrupt", lambda s: (s / "features" / "zarr.json").write_text("{oops"),
     "array 'features' cannot be read"),
    ("manifest-removed", lambda s: _edit_root(s, lambda a: a.pop("arrays")),
     "manifest of arrays is missing"),
    ("older-schema", lambda s: _edit_root(s, lambda a: a.update(schema_version=1)),
     "getx store schema version 1 is not 2"),
    ("not-a-store", lambda s: (s / "zarr.json").unlink(), "not a getx store (no zarr.json)"),
]  # fmt: skip

USES = {
    "inspect": lambda d, s, t: ["inspect", s],
    "predict": lambda d, s, t: ["predict", d.run, s, "-o", t / "p.tsv"],
    "finetune": lambda d, s, t: ["finetune", s, "-o", t / "run"],
}


@pytest.mark.parametrize("use", list(USES))
@pytest.mark.parametrize(("damage", "expect"), [c[1:] for c in DAMAGE], ids=[c[0] for c in DAMAGE])
def test_damaged_store_is_refused_naming_the_array(data, tmp_path, use, damage, expect):
    store = tmp_path / "inputs" / "store.zarr"
    shutil.copytree(data.store, store)
    damage(store)
    line = refused(USES[use](data, store, tmp_path), tmp_path, data, expect)
    assert str(store) in line


IMPORTANCE_DAMAGE = [
    ("array-deleted", lambda s: shutil.rmtree(s / "cell_types/ct1/targets/window"),
     "array 'cell_types/ct1/targets/window' is missing"),
    ("chunk-bytes-changed", lambda s: _flip_a_byte(s / "cell_types/ct1/importance/motif/c/0/0"),
     "array 'cell_types/ct1/importance/motif' is damaged (checksum differs)"),
    ("root-json-corrupt", lambda s: (s / "zarr.json").write_text("{"), "zarr.json: not valid JSON"),
    ("array-json-corrupt", lambda s: (s / "cell_types/ct1/genes/region/zarr.json").write_text("["),
     "array 'cell_types/ct1/genes/region' cannot be read"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("damage", "expect"), [c[1:] for c in IMPORTANCE_DAMAGE], ids=[c[0] for c in IMPORTANCE_DAMAGE]
)
def test_damaged_importance_store_is_refused_naming_the_array(data, tmp_path, damage, expect):
    store = tmp_path / "inputs" / "importance.zarr"
    shutil.copytree(data.importance, store)
    damage(store)
    line = refused(["network", "build", store, "-o", tmp_path / "n.json"], tmp_path, data, expect)
    assert str(store) in line and "run `getx interpret` again" in line


def _ckpt(tmp: Path, name: str, content) -> Path:
    path = tmp / "inputs" / name
    path.parent.mkdir(exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    return path


def _run_copy(data: TinyDataset, tmp: Path, keep: tuple[str, ...]) -> Path:
    """A copy of the run holding only ``keep`` of its checkpoints."""
    run = tmp / "inputs" / "run"
    shutil.copytree(data.run, run)
    for ckpt in (run / "checkpoints").glob("*.ckpt"):
        if ckpt.name not in keep:
            ckpt.unlink()
    return run


def _half(path: Path) -> bytes:
    raw = path.read_bytes()
    return raw[: len(raw) // 2]


# (id, the file or folder given as a checkpoint, text the error line must hold)
CHECKPOINTS = [
    ("random-bytes", lambda d, t: _ckpt(t, "r.ckpt", os.urandom(2048)),
     "cannot read the checkpoint"),
    ("truncated", lambda d, t: _ckpt(t, "t.ckpt", _half(d.run / "checkpoints" / "last.ckpt")),
     "cannot read the checkpoint: truncated"),
    ("empty-file", lambda d, t: _ckpt(t, "e.ckpt", b""), "cannot read the checkpoint"),
    ("text-file", lambda d, t: _ckpt(t, "x.ckpt", b"epoch,loss\n1,0.5\n"),
     "cannot read the checkpoint"),
    ("python-objects", lambda d, t: _ckpt(t, "o.ckpt", {"path": pathlib.PurePosixPath("x")}),
     "holds Python objects besides weights"),
    ("published-weights", lambda d, t: _ckpt(t, "w.pth", {"model": {"w": torch.zeros(2)}}),
     "not a getx training checkpoint"),
    ("no-state-dict", lambda d, t: _ckpt(t, "n.ckpt", {"hyper_parameters": {"model": {}}}),
     "not a complete getx training checkpoint"),
    ("run-without-checkpoint", lambda d, t: _run_copy(d, t, ()),
     "run directory has no checkpoints/last.ckpt"),
    ("interrupted-run", lambda d, t: _run_copy(d, t, ("epoch000.ckpt",)),
     "the run has not finished"),
    ("folder-not-a-run", lambda d, t: _ckpt(t, "f.txt", b"x").parent,
     "not a run directory (no config.yaml)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "expect"), [c[1:] for c in CHECKPOINTS], ids=[c[0] for c in CHECKPOINTS]
)
def test_unreadable_checkpoint_is_one_line(data, tmp_path, make, expect):
    given = make(data, tmp_path)
    line = refused(["predict", given, data.store, "-o", tmp_path / "p.tsv"], tmp_path, data, expect)
    assert str(given) in line and "weights_only" not in line


@pytest.mark.parametrize("name", ["random-bytes", "truncated", "python-objects"])
def test_unreadable_init_or_resume_checkpoint_creates_nothing(data, tmp_path, name):
    make, expect = next(c[1:] for c in CHECKPOINTS if c[0] == name)
    given = make(data, tmp_path)
    args = ["finetune", data.store, "-o", tmp_path / "run", "--init-checkpoint", given]
    refused(args, tmp_path, data, expect)
    run = _run_copy(data, tmp_path, ("last.ckpt",))
    shutil.copyfile(given, run / "checkpoints" / "last.ckpt")
    line = refused(["finetune", "--resume", "-o", run], tmp_path, data, expect)
    assert str(run / "checkpoints" / "last.ckpt") in line
    (run / "checkpoints" / "last.ckpt").unlink()
    refused(["finetune", "--resume", "-o", run], tmp_path, data, "no checkpoint to resume from")


def _changed_store(data: TinyDataset, path: Path, **change) -> Path:
    """A copy of the dataset's store with some arrays replaced: ``genes`` (a gene table), or per
    cell type ``accessibility_raw``/``gene_expression`` values, or ``features``."""
    store = open_store(data.store)
    genes = change.get("genes", store.genes)
    cells = {}
    for name in store.cell_types:
        ct = store.cell_type(name)
        raw = change.get("accessibility_raw", ct.accessibility_raw)
        values = change.get("gene_expression", ct.gene_expression[: len(genes)])
        values = np.broadcast_to(values, (len(genes),))
        measured = np.zeros((store.n_regions, 2), np.int8)
        if len(genes) and np.isfinite(values).any():
            measured = ct.tss
        cells[name] = CellTypeData(
            accessibility_raw=np.broadcast_to(raw, ct.accessibility_raw.shape).copy(),
            accessibility=np.where(np.asarray(raw) > 0, ct.accessibility, 0).astype(np.float32),
            expression=ct.expression * (measured > 0),
            tss=measured,
            gene_expression=values.astype(np.float32),
        )
    features = change.get("features", store.read_features())
    return write_store(
        path, store.regions, features, store.feature_names, store.cluster_genes, cells, genes,
        attrs={k: v for k, v in store.attrs.items() if k not in ("arrays", "schema_version")},
    )  # fmt: skip


NOTHING = [
    ("no-gene-measured", "finetune", {"gene_expression": np.float32("nan")},
     "0 labelled TSS entries", "no gene of the expression tables matches"),
    ("no-gene-annotated", "finetune", {"genes": "empty"},
     "0 labelled TSS entries", "no annotated gene has its TSS in a region"),
    ("nothing-accessible", "finetune", {"accessibility_raw": np.float32(0)},
     "0 labelled TSS entries", "no training region is accessible"),
    ("nothing-accessible-for-its-head", "finetune --task accessibility",
     {"accessibility_raw": np.float32(0)}, "0 accessible regions", "no training region"),
    ("all-zero-inputs", "pretrain", {"accessibility_raw": np.float32(0), "features": 0.0},
     "0 regions with any input", "all-zero motif features"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "change", "count", "cause"), [c[1:] for c in NOTHING], ids=[c[0] for c in NOTHING]
)
def test_nothing_to_learn_is_refused_before_a_run_exists(
    data, tmp_path, command, change, count, cause
):
    store = open_store(data.store)
    if change.get("genes") == "empty":
        change = {"genes": store.genes.iloc[:0]}
    if "features" in change:
        change["features"] = np.zeros((store.n_regions, len(store.feature_names)), np.float32)
    path = _changed_store(data, tmp_path / "inputs" / "store.zarr", **change)
    (*words,) = command.split()
    line = refused([*words, path, "-o", tmp_path / "run"], tmp_path, data, count)
    assert cause in line and "nothing to learn from" in line and str(path) in line
