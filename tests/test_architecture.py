"""The layers of docs/architecture.md hold: every stage is listed, and imports run downwards only.

The layer table is read from the document itself, so the code and the page cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "getx"
LAYER_ROW = re.compile(r"^\| (\d+) \| ((?:`[a-z_]+`(?:, )?)+) \|")


def documented_layers() -> dict[str, int]:
    layers = {}
    for line in (ROOT / "docs" / "architecture.md").read_text().splitlines():
        match = LAYER_ROW.match(line)
        if match:
            for stage in re.findall(r"`([a-z_]+)`", match.group(2)):
                layers[stage] = int(match.group(1))
    return layers


def stage_of(module: str) -> str | None:
    """`getx.motifs.scanning` -> `motifs`; the package itself (`getx`) has no stage."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def module_name(path: Path) -> str:
    parts = ("getx", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts).removesuffix(".__init__")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of getx in the file, inside functions too."""
    found = []
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base == "getx":  # `from getx import plots` imports the module getx.plots
                found += [(node.lineno, f"getx.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, base))
    return [(line, name) for line, name in found if name.split(".")[0] == "getx"]


def test_every_stage_is_in_the_layer_table():
    layers = documented_layers()
    stages = {stage_of(module_name(path)) for path in PACKAGE.rglob("*.py")} - {None}
    assert stages - set(layers) == set(), "stages missing from docs/architecture.md's layer table"
    assert set(layers) - stages == set(), "docs/architecture.md lists stages that do not exist"


def test_imports_run_from_higher_layers_to_lower_ones():
    layers = documented_layers()
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = stage_of(module_name(path))
        if source is None:
            continue
        for line, target_module in imported_modules(path):
            target = stage_of(target_module)
            if target is None or target == source or target not in layers:
                continue
            if layers[target] >= layers[source]:
                upward.append(
                    f"{path.relative_to(ROOT)}:{line}: {source} (layer {layers[source]}) "
                    f"imports {target} (layer {layers[target]})"
                )
    assert upward == []


def test_the_import_scan_sees_imports_inside_functions():
    # The rule would be vacuous if the scan missed the imports that functions make late.
    sample = PACKAGE / "io" / "files.py"
    imports = dict((name, line) for line, name in imported_modules(sample))
    assert "getx.errors" in imports
    late = PACKAGE / "interpret" / "report.py"
    assert any(name.startswith("getx.report") for _, name in imported_modules(late))
