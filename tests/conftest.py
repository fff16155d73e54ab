"""Shared fixtures. Real data lives in ../shared/data beside the repository; see ``shared_data``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get(
        "GETX_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)


def shared_path(relative: str) -> Path:
    """Path of a real-data file under ../shared/data; skips the test, saying why, when absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (set GETX_SHARED_DATA)")
    return path
