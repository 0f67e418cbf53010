"""a2perf_core: the plugin core of the A2Perf benchmark.

Importing this package has no side effects: no plugin is discovered and nothing is registered with
Gymnasium. ``register_envs()``, ``make(id)`` and ``gym.make("a2perf_core.gym:Task-v0")`` put the
installed tasks into Gymnasium's registry (see :mod:`a2perf_core.envs`); plugin authors import
from :mod:`a2perf_core.api`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl", "make", "register_envs"]

_LAZY = {
    "hookimpl": "a2perf_core.hookspecs",
    "make": "a2perf_core.envs",
    "register_envs": "a2perf_core.envs",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'a2perf_core' has no attribute {name!r}")
