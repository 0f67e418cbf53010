"""Inference of the ARS baseline: the saved linear policy on the normalised observation, clipped to
the action space."""

from __future__ import annotations

from typing import Any

import numpy as np

from a2perf_core import participant

POLICY_FILE = "ars_policy.npz"


class LinearPolicy:
    def __init__(self, matrix: np.ndarray, mean: np.ndarray, std: np.ndarray, low: Any, high: Any) -> None:
        self.matrix, self.mean, self.std, self.low, self.high = matrix, mean, std, low, high


def load_policy(env: Any, **load_kwargs: Any) -> LinearPolicy:
    with np.load(participant.run_dir() / POLICY_FILE) as saved:
        return LinearPolicy(saved["matrix"], saved["mean"], saved["std"], env.action_space.low, env.action_space.high)


def preprocess_observation(observation: Any) -> np.ndarray:
    return np.asarray(observation, dtype=np.float64)


def infer_once(policy: LinearPolicy, observation: np.ndarray) -> np.ndarray:
    from ars import act

    return np.clip(act(policy.matrix, policy.mean, policy.std, observation), policy.low, policy.high).astype(np.float32)
