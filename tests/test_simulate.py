"""The simulator: determinism, files readable by getx's own readers, truth that prepare recovers,
and regulation that behaves as documented in docs/simulator.md."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from getx.simulate import PRESETS, simulate


@pytest.fixture(scope="module")
def jaspar():
    from getx.motifs.databases import load_jaspar

    return load_jaspar()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, jaspar):
    return simulate(tmp_path_factory.mktemp("tiny"), "tiny", seed=0, motifs=jaspar)


@pytest.fixture(scope="module")
def store(tiny):
    from getx.prepare import prepare
    from getx.store import open_store

    return open_store(prepare(tiny.prepare_inputs(), tiny.out_dir / "store.zarr"))


def _files(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path, tiny, jaspar):
    again = simulate(tmp_path / "again", "tiny", seed=0, motifs=jaspar)
    names = _files(again.out_dir)
    assert names == [p for p in _files(tiny.out_dir) if not str(p).startswith("store.zarr")]
    for name in names:
        assert filecmp.cmp(again.out_dir / name, tiny.out_dir / name, shallow=False), name
    other = simulate(tmp_path / "other", "tiny", seed=1, motifs=jaspar)
    for name in ("genome.fa", "peaks.bed", "genes.gtf", "rna.ct1.csv", "truth/tf_pairs.tsv"):
        assert not filecmp.cmp(other.out_dir / name, tiny.out_dir / name, shallow=False), name


def test_genome_parses_and_has_realistic_composition(tiny):
    from getx.io.genome import open_genome

    truth = tiny.truth
    with open_genome(tiny.genome) as genome:
        assert set(genome.chrom_sizes) == {"chr1", "chr2"}
        total = sum(genome.chrom_sizes.values())
        seq = "".join(genome.fetch(c, 0, n) for c, n in genome.chrom_sizes.items()).upper()
        site = truth["sites"].iloc[0]
        planted = genome.fetch(site["chrom"], int(site["start"]), int(site["end"]))
    assert 500_000 <= total <= 1_000_000
    acgt = len(seq) - seq.count("N")
    gc = (seq.count("G") + seq.count("C")) / acgt
    assert 0.38 <= gc <= 0.45
    cpg_oe = seq.count("CG") / acgt / ((gc / 2) ** 2)
    assert cpg_oe < 0.6  # CpG depleted, as in mammalian genomes
    assert len(planted) == site["end"] - site["start"] and "N" not in planted.upper()
    # The .fai was written by hand: pyfaidx must agree with it byte for byte.
    import pyfaidx

    with pyfaidx.Fasta(str(tiny.genome)) as fa:
        assert str(fa["chr2"][12345:12400]) == seq[genome_offset(tiny, "chr2") + 12345 :][:55]


def genome_offset(tiny, chrom: str) -> int:
    sizes = dict(
        line.split("\t")[:2] for line in Path(str(tiny.genome) + ".fai").read_text().splitlines()
    )
    offset = 0
    for name, size in sizes.items():
        if name == chrom:
            return offset
        offset += int(size)
    raise KeyError(chrom)


def test_promoters_are_cpg_islands(tiny):
    from getx.io.genome import open_genome

    genes = tiny.truth["genes"]
    with open_genome(tiny.genome) as genome:
        island = [
            genome.fetch(g.chrom, g.tss - 400, g.tss + 400).upper()
            for g in genes[genes["cpg"]].itertuples()
        ]
        other = [
            genome.fetch(g.chrom, g.tss + 30_000, g.tss + 30_800).upper()
            for g in genes.iloc[:20].itertuples()
        ]

    def gc(s):
        return (s.count("G") + s.count("C")) / max(1, len(s) - s.count("N"))

    assert np.mean([gc(s) for s in island]) > 0.58
    assert np.mean([gc(s) for s in other]) < 0.46


def test_peaks_counts_gtf_and_rna_parse_with_getx_readers(tiny):
    from getx.io.accessibility import counts_from_bed
    from getx.io.annotation import read_gtf
    from getx.io.expression import read_gene_table
    from getx.io.peaks import read_peaks

    regions = tiny.truth["regions"]
    peaks = read_peaks(tiny.peaks, chrom_sizes=Path(f"{tiny.genome}.fai"), duplicates="reject")
    assert len(peaks) == len(regions) == PRESETS["tiny"].n_regions
    assert (peaks["start"].to_numpy() == regions["start"].to_numpy()).all()
    for ct in tiny.cell_types:
        counts = counts_from_bed(tiny.accessibility[ct], peaks)
        truth = regions[f"count_{ct}"].to_numpy()
        called = truth >= PRESETS["tiny"].call_min
        assert (counts[called] == truth[called]).all() and (counts[~called] == 0).all()
        assert 0.5 < called.mean() < 1.0
        values = read_gene_table(tiny.expression[ct])
        expected = tiny.truth["genes"].set_index("gene_name")[f"expression_{ct}"]
        assert np.allclose(values.loc[expected.index], expected, atol=1e-5)
    tss = read_gtf(tiny.annotation).set_index("gene_name").loc[tiny.truth["genes"]["gene_name"]]
    genes = tiny.truth["genes"]
    assert (tss["tss"].to_numpy() == genes["tss"].to_numpy()).all()
    assert (tss["strand"].to_numpy() == genes["strand"].to_numpy()).all()
    assert set(genes["strand"]) == {"+", "-"}


def test_store_finds_planted_motifs_in_the_right_regions(tiny, store):
    features = store.read_features()
    sites = tiny.truth["sites"]
    row = {r: i for i, r in enumerate(tiny.truth["regions"]["region_id"])}
    ratios = []
    for cluster, group in sites.groupby("cluster"):
        col = store.feature_names.index(cluster)
        planted = np.zeros(len(features), dtype=bool)
        planted[[row[r] for r in group["region_id"]]] = True
        hit_planted = (features[planted, col] > 0).mean()
        hit_other = (features[~planted, col] > 0).mean()
        ratios.append((hit_planted, hit_other))
    ratios = np.array(ratios)
    assert ratios[:, 0].mean() > 0.85  # planted instances are found
    assert ratios[:, 0].mean() > 2 * ratios[:, 1].mean()  # and markedly more than elsewhere
    assert (ratios[:, 0] > ratios[:, 1]).mean() >= 0.9


def test_store_expression_lands_on_each_gene_tss_region(tiny, store):
    genes = tiny.truth["genes"]
    regions = tiny.truth["regions"]
    promoter_row = regions.reset_index().set_index("region_id").loc[genes["promoter"], "index"]
    sg = store.genes.set_index("gene_name").loc[genes["gene_name"]]
    assert (sg["region"].to_numpy() == promoter_row.to_numpy()).all()
    strand = (genes["strand"] == "-").to_numpy().astype(int)
    for ct in tiny.cell_types:
        data = store.cell_type(ct)
        on_tss = data.expression[promoter_row.to_numpy(), strand]
        assert np.allclose(on_tss, genes[f"expression_{ct}"], atol=1e-4)
        assert data.tss.sum() == len(genes)  # no other region carries a label
        assert np.allclose(
            data.accessibility_raw,
            np.where(regions[f"count_{ct}"] >= PRESETS["tiny"].call_min, regions[f"count_{ct}"], 0),
        )


def test_accessibility_follows_bound_active_tfs(tiny):
    regions = tiny.truth["regions"]
    sites = tiny.truth["sites"]
    activity = tiny.truth["tf_activity"].set_index("tf")
    for ct in tiny.cell_types:
        # Recompute the additive part from the planted sites and the TF activities only.
        summed = sites.assign(a=sites["tf"].map(activity[ct])).groupby("region_id")["a"].sum()
        summed = summed.reindex(regions["region_id"], fill_value=0).to_numpy()
        rho = spearmanr(summed, regions[f"count_{ct}"]).statistic
        assert rho > 0.6, (ct, rho)
    # Shared enhancers are open everywhere; cell-type enhancers mostly in their own cell type.
    counts = regions[[f"count_{ct}" for ct in tiny.cell_types]].to_numpy(float)
    share = counts / counts.sum(axis=1, keepdims=True)
    for c, ct in enumerate(tiny.cell_types):
        own = regions["program"].to_numpy() == ct
        other = regions["program"].isin(set(tiny.cell_types) - {ct}).to_numpy()
        assert share[own, c].mean() > 1.5 * share[other, c].mean()
    shared = regions["program"].to_numpy() == "shared"
    assert (
        share[shared].max(axis=1).mean()
        < share[~shared & (regions["kind"] == "enhancer")].max(axis=1).mean()
    )


def test_expression_follows_drive_and_needs_enhancers(tiny):
    genes = tiny.truth["genes"]
    regions = tiny.truth["regions"].set_index("region_id")
    for ct in tiny.cell_types:
        y = genes[f"expression_{ct}"]
        assert spearmanr(genes[f"drive_{ct}"], y).statistic > 0.85
        promoter_only = spearmanr(regions.loc[genes["promoter"], f"count_{ct}"], y).statistic
        assert promoter_only < 0.85  # the promoter alone does not explain expression
    links = tiny.truth["enhancer_gene"]
    near = links[(links["target"] == 0) & (links["domain_crossed"] == 0)]
    assert spearmanr(near["distance"].abs(), near["weight"]).statistic < -0.95
    # Effects split each gene's drive: enhancer shares plus the promoter share sum to 1.
    ct = tiny.cell_types[0]
    enh = links.groupby("gene_name")[f"effect_{ct}"].sum()
    # (a promoter bound only by structural TFs adds nothing: there enhancers are the whole drive)
    assert (enh <= 1 + 1e-9).all() and (enh < 1).mean() > 0.9 and enh.mean() > 0.4
    tf = tiny.truth["tf_gene"]
    total = tf[tf["cell_type"] == ct].groupby("gene_name")["fraction"].sum()
    assert ((total > 0.75) & (total < 1 + 1e-6)).all()


def test_cooperative_pairs_are_planted_together(tiny):
    pairs = tiny.truth["tf_pairs"]
    assert len(pairs) == PRESETS["tiny"].n_pairs
    sites = tiny.truth["sites"]
    by_region = sites.groupby("region_id")["tf"].agg(set)
    for pair in pairs.itertuples():
        both = by_region.map(lambda s, p=pair: p.tf_a in s and p.tf_b in s).sum()
        assert both == pair.n_regions_joint > 10


def test_demo_preset_sizes_and_far_enhancers(tmp_path, jaspar):
    import time

    start = time.perf_counter()
    demo = simulate(tmp_path / "demo", "demo", seed=3, motifs=jaspar)
    assert time.perf_counter() - start < 30
    regions = demo.truth["regions"]
    assert 8_000 <= len(regions) <= 15_000 and len(demo.truth["genes"]) == 800
    assert len(demo.cell_types) == 5
    target = regions[regions["kind"] == "enhancer"]["distance"].abs()
    assert 0.6 < (target <= 100_000).mean() < 0.97  # most near, some far


def test_cli_command(tmp_path):
    import typer
    from typer.testing import CliRunner

    from getx.simulate.commands import simulate as command

    app = typer.Typer()
    app.command()(command)
    runner = CliRunner()
    help_text = runner.invoke(app, ["--help"]).output
    assert "--preset" in help_text and "--seed" in help_text
    result = runner.invoke(app, ["--out", str(tmp_path / "cli"), "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli" / "truth" / "enhancer_gene.tsv").exists()
    bad = runner.invoke(app, ["--out", str(tmp_path / "x"), "--preset", "huge"])
    assert bad.exit_code != 0 and "huge" not in str(list((tmp_path).iterdir()))


def test_get_v1_motif_clusters_can_be_planted(tmp_path):
    from conftest import shared_path
    from getx.motifs.databases import load_nrmotif_v1

    motifs = load_nrmotif_v1(
        shared_path("motifs/nrmotif_v1.json"), shared_path("motifs/nrmotif_v1.matrices.npz")
    )
    sim = simulate(tmp_path / "v1", "tiny", seed=0, motifs=motifs)
    activity = sim.truth["tf_activity"]
    assert set(activity["cluster"]) <= set(motifs.clusters)
    assert activity["cluster"].nunique() == len(activity)
    assert all(name[0].isalpha() for name in activity["tf"])  # symbols, not version numbers
