"""The one-command demo at tiny size: every stage runs, the report is a real page with plots."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from getx.demo import DemoOptions, run_demo
from getx.errors import InputError
from getx.prepare import discover_inputs
from getx.train.evaluate import choose_holdouts
from tiny_dataset import TINY_DEMO

TINY = TINY_DEMO


class _Page(HTMLParser):
    """Collects the tags of a page and checks they nest properly."""

    VOID = frozenset({"meta", "br", "img", "hr", "input", "link", "col"})

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.counts: dict[str, int] = {}
        self.external: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        for name, value in attrs:
            if name in ("src", "href") and value and "://" in value:
                self.external.append(value)
        if tag == "script":
            self.external.append("<script>")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


@pytest.fixture
def demo(tiny_demo):
    return tiny_demo


def test_report_is_a_self_contained_page_with_plots(demo):
    page = _Page()
    page.feed(demo.report.read_text(encoding="utf-8"))
    page.close()
    assert page.errors == [] and page.stack == []
    assert page.external == []  # no CDN, no scripts: it opens offline
    # scatter panels and training curves, each an inline SVG with drawn paths
    assert page.counts.get("svg", 0) >= 2
    assert page.counts.get("path", 0) > 20
    assert page.counts.get("table", 0) >= 3
    text = demo.report.read_text()
    for heading in ("Held-out accuracy", "Per cell type", "Training", "Run time"):
        assert heading in text
    # interpretation of held-out genes beside the simulator's truth
    assert "Interpretation: which regions drive a gene" in text
    assert "true driving TFs" in text and "true enhancers" in text
    # the catalog's top pairs of a training cell type, the planted pairs marked
    assert "Catalog: TF pairs of ct1" in text and "planted pair" in text
    # the run-time table holds durations of finished stages (not clock readings)
    run_time = text[text.index("Run time") :]
    seconds = [float(v) for v in re.findall(r"<td>([0-9.]+)</td>", run_time)]
    assert seconds and all(0 <= v < 600 for v in seconds)


def test_outputs_hold_every_model_and_held_out_group(demo):
    scores = pd.read_csv(demo.out / "scores.tsv", sep="\t")
    models = set(scores["model"])
    assert {"GET (finetuned)", "per-region MLP", "distance-weighted accessibility"} <= models
    assert "mean of training cell types" in models
    get = scores[scores["model"] == "GET (finetuned)"].set_index("group")
    assert {"training", "held-out chromosome", "held-out cell type", "held-out both"} <= set(
        get.index
    )
    assert np.isfinite(get["pearson"]).all()
    # the mean-of-cell-types baseline is never scored where it would read the labels under test
    mean = scores[scores["model"] == "mean of training cell types"]
    assert set(mean["group"]) == {"held-out cell type"}

    summary = json.loads((demo.out / "summary.json").read_text())
    assert summary["holdout_cell_types"] == ["ct3"]
    assert set(summary["timings_s"]) >= {"prepare", "pretrain", "finetune", "catalog", "report"}
    # the catalog ranks every cluster pair of every cell type; each planted pair is found in it
    catalog = pd.read_parquet(demo.out / "catalog.parquet")
    assert set(catalog["cell_type"]) == {"ct1", "ct2", "ct3"}
    planted = pd.read_csv(demo.out / "sim" / "truth" / "tf_pairs.tsv", sep="\t")
    ranks = summary["catalog_planted_pairs"]
    assert [r["cell type"] for r in ranks] == planted["cell_type"].tolist()
    assert all(1 <= r["rank"] <= r["of pairs"] and 0 <= r["AUROC"] <= 1 for r in ranks)

    predictions = pd.read_csv(demo.out / "predictions.tsv", sep="\t")
    get_rows = predictions[predictions["model"] == "GET (finetuned)"]
    # one row per gene row and cell type where the TSS region is accessible
    key = ["gene_id", "strand", "region", "cell_type"]
    assert len(get_rows) == len(get_rows.drop_duplicates(key))
    assert set(get_rows["cell_type"]) == {"ct1", "ct2", "ct3"}
    held = get_rows[get_rows["group"] == "held-out chromosome"]
    assert set(held["chrom"]) == set(summary["holdout_chroms"])
    assert not set(held["cell_type"]) & set(summary["holdout_cell_types"])


def test_rerun_reuses_finished_stages(demo):
    checkpoint = demo.out / "runs" / "finetune" / "checkpoints" / "last.ckpt"
    catalog = demo.out / "catalog.parquet"
    before = checkpoint.stat().st_mtime_ns, catalog.stat().st_mtime_ns
    again = run_demo(demo.out, options=TINY)
    assert (checkpoint.stat().st_mtime_ns, catalog.stat().st_mtime_ns) == before
    assert again.timings["finetune"] < 5
    pd.testing.assert_frame_equal(again.scores, demo.scores)


def test_same_files_and_seed_give_the_same_scores(demo, tmp_path):
    # Deterministic training: without it, float differences between runs (the distance bias's
    # gradient summed in a varying order over threads) grew into different held-out Pearsons.
    again = run_demo(tmp_path / "again", data=demo.out / "sim", options=TINY)
    pd.testing.assert_frame_equal(again.scores, demo.scores)


def test_data_folder_runs_the_same_pipeline_on_given_files(demo, tmp_path):
    """--data: the user's own files (here the simulated ones, read from the folder)."""
    from typer.testing import CliRunner

    from getx.cli import app

    inputs = discover_inputs(demo.out / "sim")
    assert sorted(inputs.accessibility) == ["ct1", "ct2", "ct3"]
    assert inputs.peaks.name == "peaks.bed" and inputs.annotation.name == "genes.gtf"
    out = tmp_path / "real"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--out",
            str(out),
            "--data",
            str(demo.out / "sim"),
            "--pretrain-epochs",
            "1",
            "--finetune-epochs",
            "1",
            "--holdout-cell-type",
            "ct1",
        ],  # progress bars on: the scan bar and Lightning's draw into the captured output
    )
    assert result.exit_code == 0, result.output
    assert f"report: {(out / 'report.html').resolve()}" in result.output
    assert not (out / "sim").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["holdout_cell_types"] == ["ct1"] and "files in" in summary["source"]


def test_evaluate_command_scores_runs_on_their_own_split_as_the_demo_did(demo, tmp_path):
    from typer.testing import CliRunner

    from getx.cli import app

    finetune, mlp = demo.out / "runs" / "finetune", demo.out / "runs" / "mlp"
    args = ["evaluate", str(finetune), str(demo.store), "--out", str(tmp_path), "--compare", mlp]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    names = {str(finetune): "GET (finetuned)", str(mlp): "per-region MLP"}
    for name in ("scores.tsv", "per_cell_type.tsv", "predictions.tsv"):
        mine = pd.read_csv(tmp_path / name, sep="\t")
        if "model" in mine:
            mine["model"] = mine["model"].replace(names)
        pd.testing.assert_frame_equal(mine, pd.read_csv(demo.out / name, sep="\t"))


def test_evaluating_a_run_does_not_import_the_demo():
    import subprocess
    import sys

    code = (
        "import sys, getx.cli, getx.train.evaluate, getx.train.predict; "
        "assert not [m for m in sys.modules if m.startswith('getx.demo')], sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_discover_inputs_names_what_is_missing(tmp_path):
    (tmp_path / "genome.fa").write_text(">chr1\nACGT\n")
    (tmp_path / "genes.gtf").write_text("")
    (tmp_path / "peaks.bed").write_text("")
    (tmp_path / "peaks.b.bed").write_text("")
    (tmp_path / "rna.t.csv").write_text("")
    with pytest.raises(InputError, match=r"no cell type has both.*\['b'\].*\['t'\]"):
        discover_inputs(tmp_path)
    (tmp_path / "other.fa").write_text(">chr1\nACGT\n")
    with pytest.raises(InputError, match=r"exactly one genome.*genome\.fa, other\.fa"):
        discover_inputs(tmp_path)


def test_holdout_chromosome_takes_about_a_fifth_of_the_genes(demo):
    from getx.store import open_store

    store = open_store(demo.store)
    chroms, cells = choose_holdouts(store)
    gene_chroms = store.regions["chrom"].to_numpy()[store.genes["region"].to_numpy()]
    shares = pd.Series(gene_chroms).value_counts(normalize=True)
    assert abs(shares[chroms[0]] - 0.2) == (shares - 0.2).abs().min()
    assert cells == [store.cell_types[-1]]


def test_cli_defaults_are_the_demo_options_defaults():
    import inspect

    from getx.cli import demo as demo_command

    defaults = DemoOptions()
    for name, parameter in inspect.signature(demo_command).parameters.items():
        if hasattr(defaults, name) and parameter.default is not inspect.Parameter.empty:
            assert parameter.default == getattr(defaults, name), name
