"""Motif clustering: alignment, agreement scores, recovery of GET's v1 clusters, the command."""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_path
from getx.motifs import (
    MotifSet,
    agreement,
    alignment,
    cluster_io,
    load_motifs,
    load_nrmotif_v1,
    read_meme,
    select,
)
from getx.motifs import clustering as mc
from getx.motifs.genes import motif_genes
from getx.motifs.motifset import probabilities
from oracles import exact_nlog10p


@pytest.fixture(scope="module")
def v1() -> MotifSet:
    return load_nrmotif_v1(
        shared_path("motifs/nrmotif_v1.json"), shared_path("motifs/nrmotif_v1.matrices.npz")
    )


def _rc(p: np.ndarray) -> np.ndarray:
    return p[::-1, ::-1].copy()


def _random_columns(rng: np.random.Generator, k: int) -> np.ndarray:
    return rng.dirichlet(np.ones(4), size=k)


# --- alignment ---------------------------------------------------------------------------------


@pytest.mark.parametrize("score", ["pcc", "kl"])
def test_self_and_reverse_complement_are_the_best_matches(v1, score):
    probs = probabilities(v1)
    rng = np.random.default_rng(0)
    others = [probs[i] for i in rng.choice(len(probs), 40, replace=False)]
    p = probs[v1.names.index("CTCF_HUMAN.H11MO.0.A")]
    al = alignment.align_all([p, _rc(p), *others], score=score)
    w = p.shape[0]
    # Self and reverse complement: full overlap, offset 0, the right strand, the top score.
    assert al.overlap[0, 0] == w and al.offset[0, 0] == 0 and al.strand[0, 0] == 0
    assert al.overlap[0, 1] == w and al.offset[0, 1] == 0 and al.strand[0, 1] == 1
    assert al.score[0, 1] == pytest.approx(al.score[0, 0])
    if score == "pcc":
        assert al.score[0, 0] == pytest.approx(w)  # every column correlates 1 with itself
    assert np.all(al.nlog10p[0, 2:] < al.nlog10p[0, 0])
    assert np.all(al.score[0, 2:] < al.score[0, 0])


@pytest.mark.parametrize("score", ["pcc", "kl"])
def test_shifted_copy_aligns_at_its_offset_on_both_strands(v1, score):
    rng = np.random.default_rng(1)
    p = probabilities(v1)[v1.names.index("GATA1_HUMAN.H11MO.0.A")]
    longer = np.vstack([_random_columns(rng, 3), p, _random_columns(rng, 4)])
    al = alignment.align_all([p, longer, _rc(longer)], score=score)
    # Column k of p is column k + 3 of `longer`: offset d = -3 (k faces k - d).
    assert (al.offset[0, 1], al.strand[0, 1]) == (-3, 0)
    assert (al.offset[0, 2], al.strand[0, 2]) == (-3, 1)
    assert al.overlap[0, 1] == p.shape[0]
    # Seen from the longer motif: p starts at column 3.
    assert (al.offset[1, 0], al.strand[1, 0]) == (3, 0)


def test_archetype_of_copies_is_the_motif(v1):
    rng = np.random.default_rng(2)
    probs = probabilities(v1)
    p = probs[v1.names.index("CTCF_HUMAN.H11MO.0.A")]
    q = probs[v1.names.index("GATA1_HUMAN.H11MO.0.A")]
    mats = [p, _rc(p), np.vstack([_random_columns(rng, 3), p, _random_columns(rng, 2)]), q]
    bg = np.full(4, 0.25)
    ms = MotifSet(
        names=("a", "b", "c", "d"),
        matrices=tuple(np.log(m / bg) for m in mats),
        background=bg,
        clusters=("X", "Y"),
        motif_cluster=np.array([0, 0, 0, 1]),
    )
    arche = mc.archetypes(ms)
    # The random flanks are covered by one member of three and get trimmed; the strand follows
    # the seed's.
    x = arche["X"]
    assert x.shape == p.shape
    assert np.allclose(x, p, atol=1e-9) or np.allclose(x, _rc(p), atol=1e-9)
    np.testing.assert_allclose(arche["Y"], q, atol=1e-9)


# --- agreement scores --------------------------------------------------------------------------


def test_ari_known_values():
    # Contingency [[2,0,0],[0,1,1]]: index 1, expected 2*1/6, max 1.5 -> (2/3)/(7/6) = 4/7.
    assert agreement.adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)
    assert agreement.adjusted_rand_index([0, 0, 1, 1], [5, 5, 3, 3]) == pytest.approx(1.0)
    # Every pair split differently: index 0, expected 2*2/15... -> negative.
    assert agreement.adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]) < 0


def _brute_expectations(a, b):
    """E[pair index] and E[MI] over all permutations of b (the model both adjustments use)."""
    n = len(a)
    idx, mis = [], []
    for perm in itertools.permutations(b):
        t = agreement._contingency(a, list(perm))
        idx.append(sum(math.comb(int(x), 2) for x in t.ravel()))
        ra, rb = t.sum(axis=1), t.sum(axis=0)
        mis.append(
            sum(
                t[i, j] / n * math.log(n * t[i, j] / (ra[i] * rb[j]))
                for i in range(t.shape[0])
                for j in range(t.shape[1])
                if t[i, j]
            )
        )
    return float(np.mean(idx)), float(np.mean(mis))


def test_ari_and_ami_match_brute_force_permutation_expectations():
    a = [0, 0, 0, 1, 1, 2, 2]
    b = [0, 0, 1, 1, 1, 1, 2]
    e_idx, e_mi = _brute_expectations(a, b)
    t = agreement._contingency(a, b)
    n = len(a)
    index = sum(math.comb(int(x), 2) for x in t.ravel())
    sa = sum(math.comb(int(x), 2) for x in t.sum(axis=1))
    sb = sum(math.comb(int(x), 2) for x in t.sum(axis=0))
    assert e_idx == pytest.approx(sa * sb / math.comb(n, 2))
    ari = (index - e_idx) / ((sa + sb) / 2 - e_idx)
    assert agreement.adjusted_rand_index(a, b) == pytest.approx(ari)
    assert agreement._expected_mutual_information(t.sum(axis=1), t.sum(axis=0), n) == pytest.approx(
        e_mi
    )

    def h(c):
        p = np.asarray(c, float) / n
        return -(p * np.log(p)).sum()

    ra, rb = t.sum(axis=1), t.sum(axis=0)
    mi = sum(
        t[i, j] / n * math.log(n * t[i, j] / (ra[i] * rb[j]))
        for i in range(3)
        for j in range(3)
        if t[i, j]
    )
    ami = (mi - e_mi) / ((h(ra) + h(rb)) / 2 - e_mi)
    assert agreement.adjusted_mutual_information(a, b) == pytest.approx(ami)


def test_ami_identity_and_independence():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 30, 2000)
    assert agreement.adjusted_mutual_information(x, (x * 7 + 3) % 31) == pytest.approx(1.0)
    y = rng.integers(0, 30, 2000)
    assert abs(agreement.adjusted_mutual_information(x, y)) < 0.02
    assert abs(agreement.adjusted_rand_index(x, y)) < 0.02


def test_split_merge_counts():
    ref = [0, 0, 0, 1, 1, 2, 2, 3]
    pred = [0, 0, 1, 2, 2, 2, 2, 3]  # ref 0 split; pred 2 merges ref 1 and 2; ref 3 exact
    sm = agreement.split_merge(ref, pred)
    assert (sm["split"], sm["merged"], sm["exact"]) == (1, 1, 1)


# --- recovering the published v1 clusters ------------------------------------------------------


def test_recovers_published_clusters_on_a_v1_subset(v1):
    sizes = np.bincount(v1.motif_cluster)
    rng = np.random.default_rng(4)
    eligible = [c for c in range(len(v1.clusters)) if 3 <= sizes[c] <= 25]
    chosen = sorted(rng.choice(eligible, 40, replace=False))
    sub = select(v1, clusters=[v1.clusters[c] for c in chosen])
    assert 250 <= len(sub) <= 450
    ref = sub.motif_cluster
    first = mc.cluster_labels(sub, mc.ClusterParams(n_clusters=40, method="pcc-average"))
    second = mc.cluster_labels(sub, mc.ClusterParams(n_clusters=40))  # default: tomtom2-kl
    ari1, ari2 = (
        agreement.adjusted_rand_index(ref, first),
        agreement.adjusted_rand_index(ref, second),
    )
    ami2 = agreement.adjusted_mutual_information(ref, second)
    # Measured on this subset (373 motifs): default ARI 0.924 / AMI 0.953, first order (PCC,
    # average linkage) ARI 0.735. Other seeds: 0.96 / 0.95 default, 0.77 / 0.81 first order.
    assert ari2 > 0.85, (ari1, ari2, ami2)
    assert ami2 > 0.9
    assert ari2 > ari1


def test_cluster_motifs_names_and_genes(v1):
    sub = select(v1, clusters=["CTCF", "GATA", "AP1/1", "SOX/1"])
    out = mc.cluster_motifs(sub, mc.ClusterParams(n_clusters=4))
    assert len(out.clusters) == len(set(out.clusters)) == 4
    assert out.names == sub.names
    genes = {g for gl in out.cluster_genes.values() for g in gl}
    assert {"CTCF", "GATA1", "FOS"} <= genes
    ctcf = out.motif_cluster[sub.names.index("CTCF_HUMAN.H11MO.0.A")]
    assert out.clusters[ctcf].startswith("CTCF")


def test_unknown_parameters():
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        mc.ClusterParams(method="nope")
    with pytest.raises(ValueError, match="unknown pvalue 'nope'"):
        mc.ClusterParams(pvalue="nope")
    with pytest.raises(ValueError, match="n_clusters must be positive"):
        mc.ClusterParams(n_clusters=0)


# --- command -----------------------------------------------------------------------------------


def test_cluster_command_writes_a_usable_motif_set(tmp_path):
    import typer
    from typer.testing import CliRunner

    from getx.motifs.commands import cluster

    pfm = shared_path("motifs/HOCOMOCOv11_HUMAN.pfm")
    app = typer.Typer()
    app.command()(cluster)
    app.command("other")(lambda: None)  # keep `cluster` a subcommand, as in the real CLI
    res = CliRunner().invoke(
        app, ["cluster", str(pfm), "--out", str(tmp_path / "hoc"), "--n-clusters", "60"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "hoc.json").read_text())
    assert len(doc["clusters"]) == 60
    members = [m for c in doc["clusters"].values() for m in c["members"]]
    assert len(members) == len(set(members)) == 401
    assert all(c["genes"] for c in doc["clusters"].values())
    # The JSON + npz pair is a motif set getx reads back, with the new clusters.
    again = load_motifs(tmp_path / "hoc.json")
    assert len(again) == 401 and len(again.clusters) == 60
    arche = read_meme(tmp_path / "hoc.archetypes.meme")
    assert len(arche) == 60
    # Atomic writes leave no temporary directories behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hoc.archetypes.meme",
        "hoc.json",
        "hoc.matrices.npz",
    ]


# --- the default feature set: JASPAR 2024 in similarity clusters, cached ------------------------


@pytest.fixture(scope="session")
def jaspar_cold(tmp_path_factory) -> tuple:
    """The default set loaded once into an empty cache (the cold path: clustering ~879 motifs)."""
    cache = tmp_path_factory.mktemp("getx_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GETX_CACHE_DIR", str(cache))
        motifs = load_motifs("jaspar2024")
    return cache, motifs


def _tf(name: str) -> str:
    return name.split(".", 2)[2]  # "MA0035.5.GATA1" -> "GATA1"


def test_default_set_is_jaspar_in_similarity_clusters_cached_on_disk(jaspar_cold, monkeypatch):
    cache, motifs = jaspar_cold
    families = load_motifs("jaspar2024-families")
    assert motifs.names == families.names and len(motifs) > 800
    pairs = zip(motifs.matrices, families.matrices, strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)
    # Not JASPAR's family annotation, nor one cluster per motif.
    assert len(families.clusters) < len(motifs.clusters) < len(motifs) / 2
    assert len(set(motifs.clusters)) == len(motifs.clusters)
    assert "similarity clusters" in motifs.source
    for c, name in enumerate(motifs.clusters):
        genes = set(motifs.cluster_genes[name])
        members = [motifs.names[i] for i in np.flatnonzero(motifs.motif_cluster == c)]
        assert members and genes
        assert all(set(motif_genes(m)) <= genes for m in members)
    # The cold load wrote one JSON + npz pair (atomically: nothing else is left behind).
    files = sorted(p.name for p in (cache / "motif_clusters").iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".matrices.npz")
    # A warm load reads it: no clustering happens, and the result is the same.
    monkeypatch.setenv("GETX_CACHE_DIR", str(cache))

    def no_clustering(*args, **kwargs):
        raise AssertionError("clustered again instead of reading the cache")

    monkeypatch.setattr(mc, "cluster_labels", no_clustering)
    warm = load_motifs("jaspar2024")
    assert warm.clusters == motifs.clusters
    assert np.array_equal(warm.motif_cluster, motifs.motif_cluster)
    assert warm.cluster_genes == motifs.cluster_genes
    assert warm.checksum() == motifs.checksum() and warm.source == motifs.source
    # The cache entry is itself a motif set getx reads.
    again = load_motifs(cache / "motif_clusters" / files[0])
    assert again.clusters == motifs.clusters and again.names == motifs.names


def _same_set(a: MotifSet, b: MotifSet) -> bool:
    return (
        a.names == b.names
        and all(np.array_equal(x, y) for x, y in zip(a.matrices, b.matrices, strict=True))
        and np.array_equal(a.background, b.background)
        and a.clusters == b.clusters
        and np.array_equal(a.motif_cluster, b.motif_cluster)
        and a.cluster_genes == b.cluster_genes
        and a.source == b.source
        and a.checksum() == b.checksum()
    )


def test_warm_jaspar_load_reads_neither_pyjaspar_nor_the_cluster_cache(
    jaspar_cold, monkeypatch, caplog
):
    from getx.motifs import databases as db

    cache, cold = jaspar_cold
    monkeypatch.setenv("GETX_CACHE_DIR", str(cache))
    # The cold load kept the finished set (and its JASPAR families) under jaspar/.
    assert len(list((cache / "jaspar").glob("*.json"))) == 2

    def fail(*args, **kwargs):
        raise AssertionError("a warm load went past the JASPAR cache")

    with monkeypatch.context() as mp:
        for module, name in [
            (db, "_load_jaspar_families"),
            (mc, "cluster_labels"),
            (cluster_io, "_read_cached"),
            (cluster_io, "load_nrmotif_v1"),
        ]:
            mp.setattr(module, name, fail)
        warm = load_motifs("jaspar2024")
        warm_families = load_motifs("jaspar2024-families")
    assert _same_set(warm, cold)
    query = ("JASPAR2024", "CORE", "vertebrates", db.PSEUDOCOUNT)
    assert _same_set(warm_families, db._load_jaspar_families(*query))  # as pyjaspar reads it
    key = db._jaspar_cache_key(*query, "clusters")
    path = db._jaspar_cache_path(key)
    npz = path.with_suffix(".npz")
    assert path.exists() and npz.exists()
    doc = json.loads(path.read_text())
    stale = json.dumps({**doc, "key": {**doc["key"], "database_mtime_ns": 1}})
    other = io.BytesIO()
    np.savez(other, matrices=np.zeros((int(cold.widths.sum()), 4)))
    monkeypatch.setattr(mc, "cluster_labels", fail)  # a rebuild reads the cluster cache
    for damaged, damage, why in [
        (path, b'{"trunc', "rebuilding"),
        (path, b"[]", "not a JSON object"),
        (path, stale.encode(), "another database or query"),
        (npz, b"not a zip", "rebuilding"),
        (npz, other.getvalue(), "do not match their checksum"),
    ]:
        good = damaged.read_bytes()
        damaged.write_bytes(damage)
        caplog.clear()
        assert _same_set(load_motifs("jaspar2024"), cold)
        assert "rebuilding the JASPAR cache" in caplog.text and why in caplog.text
        assert damaged.read_bytes() == good  # rewritten
    caplog.clear()
    assert _same_set(load_motifs("jaspar2024"), cold) and "rebuilding" not in caplog.text


def test_jaspar_cache_key_follows_the_database_file_and_the_query(tmp_path, monkeypatch):
    from pyjaspar import get_jaspardb_path, jaspar_releases

    from getx.errors import InputError
    from getx.motifs import databases as db

    # Found without importing pyjaspar, where pyjaspar itself finds it.
    found = db._jaspar_db_path("JASPAR2024")
    assert found == Path(get_jaspardb_path(jaspar_releases["JASPAR2024"]))
    with pytest.raises(InputError, match="unknown JASPAR release 'JASPAR1999'"):
        db._jaspar_db_path("JASPAR1999")
    fake = tmp_path / "JASPAR2024.sqlite"
    fake.write_bytes(b"x" * 10)
    monkeypatch.setattr(db, "_jaspar_db_path", lambda release: fake)
    query = ("JASPAR2024", "CORE", "vertebrates", 1.0, "clusters")

    def path(*q):
        return db._jaspar_cache_path(db._jaspar_cache_key(*q))

    base = path(*query)
    assert path(*query) == base
    os.utime(fake, ns=(1, 1))  # modification time
    touched = path(*query)
    fake.write_bytes(b"x" * 11)  # size
    os.utime(fake, ns=(1, 1))
    resized = path(*query)
    assert len({base, touched, resized}) == 3
    variants = [
        ("JASPAR2022", "CORE", "vertebrates", 1.0, "clusters"),
        ("JASPAR2024", "UNVALIDATED", "vertebrates", 1.0, "clusters"),
        ("JASPAR2024", "CORE", "plants", 1.0, "clusters"),
        ("JASPAR2024", "CORE", "vertebrates", 0.5, "clusters"),
        ("JASPAR2024", "CORE", "vertebrates", 1.0, "families"),
    ]
    assert len({path(*v) for v in variants} | {resized}) == len(variants) + 1


def test_jaspar_clusters_group_known_families(jaspar_cold):
    _, motifs = jaspar_cold

    def clusters_of(pattern: str) -> set[str]:
        found = {
            motifs.clusters[motifs.motif_cluster[i]]
            for i, n in enumerate(motifs.names)
            if re.fullmatch(pattern, _tf(n), flags=re.I)
        }
        assert found, pattern
        return found

    # Known binding specificities: GATA zinc fingers (WGATAR), CTCF's core and its extended
    # forms, IRF (AANNGAAA), RUNX (TGTGGT); SOX HMG boxes (WWCAAWG) are unrelated to them.
    gata = clusters_of(r"GATA[1-6]")
    ctcf = clusters_of(r"CTCF")
    assert len(gata) == 1 and next(iter(gata)).startswith("GATA")
    assert ctcf == {"CTCF"}
    assert len(clusters_of(r"IRF\d")) == 1
    assert len(clusters_of(r"RUNX\d")) == 1
    sox = clusters_of(r"SOX\d+")
    assert not sox & (gata | ctcf)
    assert not clusters_of(r"CTCFL") & (gata | sox)
    # Heterodimers sit with their DNA-binding partners' family (AP-1).
    assert clusters_of(r"FOS::JUN") <= clusters_of(r"FOSL?\d?::JUN[BD]?")


def test_cluster_cache_is_rebuilt_when_damaged(v1, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("GETX_CACHE_DIR", str(tmp_path))
    sub = select(v1, clusters=["CTCF", "GATA", "SOX/1"])
    four = mc.ClusterParams(n_clusters=4)
    first = cluster_io.cached_cluster_motifs(sub, four)
    path = cluster_io.cache_path(sub, four)
    npz = path.with_name(path.name.removesuffix(".json") + ".matrices.npz")
    assert path.exists() and npz.exists()

    def same(a: MotifSet, b: MotifSet) -> bool:
        return a.clusters == b.clusters and np.array_equal(a.motif_cluster, b.motif_cluster)

    for damaged, damage in [(path, b'{"truncated'), (npz, b"not a zip"), (path, b"[]")]:
        good = damaged.read_bytes()
        damaged.write_bytes(damage)
        caplog.clear()
        again = cluster_io.cached_cluster_motifs(sub, four)
        assert same(again, first)  # rebuilt, deterministically
        assert "rebuilding the motif-cluster cache" in caplog.text and str(path) in caplog.text
        assert damaged.read_bytes() == good  # and rewritten
    # An entry that is not for this motif set (another set's file under this key) is rebuilt.
    other = select(v1, clusters=["CTCF", "SOX/1"])
    two = mc.ClusterParams(n_clusters=2)
    cluster_io.cached_cluster_motifs(other, two)
    path.write_bytes(cluster_io.cache_path(other, two).read_bytes())
    caplog.clear()
    assert same(cluster_io.cached_cluster_motifs(sub, four), first)
    assert "another motif set" in caplog.text
    # use_cache=False neither reads nor writes.
    path.unlink()
    assert same(cluster_io.cached_cluster_motifs(sub, four, use_cache=False), first)
    assert not path.exists()


def test_cluster_cache_key_changes_with_every_parameter(v1, tmp_path, monkeypatch):
    from dataclasses import fields, replace

    monkeypatch.setenv("GETX_CACHE_DIR", str(tmp_path))
    sub = select(v1, clusters=["CTCF", "GATA"])
    base = mc.ClusterParams()
    changed = {
        "n_clusters": 7,
        "cut": 0.5,
        "method": "tomtom2-pcc",
        "min_overlap": 6,
        "p_floor": 0.1,
        "pvalue": "exact",
    }
    assert set(changed) == {f.name for f in fields(mc.ClusterParams)}  # no parameter untested
    paths = {cluster_io.cache_path(sub, replace(base, **{k: v})) for k, v in changed.items()}
    assert len(paths | {cluster_io.cache_path(sub, base)}) == len(changed) + 1
    assert cluster_io.cache_path(sub) == cluster_io.cache_path(sub, base)
    # The same clustering is the same entry: an unset cut is the default one, and a cut is
    # unused when n_clusters decides.
    assert cluster_io.cache_path(sub, replace(base, cut=mc.default_cut())) == cluster_io.cache_path(
        sub, base
    )
    seven = mc.ClusterParams(n_clusters=7)
    assert cluster_io.cache_path(sub, replace(seven, cut=0.3)) == cluster_io.cache_path(sub, seven)
    # Another motif set is another entry too.
    assert cluster_io.cache_path(select(v1, clusters=["CTCF"]), base) != cluster_io.cache_path(
        sub, base
    )


def test_unknown_jaspar_grouping():
    from getx.errors import InputError
    from getx.motifs.databases import load_jaspar

    with pytest.raises(InputError, match="unknown JASPAR grouping 'nope'"):
        load_jaspar(grouping="nope")


def _grid_p_bounds(S: np.ndarray, step: float, null: dict, key, s: float) -> tuple[float, float]:
    """Bounds on the grid p of score s over the query columns of S (rows): every way of drawing
    one column per aligned query column, counted exactly (sorted sums kept in ``null[key]``);
    each column and the observed score round by half a step on the grid."""
    if key not in null:
        sums = np.zeros(1)
        for row in S:
            sums = (sums[:, None] + row[None, :]).ravel()
        null[key] = np.sort(sums)
    sums = null[key]
    margin = (len(S) + 1) / 2 * step
    lower = 1 - np.searchsorted(sums, s + margin) / len(sums)
    upper = 1 - np.searchsorted(sums, s - margin) / len(sums)
    top = 1 - np.searchsorted(sums, sums[-1] - 1e-9) / len(sums)  # P(best), the grid's floor
    return lower, max(upper, top)


def test_exact_pvalues_match_brute_force_enumeration():
    rng = np.random.default_rng(7)
    probs = [rng.dirichlet(np.full(4, 0.4), size=w) for w in (3, 4, 3, 4)]
    probs.append(probs[0][::-1, ::-1].copy())  # a reverse complement: a strong match
    al = alignment.align_all(probs, score="kl", min_overlap=3, pvalue="exact")

    # Column score from its definition: minus the symmetrised KL divergence (with pseudocount).
    def kl(q, t):
        q, t = (q + 0.01) / 1.04, (t + 0.01) / 1.04
        return -((q - t) * np.log(q / t)).sum(axis=-1)

    columns = np.concatenate([p for p in probs] + [p[::-1, ::-1] for p in probs])  # (C, 4)
    for i, q in enumerate(probs):
        S = kl(q[:, None, :], columns[None, :, :])  # (w, C): every column against every column
        step = (S.max() - S.min()) / alignment.EXACT_BINS
        null: dict[tuple[int, int], np.ndarray] = {}
        for j, t in enumerate(probs):
            p = 10 ** -al.nlog10p[i, j]
            found = False
            for strand, tt in enumerate((t, t[::-1, ::-1])):
                for d in range(-(len(t) - 1), len(q)):  # column k of q faces column k - d
                    a, b = max(0, d), min(len(q), d + len(t))
                    if b - a < 3:
                        continue
                    s = kl(q[a:b], tt[a - d : b - d]).sum()
                    lower, upper = _grid_p_bounds(S[a:b], step, null, (a, b), s)
                    if (d, strand) == (al.offset[i, j], al.strand[i, j]):
                        # The reported alignment: its score, and its p within the grid bounds.
                        found = True
                        assert abs(s - al.score[i, j]) < 1e-4  # float32 products
                        assert lower <= p * (1 + 1e-9) and p <= upper * (1 + 1e-9), (i, j)
                    else:  # and no other offset or strand is clearly more significant
                        assert p <= upper * (1 + 1e-9), (i, j, d, strand)
            assert found
    # A reverse complement is a far better match than chance, and in the far tail the exact
    # p-value is the probability of drawing its best columns.
    assert al.nlog10p[0, 4] == al.nlog10p.max(axis=1)[0] and al.strand[0, 4] == 1


def test_exact_pvalues_cluster_like_the_normal_ones(v1):
    from dataclasses import replace

    sub = select(v1, clusters=["CTCF", "GATA", "AP1/1", "SOX/1", "KLF/SP/2", "NR/3"])
    al = alignment.align_all(sub, score="kl")
    exact_al = replace(al, nlog10p=exact_nlog10p(sub, al, "kl"))
    # The exact p of the best alignment over every offset and strand (TOMTOM's choice) is at
    # least that of the alignment the normal approximation chose, often better, and is what
    # exact_nlog10p gives for the alignment it reports.
    best_al = alignment.align_all(sub, score="kl", pvalue="exact")
    assert (best_al.nlog10p >= exact_al.nlog10p).all()
    assert (best_al.nlog10p > exact_al.nlog10p + 0.1).mean() > 0.005  # 0.9 % measured
    np.testing.assert_array_equal(exact_nlog10p(sub, best_al, "kl"), best_al.nlog10p)
    six = mc.ClusterParams(n_clusters=6)
    normal = mc.cluster_labels(sub, six, alignments=al)
    for exact in (
        mc.cluster_labels(sub, six, alignments=exact_al),
        mc.cluster_labels(sub, replace(six, pvalue="exact")),
    ):
        assert agreement.adjusted_rand_index(sub.motif_cluster, exact) > 0.8
        assert agreement.adjusted_rand_index(normal, exact) > 0.8
