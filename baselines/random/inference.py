"""Inference: a seeded uniform draw over the legal actions.

Legal actions come from the env's ``action_masks()`` (the convention of sb3-contrib's
``MaskablePPO``; the web navigation env has it) when it has one; otherwise every action of the
action space is legal and ``action_space.sample()`` draws one. Both draws are seeded from the run's
seed, so a run is reproducible.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from a2perf_core import participant


class RandomPolicy:
    """Random legal actions for ``env``: masked where the env offers a mask."""

    def __init__(self, env: Any, seed: int) -> None:
        self.action_space = env.action_space
        self.action_space.seed(seed)
        self.rng = np.random.default_rng(seed)
        masks = getattr(env.unwrapped, "action_masks", None)
        self.action_masks = masks if callable(masks) else None

    def act(self) -> Any:
        if self.action_masks is not None:
            legal = np.flatnonzero(np.asarray(self.action_masks()).reshape(-1))
            if legal.size:
                return int(self.rng.choice(legal))
        return self.action_space.sample()


def load_policy(env: Any, seed: int | None = None, **load_kwargs: Any) -> RandomPolicy:
    return RandomPolicy(env, participant.seed() if seed is None else seed)


def preprocess_observation(observation: Any) -> Any:
    return observation


def infer_once(policy: RandomPolicy, observation: Any) -> Any:
    return policy.act()
