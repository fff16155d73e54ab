"""Prediction: one window per TSS region, every gene row kept, chromosome ends inside."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from getx.errors import InputError
from getx.store import open_store
from getx.train.commands import predict as predict_command
from getx.train.config import DataConfig
from getx.train.predict import COLUMNS, load_model, predict, tss_windows
from getx.train.run import TrainConfig, train
from synthetic import make_synthetic_store

TINY = {"embed_dim": 32, "depth": 2, "num_heads": 4, "drop_path": 0.0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("pred")
    store = make_synthetic_store(root / "syn.zarr", chroms=2, regions_per_chrom=128, seed=3)
    cfg = TrainConfig(
        store=str(store),
        out=str(root / "run"),
        data=DataConfig(regions=16, step=8, holdout_chroms=["chr2"], drop_zero_accessibility=True),
        epochs=2,
        lr=1e-3,
        model=TINY,
        progress=False,
        deterministic=True,
    )
    return store, train(cfg)


def test_predict_covers_shared_regions_and_chromosome_ends(trained):
    store_path, run = trained
    store = open_store(store_path)
    table = predict(run, store_path, "mixed")
    assert list(table.columns) == COLUMNS
    data = store.cell_type("mixed")
    genes = store.genes
    accessible = data.accessibility_raw[genes["region"].to_numpy()] > 0
    # exactly the gene rows whose TSS region is accessible, none merged
    assert len(table) == int(accessible.sum())
    assert set(table["gene_id"]) == set(genes.loc[accessible, "gene_id"])
    shared = genes[genes.duplicated(["region", "strand"], keep=False)]
    assert len(shared) >= 2  # the synthetic store has two genes on one strand of one region
    for _, gene in shared.iterrows():
        if data.accessibility_raw[gene["region"]] > 0:
            assert gene["gene_id"] in set(table["gene_id"])
    both = table[table.duplicated("region", keep=False)]
    assert set(both["strand"]) == {"+", "-"}  # bidirectional promoters give both strands
    assert (table["predicted"] >= 0).all()
    np.testing.assert_allclose(table["observed"], data.gene_expression[accessible], rtol=1e-6)
    assert table["cell_type"].eq("mixed").all()
    # region coordinates come from the store row
    row = table.iloc[0]
    assert row["chrom"] == store.regions.loc[row["region"], "chrom"]
    assert row["start"] == store.regions.loc[row["region"], "start"]


def test_prediction_at_chromosome_end_equals_hand_built_window(trained):
    store_path, run = trained
    store = open_store(store_path)
    model = load_model(run)
    table = model.predict(store, "open")
    chrom = store.regions["chrom"].to_numpy()
    last_row = int(np.flatnonzero(chrom == "chr1")[-1])
    first_row = int(np.flatnonzero(chrom == "chr2")[0])
    features = store.read_features()
    col_max = np.asarray(model.hparams["scaling"], dtype=np.float32)
    centres = (store.regions["start"] + store.regions["end"]).to_numpy() // 2
    for row, at_end in ((last_row, True), (first_row, False)):
        hits = table[table["region"] == row]
        assert len(hits) >= 1  # genes at both chromosome ends are predicted
        # Independent window: R = 16 rows of the chromosome, the TSS at its own position
        # (the last or the first), as training windows hold chromosome ends; no padding.
        rows = np.flatnonzero(chrom == chrom[row])
        window = rows[-16:] if at_end else rows[:16]
        focus = 15 if at_end else 0
        x = np.zeros((16, features.shape[1] + 1), dtype=np.float32)
        x[:, :-1] = np.clip(features[window] / col_max, 0, 1)
        x[:, -1] = (store.cell_type("open").accessibility_raw[window] > 0).astype(float)
        positions = (centres[window] - centres[window[0]]).astype(np.float32)
        with torch.no_grad():
            pred = model.model(
                torch.from_numpy(x)[None], positions=torch.from_numpy(positions)[None]
            )
        for _, hit in hits.iterrows():
            expected = float(pred[0, focus, 0 if hit["strand"] == "+" else 1])
            assert hit["predicted"] == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_tss_windows_centre_the_tss_and_stay_inside_the_chromosome():
    chroms = np.array(["a"] * 10 + ["b"] * 3)
    usable = np.ones(13, dtype=bool)
    usable[4] = False
    w = tss_windows(chroms, usable, np.array([5, 0, 9, 11, 5]), size=4)
    np.testing.assert_array_equal(w.region, [0, 5, 9, 11])  # unique, sorted
    # chromosome a's usable rows: 0 1 2 3 5 6 7 8 9 (row 4 skipped)
    np.testing.assert_array_equal(w.rows[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(w.rows[1], [2, 3, 5, 6])  # centred: TSS at size // 2
    np.testing.assert_array_equal(w.rows[2], [6, 7, 8, 9])  # chromosome end: shifted inside
    np.testing.assert_array_equal(w.rows[3], [10, 11, 12, -1])  # short chromosome: padded
    np.testing.assert_array_equal(w.focus, [0, 2, 3, 1])
    np.testing.assert_array_equal(w.rows[np.arange(4), w.focus], w.region)


def test_predict_command_writes_tsv(trained, tmp_path):
    store_path, run = trained
    out = tmp_path / "pred.tsv"
    predict_command(run / "checkpoints" / "last.ckpt", store_path, out, ["open"])
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns) == COLUMNS and len(table) > 0


def test_predict_rejects_other_features_and_non_checkpoints(trained, tmp_path):
    store_path, run = trained
    store = open_store(store_path)
    store.feature_names = [*store.feature_names[:-1], "other"]
    with pytest.raises(InputError, match="store features differ"):
        load_model(run).predict(store, "open")
    bogus = tmp_path / "w.pth"
    torch.save({"model": {"x": torch.zeros(1)}}, bogus)
    with pytest.raises(InputError, match=r"w\.pth: not a getx training checkpoint"):
        load_model(bogus)


def test_predict_writes_genes_by_cell_types_h5ad_beside_the_tsv(trained, tmp_path):
    import anndata
    from typer.testing import CliRunner

    from getx.cli import app

    store_path, run = trained
    runner = CliRunner()
    h5ad, tsv = tmp_path / "pred.h5ad", tmp_path / "pred.tsv"
    for out in (h5ad, tsv):
        args = ["predict", str(run), str(store_path), "open", "mixed", "-o", str(out)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    table = pd.read_csv(tsv, sep="\t")
    assert list(table["cell_type"].unique()) == ["open", "mixed"]
    pd.testing.assert_frame_equal(
        table, load_model(run).predict_cell_types(store_path, ["open", "mixed"]), check_dtype=False
    )
    adata = anndata.read_h5ad(h5ad)
    assert list(adata.var_names) == ["open", "mixed"]
    assert adata.var["held_out_cell_type"].tolist() == [False, False]
    assert adata.uns["getx"]["holdout_chroms"].tolist() == ["chr2"]
    obs = adata.obs
    assert (obs["held_out_chromosome"] == (obs["chrom"] == "chr2")).all()
    assert obs.index.is_unique
    # every (gene row, cell type) of the table sits at its place; nothing predicted elsewhere
    key = ["gene_id", "strand", "region"]
    row = pd.MultiIndex.from_frame(obs[key].astype({"region": int})).get_indexer(
        pd.MultiIndex.from_frame(table[key])
    )
    col = adata.var_names.get_indexer(table["cell_type"])
    assert (row >= 0).all()
    np.testing.assert_allclose(adata.X[row, col], table["predicted"], rtol=1e-6)
    observed = adata.layers["observed"][row, col]
    np.testing.assert_allclose(observed, table["observed"], rtol=1e-6)  # NaN where unmeasured
    assert np.isnan(adata.X).sum() == adata.X.size - len(table)
    # a gene whose TSS region is closed in "mixed" has a prediction in "open" only
    closed = np.isnan(adata.X[:, 1]) & ~np.isnan(adata.X[:, 0])
    assert closed.any()
    args = ["predict", str(run), str(store_path), "-o", str(tsv), "--format", "x"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "format 'x' is not one of" in result.output


def test_anndata_keeps_each_gene_row_and_the_split():
    from getx.train.predict import to_anndata

    rows = [  # one gene with TSSs in two regions, and a second gene; two cell types
        ("G1", "A", "a", 5, "chr1", 100, 500, "+", 1.5, 2.0),
        ("G1", "A", "a", 9, "chr1", 900, 1300, "+", 0.5, np.nan),
        ("G2", "B", "a", 9, "chr1", 900, 1300, "-", 2.5, 3.0),
        ("G1", "A", "b", 9, "chr1", 900, 1300, "+", 0.75, 0.25),
        ("G3", "C", "b", 2, "chr2", 10, 400, "+", 1.0, 1.0),
    ]
    adata = to_anndata(pd.DataFrame(rows, columns=COLUMNS), ["chr2"], ["b"])
    assert list(adata.obs_names) == ["G1", "G1-1", "G2", "G3"]
    assert adata.obs["region"].tolist() == [5, 9, 9, 2]
    assert adata.obs["held_out_chromosome"].tolist() == [False, False, False, True]
    assert adata.var["held_out_cell_type"].tolist() == [False, True]
    np.testing.assert_array_equal(adata.X, [[1.5, np.nan], [0.5, 0.75], [2.5, np.nan], [np.nan, 1]])
    np.testing.assert_array_equal(
        adata.layers["observed"], [[2.0, np.nan], [np.nan, 0.25], [3.0, np.nan], [np.nan, 1.0]]
    )


def test_predict_rejects_a_store_of_another_motif_set(trained):
    store_path, run = trained
    store = open_store(store_path)
    model = load_model(run)
    model.hparams["motif_checksum"] = "a" * 64
    store.attrs["motif_set"] = {"checksum": "b" * 64}
    with pytest.raises(InputError, match=r"motif set \(checksum bbbbbbbbbbbb\) is not the one"):
        model.predict(store, "open")
    store.attrs["motif_set"] = {"checksum": "a" * 64}
    assert len(model.predict(store, "open")) > 0
