"""Registering a domain's tasks with Gymnasium, plus A2Perf's other spellings of their ids."""

from __future__ import annotations


def register_domain(prefix: str, aliases: dict[str, str] | None = None) -> list[str]:
    """Register every installed task whose id starts with ``prefix``, and the given aliases."""
    import gymnasium

    from a2perf_core.envs import register_alias, register_envs, tasks

    register_envs()
    installed = [task_id for task_id in tasks() if task_id.startswith(prefix)]
    for alias, target in (aliases or {}).items():
        if target in installed and alias not in gymnasium.registry:
            register_alias(alias, target)  # with the target's kwargs, time limit and training log
    return installed
