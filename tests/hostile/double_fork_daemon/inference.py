"""Inference: a random policy that only picks actions an observation's mask allows."""

import json

import numpy as np

from a2perf_core import participant

MASK_KEYS = ("action_mask", "mask")


class RandomPolicy:
    def __init__(self, action_space, seed: int = 0) -> None:
        self.action_space = action_space
        self.rng = np.random.default_rng(seed)
        action_space.seed(seed)


def load_policy(env, **load_kwargs):
    saved = participant.run_dir() / "policy.json"
    seed = json.loads(saved.read_text())["seed"] if saved.exists() else participant.seed()
    return RandomPolicy(env.action_space, seed=load_kwargs.get("seed", seed))


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    if isinstance(observation, dict):
        for key in MASK_KEYS:
            if key in observation:
                legal = np.flatnonzero(np.asarray(observation[key]).reshape(-1))
                if legal.size:
                    return int(policy.rng.choice(legal))
    return policy.action_space.sample()
