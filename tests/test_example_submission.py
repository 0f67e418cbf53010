"""The bundled example submission knows no domain: it finds legal actions the documented ways."""

from __future__ import annotations

import importlib.util
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from a2perf_core.runner.cli import example_submission

N = 6


def load_inference():
    path = example_submission() / "inference.py"
    spec = importlib.util.spec_from_file_location("example_inference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop("example_inference", None)
    spec.loader.exec_module(module)
    return module


class MaskedEnv(gym.Env):
    """Legal actions named by an observation entry of an arbitrary name, or by ``action_masks()``."""

    def __init__(self, legal: int, entry: str | None = "whatever_it_is_called", method: bool = False) -> None:
        self.legal = legal
        self.entry = entry
        self.action_space = spaces.Discrete(N)
        entries = {"features": spaces.Box(0, 1, (N,), np.float32)}  # same size, but not a mask
        if entry:
            entries[entry] = spaces.MultiBinary(N)
        self.observation_space = spaces.Dict(entries)
        if method:
            self.action_masks = self._mask

    def _mask(self) -> np.ndarray:
        mask = np.zeros(N, np.int8)
        mask[self.legal] = 1
        return mask

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._observation(), {}

    def _observation(self):
        observation = {"features": np.ones(N, np.float32)}
        if self.entry:
            observation[self.entry] = self._mask()
        return observation


@pytest.mark.parametrize(
    "env",
    [MaskedEnv(legal=4), MaskedEnv(legal=2, entry=None, method=True), MaskedEnv(legal=5, method=True)],
    ids=["observation-entry", "action_masks-method", "both"],
)
def test_only_legal_actions_are_picked(env):
    inference = load_inference()
    policy = inference.load_policy(env)
    observation, _ = env.reset(seed=0)
    assert {inference.infer_once(policy, observation) for _ in range(50)} == {env.legal}


def test_without_a_mask_any_action_is_allowed():
    inference = load_inference()
    env = MaskedEnv(legal=0, entry=None)
    policy = inference.load_policy(env)
    observation, _ = env.reset(seed=0)
    assert len({int(inference.infer_once(policy, observation)) for _ in range(200)}) == N
