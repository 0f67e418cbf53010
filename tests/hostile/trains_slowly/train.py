"""A train() that steps right through ``A2PERF_HOSTILE_EPISODES`` corridor episodes (default 3),
sleeping ``A2PERF_HOSTILE_EPISODE_S`` seconds (default 0) after each.

Before the first episode it writes its pid to ``train.pid`` and its whole environment to
``train_environ.json`` in the run directory, so a test can start a process that writes where this
attempt writes (a stale writer). With ``A2PERF_HOSTILE_EVALUATE`` set it also runs one evaluation
episode and logs a scalar; with ``A2PERF_HOSTILE_RAISE`` set it raises after its episodes.
"""

import json
import os
import time

from a2perf_core import participant


def _episode(env) -> None:
    env.reset(seed=participant.seed())
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(1)
        done = terminated or truncated


def train() -> None:
    run_dir = participant.run_dir()
    (run_dir / "train.pid").write_text(str(os.getpid()))
    (run_dir / "train_environ.json").write_text(json.dumps(dict(os.environ)))
    if os.environ.get("A2PERF_HOSTILE_EVALUATE"):
        evaluation = participant.make_env(evaluation=True)
        _episode(evaluation)
        evaluation.close()
        participant.log_scalar("learning_rate", 0.5, step=0)
    env = participant.make_env()
    for _ in range(int(os.environ.get("A2PERF_HOSTILE_EPISODES", "3"))):
        _episode(env)
        time.sleep(float(os.environ.get("A2PERF_HOSTILE_EPISODE_S", "0")))
    env.close()
    if os.environ.get("A2PERF_HOSTILE_RAISE"):
        raise RuntimeError("train fails on purpose after its episodes")
