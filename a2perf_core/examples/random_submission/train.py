"""Training: play a few episodes with random legal actions and save the policy's seed.

A real submission trains here. Every env made through the task registry during `a2perf run` is
recorded, so the training curve appears in the run without any logging code.
"""

import json

from a2perf_core import participant


def train(num_episodes: int = 3) -> None:
    from inference import RandomPolicy, infer_once

    env = participant.make_env()
    policy = RandomPolicy(env, seed=participant.seed())
    for episode in range(num_episodes):
        observation, _ = env.reset(seed=participant.seed() + episode)
        done = False
        while not done:
            observation, _, terminated, truncated, _ = env.step(infer_once(policy, observation))
            done = terminated or truncated
    env.close()
    (participant.run_dir() / "policy.json").write_text(json.dumps({"seed": participant.seed()}))
