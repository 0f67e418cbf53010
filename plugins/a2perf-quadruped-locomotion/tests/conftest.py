"""Fixtures of the quadruped tests: the motion clips and trained policies, found through the core's
data lookup."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import a2perf_quadruped_locomotion.plugin as plugin
import pytest

from a2perf_core.specs import DataAsset
from a2perf_core.testing_data import data_file


def quadruped_assets() -> dict[str, DataAsset]:
    """The assets the plugin registers, by name (without going through a plugin set)."""
    assets: list[DataAsset] = []
    plugin.a2perf_register_data_assets(register=assets.append)
    return {asset.name: asset for asset in assets}


def find_clip(name: str) -> Path:
    """``dog_<name>.txt``; the calling test skips with the fetch command when it is missing (fails in CI)."""
    clip = next(a for a in quadruped_assets().values() if a.path == f"quadruped/motions/dog_{name}.txt")
    return data_file(clip)


@pytest.fixture(scope="session")
def clip_file() -> Callable[[str], Path]:
    """Look up a clip by name (``"pace"``, ``"trot"``, ``"spin"``)."""
    return find_clip
