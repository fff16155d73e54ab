"""Class 5 of issue #14: a run killed hard (SIGKILL, no chance to save anything) in the middle of
an epoch continues from its last checkpoint with `getx finetune --resume` and ends with exactly
the weights of the same run left alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

# Imported before any CliRunner call: Lightning's log handler keeps the stderr it was imported
# under, and CliRunner closes its own after each call ("--- Logging error --- Traceback").
import lightning  # noqa: F401
import pytest
import torch
from typer.testing import CliRunner

from getx.cli import app
from tiny_dataset import TINY_MODEL, tiny_dataset

# Training that draws random numbers every epoch: shuffling, dropout, stochastic depth, motif
# dropout and window shifts. Three epochs of a few steps each.
SETTINGS = {
    "regions": 32,
    "step": 16,
    "random_shift": True,
    "holdout_chroms": ["chr2"],
    "epochs": 3,
    "batch_size": 16,
    "lr": 1e-3,
    "model": {**TINY_MODEL, "drop_path": 0.1, "motif_dropout": 0.2},
    "progress": False,
    "deterministic": True,
    "seed": 7,
}

# Runs in a child process: trains, and kills itself with SIGKILL at the third batch of the
# second epoch (after the first epoch's checkpoint, before the second's).
KILLED = """
import json, os, signal, sys
import lightning as L
import torch
from getx.train import TrainConfig, train

class Kill(L.Callback):
    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if trainer.current_epoch == 1 and batch_idx == 2:
            os.kill(os.getpid(), signal.SIGKILL)

torch.set_num_threads(1)
train(TrainConfig.from_dict(json.loads(sys.argv[1])), callbacks=[Kill()])
"""


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


@pytest.mark.slow
def test_resume_after_sigkill_gives_the_uninterrupted_weights(tmp_path_factory, tmp_path):
    from getx.train import TrainConfig, train

    data = tiny_dataset(tmp_path_factory)
    settings = {**SETTINGS, "store": str(data.store)}
    torch.set_num_threads(1)
    train(TrainConfig.from_dict({**settings, "out": str(tmp_path / "whole")}))

    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.run(
        [sys.executable, "-c", KILLED, json.dumps({**settings, "out": str(killed)})],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    saved = torch.load(killed / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["epoch"] == 0  # the kill came in the second epoch, before its checkpoint
    assert not (killed / "checkpoints" / "interrupted.ckpt").exists()  # nothing saved at the kill

    result = CliRunner().invoke(app, ["finetune", "--resume", "--out", str(killed)])
    assert result.exit_code == 0, result.output
    resumed = torch.load(killed / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["epoch"] == 2
    whole, again = _weights(tmp_path / "whole"), resumed["state_dict"]
    assert whole.keys() == again.keys()
    differing = [k for k in whole if not torch.equal(whole[k], again[k])]
    assert not differing, f"{len(differing)} of {len(whole)} tensors differ, e.g. {differing[:3]}"
