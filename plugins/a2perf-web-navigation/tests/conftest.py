"""Tests marked ``browser`` need a system Chromium and chromedriver: without them they are skipped
with the reason (how to install them), except in CI (``CI=true``), where they fail."""

from __future__ import annotations

import functools

import pytest

from a2perf_core.testing_data import missing_prerequisite


@functools.cache
def browser_missing() -> str | None:
    """Why no browser can be started here (the plugin's own lookup), or ``None``."""
    from a2perf_web_navigation.browser import find_browser

    from a2perf_core.errors import A2PerfError

    try:
        find_browser()
    except A2PerfError as exc:
        return str(exc)
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("browser") is not None:
        reason = browser_missing()
        if reason is not None:
            missing_prerequisite(reason)
