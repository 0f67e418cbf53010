"""A2Perf's env factory, known to gin as ``suite_gym.create_domain`` (A2Perf's files bind it).

The compat plugin reads the bound ``env_name`` and ``mode`` (see ``compat_plugin``); a2perf makes
envs through Gymnasium itself, so the function is only called by A2Perf-style participant code.
"""

from __future__ import annotations

from typing import Any

import gin


@gin.configurable
def create_domain(
    env_name: str,
    root_dir: str | None = None,
    env_wrappers: tuple = (),
    gym_env_wrappers: tuple = (),
    **env_kwargs: Any,
) -> Any:
    """A2Perf's signature; here a plain ``make`` of a registered task with the env keyword arguments."""
    from a2perf_core.envs import make

    return make(env_name, **env_kwargs)
