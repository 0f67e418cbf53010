"""Repository-wide pytest options: slow end-to-end tests run only with --runslow; data and system
prerequisites through :mod:`a2perf_core.testing_data` (skipped with the fix, failing when ``CI=true``)."""

from __future__ import annotations

import pytest

pytest_plugins = ["a2perf_core.testing_data"]


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
    """Point the data search path at the shared data beside the checkout (``../shared/data``),
    unless set already. The user cache stays where the core looks for it, so data fetched with
    ``a2perf data fetch`` is found; tests that write to a cache point it elsewhere themselves."""
    import os
    from pathlib import Path

    shared = Path(__file__).resolve().parent.parent / "shared" / "data"
    if "A2PERF_DATA_PATH" not in os.environ and shared.is_dir():
        os.environ["A2PERF_DATA_PATH"] = str(shared)


@pytest.fixture(autouse=True)
def results_root_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs a test starts are indexed into a temporary results root, not ``./a2perf-runs`` of the checkout
    (a test that checks the root sets its own)."""
    import os

    if "A2PERF_RESULTS_ROOT" not in os.environ:
        monkeypatch.setenv("A2PERF_RESULTS_ROOT", str(tmp_path_factory.mktemp("results-root")))
