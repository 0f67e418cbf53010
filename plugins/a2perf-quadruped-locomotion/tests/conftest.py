"""Fixtures of the quadruped tests: the motion clips, found through A2PERF_DATA_PATH."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def find_clip(name: str) -> Path:
    """``dog_<name>.txt`` on the data search path; the calling test skips when it is absent."""
    from a2perf_core.data import search_path

    for root in search_path():
        candidate = root / "quadruped" / "motions" / f"dog_{name}.txt"
        if candidate.is_file():
            return candidate
    pytest.skip("the quadruped motion clips are not on A2PERF_DATA_PATH")


@pytest.fixture(scope="session")
def clip_file() -> Callable[[str], Path]:
    """Look up a clip by name (``"pace"``, ``"trot"``, ``"spin"``)."""
    return find_clip
