"""Importing this module registers every installed task with Gymnasium.

It exists for ``gym.make("a2perf_core.gym:Task-v0")``: Gymnasium imports the module named before the
colon, and this is the one module of the core whose import has that side effect (see
:mod:`a2perf_core.envs` for why ``import a2perf_core`` has none).
"""

from __future__ import annotations

from a2perf_core.envs import register_envs

registered_ids = register_envs()
