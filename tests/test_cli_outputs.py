"""Class 1 of issue #14: getx never destroys what it did not write.

Every command that writes is pointed at a user's folder, a user's file, one of its own inputs, a
file where a folder is wanted (and the reverse) and a folder it cannot write in; each must be
refused at once (before any scan or training) with one line naming the path, leaving the user's
files and the inputs byte for byte as they were. Re-running a command over its own earlier output
replaces it. Class 4 (no leftovers) follows: a command that fails leaves nothing new behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

# Imported before any CliRunner call: Lightning's log handler keeps the stderr it was imported
# under, and CliRunner closes its own after each call ("--- Logging error --- Traceback").
import lightning  # noqa: F401
import pytest
import torch
from typer.testing import CliRunner

from cli_checks import refused, tree
from getx.cli import app
from tiny_dataset import TinyDataset, tiny_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> TinyDataset:
    return tiny_dataset(tmp_path_factory)


def _folder(tmp: Path, name: str = "results") -> Path:
    """A user's folder holding a file of theirs."""
    (tmp / name).mkdir()
    (tmp / name / "notes.txt").write_text("my notes\n")
    return tmp / name


def _file(tmp: Path, name: str) -> Path:
    (tmp / name).write_text("my own data\n")
    return tmp / name


def _unwritable(tmp: Path) -> Path:
    """A folder nobody may write in: chmod 555, or as root (who ignores modes) /sys."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


Args = Callable[[TinyDataset, Path], list]
S, R, I = "store", "run", "importance"  # noqa: E741  (dataset paths named in the cases)


def _cmd(*parts) -> Args:
    """Arguments with dataset paths (S, R, I, "sim/<file>", "store/<file>") and paths under the
    test folder ("tmp/<name>") filled in."""

    def build(data: TinyDataset, tmp: Path) -> list:
        known = {S: data.store, R: data.run, I: data.importance}
        folders = {"sim/": data.sim, "store/": data.store, "tmp/": tmp}
        out = []
        for part in parts:
            prefix = next((f for f in folders if str(part).startswith(f)), None)
            if part in known:
                out.append(known[part])
            elif prefix is not None:
                out.append(folders[prefix] / part[len(prefix) :])
            else:
                out.append(part)
        return out

    return build


SIM = ["--data", "sim/"]
# (id, setup of the user's files in the test folder, arguments, text the error line must hold)
CASES = [
    ("prepare-into-user-folder", _folder, _cmd("prepare", *SIM, "-o", "tmp/results"),
     "not a region store written by getx"),
    ("prepare-over-input-folder", None, _cmd("prepare", *SIM, "-o", "sim/"),
     "the output holds an input"),
    ("prepare-over-input-file", None, _cmd("prepare", *SIM, "-o", "sim/genes.gtf"),
     "the output is an input"),
    ("prepare-over-a-file", lambda t: _file(t, "store.zarr"),
     _cmd("prepare", *SIM, "-o", "tmp/store.zarr"), "is a file, but a folder is wanted"),
    ("prepare-under-a-file", lambda t: _file(t, "afile"),
     _cmd("prepare", *SIM, "-o", "tmp/afile/store.zarr"), "is a file"),
    ("prepare-over-a-run", None, _cmd("prepare", *SIM, "-o", R), "not a region store"),
    ("predict-over-user-folder", _folder, _cmd("predict", R, S, "-o", "tmp/results"),
     "is a folder, but a file is wanted"),
    ("predict-over-user-file", lambda t: _file(t, "pred.tsv"),
     _cmd("predict", R, S, "-o", "tmp/pred.tsv"), "not a prediction table written by getx"),
    ("predict-over-input", None, _cmd("predict", R, S, "-o", "sim/rna.ct1.csv"),
     "not a prediction table written by getx"),
    ("predict-over-store", None, _cmd("predict", R, S, "-o", S), "is an input"),
    ("predict-inside-store", None, _cmd("predict", R, S, "-o", "store/pred.tsv"),
     "lies inside the input folder"),
    ("finetune-into-user-folder", _folder, _cmd("finetune", S, "-o", "tmp/results"),
     "not a run directory written by getx"),
    ("finetune-over-a-file", lambda t: _file(t, "run"), _cmd("finetune", S, "-o", "tmp/run"),
     "is a file, but a folder is wanted"),
    ("pretrain-over-store", None, _cmd("pretrain", S, "-o", S), "is an input"),
    ("finetune-into-existing-run", None, _cmd("finetune", S, "-o", R),
     "already has checkpoints"),
    ("simulate-into-user-folder", _folder, _cmd("simulate", "-o", "tmp/results"),
     "not a simulated dataset written by getx"),
    ("simulate-over-a-file", lambda t: _file(t, "sim"), _cmd("simulate", "-o", "tmp/sim"),
     "is a file, but a folder is wanted"),
    ("evaluate-into-user-folder", _folder, _cmd("evaluate", R, S, "-o", "tmp/results"),
     "not an evaluation folder written by getx"),
    ("evaluate-over-run", None, _cmd("evaluate", R, S, "-o", R), "is an input"),
    ("interpret-into-user-folder", _folder,
     _cmd("interpret", R, S, "--cell-type", "ct1", "-o", "tmp/results"),
     "not an importance store written by getx"),
    ("interpret-bedgraph-user-folder", _folder,
     _cmd("interpret", R, S, "--cell-type", "ct1", "--genes", "g", "-o", "tmp/imp.zarr",
          "--bedgraph", "tmp/results"), "not a bedGraph folder written by getx"),
    ("links-over-user-file", lambda t: _file(t, "links.tsv"),
     _cmd("links", R, S, "--cell-type", "ct1", "-o", "tmp/links.tsv"),
     "not a links table written by getx"),
    ("perturb-over-user-folder", _folder,
     _cmd("perturb", R, S, "--cell-type", "ct1", "--motif", "CTCF", "-o", "tmp/results"),
     "is a folder, but a file is wanted"),
    ("variants-over-user-file", lambda t: _file(t, "v.tsv"),
     _cmd("variants", R, S, "tmp/v.tsv", "--cell-type", "ct1", "-o", "tmp/v.tsv"),
     "is an input"),
    ("network-over-user-file", lambda t: _file(t, "net.json"),
     _cmd("network", "build", I, "-o", "tmp/net.json"), "not a motif network written by getx"),
    ("network-edges-over-user-file", lambda t: _file(t, "edges.tsv"),
     _cmd("network", "build", I, "-o", "tmp/net.json", "--edges-tsv", "tmp/edges.tsv"),
     "not an edge table written by getx"),
    ("structures-score-into-user-folder", _folder,
     _cmd("structures", "score", "tmp/none.pdb", "-o", "tmp/results"),
     "not a structure score folder written by getx"),
    ("structures-pairs-over-user-csv", lambda t: _file(t, "jobs.csv"),
     _cmd("structures", "pairs", "--fasta", "tmp/p.fa", "--pairs", "tmp/p.tsv", "-o",
          "tmp/jobs.csv"), "not a ColabFold batch CSV written by getx"),
    ("structures-pairs-over-user-manifest", lambda t: _file(t, "jobs.manifest.tsv"),
     _cmd("structures", "pairs", "--fasta", "tmp/p.fa", "--pairs", "tmp/p.tsv", "-o",
          "tmp/jobs.csv"), "not a pair manifest written by getx"),
    ("structures-compare-into-user-folder", _folder,
     _cmd("structures", "compare", "--wt", "tmp/a", "--mut", "tmp/b", "-o", "tmp/results"),
     "not a mutation comparison folder written by getx"),
    ("motifs-cluster-over-user-json", lambda t: _file(t, "clusters.json"),
     _cmd("motifs", "cluster", "-o", "tmp/clusters"), "not a getx motif clustering"),
    ("demo-into-user-folder", _folder, _cmd("demo", "-o", "tmp/results"),
     "not a demo folder written by getx"),
    ("demo-over-input", None, _cmd("demo", "--data", "sim/", "-o", "sim/"), "holds an input"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "args", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_refuses_to_replace_what_getx_did_not_write(data, tmp_path, setup, args, expect):
    if setup is not None:
        setup(tmp_path)
    refused(args(data, tmp_path), tmp_path, data, expect)


WRITERS = {
    "prepare": _cmd("prepare", *SIM, "-o", "OUT"),
    "finetune": _cmd("finetune", S, "-o", "OUT"),
    "simulate": _cmd("simulate", "-o", "OUT"),
    "evaluate": _cmd("evaluate", R, S, "-o", "OUT"),
    "predict": _cmd("predict", R, S, "-o", "OUT"),
    "interpret": _cmd("interpret", R, S, "--cell-type", "ct1", "-o", "OUT"),
    "network": _cmd("network", "build", I, "-o", "OUT.json"),
    "structures-score": _cmd("structures", "score", "tmp/none.pdb", "-o", "OUT"),
    "motifs-cluster": _cmd("motifs", "cluster", "-o", "OUT"),
    "demo": _cmd("demo", "-o", "OUT"),
}


@pytest.mark.parametrize("command", list(WRITERS))
@pytest.mark.parametrize("where", ["unwritable", "under-a-file"])
def test_checks_the_output_location_before_any_work(data, tmp_path, command, where):
    # Each would fail only at its end without the early check (after a scan or training).
    parent = _unwritable(tmp_path) if where == "unwritable" else _file(tmp_path, "afile")
    args = [
        str(parent / "out") + a[3:] if isinstance(a, str) and a.startswith("OUT") else a
        for a in WRITERS[command](data, tmp_path)
    ]
    expect = "cannot write in" if where == "unwritable" else "is a file"
    line = refused(args, tmp_path, data, expect)
    assert str(parent) in line
    assert not (parent / "out").exists()


def _run(args: list) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


@pytest.mark.slow
def test_replaces_its_own_earlier_output(data, tmp_path):
    # getx's own outputs need no --force: predictions, an evaluation, a simulation, a network.
    for args in (
        ["predict", data.run, data.store, "-o", tmp_path / "p.tsv"],
        ["predict", data.run, data.store, "-o", tmp_path / "p.h5ad"],
        ["evaluate", data.run, data.store, "-o", tmp_path / "eval"],
        [
            "network",
            "build",
            data.importance,
            "-o",
            tmp_path / "n.graphml",
            "--runs",
            "2",
            "--top-motifs",
            "10",
        ],
    ):
        _run(args)
        first = tree(tmp_path)
        _run(args)
        assert tree(tmp_path).keys() == first.keys()
    empty = tmp_path / "empty"
    empty.mkdir()  # an empty folder is taken as it is
    _run(["simulate", "-o", empty, "--seed", "1"])
    _run(["simulate", "-o", empty, "--seed", "1"])
    assert (empty / "manifest.json").exists()


# -- class 4: a failed command leaves nothing new ------------------------------------------------


def _bad_inputs(tmp: Path) -> None:
    """A checkpoint of random bytes and a text file that is no valid input of any kind."""
    (tmp / "inputs").mkdir()
    (tmp / "inputs" / "random.ckpt").write_bytes(os.urandom(4096))
    (tmp / "inputs" / "junk.txt").write_text("chr1\tnot-a-number\tx\n")


LEFTOVERS = [
    ("finetune-bad-init", _cmd("finetune", S, "-o", "tmp/new/run", "--init-checkpoint",
                              "tmp/inputs/random.ckpt"), "cannot read the checkpoint"),
    ("finetune-unknown-holdout", _cmd("finetune", S, "-o", "tmp/new/run", "--holdout-chrom",
                                      "chrZ"), "chrZ"),
    ("finetune-all-held-out", _cmd("finetune", S, "-o", "tmp/new/run", "--holdout-chrom", "chr1",
                                   "--holdout-chrom", "chr2"), "no training windows"),
    ("pretrain-missing-cell-type", _cmd("pretrain", S, "-o", "tmp/new/run", "--cell-type",
                                        "ct9"), "ct9"),
    ("simulate-bad-motifs", _cmd("simulate", "-o", "tmp/new/sim", "--motifs",
                                 "tmp/inputs/junk.txt"), "junk.txt"),
    ("prepare-bad-peaks", _cmd("prepare", "-o", "tmp/new/s.zarr", "--peaks",
                               "tmp/inputs/junk.txt", "--genome", "sim/genome.fa",
                               "--annotation", "sim/genes.gtf"), "junk.txt"),
    ("evaluate-bad-compare", _cmd("evaluate", R, S, "-o", "tmp/new/eval", "--compare",
                                  "tmp/inputs/random.ckpt"), "random.ckpt"),
    ("interpret-unknown-gene", _cmd("interpret", R, S, "--cell-type", "ct1", "--genes", "NOPE",
                                    "-o", "tmp/new/i.zarr", "--bedgraph", "tmp/new/tracks"),
     "NOPE"),
    ("demo-bad-data", _cmd("demo", "-o", "tmp/new/demo", "--data", "tmp/inputs"), "inputs"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expect"), [c[1:] for c in LEFTOVERS], ids=[c[0] for c in LEFTOVERS]
)
def test_failed_commands_leave_nothing_new(data, tmp_path, args, expect):
    _bad_inputs(tmp_path)
    refused(args(data, tmp_path), tmp_path, data, expect)
    assert not (tmp_path / "new").exists()


def test_training_that_fails_midway_removes_only_what_it_created(data, tmp_path):
    # A failure inside Lightning's fit, before an epoch ends: the run is removed; an empty folder
    # given as --out stays, empty; a failure after an epoch keeps the run for --resume.
    import lightning as L  # noqa: N812

    from getx.train import TrainConfig, train
    from tiny_dataset import TINY_MODEL

    class Boom(L.Callback):
        def __init__(self, epoch: int):
            self.epoch = epoch

        def on_train_batch_end(self, trainer, *args):
            if trainer.current_epoch == self.epoch:
                raise RuntimeError("disk full")

    def config(out: Path) -> TrainConfig:
        return TrainConfig.from_dict(
            {"store": str(data.store), "out": str(out), "regions": 32, "step": 16,
             "holdout_chroms": ["chr2"], "epochs": 2, "batch_size": 16, "model": dict(TINY_MODEL),
             "progress": False}
        )  # fmt: skip

    torch.set_num_threads(1)
    for out in (tmp_path / "new" / "run", tmp_path / "empty"):
        if out.name == "empty":
            out.mkdir()
        with pytest.raises(RuntimeError, match="disk full"):
            train(config(out), callbacks=[Boom(epoch=0)])
        assert not (tmp_path / "new").exists()
    assert list((tmp_path / "empty").iterdir()) == []
    late = tmp_path / "late"
    with pytest.raises(RuntimeError, match="disk full"):
        train(config(late), callbacks=[Boom(epoch=1)])
    assert (late / "checkpoints" / "last.ckpt").exists() and (late / "config.yaml").exists()
