"""Fixtures of the circuit-training tests: the shared data folder, found through A2PERF_DATA_PATH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def find_circuit_data() -> Path | None:
    for root in os.environ.get("A2PERF_DATA_PATH", "").split(os.pathsep):
        if root and (Path(root) / "circuit_training" / "toy_macro_stdcell").is_dir():
            return Path(root) / "circuit_training"
    return None


@pytest.fixture(scope="session")
def circuit_data() -> Path:
    """The ``circuit_training`` data folder; tests that need it skip when it is absent."""
    found = find_circuit_data()
    if found is None:
        pytest.skip("circuit_training data not found on A2PERF_DATA_PATH")
    return found
