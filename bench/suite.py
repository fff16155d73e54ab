"""The benchmark suite: discover benchmark modules, run them, record and render their results.

    python -m bench [--only NAME ...] [--quick] [--list] [--render] [--out-dir DIR] [--work DIR]
                    [--fresh]

A benchmark is a module ``bench/<NAME>.py`` defining ``NAME`` (its file stem), ``TITLE``,
``available() -> str | None`` (None when its inputs exist, else a one-line reason) and
``run(work: Path, quick: bool) -> dict`` returning the result dict described in
docs/benchmarks.md, "Writing a benchmark" (``summary``, ``tables``, ``published``, ``notes``).
The runner adds ``name``, ``title``, ``date``, ``machine``, ``commit``, ``quick`` and
``seconds``, writes ``<out-dir>/<NAME>.json`` and renders ``<out-dir>/README.md`` from every
result file there (also those whose module this checkout lacks); ``--render`` only re-renders
it.

Modules are found by their text (a ``NAME = `` line and a ``def run(``), so the standalone
scripts beside them (``motif_scan.py``, ``interpret.py``, ...) are not imported. ``--quick``
runs each benchmark at a tiny size (what ``tests/test_bench_suite.py`` does) and writes to a
scratch folder unless ``--out-dir`` is given, so it never replaces the full results. A
benchmark's ``work`` folder (default ``$GETX_CACHE_DIR/bench/<NAME>``) keeps what it built
(stores, trained runs) so an interrupted full run resumes; ``--fresh`` empties it first.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SHARED = Path(os.environ.get("GETX_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULT_KEYS = ("summary", "tables", "published", "notes")
RUNNER_KEYS = ("name", "title", "date", "machine", "commit", "quick", "seconds")
TABLE_KEYS = ("title", "columns", "rows")
PUBLISHED_KEYS = ("method", "figure", "value", "source")
_MARKERS = (re.compile(r"^NAME = ", re.M), re.compile(r"^def run\(", re.M))

log = logging.getLogger("bench")


@dataclass
class Benchmark:
    """One benchmark module."""

    name: str
    title: str
    module: ModuleType

    def available(self) -> str | None:
        return self.module.available()

    def run(self, work: Path, quick: bool) -> dict:
        return self.module.run(work, quick)


def discover(folder: Path = ROOT / "bench") -> list[Benchmark]:
    """Every benchmark module in ``folder`` (by name), imported as ``bench.<stem>``."""
    found = []
    for path in sorted(folder.glob("*.py")):
        if path.stem.startswith("_") or path.stem == "suite":
            continue
        text = path.read_text()
        if not all(marker.search(text) for marker in _MARKERS):
            continue
        module = importlib.import_module(f"bench.{path.stem}")
        if path.stem != module.NAME:
            raise ValueError(f"{path}: NAME {module.NAME!r} is not the file stem {path.stem!r}")
        found.append(Benchmark(module.NAME, module.TITLE, module))
    return found


# --- the record ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, Python, torch and GPU of this machine, and its load."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": round(os.getloadavg()[0], 2),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    except ImportError:
        info["torch"], info["gpu"] = None, None
    return info


def machine_line(info: dict[str, Any] | str) -> str:
    """The record's machine in words (a record written outside the runner may give a string)."""
    if isinstance(info, str):
        return info
    gpu = info.get("gpu") or "no GPU"
    return (
        f"{info.get('cpu')}, {info.get('cores')} cores (load average {info.get('load_average')} "
        f"at the start), Python {info.get('python')}, torch {info.get('torch')}, {gpu}"
    )


def commit() -> str:
    """The repository's HEAD commit, with ``+dirty`` when tracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_result(result: dict) -> list[str]:
    """What in a benchmark's result dict breaks the contract (empty when nothing does): the keys,
    the tables' shape, and every figure finite. A cell is a number, a string, None (not
    available) or ``[low, high]`` (an interval)."""
    problems = [f"missing key {k!r}" for k in RESULT_KEYS if k not in result]
    if problems:
        return problems
    if not isinstance(result["summary"], str) or not result["summary"]:
        problems.append("summary must be a non-empty string")
    if not result["tables"]:
        problems.append("no tables")
    for t, table in enumerate(result["tables"]):
        missing = [k for k in TABLE_KEYS if k not in table]
        if missing:
            problems.append(f"table {t} lacks {missing}")
            continue
        width = len(table["columns"])
        numbers = 0
        for r, row in enumerate(table["rows"]):
            where = f"table {table['title']!r} row {r}"
            if len(row) != width:
                problems.append(f"{where} has {len(row)} cells for {width} columns")
            for cell in row:
                values = cell if isinstance(cell, list) else [cell]
                if isinstance(cell, list) and (len(cell) != 2 or not all(map(_is_number, cell))):
                    problems.append(f"{where}: an interval must be [low, high], not {cell!r}")
                for value in values:
                    if _is_number(value):
                        numbers += 1
                        if not math.isfinite(value):
                            problems.append(f"{where}: figure {value!r} is not finite")
                    elif value is not None and not isinstance(value, str | list):
                        problems.append(f"{where}: cell {value!r} is not a figure or text")
        if not table["rows"]:
            problems.append(f"table {table['title']!r} has no rows")
        elif numbers == 0:
            problems.append(f"table {table['title']!r} has no figures")
    for p, published in enumerate(result["published"]):
        missing = [k for k in PUBLISHED_KEYS if k not in published]
        if missing:
            problems.append(f"published entry {p} lacks {missing}")
    if not isinstance(result["notes"], list):
        problems.append("notes must be a list of strings")
    return problems


def run_benchmark(bench: Benchmark, work: Path, quick: bool) -> dict:
    """Run one benchmark and return its record (the result dict with the runner's keys)."""
    started = time.strftime("%Y-%m-%d %H:%M %Z")
    info = machine()
    code = commit()  # the code that runs: edits made during a long run do not change it
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result = bench.run(work, quick)
    seconds = round(time.perf_counter() - t0, 1)
    problems = check_result(result)
    if problems:
        raise ValueError(f"benchmark {bench.name}: " + "; ".join(problems))
    return {
        "name": bench.name,
        "title": bench.title,
        "date": started,
        "machine": info,
        "commit": code,
        "quick": quick,
        "seconds": seconds,
        **result,
    }


def write_text(path: Path, text: str) -> None:
    """``text`` into ``path``, atomically."""
    from getx.io.files import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(text)


# --- the README ---------------------------------------------------------------------------------


def format_cell(value: Any) -> str:
    """A table cell as Markdown: counts with thousands separators, figures to 3 decimals (fewer
    for large ones), intervals as ``low-high``, None as ``n/a``."""
    if value is None:
        return "n/a"
    if isinstance(value, list):
        return f"{format_cell(value[0])} to {format_cell(value[1])}"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.2g}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        if abs(value) >= 10:
            return f"{value:.2f}"
        return f"{value:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_table(table: dict) -> list[str]:
    lines = [f"**{table['title']}**", ""]
    lines.append("| " + " | ".join(format_cell(c) for c in table["columns"]) + " |")
    lines.append("|" + "---|" * len(table["columns"]))
    for row in table["rows"]:
        lines.append("| " + " | ".join(format_cell(c) for c in row) + " |")
    return [*lines, ""]


def render_section(record: dict, skipped: str | None = None) -> list[str]:
    """One benchmark's section: summary, run line, tables, published figures, notes."""
    lines = [f"## {record['title']} (`{record['name']}`)", ""]
    if skipped:
        lines += [f"**Not in the latest run:** {skipped}", ""]
    if "summary" not in record:  # never run here: only the skip or failure reason
        return lines
    if record.get("quick"):
        lines += ["**Quick run (tiny sizes): these figures check the code, not the method.**", ""]
    lines += [
        record["summary"],
        "",
        f"*Run {record['date']} in {record['seconds']:,.0f} s on "
        f"{machine_line(record['machine'])}; commit `{_short(record['commit'])}`.*",
        "",
    ]
    for table in record["tables"]:
        lines += render_table(table)
    if record["published"]:
        lines += [
            "Published figures, for orientation (other data, splits or inputs):",
            "",
            "| method | figure | value | source |",
            "|---|---|---|---|",
        ]
        for p in record["published"]:
            lines.append(
                f"| {format_cell(p['method'])} | {format_cell(p['figure'])} | "
                f"{format_cell(p['value'])} | {format_cell(p['source'])} |"
            )
        lines.append("")
    if record["notes"]:
        lines += [f"- {format_cell(note)}" for note in record["notes"]] + [""]
    return lines


def recorded(out_dir: Path) -> dict[str, dict]:
    """Every contract-following record in ``out_dir`` (``<name>.json`` with the runner's keys, a
    result that passes :func:`check_result` and ``name`` equal to the file stem), by name. The
    standalone scripts' JSON files (other keys) are left out."""
    records = {}
    for path in sorted(out_dir.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (
            isinstance(record, dict)
            and all(k in record for k in RUNNER_KEYS)
            and record["name"] == path.stem
            and not check_result(record)
        ):
            records[path.stem] = record
    return records


def render(out_dir: Path, benchmarks: list[Benchmark], latest: dict[str, str]) -> str:
    """``README.md`` for every discovered benchmark and every record in ``out_dir``: a
    benchmark's recorded result (``<name>.json``, also when its module is not in this checkout),
    or why it has none; ``latest`` holds this run's skip and failure reasons."""
    lines = [
        "# getx benchmarks",
        "",
        "Written by `python -m bench` (see the README's Benchmarks section; `python -m bench "
        "--render` rewrites it from the records alone); each section comes from `<name>.json` "
        "beside this file. Figures are as measured. Baselines are fitted and scored on the same "
        "split as getx; published figures are for orientation only.",
        "",
    ]
    records = recorded(out_dir)
    titles = {name: record["title"] for name, record in records.items()}
    titles |= {bench.name: bench.title for bench in benchmarks}
    reasons = {bench.name: bench.available for bench in benchmarks}
    sections, index = [], []
    for name in sorted(titles):
        record = records.get(name)
        if record is None:
            record = {"name": name, "title": titles[name]}
            if name not in latest:
                latest = {**latest, name: reasons[name]() or "not run yet"}
        index.append(f"- [{titles[name]}](#{_anchor(titles[name], name)}): `{name}`")
        sections += render_section(record, latest.get(name))
    others = sorted(
        p.name for p in out_dir.glob("*.md") if p.name != "README.md" and p.stem not in titles
    )
    lines += [*index, ""]
    if others:
        lines += [
            "Records of the standalone scripts (`python bench/<script>.py`): "
            + ", ".join(f"[{name}]({name})" for name in others)
            + ".",
            "",
        ]
    return "\n".join(lines + sections).rstrip() + "\n"


def _short(commit: str) -> str:
    return commit[:12] + ("+dirty" if commit.endswith("+dirty") else "")


def _anchor(title: str, name: str) -> str:
    text = f"{title} ({name})".lower()
    return re.sub(r"[^a-z0-9 _-]", "", text).replace(" ", "-")


def main(argv: list[str] | None = None) -> None:
    names = [b.name for b in discover()]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=names, help="these only")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds each)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite README.md from the records there"
    )
    parser.add_argument("--out-dir", type=Path, help="default bench/results (quick: a temp dir)")
    parser.add_argument("--work", type=Path, help="scratch root (default $GETX_CACHE_DIR/bench)")
    parser.add_argument("--fresh", action="store_true", help="empty each benchmark's work first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    benchmarks = discover()
    if args.list:
        for bench in benchmarks:
            reason = bench.available()
            sys.stdout.write(f"{bench.name}\t{bench.title}\t{reason or 'inputs present'}\n")
        return
    from getx.cache import cache_dir

    quick_dir = Path(tempfile.gettempdir()) / "getx-bench-quick"
    out_dir = args.out_dir or (quick_dir / "results" if args.quick else RESULTS)
    work_root = args.work or (quick_dir / "work" if args.quick else cache_dir() / "bench")
    latest: dict[str, str] = {}
    failed = []
    for bench in [] if args.render else benchmarks:
        if args.only and bench.name not in args.only:
            continue
        reason = bench.available()
        if reason:
            log.warning("%s skipped: %s", bench.name, reason)
            latest[bench.name] = reason
            continue
        work = work_root / bench.name
        if args.fresh:
            shutil.rmtree(work, ignore_errors=True)
        log.info("%s: running (work %s)", bench.name, work)
        try:
            record = run_benchmark(bench, work, args.quick)
        except Exception as error:  # one benchmark failing must not lose the others
            log.error("%s failed:\n%s", bench.name, traceback.format_exc())
            latest[bench.name] = f"failed: {type(error).__name__}: {error}"
            failed.append(bench.name)
            continue
        write_text(out_dir / f"{bench.name}.json", json.dumps(record, indent=1, allow_nan=False))
        log.info("%s: %s (%.0f s)", bench.name, record["summary"], record["seconds"])
    write_text(out_dir / "README.md", render(out_dir, benchmarks, latest))
    log.info("wrote %s", out_dir / "README.md")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")
