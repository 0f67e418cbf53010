"""Inference of the PPO baseline: the actor's mean action on the observation normalised with the
statistics saved in training (VecNormalize's formula: ``clip((x - mean) / sqrt(var + eps), ±clip)``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from a2perf_core import participant

MODEL_FILE = "ppo.zip"
NORMALIZER_FILE = "ppo_observation_normalizer.npz"


class NormalizedPolicy:
    def __init__(self, model: Any, normalizer: Any) -> None:
        self.model = model
        self.mean = normalizer["mean"]
        self.scale = np.sqrt(normalizer["var"] + float(normalizer["epsilon"]))
        self.clip = float(normalizer["clip"])

    def normalize(self, observation: Any) -> np.ndarray:
        return np.clip((np.asarray(observation) - self.mean) / self.scale, -self.clip, self.clip)


def load_policy(env: Any, **load_kwargs: Any) -> NormalizedPolicy:
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    model = PPO.load(participant.run_dir() / MODEL_FILE, device="cpu")
    with np.load(participant.run_dir() / NORMALIZER_FILE) as normalizer:
        return NormalizedPolicy(model, dict(normalizer))


def preprocess_observation(observation: Any) -> Any:
    return observation


def infer_once(policy: NormalizedPolicy, observation: Any) -> np.ndarray:
    action, _ = policy.model.predict(policy.normalize(observation).astype(np.float32), deterministic=True)
    return action
