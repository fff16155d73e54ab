"""Stores built without sequence (`getx prepare --chrom-sizes FILE --motifs none`): real K562 chr22
DNase peaks and counts, pseudobulked scE2G RNA; no motif columns, and a GET trains on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import shared_path
from getx.cli import app
from getx.errors import InputError
from getx.io.expression import read_pseudobulk
from getx.prepare import PrepareInputs, prepare
from getx.store import open_store
from getx.train import DataConfig, TrainConfig, load_model, train

# 5 Mb of chr22 (about 2,000 DNase candidate regions) keeps the test to seconds.
SEGMENT = ("chr22", 30_000_000, 35_000_000)


@pytest.fixture(scope="module")
def segment_peaks(tmp_path_factory):
    chrom, start, end = SEGMENT
    peaks = pd.read_csv(
        shared_path("k562_chr22/abc_dnase.candidateRegions.bed"),
        sep="\t",
        header=None,
        usecols=[0, 1, 2],
    )
    inside = peaks[(peaks[0] == chrom) & (peaks[1] >= start) & (peaks[2] <= end)]
    path = tmp_path_factory.mktemp("peaks") / "segment.bed"
    inside.to_csv(path, sep="\t", header=False, index=False)
    return path, len(inside)


def _k562_args(peaks) -> list[str]:
    return [
        "--peaks",
        str(peaks),
        "--annotation",
        str(shared_path("k562_chr22/CollapsedGeneBounds.hg38.intGENCODEv43.chr22.bed")),
        "--accessibility",
        "K562="
        + str(shared_path("k562_chr22/abc_dnase.Enhancers.DHS.ENCFF860XAE.CountReads.bedgraph")),
        "--rna-counts",
        str(shared_path("k562_chr22/scE2G_cluster1.rna_count_matrix.csv.gz")),
    ]


@pytest.fixture(scope="module")
def k562_store(segment_peaks, tmp_path_factory):
    peaks, n_peaks = segment_peaks
    out = tmp_path_factory.mktemp("store") / "k562.zarr"
    sizes = shared_path("annotation/GRCh38_EBV.no_alt.chrom.sizes.tsv")
    args = ["prepare", "--out", str(out), "--chrom-sizes", str(sizes), "--motifs", "none"]
    result = CliRunner().invoke(app, [*args, *_k562_args(peaks)])
    assert result.exit_code == 0, result.output
    return open_store(out), n_peaks


def test_store_without_sequence_has_no_motif_columns(k562_store):
    store, n_peaks = k562_store
    assert store.n_regions == n_peaks > 1000
    assert store.feature_names == []
    assert store.read_features().shape == (n_peaks, 0)
    assert store.attrs["genome"] is None and store.attrs["motif_set"] is None
    assert store.attrs["chrom_sizes"].endswith("GRCh38_EBV.no_alt.chrom.sizes.tsv")
    data = store.cell_type("K562")
    # accessibility and labels are there as with a genome: counts from the DNase bedgraph and
    # pseudobulked RNA on the promoter peaks
    assert data.accessibility_raw.sum() > 10_000 and data.accessibility.max() == 1.0
    assert data.tss.sum() > 50
    bulk = read_pseudobulk(
        shared_path("k562_chr22/scE2G_cluster1.rna_count_matrix.csv.gz"), name="K562"
    ).log10cpm["K562"]
    measured = ~np.isnan(data.gene_expression)
    names = store.genes["gene_name"].to_numpy()[measured]
    assert measured.sum() > 50
    np.testing.assert_allclose(
        data.gene_expression[measured], bulk.reindex(names).to_numpy(), rtol=1e-5
    )


def test_a_get_model_trains_and_predicts_on_accessibility_alone(k562_store, tmp_path):
    store, _ = k562_store
    config = TrainConfig(
        store=str(store.path),
        out=str(tmp_path / "run"),
        model={"embed_dim": 32, "depth": 1, "num_heads": 2, "motif_dropout": 0.2},
        data=DataConfig(regions=50, step=25, accessibility="linear", holdout_chroms=[]),
        batch_size=8,
        epochs=2,
        lr=1e-3,
        progress=False,
        limit_val_batches=0,
    )
    run = train(config)
    predictor = load_model(run)
    assert predictor.model.config.n_features == 1  # the accessibility column alone
    table = predictor.predict(store, "K562")
    assert len(table) > 50
    assert np.isfinite(table["predicted"]).all() and (table["predicted"] >= 0).all()


def test_motif_features_without_sequence_are_a_clear_error(segment_peaks, tmp_path):
    peaks, _ = segment_peaks
    sizes = shared_path("annotation/GRCh38_EBV.no_alt.chrom.sizes.tsv")
    inputs = PrepareInputs(
        peaks=peaks,
        genome=None,
        chrom_sizes=sizes,
        annotation=shared_path("k562_chr22/CollapsedGeneBounds.hg38.intGENCODEv43.chr22.bed"),
    )
    with pytest.raises(InputError, match="--motifs none"):
        prepare(inputs, tmp_path / "x.zarr")
    assert not (tmp_path / "x.zarr").exists()
    result = CliRunner().invoke(
        app, ["prepare", "--out", str(tmp_path / "y.zarr"), *_k562_args(peaks)]
    )
    assert result.exit_code != 0 and "--chrom-sizes" in result.output
