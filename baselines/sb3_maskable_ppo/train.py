"""MaskablePPO (sb3-contrib) for the masked tasks: circuit training and web navigation.

The env is the run's task with its ``Dict`` observation flattened to one vector
(``participant.flatten_observations``) and its legal actions given to MaskablePPO through
``ActionMasker(env, participant.action_mask)``. Training stops at the run's step budget
(``participant.num_train_steps()``); the model is saved to ``participant.run_dir()``.
"""

from __future__ import annotations

from typing import Any

from a2perf_core import participant

MODEL_FILE = "maskable_ppo.zip"
#: the budget when the run gives none (``RunSettings.num_train_steps``); ``budget`` in baseline.toml
DEFAULT_TRAIN_STEPS = 50_000


def make_masked_env() -> Any:
    from sb3_contrib.common.wrappers import ActionMasker

    return ActionMasker(participant.flatten_observations(participant.make_env()), participant.action_mask)


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
    num_envs: int = 1,
    n_steps: int = 512,
    batch_size: int = 64,
    n_epochs: int = 4,
    learning_rate: float = 3e-4,
    ent_coef: float = 0.01,
    gamma: float = 0.99,
    net_arch: tuple[int, ...] = (64, 64),
    torch_threads: int = 1,
) -> None:
    import torch
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    torch.set_num_threads(torch_threads)
    budget = participant.num_train_steps(DEFAULT_TRAIN_STEPS)
    # a rollout never asks for more steps than the budget: a tiny budget is one short rollout
    n_steps = max(2, min(n_steps, budget // num_envs))
    fns = [make_masked_env] * num_envs
    env = DummyVecEnv(fns) if num_envs == 1 else SubprocVecEnv(fns, start_method="fork")
    model = MaskablePPO(
        "MlpPolicy",
        env,
        n_steps=n_steps,
        batch_size=min(batch_size, n_steps * num_envs),
        n_epochs=n_epochs,
        learning_rate=learning_rate,
        ent_coef=ent_coef,
        gamma=gamma,
        policy_kwargs={"net_arch": list(net_arch)},
        seed=participant.seed(),
        device="cpu",
    )
    total = budget - budget % num_envs  # vector steps take num_envs env steps each
    model.learn(total_timesteps=total, callback=stop_at_budget(total))
    model.save(participant.run_dir() / MODEL_FILE)
    env.close()
