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
