"""bench/interpret.py's simulator parts at tiny size: the truth benchmark and the seed ensemble
run end to end on a finished tiny demo, and their figures agree where they measure the same."""

from __future__ import annotations

import argparse
import math

import pytest

from bench import interpret


@pytest.mark.slow
def test_truth_and_ensemble_run_and_agree_on_the_demo_run(tiny_demo, tmp_path):
    demo = tiny_demo.out
    truth = interpret.truth(
        argparse.Namespace(
            demo=str(demo),
            runs=2,
            limit=0,
            work=str(tmp_path / "truth"),
            threads=1,
            cached_only=False,
            max_samples=200,
            top_motifs=8,  # the tiny demo's few genes cannot carry DirectLiNGAM over 100
        )
    )
    ensemble = interpret.ensemble(argparse.Namespace(demo=str(demo), threads=1))
    assert list(ensemble["runs"]) == ["seed 0"]  # the tiny demo has no seed runs beside it
    for label, rows in truth["links"].items():
        get_abc = next(r for r in rows if r["score"] == "get_abc")
        mine = next(
            r for r in ensemble["rows"] if r["pairs"] == label and r["get_abc of"] == "seed 0"
        )
        # the same model, pairs and labels: the same figure
        assert mine["n"] == get_abc["n"] and mine["positives"] == get_abc["positives"]
        assert mine["auprc"] == pytest.approx(get_abc["auprc"])
        # one run: its mean is itself
        mean = next(
            r
            for r in ensemble["rows"]
            if r["pairs"] == label and r["get_abc of"] == "mean of seeds"
        )
        assert mean["auprc"] == pytest.approx(mine["auprc"])
        assert 0 < mine["positives"] < mine["n"] and 0 <= mine["auprc"] <= 1
    page = interpret._markdown({"truth": truth, "ensemble": ensemble})
    assert "## Seed ensemble of the link score" in page
    assert math.isfinite(truth["enhancer_knockout"]["fraction_true_lowers_more"])


@pytest.mark.slow
def test_oracle_trains_on_the_planted_sites_and_scores_the_same_pairs(tiny_demo, tmp_path):
    import numpy as np
    import pandas as pd

    from getx.interpret.truth import region_ids
    from getx.store import open_store

    demo = tiny_demo.out
    out = tmp_path / "oracle"
    result = interpret.oracle(argparse.Namespace(demo=str(demo), out=str(out), threads=1))

    # the store's motif features are the planted sites, summed per region and cluster
    store = open_store(out / "store.zarr")
    sites = pd.read_csv(demo / "sim" / "truth" / "sites.tsv", sep="\t")
    truth_regions = pd.read_csv(demo / "sim" / "truth" / "regions.tsv", sep="\t")
    row = {rid: i for i, rid in enumerate(region_ids(store, truth_regions)) if rid}
    expected = np.zeros((store.n_regions, len(store.feature_names)))
    column = {name: j for j, name in enumerate(store.feature_names)}
    for rid, cluster, score in zip(
        sites["region_id"], sites["cluster"], sites["score"], strict=True
    ):
        expected[row[rid], column[cluster]] += score
    features = np.asarray(store.read_features())[:, : len(store.feature_names)]
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)
    assert (features > 0).mean() < (
        np.asarray(open_store(demo / "store.zarr").read_features()) > 0
    ).mean()

    # the demo's own row is the figure the ensemble part computes for the same run
    ensemble = interpret.ensemble(argparse.Namespace(demo=str(demo), threads=1))
    for r in ensemble["rows"]:
        if r["get_abc of"] != "seed 0":
            continue
        mine = next(
            o
            for o in result["rows"]
            if o["features"] == "scanned motifs"
            and o["pairs"] == r["pairs"]
            and o["score"] == "get_abc"
        )
        assert (mine["n"], mine["positives"]) == (r["n"], r["positives"])
        assert mine["auprc"] == pytest.approx(r["auprc"])
        planted = next(
            o
            for o in result["rows"]
            if o["features"] == "planted sites"
            and o["pairs"] == r["pairs"]
            and o["score"] == "get_abc"
        )
        assert (planted["n"], planted["positives"]) == (r["n"], r["positives"])  # same pairs
    assert set(result["pearson"]) == {"scanned motifs", "planted sites"}
    # the exact-reads scores share values over a window as the library's abc does
    from getx.interpret.links import PowerLaw

    links, _ = interpret._held_out_links(demo, {"run": demo / "runs" / "finetune"})
    contact = PowerLaw()(links["distance"].to_numpy())
    rebuilt = interpret._window_share(links, links["accessibility"].to_numpy() * contact)
    np.testing.assert_allclose(rebuilt, links["abc"].to_numpy(), rtol=1e-6)
    exact = {r["score"] for r in result["rows"]}
    assert set(interpret.EXACT_READS.values()) <= exact
    assert "## Exact motif features (planted sites)" in interpret._markdown({"oracle": result})
