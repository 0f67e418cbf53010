"""Training: behaviour cloning from ``participant.datasets()``, with no env.

Every step of every declared dataset is one example (flattened observation -> the action taken). The
network is fitted with Adam on minibatches for ``participant.num_train_steps()`` gradient steps (its
default, ``DEFAULT_GRADIENT_STEPS``, when the run sets none): an offline run spends no env step, so the
run's step budget counts updates here. Cross-entropy for a discrete action, squared error for a
continuous one. The loss goes to the run's ``train_scalars.csv`` as ``bc_loss``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from a2perf_core import participant

DEFAULT_GRADIENT_STEPS = 5000
BATCH_SIZE = 256
LEARNING_RATE = 1e-3
LOG_EVERY = 100


def examples(datasets: list[Any], keys: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """``(observations, actions, observation space, action space)`` of every step of ``datasets``; of a ``Dict``
    observation, only the entries ``keys`` (all when None)."""
    from bc_model import observation_view

    first = datasets[0]
    observation_space, action_space = first.observation_space, first.action_space
    seen = observation_view(observation_space, keys)
    observations, actions = [], []
    for dataset in datasets:
        if dataset.observation_space != observation_space or dataset.action_space != action_space:
            raise ValueError(f"dataset {dataset.id!r} has other spaces than {first.id!r}")
        for episode in dataset.iterate_episodes():
            for t in range(len(episode.rewards)):
                observation = _at(episode.observations, t)
                observations.append(participant.flatten_observation(seen, observation))
            actions.append(np.asarray(episode.actions))
    if not observations:
        raise ValueError("the declared datasets hold no step to learn from")
    flat = np.asarray(observations, dtype=np.float32).reshape(len(observations), -1)
    return flat, np.concatenate(actions), observation_space, action_space


def _at(observations: Any, t: int) -> Any:
    """Step ``t`` of an episode's observations (a dict of arrays for a ``Dict`` space)."""
    if isinstance(observations, dict):
        return {key: _at(value, t) for key, value in observations.items()}
    return observations[t]


def train(observation_keys: list[str] | None = None) -> None:
    """``observation_keys`` (``--participant-arg observation_keys=[...]``): the entries of a ``Dict`` observation
    the network sees, all when not given. An MLP does not generalise over raw token ids: on web navigation a
    clone that sees every entry fits its data and fails on new profiles, one that sees the float entries
    (``dom_attribute_mask``, ``dom_elements_mask``, ``dom_features``, ``dom_profile_joint_mask``,
    ``profile_key_mask``, ``profile_value_mask``, ``time_step``, ``mask``) does not."""
    import torch
    from bc_model import POLICY_FILE, action_kind, network, output_size, standardiser, varying_columns

    datasets = participant.datasets()
    if not datasets:
        raise ValueError("bc learns from datasets: declare them (RunSettings.datasets or datasets.txt)")
    torch.set_num_threads(1)  # a net this small gains nothing from threads, and loses much on a shared machine
    torch.manual_seed(participant.seed())
    rng = np.random.default_rng(participant.seed())
    observations, actions, observation_space, action_space = examples(datasets, observation_keys)
    kind = action_kind(action_space)
    columns = varying_columns(observations)
    observations = observations[:, columns]
    obs_mean, obs_std = standardiser(observations)
    inputs = torch.from_numpy((observations - obs_mean) / obs_std)
    if kind == "discrete":
        targets = torch.from_numpy(actions.astype(np.int64).reshape(-1))
        act_mean = act_std = np.zeros(0, dtype=np.float32)
        loss_of = torch.nn.functional.cross_entropy
    else:
        flat_actions = actions.astype(np.float32).reshape(len(actions), -1)
        act_mean, act_std = standardiser(flat_actions)
        targets = torch.from_numpy((flat_actions - act_mean) / act_std)
        loss_of = torch.nn.functional.mse_loss
    model = network(inputs.shape[1], output_size(action_space))
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    steps = participant.num_train_steps(DEFAULT_GRADIENT_STEPS)
    for step in range(1, steps + 1):
        batch = torch.from_numpy(rng.integers(0, len(inputs), size=min(BATCH_SIZE, len(inputs))))
        loss = loss_of(model(inputs[batch]), targets[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % LOG_EVERY == 0 or step == steps:
            participant.log_scalar("bc_loss", float(loss), step)
    saved = {
        "state_dict": model.state_dict(),
        "kind": kind,
        "inputs": int(inputs.shape[1]),
        "outputs": output_size(action_space),
        "observation_keys": list(observation_keys) if observation_keys is not None else None,
        "columns": torch.from_numpy(columns.astype(np.int64)),
        "obs_mean": torch.from_numpy(obs_mean),
        "obs_std": torch.from_numpy(obs_std),
        "act_mean": torch.from_numpy(act_mean),
        "act_std": torch.from_numpy(act_std),
    }
    participant.run_dir().mkdir(parents=True, exist_ok=True)
    torch.save(saved, participant.run_dir() / POLICY_FILE)
