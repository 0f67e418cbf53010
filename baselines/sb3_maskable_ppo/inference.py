"""Inference of the MaskablePPO baseline: the saved model picks the most likely legal action.

The harness gives the env's own (``Dict``) observations; they are flattened with the env's
observation space exactly as during training, and the mask comes from the env ``load_policy`` got
(``participant.action_mask`` works on the harness's env and on the ``--untrusted`` stand-in alike).
"""

from __future__ import annotations

from typing import Any

from a2perf_core import participant

MODEL_FILE = "maskable_ppo.zip"


class MaskedPolicy:
    def __init__(self, env: Any, model: Any) -> None:
        self.env = env
        self.observation_space = env.observation_space
        self.model = model


def load_policy(env: Any, **load_kwargs: Any) -> MaskedPolicy:
    import torch
    from sb3_contrib import MaskablePPO

    torch.set_num_threads(1)
    model = MaskablePPO.load(participant.run_dir() / MODEL_FILE, device="cpu")
    return MaskedPolicy(env, model)


def preprocess_observation(observation: Any) -> Any:
    return observation


def infer_once(policy: MaskedPolicy, observation: Any) -> int:
    flat = participant.flatten_observation(policy.observation_space, observation)
    mask = participant.action_mask(policy.env)
    action, _ = policy.model.predict(flat, action_masks=mask, deterministic=True)
    return int(action)
