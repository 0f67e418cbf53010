"""Glue between the tasks' envs and off-the-shelf learners (stable-baselines3, sb3-contrib, numpy code).

Two things a learner otherwise writes for each domain:

- a flat ``Box`` observation: a ``Dict`` of ``Box`` and ``MultiBinary`` entries (e.g. a grid plus its
  legal-action mask) becomes one float32 vector, the entries in the space's key order, each raveled in C order
  (a ``MultiBinary`` entry as 0.0/1.0); any other space is kept;
- the legal-action mask: ``env.action_masks()`` of the env under any wrappers, or one row per env of a
  Gymnasium vector env (the argument sb3-contrib's ``ActionMasker`` calls with).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from a2perf_core.errors import A2PerfError

#: the method a masked env exposes (sb3-contrib's convention, which every masked task follows)
ACTION_MASKS = "action_masks"


def flat_observation_space(space: gym.Space) -> gym.Space:
    """The space :func:`flatten_observation` maps into: a float32 ``Box`` for a ``Dict`` of ``Box`` and
    ``MultiBinary`` entries, ``space`` itself otherwise."""
    if not isinstance(space, spaces.Dict):
        return space
    lows, highs = [], []
    for key, entry in space.spaces.items():
        if isinstance(entry, spaces.MultiBinary):
            size = int(np.prod(entry.shape))
            lows.append(np.zeros(size, dtype=np.float32))
            highs.append(np.ones(size, dtype=np.float32))
            continue
        if not isinstance(entry, spaces.Box):
            raise A2PerfError(f"cannot flatten observation entry {key!r}: {entry} is neither a Box nor a MultiBinary")
        lows.append(np.asarray(entry.low, dtype=np.float32).ravel())
        highs.append(np.asarray(entry.high, dtype=np.float32).ravel())
    return spaces.Box(np.concatenate(lows), np.concatenate(highs), dtype=np.float32)


def flatten_observation(space: gym.Space, observation: Any) -> Any:
    """``observation`` of ``space`` as a point of :func:`flat_observation_space` (unchanged unless a ``Dict``)."""
    if not isinstance(space, spaces.Dict):
        return observation
    return np.concatenate([np.asarray(observation[key], dtype=np.float32).ravel() for key in space.spaces])


class FlattenDictObservation(gym.ObservationWrapper):
    """Observations of a ``Dict`` space as one float32 vector; an env with another space passes through."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._dict_space = env.observation_space
        self.observation_space = flat_observation_space(env.observation_space)

    def observation(self, observation: Any) -> Any:
        return flatten_observation(self._dict_space, observation)


def action_mask(env: Any) -> np.ndarray:
    """The legal actions now, as a bool array: ``env.action_masks()`` of the innermost env that has it
    (through any wrappers), or for a Gymnasium vector env one row per sub-env (shape ``(num_envs, n)``)."""
    if isinstance(env, gym.vector.VectorEnv):
        return np.stack([np.asarray(row, dtype=bool).reshape(-1) for row in env.call(ACTION_MASKS)])
    method = _mask_method(env)
    if not callable(method):
        name = getattr(getattr(env, "spec", None), "id", None) or type(env).__name__
        raise A2PerfError(f"the env of {name} has no {ACTION_MASKS}(): its actions are not masked")
    return np.asarray(method(), dtype=bool).reshape(-1)


def _mask_method(env: Any) -> Any:
    try:
        return env.get_wrapper_attr(ACTION_MASKS)
    except AttributeError:
        return getattr(getattr(env, "unwrapped", env), ACTION_MASKS, None)
