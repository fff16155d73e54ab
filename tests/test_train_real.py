"""Training on a store built from real data: the B-cell-like peaks on hg38 chr2:1-2,333,275."""

from __future__ import annotations

import gzip

import pandas as pd

from conftest import shared_path
from getx.prepare import PrepareInputs, prepare
from getx.store import open_store
from getx.train import TrainConfig, load_model, train


def test_small_model_learns_on_real_bcell_store(tmp_path):
    peaks = tmp_path / "chr2_piece.bed"
    with gzip.open(shared_path("bcell_like/test.atac.bed.gz"), "rt") as source:
        rows = [line for line in source if line.startswith("chr2\t")]
    peaks.write_text("".join(r for r in rows if int(r.split("\t")[2]) <= 2_333_275))
    store = prepare(
        PrepareInputs(
            peaks=peaks,
            genome=shared_path("genome/chr2_1-2333275.fa.gz"),
            annotation=shared_path("annotation/gencode.v40.hg38.tss.tsv.gz"),
            motifs=str(shared_path("motifs")),
            accessibility={"bcell": peaks},
            expression={"bcell": shared_path("bcell_like/test.rna.csv")},
        ),
        tmp_path / "bcell.zarr",
    )
    config = TrainConfig(
        store=str(store),
        out=str(tmp_path / "run"),
        preset="small",
        model={"embed_dim": 64, "depth": 2, "num_heads": 4},
        regions=16,
        step=4,
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
    assert losses[-5:].mean() < 0.7 * losses[:5].mean()  # training loss falls on real features
    table = load_model(run).predict(open_store(store), "bcell")
    # Every gene with a TSS region is predicted, the bidirectional TMEM18 / TMEM18-DT pair included.
    assert {"TMEM18", "TMEM18-DT", "ACP1"} <= set(table["gene_name"])
    assert (table["predicted"] >= 0).all()
