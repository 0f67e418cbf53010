"""Tasks as Gymnasium environments.

Every registered task becomes a Gymnasium id whose spec tells the truth: the task's kwargs and
``max_episode_steps`` are in ``gym.spec(id)``, Gymnasium's own ``TimeLimit`` (from the spec, or from
``gym.make(id, max_episode_steps=N)``) is the only time limit, and the entry point is
:func:`make_task_env`, so a domain's heavy modules are imported only at ``gym.make``.

Nothing is registered by ``import a2perf_core``: finding the installed plugins is work (entry-point
metadata, importing every plugin's entry-point module) that a plain import must not do, for the
reason Gymnasium 1.0 dropped import-time plugin loading. The ids get into Gymnasium's registry in
one of three explicit ways:

- ``a2perf_core.register_envs()`` registers every installed task (idempotent);
- ``a2perf_core.make("Task-v0")`` registers, then makes the env (a clear error for an unknown id);
- ``gym.make("a2perf_core.gym:Task-v0")``: Gymnasium imports the module named before the colon,
  and importing :mod:`a2perf_core.gym` registers (write ``gym.register_envs(a2perf_core.gym)``
  after ``import a2perf_core.gym`` to keep linters from calling the import unused).

Decision: the old spelling ``gym.make("a2perf_core:Task-v0")`` is not kept. Gymnasium imports the
package named before the colon, so keeping it would need the package import to discover plugins
(the side effect removed here) or to guess who imports it; a dedicated submodule whose whole job is
registering keeps ``import a2perf_core`` free of side effects at the cost of five characters.

Inside a run, the runner's per-phase env kwargs (``A2PERF_ENV_KWARGS``) are defaults of every env
made in the phase, and the training-episode recorder is applied after Gymnasium's ``TimeLimit``
(an ``additional_wrappers`` entry of the spec that does nothing outside a run), so that episodes
cut by the time limit are recorded when they end.
"""

from __future__ import annotations

import difflib
import json
import os
from typing import TYPE_CHECKING, Any

from a2perf_core.errors import A2PerfError, UnknownTaskError
from a2perf_core.specs import Task, load_object

if TYPE_CHECKING:
    import gymnasium as gym

#: set in a child process by the runner: episodes of every env made here are appended to this CSV
TRAIN_LOG_ENV = "A2PERF_TRAIN_LOG"
#: set in a child process by the runner: JSON of the phase's env kwargs, defaults for every env made
ENV_KWARGS_ENV = "A2PERF_ENV_KWARGS"
#: the creator every task id is registered with
ENTRY_POINT = "a2perf_core.envs:make_task_env"
#: the wrapper applied after Gymnasium's TimeLimit (a no-op outside a run)
TRAINING_LOG_WRAPPER = "a2perf_core.envs:record_training_episodes"


def tasks() -> dict[str, Task]:
    from a2perf_core.plugins import registered

    return {key: r.spec for key, r in registered("tasks").items()}


def get_task(task_id: str) -> Task:
    """The registered task, or an error with close matches."""
    known = tasks()
    if task_id in known:
        return known[task_id]
    raise UnknownTaskError(unknown_task_message(task_id, known))


def unknown_task_message(task_id: str, known: dict[str, Task]) -> str:
    message = f"unknown task {task_id!r}."
    close = difflib.get_close_matches(task_id, list(known), n=5, cutoff=0.6)
    if close:
        return message + " Did you mean: " + ", ".join(close) + "?"
    message += " Run `a2perf tasks` to list the installed tasks; a task of another domain needs that domain's plugin"
    restricted = [v for v in ("A2PERF_LOAD_PLUGINS", "A2PERF_DISABLE_PLUGINS") if os.environ.get(v) is not None]
    if restricted:
        return message + f" (plugins are restricted by {' and '.join(restricted)})."
    return message + " installed (pip install it)."


def default_task() -> str:
    """The task ``a2perf run`` uses without ``--task``.

    The rule: among the tasks flagged ``Task(default=True)`` (or, when none is flagged, among all
    tasks), the first by id whose data is on this machine; when no flagged task has its data, the
    first flagged one by id (the run then says which data to fetch). Several plugins may flag a task;
    the rule keeps the choice independent of plugin order.
    """
    known = tasks()
    flagged = sorted(task_id for task_id, task in known.items() if task.default)
    candidates = flagged or sorted(known)
    for task_id in candidates:
        if _data_present(known[task_id]):
            return task_id
    if flagged:
        return flagged[0]
    if not known:
        raise A2PerfError("no task is installed; install a domain plugin (see `a2perf plugins`)")
    raise A2PerfError("no installed task has its data on this machine; pass --task and fetch its data (`a2perf tasks`)")


def _data_present(task: Task) -> bool:
    if not task.data:
        return True
    from a2perf_core.data import get_asset, locate

    try:
        return all(locate(get_asset(name)) is not None for name in task.data)
    except A2PerfError:
        return False


def register_envs() -> list[str]:
    """Register every installed task with Gymnasium (idempotent); returns the ids registered now."""
    import gymnasium

    added = []
    for task in tasks().values():
        if task.id not in gymnasium.registry:
            _register(task.id, task)
            added.append(task.id)
    return added


def register_alias(alias: str, task_id: str) -> None:
    """Register another id for a task (e.g. A2Perf's spelling), with the task's spec."""
    _register(alias, get_task(task_id))


def _register(env_id: str, task: Task) -> None:
    import gymnasium
    from gymnasium.envs.registration import WrapperSpec

    gymnasium.register(
        id=env_id,
        entry_point=ENTRY_POINT,
        kwargs={"task_id": task.id, **task.kwargs.thaw(), **_run_env_kwargs()},
        max_episode_steps=task.max_episode_steps,
        additional_wrappers=(WrapperSpec("A2PerfTrainingLog", TRAINING_LOG_WRAPPER, {}),),
    )


def _run_env_kwargs() -> dict[str, Any]:
    return json.loads(os.environ.get(ENV_KWARGS_ENV) or "{}")


def make_task_env(task_id: str, **kwargs: Any) -> gym.Env:
    """Gymnasium's creator for a task: the domain's entry point with the task's defaults, then the
    run's env kwargs, then the caller's. No time limit here: Gymnasium adds it from the spec."""
    from a2perf_core.data import asset_path
    from a2perf_core.offline import refuse_env

    refuse_env(f"gymnasium.make of {task_id}")
    task = get_task(task_id)
    for asset in task.data:
        asset_path(asset)  # fail early, saying how to get the data
    factory = load_object(task.entry_point)
    return factory(**{**task.kwargs.thaw(), **_run_env_kwargs(), **kwargs})  # type: ignore[operator]


def record_training_episodes(env: gym.Env) -> gym.Env:
    """Inside a run, the recorder of training episodes around the time-limited env; else ``env``."""
    log_path = os.environ.get(TRAIN_LOG_ENV)
    if not log_path:
        return env
    from a2perf_core.runner.recording import EpisodeRecorder

    return EpisodeRecorder(env, log_path)


def make(task_id: str, **kwargs: Any) -> gym.Env:
    """``gym.make`` for a registered task, registering the installed tasks first; an unknown id is an
    error with close matches."""
    import gymnasium

    get_task(task_id)
    register_envs()
    return gymnasium.make(task_id, **kwargs)
