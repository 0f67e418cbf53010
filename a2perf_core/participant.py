"""What a participant's code may ask the harness, from inside a run.

Outside a run (e.g. when a participant tests locally) each function falls back to a plain default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

RUN_DIR_ENV = "A2PERF_RUN_DIR"
TASK_ENV = "A2PERF_TASK_ID"
SEED_ENV = "A2PERF_SEED"
TRAIN_STEPS_ENV = "A2PERF_NUM_TRAIN_STEPS"
#: in ``--untrusted`` mode, the participant's directory inside the run directory (``run_dir()`` in every phase):
#: the only place the sandboxed policy may write, and where training leaves what inference loads
PARTICIPANT_DIR = "participant"


def task_id(default: str | None = None) -> str | None:
    """The task being run."""
    return os.environ.get(TASK_ENV, default)


def seed(default: int = 0) -> int:
    return int(os.environ.get(SEED_ENV, default))


def run_dir() -> Path:
    """A directory the participant may write to (checkpoints); the current directory outside a run.

    It is the run directory in the default (trusted) mode, and its ``participant/`` folder with ``--untrusted``.
    """
    return Path(os.environ.get(RUN_DIR_ENV, "."))


def num_train_steps(default: int | None = None) -> int | None:
    """The benchmark's hint for the training budget in env steps."""
    value = os.environ.get(TRAIN_STEPS_ENV)
    return int(value) if value else default


def make_env(evaluation: bool = False, **kwargs: Any) -> Any:
    """The run's task as a Gymnasium env. Inside a run its episodes are the training curve; with
    ``evaluation=True`` (an env to evaluate the policy during training) they go to ``eval_log.csv``
    instead and its steps are not training steps."""
    from a2perf_core.envs import make
    from a2perf_core.offline import refuse_env

    task = task_id()
    if task is None:
        raise RuntimeError(f"no task: set {TASK_ENV} or run through `a2perf run`")
    refuse_env(f"participant.make_env of {task}")
    if not evaluation:
        return make(task, **kwargs)
    with evaluation_envs():
        return make(task, **kwargs)


def make_vec_env(num_envs: int, evaluation: bool = False, **kwargs: Any) -> Any:
    """The run's task as a Gymnasium ``AsyncVectorEnv`` of ``num_envs`` envs, one process each, each made
    by :func:`make_env` (``evaluation`` and ``kwargs`` as there). Inside a run the training curve counts
    the steps of every worker, in the order they happen."""
    import functools

    import gymnasium as gym

    from a2perf_core.offline import refuse_env

    refuse_env(f"participant.make_vec_env of {task_id()}")
    if not isinstance(num_envs, int) or isinstance(num_envs, bool) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, not {num_envs!r}")
    if task_id() is None:
        raise RuntimeError(f"no task: set {TASK_ENV} or run through `a2perf run`")
    make_one = functools.partial(make_env, evaluation, **kwargs)
    return gym.vector.AsyncVectorEnv([make_one] * num_envs)


def datasets() -> list[Any]:
    """The run's offline datasets as ``minari.MinariDataset`` objects, in the order declared
    (``RunSettings.datasets``, then the submission's ``datasets.txt``); outside a run, those of the
    ``datasets.txt`` in the current directory. The harness checked each before the run started."""
    import json

    from a2perf_core.datasets import load
    from a2perf_core.offline import DATASETS_ENV, read_manifest

    raw = os.environ.get(DATASETS_ENV)
    ids = json.loads(raw) if raw else read_manifest(Path("."))
    return [load(dataset_id) for dataset_id in ids]


def offline() -> bool:
    """Whether this is the train phase of an offline-track run, where no env may be made."""
    from a2perf_core.offline import is_offline_train

    return is_offline_train()


def action_mask(env: Any) -> Any:
    """The legal actions now (a bool array) of an env made here, under any wrappers, or of a vector env
    (one row per env); e.g. ``sb3_contrib.common.wrappers.ActionMasker(env, participant.action_mask)``.
    See :mod:`a2perf_core.wrappers`."""
    from a2perf_core.wrappers import action_mask as _action_mask

    return _action_mask(env)


def flatten_observations(env: Any) -> Any:
    """``env`` with a ``Dict`` observation seen as one float32 ``Box`` (other envs unchanged); a policy
    trained on it flattens the harness's observations with :func:`flatten_observation`."""
    from a2perf_core.wrappers import FlattenDictObservation

    return FlattenDictObservation(env)


def flatten_observation(observation_space: Any, observation: Any) -> Any:
    """One observation of ``observation_space`` as :func:`flatten_observations` shows it."""
    from a2perf_core.wrappers import flatten_observation as _flatten

    return _flatten(observation_space, observation)


def evaluation_envs() -> Any:
    """Context manager: every env made inside it in this thread (``gym.make``, a vector env built
    in this process) is an evaluation env, e.g. ``with participant.evaluation_envs(): eval_env = ...``."""
    from a2perf_core.runner.recording import evaluation_envs as _evaluation_envs

    return _evaluation_envs()


def log_scalar(name: str, value: float, step: int | None = None) -> None:
    """Record an extra training scalar into the run's ``train_scalars.csv``."""
    from a2perf_core.runner.recording import log_scalar as _log

    _log(name, value, step)
