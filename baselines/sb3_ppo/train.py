"""PPO (stable-baselines3) for quadruped locomotion.

Observations are normalised with running statistics (``VecNormalize``, rewards too while
training); those statistics are saved beside the model, since inference sees the harness's raw
observations. Training stops at the run's step budget (``participant.num_train_steps()``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from a2perf_core import participant

MODEL_FILE = "ppo.zip"
#: running mean and variance of the observations, and VecNormalize's epsilon and clip
NORMALIZER_FILE = "ppo_observation_normalizer.npz"
#: the budget when the run gives none (``RunSettings.num_train_steps``); ``budget`` in baseline.toml
DEFAULT_TRAIN_STEPS = 300_000


def make_env() -> Any:
    return participant.make_env()


def stop_at_budget(total: int) -> Any:
    """A callback that ends training at ``total`` steps (sb3 would otherwise finish the rollout under
    way, e.g. 3072 steps for 3000 with 256-step rollouts); a rollout that fills exactly there still trains."""
    from stable_baselines3.common.callbacks import BaseCallback

    class StopAtBudget(BaseCallback):
        def _on_step(self) -> bool:
            rollout_full = self.locals["n_steps"] + 1 == self.locals["n_rollout_steps"]
            return self.num_timesteps < total or rollout_full

    return StopAtBudget()


def train(
    num_envs: int = 2,
    n_steps: int = 1024,
    batch_size: int = 256,
    n_epochs: int = 10,
    learning_rate: float = 3e-4,
    gamma: float = 0.95,
    log_std_init: float = -1.0,
    net_arch: tuple[int, ...] = (256, 256),
    torch_threads: int = 1,
) -> None:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    torch.set_num_threads(torch_threads)
    budget = participant.num_train_steps(DEFAULT_TRAIN_STEPS)
    n_steps = max(2, min(n_steps, budget // num_envs))
    fns = [make_env] * num_envs
    vector = DummyVecEnv(fns) if num_envs == 1 else SubprocVecEnv(fns, start_method="fork")
    env = VecNormalize(vector, norm_obs=True, norm_reward=True, gamma=gamma)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=n_steps,
        batch_size=min(batch_size, n_steps * num_envs),
        n_epochs=n_epochs,
        learning_rate=learning_rate,
        gamma=gamma,
        policy_kwargs={"net_arch": list(net_arch), "log_std_init": log_std_init},
        seed=participant.seed(),
        device="cpu",
    )
    total = budget - budget % num_envs  # vector steps take num_envs env steps each
    model.learn(total_timesteps=total, callback=stop_at_budget(total))
    model.save(participant.run_dir() / MODEL_FILE)
    np.savez(
        participant.run_dir() / NORMALIZER_FILE,
        mean=env.obs_rms.mean,
        var=env.obs_rms.var,
        epsilon=env.epsilon,
        clip=env.clip_obs,
    )
    env.close()
