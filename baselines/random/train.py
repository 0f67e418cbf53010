"""Training: random play for exactly the run's step budget, so the run has a training curve.

Nothing is learned. The budget is ``participant.num_train_steps()`` env steps
(``RunSettings.num_train_steps``); without one, ``DEFAULT_TRAIN_STEPS``. The last episode is cut
off when the budget runs out (the training log marks it unfinished).
"""

from __future__ import annotations

from a2perf_core import participant

#: env steps played when the run sets no budget: enough for a curve of a few episodes on any task
DEFAULT_TRAIN_STEPS = 1000


def train() -> None:
    from inference import RandomPolicy

    budget = participant.num_train_steps(DEFAULT_TRAIN_STEPS)
    env = participant.make_env()
    policy = RandomPolicy(env, participant.seed())
    steps, episode = 0, 0
    try:
        while steps < budget:
            env.reset(seed=participant.seed() + episode)
            episode += 1
            done = False
            while not done and steps < budget:
                _, _, terminated, truncated, _ = env.step(policy.act())
                steps += 1
                done = terminated or truncated
    finally:
        env.close()
