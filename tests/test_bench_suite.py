"""The benchmark suite (``python -m bench``): every benchmark module runs at its quick size and
returns the contract's result dict with finite figures, and the README renderer shows what the
records hold. The full runs are not tests; these keep the modules from rotting."""

from __future__ import annotations

import json
import math

import pytest

from bench import suite

BENCHMARKS = suite.discover()


def test_discovery_finds_the_benchmark_modules_and_not_the_scripts():
    names = {b.name for b in BENCHMARKS}
    assert {"motif_real", "expression_k562", "expression_bcell", "enhancer_links", "speed"} <= names
    # standalone scripts and helpers are not benchmark modules
    assert not names & {"motif_scan", "region_features", "train_step", "interpret", "_data"}
    for bench in BENCHMARKS:
        assert bench.title and callable(bench.module.run)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """One scratch root for every module, as the runner lays it out (modules may share)."""
    return tmp_path_factory.mktemp("bench")


@pytest.mark.slow
@pytest.mark.parametrize("bench", BENCHMARKS, ids=[b.name for b in BENCHMARKS])
def test_benchmark_runs_quick_and_keeps_the_contract(bench, work):
    reason = bench.available()
    if reason:
        pytest.skip(f"{bench.name}: {reason}")
    record = suite.run_benchmark(bench, work / bench.name, quick=True)
    assert suite.check_result(record) == []
    assert set(suite.RUNNER_KEYS) <= set(record)
    assert record["name"] == bench.name and record["quick"] is True
    figures = [
        value
        for table in record["tables"]
        for row in table["rows"]
        for cell in row
        for value in (cell if isinstance(cell, list) else [cell])
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    assert figures and all(math.isfinite(v) for v in figures)
    json.dumps(record, allow_nan=False)  # what the runner writes


def _record(**changes):
    record = {
        "name": "demo_bench",
        "title": "A demo benchmark",
        "date": "2026-01-01 00:00 UTC",
        "machine": {"cpu": "Test CPU", "cores": 2, "torch": "2.0", "gpu": None, "python": "3.11"},
        "commit": "0123456789abcdef+dirty",
        "quick": False,
        "seconds": 12.0,
        "summary": "one sentence",
        "tables": [
            {
                "title": "held out",
                "columns": ["model", "Pearson", "95% CI", "n"],
                "rows": [
                    ["GET (ours)", 0.61234, [0.5, 0.7], 9000],
                    ["ridge | 6-mers (baseline)", 0.5, None, 9000],
                ],
            }
        ],
        "published": [{"method": "M", "figure": "Pearson", "value": 0.83, "source": "Paper"}],
        "notes": ["splits: fixed"],
    }
    return record | changes


def test_check_result_names_each_broken_rule():
    assert suite.check_result(_record()) == []
    assert suite.check_result({"summary": "x"}) == [
        "missing key 'tables'",
        "missing key 'published'",
        "missing key 'notes'",
    ]
    bad = _record()
    bad["tables"][0]["rows"][0][1] = float("nan")
    bad["tables"][0]["rows"][1] = ["short row"]
    problems = suite.check_result(bad)
    assert any("not finite" in p for p in problems)
    assert any("has 1 cells for 4 columns" in p for p in problems)
    interval = _record()
    interval["tables"][0]["rows"][0][2] = [0.1]
    assert any("interval must be [low, high]" in p for p in suite.check_result(interval))


class _Stub:
    """A discovered benchmark stand-in: a name, a title, and why its inputs are absent."""

    def __init__(self, name, title, reason=None):
        self.name, self.title, self._reason = name, title, reason

    def available(self):
        return self._reason


def test_readme_renders_records_skips_and_script_records(tmp_path):
    (tmp_path / "demo_bench.json").write_text(json.dumps(_record()))
    (tmp_path / "motif_scan.md").write_text("# old script record\n")
    benches = [
        _Stub("demo_bench", "A demo benchmark"),
        _Stub("absent_bench", "Needs data", reason="../shared/data/x is absent"),
        _Stub("failed_bench", "Broke"),
    ]
    text = suite.render(tmp_path, benches, {"failed_bench": "failed: ValueError: boom"})
    assert "## A demo benchmark (`demo_bench`)" in text
    # figures to 3 decimals, counts with separators, intervals, n/a, escaped pipes
    assert "| GET (ours) | 0.612 | 0.500 to 0.700 | 9,000 |" in text
    assert "| ridge \\| 6-mers (baseline) | 0.500 | n/a | 9,000 |" in text
    assert "Test CPU, 2 cores" in text and "`0123456789ab+dirty`" in text
    assert "| M | Pearson | 0.830 | Paper |" in text
    assert "- splits: fixed" in text
    assert "**Not in the latest run:** ../shared/data/x is absent" in text
    assert "**Not in the latest run:** failed: ValueError: boom" in text
    assert "[motif_scan.md](motif_scan.md)" in text
    assert "Quick run" not in text
    quick = suite.render_section(_record(quick=True))
    assert any("Quick run" in line for line in quick)


def test_format_cell():
    assert suite.format_cell(1234567) == "1,234,567"
    assert suite.format_cell(0.1234) == "0.123"
    assert suite.format_cell(12.345) == "12.35"
    assert suite.format_cell(4.4e-15) == "4.4e-15"
    assert suite.format_cell(None) == "n/a"
    assert suite.format_cell([0.1, 0.2]) == "0.100 to 0.200"


def test_readme_renders_every_contract_record_and_render_runs_nothing(tmp_path):
    """A record whose module this checkout lacks (another branch's benchmark) still gets its
    section; a standalone script's JSON (other keys) and a record breaking the contract do not;
    ``--render`` writes README.md and no record."""
    (tmp_path / "other_branch.json").write_text(
        json.dumps(
            _record(name="other_branch", title="From another branch", machine="x86_64, 2 CPUs")
        )
    )
    broken = _record(name="broken")
    broken["tables"][0]["rows"] = []
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    (tmp_path / "renamed.json").write_text(json.dumps(_record()))  # name is not the stem
    (tmp_path / "catalog.json").write_text(json.dumps({"truth": {}, "queries": []}))
    (tmp_path / "catalog.md").write_text("# the catalog script's record\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert set(suite.recorded(tmp_path)) == {"other_branch"}

    suite.main(["--render", "--out-dir", str(tmp_path)])

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "README.md"])
    text = (tmp_path / "README.md").read_text()
    assert "## From another branch (`other_branch`)" in text
    assert "on x86_64, 2 CPUs; commit" in text  # a machine written as words by its own script
    assert "| GET (ours) | 0.612 | 0.500 to 0.700 | 9,000 |" in text
    assert "(`broken`)" not in text and "(`renamed`)" not in text
    assert "[catalog.md](catalog.md)" in text and "(`catalog`)" not in text
    for bench in BENCHMARKS:  # discovered, not run: each says why it has no figures
        assert f"(`{bench.name}`)" in text
    assert text.count("**Not in the latest run:**") == len(BENCHMARKS)
