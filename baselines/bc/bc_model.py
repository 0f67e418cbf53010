"""The network and the arrays train.py and inference.py share: one definition of what is saved.

Observations are flattened by the platform's helper (``participant.flatten_observation``: a ``Dict`` of
``Box`` and ``MultiBinary`` entries becomes one float32 vector); the entries that never vary in the
datasets are dropped (a circuit's observation has tens of thousands, of which a hundred or so vary), and
the rest standardised with the datasets' mean and standard deviation. A ``Discrete`` action is a class
(logits out); a ``Box`` action is regressed in the datasets' standardised units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

#: the saved policy, in ``participant.run_dir()``
POLICY_FILE = "bc_policy.pt"
HIDDEN = (256, 256)


def action_kind(action_space: Any) -> str:
    """``discrete`` or ``box``: the two action spaces behaviour cloning here handles."""
    if isinstance(action_space, spaces.Discrete):
        return "discrete"
    if isinstance(action_space, spaces.Box):
        return "box"
    raise ValueError(f"bc handles Discrete and Box action spaces, not {action_space}")


def output_size(action_space: Any) -> int:
    if action_kind(action_space) == "discrete":
        return int(action_space.n)
    return int(np.prod(action_space.shape))


def network(inputs: int, outputs: int) -> Any:
    """The MLP: ``HIDDEN`` ReLU layers."""
    import torch

    layers: list[Any] = []
    size = inputs
    for width in HIDDEN:
        layers += [torch.nn.Linear(size, width), torch.nn.ReLU()]
        size = width
    layers.append(torch.nn.Linear(size, outputs))
    return torch.nn.Sequential(*layers)


def varying_columns(values: np.ndarray) -> np.ndarray:
    """Indices of the columns of ``values`` that vary (at least one, so that the network has an input)."""
    varying = np.flatnonzero(values.std(axis=0) > 1e-6)
    return varying if varying.size else np.arange(min(1, values.shape[1]))


def observation_view(space: Any, keys: list[str] | None) -> Any:
    """The part of the observation space the network sees: the ``Dict`` entries ``keys`` (all when None)."""
    if keys is None:
        return space
    if not isinstance(space, spaces.Dict):
        raise ValueError(f"observation_keys names entries of a Dict observation; this one is {space}")
    unknown = [key for key in keys if key not in space.spaces]
    if unknown:
        raise ValueError(f"observation_keys: no entries {unknown} in the observation (it has {list(space.spaces)})")
    return spaces.Dict({key: space.spaces[key] for key in keys})


def standardiser(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per column; a constant column keeps scale 1 (it carries no signal)."""
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    return mean.astype(np.float32), np.where(std > 1e-6, std, 1.0).astype(np.float32)
