"""ARS V2-t (see ``ars.py``) on the run's quadruped task, rollouts in parallel over the cores.

Each worker process makes the task's env once (``participant.make_env``, so every rollout is in the
training curve) and plays whole episodes for the policies it is sent; the two rollouts of a
direction start from the same reset seed. The step budget (``participant.num_train_steps()``) is
honoured: an iteration's rollouts are cut at ``remaining // 2N`` steps when fewer than ``2N`` full
episodes would fit, and training stops when not even one step each fits. The policy (matrix, state
mean and standard deviation) is saved to ``participant.run_dir()`` after every iteration.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from typing import Any

import numpy as np

from a2perf_core import participant

POLICY_FILE = "ars_policy.npz"
#: the budget when the run gives none (``RunSettings.num_train_steps``); ``budget`` in baseline.toml
DEFAULT_TRAIN_STEPS = 500_000

_env: Any = None


def _make_worker_env() -> None:
    global _env
    _env = participant.make_env()


def rollout(job: tuple[np.ndarray, np.ndarray, np.ndarray, int, int]) -> tuple[float, Any]:
    """One episode (at most ``horizon`` steps) of a linear policy: its return and the statistics of
    the states it acted on (one per step)."""
    from ars import RunningStat, act

    matrix, mean, std, horizon, seed = job
    low, high = _env.action_space.low, _env.action_space.high
    state, _ = _env.reset(seed=seed)
    acted_on, total = [], 0.0
    for _ in range(horizon):
        acted_on.append(state)
        state, reward, terminated, truncated, _ = _env.step(np.clip(act(matrix, mean, std, state), low, high))
        total += float(reward)
        if terminated or truncated:
            break
    return total, RunningStat.of(np.asarray(acted_on))


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def play_in_parallel(
    pool: Any, states: Any, horizon: int, seeds: np.ndarray, perturbed: list[np.ndarray]
) -> list[float]:
    """The returns of the perturbed policies (pair ``k`` from reset seed ``seeds[k]``), with the
    normalisation of the iteration's start; the states they acted on are added to ``states``."""
    mean, std = states.mean.copy(), states.std
    jobs = [(matrix, mean, std, horizon, int(seeds[i // 2])) for i, matrix in enumerate(perturbed)]
    results = pool.map(rollout, jobs)
    for _, seen in results:
        states.merge(seen)
    return [total for total, _ in results]


def train(
    directions: int = 16,
    top: int = 8,
    step_size: float = 0.005,
    noise: float = 0.01,
    num_workers: int | None = None,
) -> None:
    from ars import RunningStat, ars_iteration

    budget = participant.num_train_steps(DEFAULT_TRAIN_STEPS)
    rng = np.random.default_rng(participant.seed())
    probe = participant.make_env()
    obs_dim, act_dim = probe.observation_space.shape[0], probe.action_space.shape[0]
    max_steps = probe.spec.max_episode_steps if probe.spec and probe.spec.max_episode_steps else 1000
    probe.close()
    matrix = np.zeros((act_dim, obs_dim))
    states = RunningStat.empty(obs_dim)  # one state per env step: its count is the steps used
    context = multiprocessing.get_context("fork")
    with context.Pool(num_workers or default_workers(), initializer=_make_worker_env) as pool:
        while (horizon := min(max_steps, (budget - states.count) // (2 * directions))) >= 1:
            seeds = rng.integers(0, 2**31, size=directions)
            play = functools.partial(play_in_parallel, pool, states, horizon, seeds)
            matrix = ars_iteration(matrix, play, rng, directions, top, step_size, noise)
            np.savez(participant.run_dir() / POLICY_FILE, matrix=matrix, mean=states.mean, std=states.std)
