"""a2perf_core: the plugin core of the A2Perf benchmark.

Importing this package has no side effects beyond one: when Gymnasium is already imported, the
installed tasks are registered with it (cheap: reading entry-point metadata), so that
``import a2perf_core`` followed by ``gym.make("Task-v0")`` works. See :mod:`a2perf_core.envs`.
"""

from __future__ import annotations

import sys

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl", "make"]


def __getattr__(name: str) -> object:
    if name == "hookimpl":
        from a2perf_core.hookspecs import hookimpl

        return hookimpl
    if name == "make":
        from a2perf_core.envs import make

        return make
    raise AttributeError(f"module 'a2perf_core' has no attribute {name!r}")


if "gymnasium" in sys.modules:
    from a2perf_core.envs import register_envs as _register_envs
    from a2perf_core.errors import PluginError as _PluginError

    try:
        _register_envs()
    except _PluginError as _exc:  # a broken plugin must not break every import of the core
        import warnings

        warnings.warn(f"a2perf tasks were not registered with Gymnasium: {_exc}", stacklevel=2)
