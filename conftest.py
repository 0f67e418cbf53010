"""Repository-wide pytest options: slow end-to-end tests run only with --runslow."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow (nox -s tests does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config: pytest.Config) -> None:
    """Point the data search path at the shared data beside the checkout, unless set already,
    and keep the user cache out of tests."""
    import os
    import tempfile
    from pathlib import Path

    shared = Path(__file__).resolve().parent.parent / "shared" / "data"
    if "A2PERF_DATA_PATH" not in os.environ and shared.is_dir():
        os.environ["A2PERF_DATA_PATH"] = str(shared)
    os.environ.setdefault("A2PERF_CACHE_DIR", tempfile.mkdtemp(prefix="a2perf-test-cache-"))
