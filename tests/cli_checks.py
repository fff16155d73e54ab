"""The checks every bad-input CLI test makes: exit code 2, one error line naming the culprit, no
traceback, nothing new on disk and the user's files as they were."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from getx.cli import app
from tiny_dataset import TinyDataset, checksums


def tree(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (files with their sha256, folders marked), to compare."""
    entries = {str(p.relative_to(folder)) + "/": "dir" for p in folder.rglob("*") if p.is_dir()}
    return entries | checksums(folder)


def error_line(result) -> str:
    """The one error line of a command refused as bad input (exit code 2, no traceback)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    return errors[0]


def refused(args: list[str], workdir: Path, data: TinyDataset, expect: str) -> str:
    """Run ``getx ARGS`` in ``workdir`` and check it was refused as bad input; returns the line.

    Checked: exit code 2, stderr exactly one line starting "Error: " that holds ``expect``, no
    traceback anywhere, ``workdir`` (the output side, with any files of the user placed there)
    and the dataset (the inputs) exactly as they were.
    """
    before, inputs = tree(workdir), data.inputs()
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        result = CliRunner().invoke(app, [str(a) for a in args])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert "Traceback" not in result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), (args, result.stderr)
    assert expect in lines[0], (args, lines[0])
    assert tree(workdir) == before, f"{args} changed {workdir}"
    assert data.inputs() == inputs, f"{args} changed the input files"
    return lines[0]
