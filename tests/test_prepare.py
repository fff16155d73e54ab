"""End-to-end store building: a simulated folder, B-cell peaks on real hg38 chr2, K562 chr22."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import bcell_chr2_inputs, shared_path
from getx.cli import app
from getx.errors import InputError
from getx.prepare import PrepareInputs, prepare
from getx.store import open_store


@pytest.fixture(scope="module")
def bcell_store(tmp_path_factory):
    """B-cell-like peaks inside the real chr2:1-2,333,275 piece, GET's v1 motifs, its RNA table."""
    folder = tmp_path_factory.mktemp("bcell")
    inputs, rows = bcell_chr2_inputs(folder)
    out = prepare(inputs, folder / "bcell.zarr")
    return open_store(out), rows


def _region_of(store, chrom, position):
    regions = store.regions
    hit = np.flatnonzero(
        (regions["chrom"] == chrom) & (regions["start"] <= position) & (regions["end"] > position)
    )
    assert hit.size == 1, f"no single region holds {chrom}:{position}"
    return int(hit[0])


def test_bcell_store_has_get_features_in_get_order(bcell_store):
    store, rows = bcell_store
    assert store.n_regions == len(rows) == 69
    order = shared_path("motifs/human_motif_cluster_id").read_text().split()
    assert store.feature_names == order
    features = store.read_features()
    assert features.shape == (69, 282)
    assert np.isfinite(features).all()
    # Low-information motifs (SOX, ZNF...) have thresholds <= 0 at p < 1e-4 against the v1
    # AT-rich background, so some hits score below 0, as in MOODS; most features are >= 0.
    assert (features < 0).mean() < 0.05
    # The first peak starts inside the 10 kb N block of chr2 (10,071-10,902): only its last
    # ~900 bp hold sequence, so it has hits, and every region has some.
    assert (features.sum(axis=1) > 0).all()
    # CTCF sites are common in accessible chromatin: several regions carry the CTCF cluster.
    assert (features[:, order.index("CTCF")] > 0).sum() >= 5


def test_bcell_labels_on_known_genes(bcell_store):
    store, _ = bcell_store
    rna = pd.read_csv(shared_path("bcell_like/test.rna.csv")).set_index("gene_name")["TPM"]
    data = store.cell_type("bcell")
    genes = store.genes
    # ACP1 (+, TSS 264,868) has its promoter in peak chr2:264,403-265,269.
    acp1 = _region_of(store, "chr2", 264_868)
    plus_genes = set(genes.query("region == @acp1 and strand == '+'")["gene_name"])
    assert "ACP1" in plus_genes
    measured = [g for g in plus_genes if g in rna.index]
    assert data.expression[acp1, 0] == pytest.approx(rna[measured].clip(lower=0).mean(), rel=1e-5)
    assert data.tss[acp1, 0] == 1
    # TMEM18 (-) and its divergent TMEM18-DT (+) share peak chr2:676,601-677,488: both kept,
    # each on its own strand.
    shared = _region_of(store, "chr2", 677_185)
    rows = genes.query("region == @shared")
    assert {("TMEM18", "-"), ("TMEM18-DT", "+")} <= set(
        zip(rows["gene_name"], rows["strand"], strict=True)
    )
    assert data.expression[shared, 1] == pytest.approx(rna["TMEM18"], rel=1e-5)
    # TMEM18-DT is not in this RNA table: the + strand of the shared peak is not a labelled TSS.
    assert "TMEM18-DT" not in rna.index
    assert data.tss[shared].tolist() == [0, 1]
    # Regions holding no promoter carry no label.
    promoter_rows = set(genes["region"])
    others = [i for i in range(store.n_regions) if i not in promoter_rows]
    assert others and not data.expression[others].any() and not data.tss[others].any()
    # Binary peaks (4th column = 1): every region accessible, normalised to 1.
    assert np.all(data.accessibility_raw == 1) and np.allclose(data.accessibility, 1)


def test_rerun_replaces_the_store(bcell_store, tmp_path):
    store, _ = bcell_store
    out_dir = tmp_path / "out"
    # Re-preparing into an existing store replaces it whole; no temporary folders stay behind.
    # A folder getx did not write is refused and left as it was (an empty one is taken).
    target = out_dir / "again.zarr"
    (target / "junk").mkdir(parents=True)
    (tmp_path / "inputs").mkdir()
    inputs, _ = bcell_chr2_inputs(tmp_path / "inputs")
    with pytest.raises(InputError, match=r"again\.zarr: exists and is not a region store"):
        prepare(inputs, target)
    assert (target / "junk").is_dir()
    (target / "junk").rmdir()
    prepare(inputs, target)
    prepare(inputs, target)
    again = open_store(target)
    assert again.n_regions == store.n_regions
    assert sorted(p.name for p in out_dir.iterdir()) == ["again.zarr"]
    np.testing.assert_array_equal(again.read_features(), store.read_features())


def test_cell_type_without_expression_is_an_error(tmp_path):
    peaks = tmp_path / "p.bed"
    peaks.write_text("chr2\t300000\t300400\t5\n")
    inputs = PrepareInputs(
        peaks=peaks,
        genome=shared_path("genome/chr2_1-2333275.fa.gz"),
        annotation=shared_path("annotation/gencode.v40.hg38.tss.tsv.gz"),
        accessibility={"bcell": peaks},
        expression={"tcell": shared_path("bcell_like/test.rna.csv")},
    )
    with pytest.raises(InputError, match="'bcell' has accessibility but no expression"):
        prepare(inputs, tmp_path / "x.zarr")
    assert not (tmp_path / "x.zarr").exists()


def test_simulated_folder_through_the_cli(tmp_path):
    """`getx simulate --preset tiny` then `getx prepare --data`: a store in seconds."""
    from getx.prepare import discover_inputs
    from getx.simulate import PRESETS

    runner = CliRunner()
    sim, out = tmp_path / "sim", tmp_path / "sim.zarr"
    result = runner.invoke(app, ["simulate", "--out", str(sim), "--preset", "tiny"])
    assert result.exit_code == 0, result.output
    # A bad value deep in the pipeline (the motif scan's threshold) is one line, exit code 2.
    prepare_args = ["prepare", "--out", str(out), "--data", str(sim)]
    result = runner.invoke(app, [*prepare_args, "--p-value", "2"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "p-value" in result.output.splitlines()[-1] and not out.exists()
    result = runner.invoke(app, prepare_args)
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["inspect", "--json", str(out)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["regions"] == PRESETS["tiny"].n_regions
    assert info["cell_types"] == ["ct1", "ct2", "ct3"]
    genes = pd.read_csv(sim / "truth" / "genes.tsv", sep="\t")
    assert info["genes_with_tss_regions"] == genes["gene_id"].nunique()  # each has its promoter
    assert 0 < info["nonzero_feature_fraction"] < 1
    found = discover_inputs(sim)
    assert found.accessibility == {ct: sim / f"peaks.{ct}.bed" for ct in info["cell_types"]}
    assert found.expression == {ct: sim / f"rna.{ct}.csv" for ct in info["cell_types"]}


def test_every_subcommand_has_help():
    runner = CliRunner()
    commands = ["prepare", "inspect", "fetch-reference", "simulate", "pretrain", "finetune"]
    for command in [*([c] for c in commands), ["predict"], ["evaluate"], ["motifs", "cluster"]]:
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
