"""Training on a store built from real data: the B-cell-like peaks on hg38 chr2:1-2,333,275."""

from __future__ import annotations

import numpy as np
import pandas as pd

from conftest import bcell_chr2_inputs
from getx.prepare import prepare
from getx.store import open_store
from getx.train import TrainConfig, load_model, train
from getx.train.config import DataConfig
from getx.train.data import prepare_data


def test_small_model_learns_on_real_bcell_store(tmp_path):
    inputs, _ = bcell_chr2_inputs(tmp_path)
    store = prepare(inputs, tmp_path / "bcell.zarr")
    config = TrainConfig(
        store=str(store),
        out=str(tmp_path / "run"),
        preset="small",
        model={"embed_dim": 64, "depth": 2, "num_heads": 4},
        data=DataConfig(regions=16, step=4),
        batch_size=8,
        epochs=40,
        lr=1e-3,
        weight_decay=0.0,
        warmup_steps=5,
        progress=False,
        deterministic=True,
        limit_val_batches=0,
        checkpoint_every=40,
    )
    run = train(config)
    losses = pd.read_csv(run / "logs" / "metrics.csv")["train_loss_epoch"].dropna().to_numpy()
    assert len(losses) == 40
    # The head starts at the mean label, so compare with the best constant prediction: the model
    # must learn more than the mean from the real features.
    data = prepare_data(open_store(store), config.data)
    windows = data.dataset("train", "expression")
    labels = np.concatenate([w["y"][w["tss"]].numpy() for w in windows])
    mean = labels.mean()
    constant_loss = np.mean(mean - labels * np.log(mean))  # Poisson NLL of the best constant
    assert losses[-5:].mean() < 0.85 * constant_loss
    table = load_model(run).predict(open_store(store), "bcell")
    # Every gene with a TSS region is predicted, the bidirectional TMEM18 / TMEM18-DT pair included.
    assert {"TMEM18", "TMEM18-DT", "ACP1"} <= set(table["gene_name"])
    assert (table["predicted"] >= 0).all()
