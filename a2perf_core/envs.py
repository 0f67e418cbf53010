"""Tasks as Gymnasium environments.

Every registered task becomes a Gymnasium id whose entry point is :func:`make_task_env`, so a
domain's heavy modules are imported only at ``gym.make``. Registration with Gymnasium happens:

- on ``gym.make("a2perf_core:Task-v0")`` (Gymnasium imports ``a2perf_core`` first);
- on ``import a2perf_core`` when Gymnasium is already imported (the usual order);
- on an explicit :func:`register_envs` call.

``a2perf_core`` never imports Gymnasium by itself at import time.
"""

from __future__ import annotations

import difflib
import json
import os
from typing import TYPE_CHECKING, Any

from a2perf_core.errors import UnknownTaskError
from a2perf_core.specs import TASK_ID, Task, load_object

if TYPE_CHECKING:
    import gymnasium as gym

#: first-party domains by id prefix, to tell a user which package provides an unknown id
KNOWN_DOMAINS = {
    "CircuitTraining": "a2perf-circuit-training",
    "WebNavigation": "a2perf-web-navigation",
    "QuadrupedLocomotion": "a2perf-quadruped-locomotion",
}

#: set in a child process by the runner: episodes of every env made here are appended to this CSV
TRAIN_LOG_ENV = "A2PERF_TRAIN_LOG"
#: set in a child process by the runner: JSON of the phase's env kwargs, defaults for every env made
ENV_KWARGS_ENV = "A2PERF_ENV_KWARGS"


def tasks() -> dict[str, Task]:
    from a2perf_core.plugins import registered

    return {key: r.spec for key, r in registered("tasks").items()}


def get_task(task_id: str) -> Task:
    """The registered task, or an error with close matches and which plugin would provide it."""
    known = tasks()
    if task_id in known:
        return known[task_id]
    raise UnknownTaskError(unknown_task_message(task_id, known))


def unknown_task_message(task_id: str, known: dict[str, Task]) -> str:
    message = f"unknown task {task_id!r}."
    close = difflib.get_close_matches(task_id, list(known), n=5, cutoff=0.6)
    if close:
        message += " Did you mean: " + ", ".join(close) + "?"
    match = TASK_ID.match(task_id)
    prefix = (match.group("name") if match else task_id).split("-")[0]
    provider = KNOWN_DOMAINS.get(prefix)
    if provider and not any(t.startswith(prefix) for t in known):
        message += (
            f" Tasks named {prefix}-* come from the plugin {provider}, which is not installed: pip install {provider}"
        )
    elif not close:
        message += " Run `a2perf tasks` to list the installed tasks."
    return message


def register_envs() -> list[str]:
    """Register every task with Gymnasium (idempotent); returns the ids registered now."""
    import gymnasium

    added = []
    for task in tasks().values():
        if task.id in gymnasium.registry:
            continue
        gymnasium.register(
            id=task.id,
            entry_point="a2perf_core.envs:make_task_env",
            kwargs={"task_id": task.id},
        )
        added.append(task.id)
    return added


def make_task_env(task_id: str, **kwargs: Any) -> gym.Env:
    """Build a task's env: the domain's entry point with the task's defaults, time limit, and
    (inside a run) the training-episode recorder."""
    from gymnasium.wrappers import TimeLimit

    from a2perf_core.data import asset_path

    task = get_task(task_id)
    for asset in task.data:
        asset_path(asset)  # fail early, saying how to get the data
    factory = load_object(task.entry_point)
    run_defaults = json.loads(os.environ.get(ENV_KWARGS_ENV) or "{}")
    env = factory(**{**task.kwargs, **run_defaults, **kwargs})
    if task.max_episode_steps is not None:
        env = TimeLimit(env, task.max_episode_steps)
    log_path = os.environ.get(TRAIN_LOG_ENV)
    if log_path:
        from a2perf_core.runner.recording import EpisodeRecorder

        env = EpisodeRecorder(env, log_path)
    return env


def make(task_id: str, **kwargs: Any) -> gym.Env:
    """``gym.make`` for a registered task, with a helpful error for an unknown id."""
    import gymnasium

    get_task(task_id)
    register_envs()
    return gymnasium.make(task_id, **kwargs)
