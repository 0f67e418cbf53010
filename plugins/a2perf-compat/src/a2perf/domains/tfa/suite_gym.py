"""A2Perf gin files import this module; a2perf makes envs through Gymnasium directly."""

from __future__ import annotations

from typing import Any


def create_domain(env_name: str, root_dir: str | None = None, **env_kwargs: Any) -> Any:
    """A2Perf's env factory, as a plain ``gym.make`` of a registered task."""
    from a2perf_core.envs import make

    return make(env_name, **env_kwargs)
