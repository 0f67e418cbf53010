"""Inference: a seeded random policy that picks only legal actions when the env says which are legal.

It knows no domain. Legal actions come, in this order, from:

1. the env's ``action_masks()`` method, when it has one (the convention of sb3-contrib's
   ``MaskablePPO``);
2. the entry of a ``Dict`` observation space holding ``n`` int8 values (a ``MultiBinary(n)``) for a
   ``Discrete(n)`` action space: the mask format of Gymnasium's ``Discrete.sample(mask=...)``;

and otherwise any action of the action space is allowed.
"""

import json

import numpy as np

from a2perf_core import participant


def mask_entry(observation_space, action_space):
    """The observation entry holding a legal-action mask of a discrete action space, or ``None``."""
    entries = getattr(observation_space, "spaces", None)
    n = getattr(action_space, "n", None)
    if not isinstance(entries, dict) or action_space.shape != () or n is None:
        return None
    for key, space in entries.items():
        if space.dtype == np.int8 and space.shape is not None and int(np.prod(space.shape)) == int(n):
            return key
    return None


class RandomPolicy:
    def __init__(self, env, seed: int = 0) -> None:
        self.action_space = env.action_space
        self.rng = np.random.default_rng(seed)
        self.action_space.seed(seed)
        self.action_masks = getattr(env.unwrapped, "action_masks", None)
        self.mask_entry = mask_entry(env.observation_space, env.action_space)

    def legal_actions(self, observation):
        if callable(self.action_masks):
            mask = self.action_masks()
        elif self.mask_entry is not None and isinstance(observation, dict):
            mask = observation[self.mask_entry]
        else:
            return None
        return np.flatnonzero(np.asarray(mask).reshape(-1))


def load_policy(env, **load_kwargs):
    saved = participant.run_dir() / "policy.json"
    seed = json.loads(saved.read_text())["seed"] if saved.exists() else participant.seed()
    return RandomPolicy(env, seed=load_kwargs.get("seed", seed))


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    legal = policy.legal_actions(observation)
    if legal is not None and legal.size:
        return int(policy.rng.choice(legal))
    return policy.action_space.sample()
