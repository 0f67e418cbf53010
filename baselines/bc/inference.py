"""Inference of behaviour cloning: the saved MLP on the flattened, standardised observation.

A discrete action is the most likely legal one: where the env has a mask (``participant.action_mask``),
illegal actions are never chosen. A continuous action is the network's output in the dataset's units,
clipped to the action space.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from a2perf_core import participant


class ClonedPolicy:
    """The fitted network and what it needs from the env: its spaces and, for a masked env, the env."""

    def __init__(self, env: Any, saved: dict[str, Any]) -> None:
        import torch
        from bc_model import network, observation_view

        self.model = network(saved["inputs"], saved["outputs"])
        self.model.load_state_dict(saved["state_dict"])
        self.model.eval()
        self.kind = saved["kind"]
        self.columns = saved["columns"].numpy()
        self.obs_mean, self.obs_std = saved["obs_mean"].numpy(), saved["obs_std"].numpy()
        self.act_mean, self.act_std = saved["act_mean"].numpy(), saved["act_std"].numpy()
        self.observation_space = observation_view(env.observation_space, saved.get("observation_keys"))
        self.action_space = env.action_space
        masks = getattr(env.unwrapped, "action_masks", None)
        self.env = env if self.kind == "discrete" and callable(masks) else None
        self.torch = torch


def load_policy(env: Any, **load_kwargs: Any) -> ClonedPolicy:
    import torch
    from bc_model import POLICY_FILE

    torch.set_num_threads(1)
    saved = torch.load(participant.run_dir() / POLICY_FILE, weights_only=True)
    return ClonedPolicy(env, saved)


def preprocess_observation(observation: Any) -> Any:
    return observation


def infer_once(policy: ClonedPolicy, observation: Any) -> Any:
    flat = np.asarray(participant.flatten_observation(policy.observation_space, observation), dtype=np.float32)
    inputs = policy.torch.from_numpy(((flat.reshape(-1)[policy.columns] - policy.obs_mean) / policy.obs_std)[None, :])
    with policy.torch.no_grad():
        output = policy.model(inputs)[0].numpy()
    if policy.kind == "discrete":
        if policy.env is not None:
            mask = participant.action_mask(policy.env)
            if mask.any():
                output = np.where(mask, output, -np.inf)
        return int(np.argmax(output))
    action = output * policy.act_std + policy.act_mean
    low, high = policy.action_space.low, policy.action_space.high
    return np.clip(action.reshape(policy.action_space.shape), low, high).astype(policy.action_space.dtype)
