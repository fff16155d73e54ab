"""The TF-pair catalog: built from a tiny simulated run, queried through the CLI and duckdb, its
schema, its score on a hand-made input, the structure join on real KLF4 complexes, bad input."""

from __future__ import annotations

import json

# Imported before any CliRunner call: Lightning's log handler keeps the stderr it was imported
# under, and CliRunner closes its own after each call.
import lightning  # noqa: F401
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli_checks import error_line
from conftest import shared_path
from getx.catalog.evidence import (
    NetworkEdges,
    co_importance,
    motif_importance,
    pair_evidence,
    reference_importance,
)
from getx.catalog.join import read_structure_pairs, structure_evidence
from getx.catalog.query import query_catalog
from getx.catalog.schema import COLUMNS, SCHEMA_VERSION, read_metadata
from getx.catalog.score import catalog_score, regulatory_score
from getx.cli import app
from getx.errors import InputError
from tiny_dataset import simulate_and_train

KLF4 = "structures/KLF4_high_quality"
# network settings small enough for the tiny preset's 60 genes
NETWORK = ["--runs", "2", "--top-motifs", "12"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny simulation, its store, a tiny GET trained on it and its importance in every cell
    type (the inputs `getx catalog build` reads)."""
    from getx.interpret.importance import importance, write_importance
    from getx.store import open_store
    from getx.train.predict import load_model

    root = tmp_path_factory.mktemp("catalog")
    sim, store_path, run = simulate_and_train(root, epochs=1)
    store = open_store(store_path)
    predictor = load_model(run)
    results = [importance(predictor, store, ct) for ct in store.cell_types]
    interp = write_importance(root / "interp.zarr", results, run, store)
    return {"root": root, "sim": sim, "store": store, "interp": interp, "results": results,
            "run": run}  # fmt: skip


@pytest.fixture(scope="module")
def catalog(tiny):
    out = tiny["root"] / "catalog.parquet"
    args = ["catalog", "build", str(tiny["interp"]), str(tiny["store"].path), "-o", str(out)]
    result = CliRunner().invoke(app, [*args, *NETWORK])
    assert result.exit_code == 0, result.output
    return out


# -- building ---------------------------------------------------------------------------------


def test_catalog_schema_and_rows(tiny, catalog):
    store = tiny["store"]
    F = len(store.feature_names)
    schema = pq.read_schema(catalog)
    written = [(f.name, str(f.type).replace("element: ", "").replace("item: ", "")) for f in schema]
    assert written == [(n, t.replace("float64", "double")) for n, t in COLUMNS]
    meta = read_metadata(catalog)
    assert meta["schema_version"] == SCHEMA_VERSION and meta["cell_types"] == store.cell_types
    assert all(v.startswith("computed: 2 runs, top 12") for v in meta["networks"].values())
    table = pd.read_parquet(catalog)
    assert len(table) == len(store.cell_types) * F * (F - 1) // 2
    position = {name: i for i, name in enumerate(store.feature_names)}
    assert (table["cluster_a"].map(position) < table["cluster_b"].map(position)).all()
    for _, part in table.groupby("cell_type"):
        assert part["rank"].tolist() == list(range(1, len(part) + 1))
        assert (np.diff(part["score"].to_numpy()) <= 0).all()
    first = table.iloc[0]
    assert list(first["tfs_a"]) == store.cluster_genes[first["cluster_a"]]
    # the simulator's genes are not TFs: every TF expression is unknown, the score still ranks
    assert table["expression_a"].isna().all() and table["score"].notna().all()
    assert len(first["tf_expression_a"]) == len(first["tfs_a"])
    assert pd.isna(first["tf_expression_a"]).all()
    assert (table["n_structures"] == 0).all() and table["pdockq"].isna().all()
    # at most the network's top motifs have edges
    assert (table["stability"] > 0).sum() > 0
    assert set(table["direction"]) <= {"a->b", "b->a", ""}
    assert ((table["stability"] > 0) == (table["direction"] != "")).all()


def test_evidence_is_what_the_importance_and_network_say(tiny, catalog):
    store, result = tiny["store"], tiny["results"][0]
    matrix = result.gene_motif()
    values = matrix.to_numpy(np.float64)
    table = pd.read_parquet(catalog).query("cell_type == @result.cell_type")
    row = table.iloc[0]
    i, j = (store.feature_names.index(row[c]) for c in ("cluster_a", "cluster_b"))
    assert row["importance_a"] == pytest.approx(np.abs(values[:, i]).mean())
    assert row["co_importance"] == pytest.approx(np.corrcoef(values[:, i], values[:, j])[0, 1])
    # specificity: importance over its mean over every cell type of the importance store
    mean = np.mean([np.abs(r.gene_motif().to_numpy()).mean(axis=0) for r in tiny["results"]], 0)
    assert row["specificity_a"] == pytest.approx(row["importance_a"] / mean[i])
    assert row["specificity_b"] == pytest.approx(row["importance_b"] / mean[j])
    assert row["score"] == row["regulatory_score"]
    assert row["score"] == pytest.approx(np.sqrt(row["specificity_a"] * row["specificity_b"]))
    # a constant column has no correlation
    assert np.isnan(co_importance(np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]]))[0, 1])


def test_network_file_is_read_as_given(tiny, tmp_path):
    """A network built by `getx network build` is used instead of computing one: the catalog's
    stability and direction are the file's edges."""
    runner = CliRunner()
    net = tmp_path / "ct1.json"
    args = ["network", "build", str(tiny["interp"]), "--cell-type", "ct1", "--runs", "2"]
    result = runner.invoke(
        app, [*args, "--top-motifs", "10", "--min-stability", "0", "-o", str(net)]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "c.parquet"
    args = ["catalog", "build", str(tiny["interp"]), str(tiny["store"].path), "-o", str(out)]
    args += ["--cell-type", "ct1", "--network", f"ct1={net}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    edges = json.loads(net.read_text())["edges"]
    assert edges
    table = pd.read_parquet(out).set_index(["cluster_a", "cluster_b"])
    order = {name: i for i, name in enumerate(tiny["store"].feature_names)}
    for edge in edges:
        cause, effect = edge["source"], edge["target"]
        key = tuple(sorted((cause, effect), key=order.get))
        row = table.loc[key]
        assert row["stability"] >= edge["stability"]
        if row["stability"] == edge["stability"] and row["edge_weight"] == edge["weight"]:
            assert row["direction"] == ("a->b" if key[0] == cause else "b->a")
    assert (table["stability"] > 0).sum() == len({frozenset((e["source"], e["target"]))
                                                  for e in edges})  # fmt: skip
    assert read_metadata(out)["networks"] == {"ct1": str(net)}


# -- the score ----------------------------------------------------------------------------------


def test_score_ranks_a_hand_made_input():
    """Four motifs, two cell types, importances set by hand (every gene carries a motif's
    importance with a random sign, so its mean |importance| is exact): in ct1, A and B matter
    more than on average, C as much as on average, D less. The ranking of ct1's pairs follows
    sqrt(specificity_a x specificity_b) exactly: A-B, A-C, B-C, A-D, B-D, C-D."""
    rng = np.random.default_rng(0)
    genes = 50
    levels = {"ct1": [2.0, 1.5, 1.0, 0.1], "ct2": [0.5, 0.5, 1.0, 0.3]}
    matrices = {
        ct: pd.DataFrame(rng.choice([-1.0, 1.0], (genes, 4)) * values, columns=list("ABCD"))
        for ct, values in levels.items()
    }
    reference = reference_importance([motif_importance(m) for m in matrices.values()])
    np.testing.assert_allclose(reference, [1.25, 1.0, 1.0, 0.2])
    empty = NetworkEdges(np.zeros((4, 4)), np.zeros((4, 4)), "none")
    table = pair_evidence(matrices["ct1"], empty, list("ABCD"), reference)
    np.testing.assert_allclose(table["specificity_a"].iloc[0], 1.6)
    table["score"] = regulatory_score(table)
    table = table.sort_values("score", ascending=False)
    pairs = ["-".join(p) for p in zip(table["cluster_a"], table["cluster_b"], strict=True)]
    assert pairs == ["A-B", "A-C", "B-C", "A-D", "B-D", "C-D"]
    np.testing.assert_allclose(table["score"].iloc[0], np.sqrt(1.6 * 1.5))
    # one cell type: specificity is importance over the median motif's (1.25 here)
    alone = pair_evidence(matrices["ct1"], empty, list("ABCD"))
    np.testing.assert_allclose(alone["specificity_a"].iloc[0], 2.0 / 1.25)
    # structure evidence moves a pair only where a complex exists, by at most 1.74 / 1.23
    combined = catalog_score(pd.Series([0.5, 0.5, 0.5]), pd.Series([np.nan, 0.6, 0.02]))
    assert combined[0] == 0.5 and combined[1] == pytest.approx(0.5 * 1.6 / 1.23)
    assert combined[2] < 0.5


def test_network_edge_direction_and_weight():
    """A -> B in the network ([effect B, cause A]) is the pair A-B's edge, read as a->b."""
    matrix = pd.DataFrame(np.random.default_rng(1).normal(size=(30, 3)), columns=list("ABC"))
    weight, stability = np.zeros((3, 3)), np.zeros((3, 3))
    weight[1, 0], stability[1, 0] = 0.8, 0.9  # A -> B
    weight[0, 1], stability[0, 1] = -0.3, 0.4  # B -> A, less stable
    weight[1, 2], stability[1, 2] = 0.5, 0.6  # C -> B
    table = pair_evidence(matrix, NetworkEdges(weight, stability, "hand-made"), list("ABC"))
    table = table.set_index(["cluster_a", "cluster_b"])
    assert table.loc[("A", "B"), ["direction", "edge_weight", "stability"]].tolist() == [
        "a->b",
        0.8,
        0.9,
    ]
    assert table.loc[("B", "C"), "direction"] == "b->a"  # C -> B
    assert table.loc[("A", "C"), ["direction", "stability"]].tolist() == ["", 0.0]


# -- queries ------------------------------------------------------------------------------------


def test_query_by_tf_through_the_cli_and_duckdb(tiny, catalog, tmp_path):
    pairs = tiny["sim"].truth["tf_pairs"]
    tf, cell_type = pairs["tf_a"].iloc[0], pairs["cell_type"].iloc[0]
    runner = CliRunner()
    csv = tmp_path / "q.csv"
    args = ["catalog", "query", str(catalog), "--tf", tf.lower(), "--cell-type", cell_type]
    result = runner.invoke(app, [*args, "--csv", str(csv), "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert f"TF {tf.upper()}" in result.output and "more match" in result.output
    rows = pd.read_csv(csv)
    assert len(rows) > 3 and (rows["cell_type"] == cell_type).all()
    holds = [tf.upper() in f"{a};{b}".split(";") for a, b in zip(rows["tfs_a"], rows["tfs_b"],
                                                                    strict=True)]  # fmt: skip
    assert all(holds)
    assert (np.diff(rows["score"].to_numpy()) <= 0).all()
    table = pd.read_parquet(catalog)
    mine = table[
        (table["cell_type"] == cell_type)
        & table.apply(lambda r: tf.upper() in set(r["tfs_a"]) | set(r["tfs_b"]), axis=1)
    ]
    assert len(rows) == len(mine)  # fmt: skip
    # min score, and two catalogs (a glob) queried as one
    cutoff = float(mine["score"].median())
    best = query_catalog([catalog], tf=tf, cell_type=cell_type, min_score=cutoff)
    assert len(best) == (mine["score"] >= cutoff).sum()
    copy = tmp_path / "more" / "b.parquet"
    copy.parent.mkdir()
    copy.write_bytes(catalog.read_bytes())
    both = query_catalog([catalog, str(tmp_path / "more" / "*.parquet")], tf=tf)
    assert len(both) == 2 * len(query_catalog([catalog], tf=tf))


def test_structures_pairs_from_the_catalog(tiny, catalog, tmp_path):
    """`getx structures pairs --catalog` writes ColabFold jobs for the best TF gene pairs."""
    from getx.structures.pairs import read_catalog_pairs

    chosen = read_catalog_pairs([catalog], 3, "ct1")
    assert len(chosen) == 3 and len({frozenset(p[:2]) for p in chosen}) == 3
    best = pd.read_parquet(catalog).query("cell_type == 'ct1'").iloc[0]
    assert chosen[0][0] in list(best["tfs_a"]) and chosen[0][1] in list(best["tfs_b"])
    assert chosen[0][2] == pytest.approx(best["score"])
    genes = sorted({g for names in tiny["store"].cluster_genes.values() for g in names})
    fasta = tmp_path / "tfs.fa"
    fasta.write_text(
        "".join(f">{g}\nMKTAYIAKQRQISFVKSHFSRQ{i % 7 * 'A'}\n" for i, g in enumerate(genes))
    )
    out = tmp_path / "jobs.csv"
    args = ["structures", "pairs", "--fasta", str(fasta), "--catalog", str(catalog)]
    result = CliRunner().invoke(app, [*args, "--cell-type", "ct1", "--top", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    manifest = pd.read_csv(tmp_path / "jobs.manifest.tsv", sep="\t")
    assert list(zip(manifest["protein_a"], manifest["protein_b"], strict=True)) == [
        p[:2] for p in chosen
    ]
    result = CliRunner().invoke(app, [*args, "--top", "3", "--pairs", str(fasta), "-o", str(out)])
    assert "give either --pairs TABLE or --catalog FILE" in error_line(result)


def test_catalog_pairs_order_by_score_then_expression(tmp_path):
    """Gene pairs of a hand-made catalog: the best cluster pair first, within it the gene pairs
    whose expression is known and higher first; a pair of one gene with itself never, a gene
    pair seen before not again."""
    from getx.structures.pairs import read_catalog_pairs

    rows = pd.DataFrame(
        {
            "cell_type": ["ct1", "ct1", "ct1", "ct2"],
            "score": [2.0, 1.0, 0.5, 9.0],
            "tfs_a": [["A1", "A2", "A3"], ["A1"], ["D1"], ["X1"]],
            "tfs_b": [["B1"], ["B1", "C1"], ["D1"], ["X2"]],
            "tf_expression_a": [[1.0, None, 2.0], [None], [None], [None]],
            "tf_expression_b": [[3.0], [None, None], [None], [None]],
        }
    )
    rows.to_parquet(tmp_path / "c.parquet")
    assert read_catalog_pairs([tmp_path / "c.parquet"], 4, "ct1") == [
        ("A3", "B1", 2.0), ("A1", "B1", 2.0), ("A2", "B1", 2.0), ("A1", "C1", 1.0)
    ]  # fmt: skip
    assert len(read_catalog_pairs([tmp_path / "c.parquet"], 10, "ct1")) == 4  # D1-D1 never
    assert read_catalog_pairs([tmp_path / "c.parquet"], 1) == [("X1", "X2", 9.0)]
    with pytest.raises(InputError, match="cell type 'ct9' is not in the catalog"):
        read_catalog_pairs([tmp_path / "c.parquet"], 1, "ct9")
    (tmp_path / "t.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match=r"t\.parquet: not a catalog of `getx catalog build`"):
        read_catalog_pairs([tmp_path / "t.parquet"], 1)
    pd.DataFrame({"tf_a": ["A"]}).to_parquet(tmp_path / "u.parquet")
    with pytest.raises(InputError, match=r"u\.parquet: not a catalog"):
        read_catalog_pairs([tmp_path / "u.parquet"], 1)


# -- structures ---------------------------------------------------------------------------------


def test_structure_join_on_real_klf4_complexes(tiny, tmp_path):
    """Three deposited KLF4 complexes, named by gene through a manifest as docs/structures.md
    shows. RARA and RARB share motif clusters, so KLF4-RARA and KLF4-RARB fall on the same
    cluster pairs, which report the better one; KLF4-MAFG (no contact: pDockQ 0) its own. Named
    by UniProt accession (no manifest), the same complexes join no TF gene."""
    folder = shared_path(KLF4)
    inputs = tmp_path / "klf4"
    inputs.mkdir()
    for accession in ("P10276", "P10826", "O15525"):  # RARA, RARB, MAFG
        (inputs / f"O43474_{accession}.pdb.gz").write_bytes(
            (folder / f"O43474_{accession}.pdb.gz").read_bytes()
        )
    authors = pd.read_csv(shared_path("structures/klf4_git.csv"))
    manifest = tmp_path / "klf4.manifest.tsv"
    pd.DataFrame(
        {"id": authors["PDB"].str.removesuffix(".pdb"), "protein_a": "KLF4",
         "protein_b": authors["Gene"]}
    ).to_csv(manifest, sep="\t", index=False)  # fmt: skip
    runner = CliRunner()
    scores = tmp_path / "scores"
    args = ["structures", "score", str(inputs), "--manifest", str(manifest), "-o", str(scores)]
    assert runner.invoke(app, args).exit_code == 0
    pairs = pd.read_parquet(scores / "pairs.parquet").set_index("pair_key")
    complexes = read_structure_pairs(scores)
    assert len(complexes) == 3 and (complexes["gene_a"] == "KLF4").all()
    out = tmp_path / "c.parquet"
    args = ["catalog", "build", str(tiny["interp"]), str(tiny["store"].path), "-o", str(out)]
    result = runner.invoke(
        app, [*args, *NETWORK, "--cell-type", "ct2", "--structures", str(scores)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    cluster_of = {}
    for name, genes in tiny["store"].cluster_genes.items():
        for gene in genes:
            cluster_of.setdefault(gene, set()).add(name)
    (klf4,) = cluster_of["KLF4"]
    # expected by hand: per cluster pair (KLF4's, the partner's), the complexes on it
    expected: dict[frozenset, list[str]] = {}
    for gene in ("RARA", "RARB", "MAFG"):
        for cluster in cluster_of[gene]:
            expected.setdefault(frozenset((klf4, cluster)), []).append(f"KLF4|{gene}")
    joined = table[table["n_structures"] > 0]
    keys = [frozenset(p) for p in zip(joined["cluster_a"], joined["cluster_b"], strict=True)]
    assert sorted(map(sorted, keys)) == sorted(map(sorted, expected))
    both = [k for k, v in expected.items() if len(v) == 2]
    assert both  # RARA and RARB share the RAR cluster
    for key, row in zip(keys, joined.itertuples(), strict=True):
        best = max(expected[key], key=lambda k: pairs.loc[k, "pdockq"])
        assert row.structure_pair == best and row.n_structures == len(expected[key])
        assert row.pdockq == pairs.loc[best, "pdockq"]
        assert row.n_contacts == pairs.loc[best, "n_contacts"]
        factor = (1 + row.pdockq) / 1.23
        assert row.score == pytest.approx(row.regulatory_score * factor)
    mafg = joined[joined["structure_pair"] == "KLF4|MAFG"]
    assert len(mafg) >= 1 and (mafg["pdockq"] == 0).all() and (mafg["n_contacts"] == 0).all()
    genes = [tiny["store"].cluster_genes[c] for c in tiny["store"].feature_names]
    assert len(structure_evidence(genes, complexes)) == len(expected)
    plain = tmp_path / "plain"
    assert runner.invoke(app, ["structures", "score", str(inputs), "-o", str(plain)]).exit_code == 0
    accessions = read_structure_pairs(plain)
    assert "O43474" in set(accessions["gene_a"]) | set(accessions["gene_b"])
    assert structure_evidence(genes, accessions).empty


# -- bad input ----------------------------------------------------------------------------------


def _wrong_motif_set(tiny, path):
    from getx.interpret.importance import Importance, write_importance

    result = tiny["results"][0]
    names = [f"X{i}" for i in range(len(result.feature_names))]
    renamed = Importance(**{**result.__dict__, "feature_names": names})
    return write_importance(path, [renamed], tiny["run"], tiny["store"])


def test_bad_input_is_one_line_and_writes_nothing(tiny, catalog, tmp_path):
    runner = CliRunner()
    interp, store = str(tiny["interp"]), str(tiny["store"].path)
    out = tmp_path / "out.parquet"
    build = ["catalog", "build"]
    other_ct = tmp_path / "ct2.json"
    result = runner.invoke(app, ["network", "build", interp, "--cell-type", "ct2", "--runs", "1",
                                 "--top-motifs", "5", "-o", str(other_ct)])  # fmt: skip
    assert result.exit_code == 0, result.output
    (tmp_path / "empty").mkdir()
    cases = [
        ([*build, str(tmp_path / "none.zarr"), store], "none.zarr: no such importance store"),
        ([*build, interp, str(tmp_path / "none.zarr")], "none.zarr: no such region store"),
        ([*build, str(_wrong_motif_set(tiny, tmp_path / "x.zarr")), store],
         "have different motif sets: cluster 1 is 'X0'"),
        ([*build, interp, store, "--cell-type", "ct9"], "cell type 'ct9' is not in the importance"),
        ([*build, interp, store, "--cell-type", "ct1", "--network", f"ct2={other_ct}"],
         "a network is given for cell type 'ct2', which is not catalogued"),
        ([*build, interp, store, "--cell-type", "ct1", "--network", f"ct1={other_ct}"],
         "this network is of cell type 'ct2', given for 'ct1'"),
        ([*build, interp, store, "--network", f"ct1={tmp_path / 'no.json'}"],
         "no.json: no such network file"),
        ([*build, interp, store, "--structures", str(tmp_path / "empty")],
         "pairs.parquet: no structure scores here"),
    ]  # fmt: skip
    for args, message in cases:
        assert message in error_line(runner.invoke(app, [*args, *NETWORK, "-o", str(out)])), args
        assert not out.exists()
    result = runner.invoke(app, [*build, interp, store, "--runs", "0", "-o", str(out)])
    assert "--runs must be at least 1" in error_line(result) and not out.exists()
    for wrong in (tmp_path / "out.tsv", tmp_path / "empty"):
        args = [*build, interp, store, "-o", str(wrong)]
        assert "give" in error_line(runner.invoke(app, args))
    assert not (tmp_path / "out.tsv").exists() and not any((tmp_path / "empty").iterdir())
    query = ["catalog", "query", str(catalog)]
    tf = tiny["sim"].truth["tf_pairs"]["tf_a"].iloc[0]
    csv = tmp_path / "q.csv"
    cases = [
        ([*query, "--tf", tf + "X"], f"TF '{tf}X' is not in the catalog (did you "
                                     f"mean {tf.upper()}"),
        ([*query, "--tf", tf, "--cell-type", "ct9"], "cell type 'ct9' is not in the catalog"),
        ([*query, "--cluster", "NOPE"], "motif cluster 'NOPE' is not in the catalog"),
        (["catalog", "query", str(tmp_path / "no.parquet")], "no.parquet: no such catalog file"),
        (["catalog", "query", str(tmp_path / "nothing*.parquet")], "no catalog file matches"),
        (["catalog", "query", str(other_ct)], "ct2.json: not a parquet file"),
    ]  # fmt: skip
    for args, message in cases:
        assert message in error_line(runner.invoke(app, [*args, "--csv", str(csv)])), args
        assert not csv.exists()
    with pytest.raises(InputError, match="not a getx catalog"):
        pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "plain.parquet")
        read_metadata(tmp_path / "plain.parquet")
