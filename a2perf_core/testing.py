"""Pytest support for plugin authors (loaded through the ``pytest11`` entry point).

The ``a2perf_plugins`` fixture builds a fresh plugin set holding only the plugins under test (plus
the core built-ins), installs it as the process-wide set for the test, and restores the previous
one afterwards, together with Gymnasium's registry::

    def test_my_domain(a2perf_plugins):
        plugins = a2perf_plugins(my_domain_plugin)
        assert "MyDomain-Easy-v0" in plugins.registry.tasks
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from a2perf_core.plugins import PluginInfo, Plugins, set_plugins


def _as_entry(plugin: Any) -> tuple[object, PluginInfo]:
    if isinstance(plugin, tuple):
        return plugin
    name = getattr(plugin, "__name__", None) or type(plugin).__name__
    return plugin, PluginInfo(name=name, distribution=f"test:{name}", version="0")


@pytest.fixture
def a2perf_plugins() -> Iterator[Callable[..., Plugins]]:
    """Factory ``a2perf_plugins(*plugins, builtins=True) -> Plugins``; each plugin is an object with
    hook implementations, or a ``(plugin, PluginInfo)`` pair."""
    previous = set_plugins(None)
    hidden = _hide_task_envs()  # tasks registered with Gymnasium before (by the installed plugins) are not this set's
    gym_before = _gym_ids()

    def make(*plugins: Any, builtins: bool = True) -> Plugins:
        chosen = Plugins.from_objects([_as_entry(p) for p in plugins], builtins=builtins)
        set_plugins(chosen)
        return chosen

    try:
        yield make
    finally:
        set_plugins(previous)
        _forget_gym_ids(_gym_ids() - gym_before)
        _restore_task_envs(hidden)


def _gym_ids() -> set[str]:
    import sys

    if "gymnasium" not in sys.modules:
        return set()
    return set(sys.modules["gymnasium"].registry)


def _forget_gym_ids(ids: set[str]) -> None:
    import sys

    if ids and "gymnasium" in sys.modules:
        registry = sys.modules["gymnasium"].registry
        for env_id in ids:
            registry.pop(env_id, None)


def _hide_task_envs() -> dict[str, Any]:
    """Take the a2perf tasks out of Gymnasium's registry (returned, to put back): a test's plugin set
    registers its own, and an id an earlier test registered must not keep that task's spec."""
    import sys

    if "gymnasium" not in sys.modules:
        return {}
    from a2perf_core.envs import ENTRY_POINT

    registry = sys.modules["gymnasium"].registry
    hidden = {env_id: spec for env_id, spec in registry.items() if spec.entry_point == ENTRY_POINT}
    for env_id in hidden:
        del registry[env_id]
    return hidden


def _restore_task_envs(hidden: dict[str, Any]) -> None:
    import sys

    if hidden and "gymnasium" in sys.modules:
        sys.modules["gymnasium"].registry.update(hidden)
