"""Interpretation on the tiny simulator with a tiny GET: importance, links, perturbations,
variants, the importance store and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from getx.errors import InputError
from getx.interpret.context import cell_type_context, forward, gradients
from getx.interpret.importance import (
    importance,
    importance_of,
    read_importance,
    write_bedgraphs,
    write_importance,
)
from getx.interpret.links import PowerLaw, links
from getx.interpret.perturb import (
    knock_out_regions,
    motif_columns,
    perturbation_effects,
    regions_in_bed,
    scale_motifs,
)
from getx.interpret.truth import region_ids
from getx.interpret.variants import EditedGenome, read_variants, variant_effects
from getx.store import open_store
from getx.train.predict import load_model
from tiny_dataset import simulate_and_train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    sim, store, run = simulate_and_train(tmp_path_factory.mktemp("interp"), epochs=3)
    return sim, open_store(store), load_model(run), run


def test_batched_gradients_equal_one_target_at_a_time(trained):
    _, store, predictor, _ = trained
    context = cell_type_context(predictor, store, "ct1")
    targets = context.targets
    assert len(targets) > 10 and set(targets.strand) == {0, 1}
    # each TSS at its own position: the window holds its region there
    np.testing.assert_array_equal(
        targets.rows[np.arange(len(targets)), targets.focus], targets.region
    )
    batched = {}
    for part, _x, grad, y in gradients(predictor, context.inputs, targets, batch_size=7):
        for k, i in enumerate(range(part.start, part.stop)):
            batched[i] = (grad[k], y[k])
    model = predictor.model
    for i in (0, 5, len(targets) - 1):
        x, pad, pos = (torch.from_numpy(a) for a in context.inputs.batch(targets.rows[i : i + 1]))
        x.requires_grad_(True)
        y = model(x, pad, positions=pos)[0, targets.focus[i], targets.strand[i]]
        y.backward()
        np.testing.assert_allclose(batched[i][0], x.grad[0].numpy(), rtol=1e-4, atol=1e-7)
        assert batched[i][1] == pytest.approx(float(y.detach()), rel=1e-5)


def test_importance_sums_predictions_and_gene_motif(trained):
    _, store, predictor, _ = trained
    result = importance(predictor, store, "ct1")
    F = len(store.feature_names)
    # region signed sums = motif sums + the accessibility term
    np.testing.assert_allclose(
        result.region_signed.sum(axis=1),
        result.motif.sum(axis=1) + result.accessibility.sum(axis=1),
        rtol=1e-4,
        atol=1e-5,
    )
    assert (result.region >= np.abs(result.region_signed) - 1e-6).all()
    assert result.motif.shape == (len(result.targets), F)
    # predictions are those of Predictor.predict, per gene row
    table = predictor.predict(store, "ct1")
    merged = table.merge(result.genes, on=["gene_id", "strand", "region"])
    assert len(merged) == len(table)
    np.testing.assert_allclose(
        merged["predicted"], result.predicted[merged["target"]], rtol=1e-5, atol=1e-6
    )
    matrix = result.gene_motif()
    assert matrix.shape == (result.genes["gene_id"].nunique(), F)
    first = result.genes.iloc[0]
    np.testing.assert_allclose(matrix.loc[first["gene_id"]], result.motif[first["target"]])
    # region x motif: each accessible region's motif terms summed over the windows holding it
    context = cell_type_context(predictor, store, "ct1")
    expected = {}
    for part, x, grad, _ in gradients(predictor, context.inputs, context.targets):
        for k, t in enumerate(range(part.start, part.stop)):
            for position, row in enumerate(context.targets.rows[t]):
                if row >= 0 and context.inputs.accessible[row]:
                    term = grad[k, position, :F] * x[k, position, :F]
                    expected[row] = expected.get(row, 0.0) + term
    by_region = result.region_motif()
    assert list(by_region.index) == sorted(expected) and list(by_region.columns) == list(
        store.feature_names
    )
    np.testing.assert_allclose(
        by_region.to_numpy(),
        np.array([expected[r] for r in sorted(expected)]),
        rtol=1e-4,
        atol=1e-6,
    )


def test_importance_store_replaces_never_appends(trained, tmp_path):
    _, store, predictor, run = trained
    names = sorted(store.genes["gene_name"])[:3]
    out = tmp_path / "interp.zarr"
    all_genes = importance(predictor, store, "ct1")
    write_importance(out, [all_genes, importance(predictor, store, "ct2")], run, store)
    import zarr

    root = zarr.open_group(out, mode="r")
    attrs = dict(root.attrs)
    assert attrs["cell_types"] == ["ct1", "ct2"] and len(attrs["run_checksum"]) == 64
    assert len(attrs["store_checksum"]) == 64
    assert root["cell_types/ct1/genes/strand"].dtype == np.int8
    assert root["cell_types/ct1/targets/strand"].dtype == np.int8
    back = read_importance(out, "ct1")
    np.testing.assert_array_equal(back.region, all_genes.region)
    pd.testing.assert_frame_equal(back.genes, all_genes.genes)
    pd.testing.assert_frame_equal(back.region_motif(), all_genes.region_motif())
    # a store written before the region x motif matrix existed still reads; asking for it says so
    # (its manifest lists no region_motif arrays; one deleted from a newer store is damage)
    import dataclasses
    import shutil

    shutil.rmtree(out / "cell_types" / "ct2" / "region_motif")
    with pytest.raises(InputError, match="region_motif/region' is missing"):
        read_importance(out, "ct2")
    without = dataclasses.replace(all_genes, region_motif_rows=None, region_motif_values=None)
    write_importance(out, [without], run, store)
    older = read_importance(out, "ct1")
    assert older.region_motif_values is None and len(older.gene_motif()) > 0
    with pytest.raises(InputError, match=r"no region x motif matrix .* run `getx interpret` again"):
        older.region_motif()
    few = importance(predictor, store, "ct1", names)
    write_importance(out, [few], run, store)
    again = read_importance(out)
    assert len(again.genes) == len(few.genes) < len(all_genes.genes)
    assert set(again.genes["gene_name"]) == set(names)
    with pytest.raises(InputError, match="'ct9' is not in this importance store"):
        read_importance(out, "ct9")


def test_bedgraph_tracks(trained, tmp_path):
    _, store, predictor, _ = trained
    gene = store.genes["gene_name"].iloc[0]
    result = importance(predictor, store, "ct1", [gene])
    (path,) = write_bedgraphs(tmp_path, result, store, [gene])
    lines = path.read_text().splitlines()
    assert lines[0].startswith("track type=bedGraph name=")
    rows = pd.DataFrame([line.split("\t") for line in lines[1:]])
    assert rows.shape[1] == 4 and len(rows) == (result.targets.rows[0] >= 0).sum()
    starts = rows[1].astype(int).to_numpy()
    assert (np.diff(starts) > 0).all()  # sorted, one line per region
    assert (rows[3].astype(float) >= 0).all()


def test_links_knockouts_and_abc(trained):
    _, store, predictor, _ = trained
    genes = list(store.genes["gene_name"].iloc[:4])
    table = links(predictor, store, "ct1", genes)
    assert set(table["gene_name"]) <= set(genes) and len(table) > 10
    assert table["is_tss"].groupby(table["gene_id"] + table["strand"]).sum().eq(1).all()
    # abc shares sum to 1 over each gene row's window
    sums = table.groupby(["gene_id", "strand", "tss_region"])["abc"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-6)
    contact = PowerLaw()
    assert contact(np.array([0, 5000, -5000]))[0] == contact(np.array([5000]))[0]
    assert contact(np.array([10_000]))[0] > contact(np.array([100_000]))[0]
    # one knock-out by hand: zero the region's row in the gene's window and re-run
    context = cell_type_context(predictor, store, "ct1", genes)
    row = table[~table["is_tss"]].iloc[0]
    gene = context.genes[context.genes["gene_id"] == row["gene_id"]].iloc[0]
    t = gene["target"]
    window = context.targets.rows[t : t + 1]
    pos = int(np.flatnonzero(window[0] == row["region"])[0])
    strand = context.targets.strand[t]
    base = forward(predictor, context.inputs, window, context.targets.focus[t : t + 1])
    knocked = forward(
        predictor, context.inputs, window, context.targets.focus[t : t + 1], np.array([pos])
    )
    assert row["knockout"] == pytest.approx(float(knocked[0, strand] - base[0, strand]), abs=1e-5)
    mask = np.zeros(window.shape, dtype=bool)
    mask[0, pos] = True
    by_mask = forward(predictor, context.inputs, window, context.targets.focus[t : t + 1], mask)
    np.testing.assert_array_equal(by_mask, knocked)
    # ... which equals re-running on inputs with that region knocked out everywhere
    edited = knock_out_regions(context.inputs, np.array([row["region"]]))
    again = forward(predictor, edited, window, context.targets.focus[t : t + 1])
    assert float(again[0, strand]) == pytest.approx(float(knocked[0, strand]), abs=1e-6)


def test_perturbations_rerun_and_first_order(trained, tmp_path):
    sim, store, predictor, _ = trained
    context = cell_type_context(predictor, store, "ct1")
    tf = sim.truth["tf_activity"].iloc[0]
    columns = motif_columns(store, tfs=[tf["tf"]])
    assert store.feature_names.index(tf["cluster"]) in columns
    # a small overexpression: the first-order estimate matches the re-run
    small = perturbation_effects(context, scale_motifs(context.inputs, columns, 1.02))
    assert len(small) > 0
    np.testing.assert_allclose(small["first_order"], small["change"], rtol=0.2, atol=2e-4)
    # knocking out every region of a BED: only genes whose window holds one are affected
    regions = store.regions.iloc[[3, 4]]
    bed = tmp_path / "ko.bed"
    regions.to_csv(bed, sep="\t", header=False, index=False)
    rows = regions_in_bed(store, bed)
    np.testing.assert_array_equal(rows, [3, 4])
    effects = perturbation_effects(context, knock_out_regions(context.inputs, rows))
    holds = (np.isin(context.targets.rows, rows)).any(axis=1)
    assert len(effects) == holds[context.genes["target"]].sum()
    assert np.isfinite(effects["first_order"]).all()
    bad = tmp_path / "bad.bed"
    bad.write_text("chrUn\t1\t100\n")
    with pytest.raises(InputError, match=r"bad\.bed: chromosome\(s\) chrUn are not in the store"):
        regions_in_bed(store, bad)
    with pytest.raises(InputError, match="TF gene 'NOPE' is in no motif cluster"):
        motif_columns(store, tfs=["NOPE"])


def _planted_case(sim, store, predictor):
    """A planted site of a driving TF (tf_gene fraction >= 0.05) at a gene's promoter, whose
    cluster the model weighs positively there (its importance), and the gene."""
    truth = sim.truth
    context = cell_type_context(predictor, store, "ct1")
    result = importance_of(context)
    ids = region_ids(store, truth["regions"])
    promoters = truth["genes"].set_index("promoter")
    driving = truth["tf_gene"][
        (truth["tf_gene"]["cell_type"] == "ct1") & (truth["tf_gene"]["fraction"] >= 0.05)
    ]
    best = None
    for site in truth["sites"].itertuples():
        if site.region_id not in promoters.index:
            continue
        gene = promoters.loc[site.region_id, "gene_name"]
        if not ((driving["gene_name"] == gene) & (driving["tf"] == site.tf)).any():
            continue
        rows = context.genes[context.genes["gene_name"] == gene]
        if rows.empty:
            continue
        t = int(rows["target"].iloc[0])
        column = store.feature_names.index(site.cluster)
        region = int(np.flatnonzero(ids == site.region_id)[0])
        pos = np.flatnonzero(context.targets.rows[t] == region)[0]
        x, _, _ = context.inputs.batch(context.targets.rows[t : t + 1])
        weight = result.motif[t, column]  # summed over the window; the promoter dominates
        if x[0, pos, column] > 0 and weight > 0 and (best is None or weight > best[0]):
            best = (weight, site, gene)
    assert best is not None, "no planted driving site the model reads"
    return context, best[1], best[2]


def test_variant_destroying_a_planted_site_lowers_its_gene(trained, tmp_path):
    from getx.io.genome import open_genome

    sim, store, predictor, _ = trained
    context, site, gene = _planted_case(sim, store, predictor)
    with open_genome(sim.genome) as genome:
        middle = (site.start + site.end) // 2
        ref = genome.fetch(site.chrom, middle - 2, middle + 2)
        alt = "".join({"A": "C", "C": "A", "G": "T", "T": "G"}[b] for b in ref)
        vcf = tmp_path / "v.vcf"
        vcf.write_text(
            "##fileformat=VCFv4.2\n"
            f"##contig=<ID={site.chrom}>\n"
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            f"{site.chrom}\t{middle - 1}\tsite1\t{ref}\t{alt}\t.\t.\t.\n"
        )
        variants = read_variants(vcf)
        result = variant_effects(context, variants, genome, source=vcf)
        mine = result[result["gene_name"] == gene].iloc[0]
        assert site.cluster in mine["motifs_changed"]
        assert mine["change"] < 0  # destroying the driving site lowers the gene
        assert mine["first_order"] < 0
        assert mine["first_order"] == pytest.approx(mine["change"], rel=0.5)
        # '1' for 'chr1' in the variants: harmonised to the store's spelling, the same effect
        renamed = variants.assign(chrom=variants["chrom"].str.removeprefix("chr"))
        again = variant_effects(context, renamed, genome, source=vcf)
        pd.testing.assert_frame_equal(again, result)
        # a ref that is not the genome's: an error naming the variant, or a flagged row
        wrong = variants.assign(ref=variants["ref"].str[::-1] + "A", alt="A")
        with pytest.raises(InputError, match=r"v\.vcf, line 4: .*site1: ref .* does not match"):
            variant_effects(context, wrong.assign(source_line=4), genome, source=vcf)
        flagged = variant_effects(context, wrong, genome, on_mismatch="flag")
        assert flagged["status"].str.contains("does not match the genome").all()


def test_variant_readers_and_edited_genome(tmp_path):
    import pysam

    class Plain:
        def fetch(self, chrom, start, end):
            return "ACGTACGTAC"[start:end]

    edited = EditedGenome(Plain(), "c", 4, "AC", "T")  # ACGT [AC] GTAC -> ACGT T GTAC
    assert edited.fetch("c", 0, 9) == "ACGTTGTAC"
    assert edited.fetch("c", 3, 6) == "TTG"
    inserted = EditedGenome(Plain(), "c", 2, "G", "GGG")
    assert inserted.fetch("c", 0, 6) == "ACGGGT"
    table = tmp_path / "v.tsv"
    table.write_text("chrom\tpos\tref\talt\tid\nchr1\t10\tA\tG,T\tx\n")
    read = read_variants(table)
    assert read[["pos", "ref", "alt"]].values.tolist() == [[10, "A", "G"], [10, "A", "T"]]
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t5\trs1\tAC\tA,<DEL>\t.\t.\t.\n"
    )
    pysam.tabix_compress(str(vcf), str(vcf) + ".gz")  # bgzip
    for path in (vcf, tmp_path / "v.vcf.gz"):
        read = read_variants(path)
        assert read[["chrom", "pos", "id", "ref", "alt"]].values.tolist() == [
            ["chr1", 5, "rs1", "AC", "A"]
        ]
    bad = tmp_path / "bad.tsv"
    bad.write_text("chrom\tpos\tref\talt\nchr1\tten\tA\tG\n")
    with pytest.raises(InputError, match=r"bad\.tsv, line 2: pos 'ten' is not an integer"):
        read_variants(bad)
    bad.write_text("chrom\tposition\n")
    with pytest.raises(InputError, match="header lacks pos, ref, alt"):
        read_variants(bad)


def test_bad_input_is_named(trained):
    _, store, predictor, _ = trained
    with pytest.raises(InputError, match=r"1 gene.* not in the store's gene index.*: NOTAGENE"):
        importance(predictor, store, "ct1", ["NOTAGENE"])
    with pytest.raises(InputError, match="the gene list is empty"):
        importance(predictor, store, "ct1", [" "])
    with pytest.raises(InputError, match="cell type 'ct9' is not in this store"):
        importance(predictor, store, "ct9")


def test_cli_commands_end_to_end(trained, tmp_path):
    from getx.cli import app

    sim, store, _, run = trained
    runner = CliRunner()
    genes = ",".join(store.genes["gene_name"].iloc[:3])
    out = tmp_path / "i.zarr"
    res = runner.invoke(app, ["interpret", str(run), str(store.path), "--cell-type", "ct1",
                              "--cell-type", "ct2", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads((out / "zarr.json").read_text())["attributes"]["cell_types"] == ["ct1", "ct2"]
    res = runner.invoke(app, ["interpret", str(run), str(store.path), "--cell-type", "ct1",
                              "--genes", genes, "--bedgraph", str(tmp_path / "bg"),
                              "--out", str(tmp_path / "few.zarr")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "bg").glob("*.bedGraph"))) == 3
    res = runner.invoke(app, ["links", str(run), str(store.path), "--cell-type", "ct1",
                              "--genes", genes, "--out", str(tmp_path / "l.tsv")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "get_abc" in pd.read_csv(tmp_path / "l.tsv", sep="\t").columns
    tf = sim.truth["tf_activity"]["tf"].iloc[0]
    res = runner.invoke(app, ["perturb", str(run), str(store.path), "--cell-type", "ct1",
                              "--tf", tf, "--out", str(tmp_path / "p.tsv")])  # fmt: skip
    assert res.exit_code == 0, res.output
    net = tmp_path / "net.json"
    build = ["network", "build", str(out), "--cell-type", "ct1", "--runs", "2"]
    res = runner.invoke(
        app, [*build, "--top-motifs", "8", "--min-stability", "0", "--out", str(net)]
    )
    assert res.exit_code == 0, res.output
    motif = json.loads(net.read_text())["nodes"][0]["id"]
    res = runner.invoke(app, ["network", "query", str(net), "--motif", motif])
    assert res.exit_code == 0 and res.output.startswith("relation\tmotif"), res.output
    by_region = tmp_path / "regions.graphml"
    res = runner.invoke(app, [*build, "--samples", "regions", "--max-samples", "100",
                              "--top-motifs", "8", "--out", str(by_region)])  # fmt: skip
    assert res.exit_code == 0 and by_region.exists(), res.output
    res = runner.invoke(app, [*build, "--samples", "cells", "--out", str(tmp_path / "n.json")])
    assert res.exit_code == 2 and "samples 'cells' is not one of genes, regions" in res.output
    res = runner.invoke(app, ["links", str(run), str(store.path), "--cell-type", "ct1",
                              "--genes", "NOTAGENE", "--out", str(tmp_path / "x.tsv")])  # fmt: skip
    assert res.exit_code == 2 and "NOTAGENE" in res.output  # one line, no traceback
    assert "Traceback" not in res.output and not (tmp_path / "x.tsv").exists()
