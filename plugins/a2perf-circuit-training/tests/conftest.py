"""Fixtures of the circuit-training tests: the designs' files, found through the core's data lookup."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import a2perf_circuit_training.plugin as plugin
import pytest

from a2perf_core.testing_data import data_file


def find_circuit_file(path: str) -> Path:
    """``<design>/<file>`` (e.g. ``"ariane133_ng45/netlist.pb.txt"``) of a registered asset; the
    calling test skips with the fetch command when it is missing (fails in CI)."""
    assets = {asset.path: asset for asset in plugin.data_assets()}
    return data_file(assets[f"{plugin.DOMAIN}/{path}"])


@pytest.fixture(scope="session")
def circuit_file() -> Callable[[str], Path]:
    return find_circuit_file


@pytest.fixture(scope="session")
def circuit_data() -> Path:
    """The data folder holding the designs (``<root>/circuit_training``), found through the core's
    lookup of one of them: for tests that read several files of a design, or every design."""
    return find_circuit_file("toy_macro_stdcell/netlist.pb.txt").parent.parent
