"""The training curve as a learner like stable-baselines3 produces it: subprocess vector envs,
evaluation envs made during training, and the env closed mid-episode when training stops."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from a2perf_core import participant
from a2perf_core.envs import TRAIN_LOG_ENV
from a2perf_core.runner.recording import EVAL_LOG, HEADER

TASK = "ExampleCorridor-v0"


@pytest.fixture
def in_a_train_phase(with_example_domain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment the runner gives the participant's train process; returns the log's path."""
    log = tmp_path / "train_log.csv"
    monkeypatch.setenv(TRAIN_LOG_ENV, str(log))
    monkeypatch.setenv(participant.TASK_ENV, TASK)
    monkeypatch.setenv(participant.RUN_DIR_ENV, str(tmp_path))
    return log


def rows(path: Path) -> list[dict[str, float]]:
    with path.open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def make_training_env():
    return participant.make_env()


def test_the_header_keeps_the_old_columns_and_adds_finished():
    assert HEADER.split(",")[:4] == ["global_step", "episode_return", "episode_length", "wall_time_s"]
    assert HEADER.strip().split(",")[4:] == ["finished"]


def test_an_env_closed_mid_episode_does_not_log_a_finished_episode(in_a_train_phase):
    env = participant.make_env()
    env.reset(seed=0)
    for _ in range(5):  # the corridor ends after 5 steps right
        env.step(1)
    env.reset()
    for _ in range(3):
        env.step(0)
    env.close()
    logged = rows(in_a_train_phase)
    assert [(r["episode_length"], r["finished"]) for r in logged] == [(5.0, 1.0), (3.0, 0.0)]
    assert [r["global_step"] for r in logged] == [5.0, 8.0]


def test_subprocess_vector_env_steps_are_counted_across_workers(in_a_train_phase):
    """gymnasium's AsyncVectorEnv, used the way a learner uses SubprocVecEnv: the global step of
    the last row is the total number of env steps of both workers, and the episodes still under
    way when training stops are not finished ones."""
    import gymnasium as gym

    vector = gym.vector.AsyncVectorEnv([make_training_env, make_training_env])
    rng = np.random.default_rng(0)
    vector.reset(seed=0)
    dones = 0
    for _ in range(57):
        _, _, terminated, truncated, _ = vector.step(rng.integers(0, 2, size=2))
        dones += int(np.sum(terminated | truncated))
    vector.close()
    logged = rows(in_a_train_phase)
    total_env_steps = sum(r["episode_length"] for r in logged)
    assert max(r["global_step"] for r in logged) == total_env_steps
    assert total_env_steps > 57  # both workers' steps
    assert sum(r["finished"] for r in logged) == dones
    finished_steps = [r["global_step"] for r in logged if r["finished"]]
    assert finished_steps == sorted(finished_steps)


def test_evaluation_envs_are_not_in_the_training_curve(in_a_train_phase):
    train_env = participant.make_env()
    eval_env = participant.make_env(evaluation=True)
    train_env.reset(seed=0)
    for _ in range(5):
        train_env.step(1)
    for _ in range(2):
        eval_env.reset(seed=1)
        for _ in range(5):
            eval_env.step(1)
    train_env.reset()
    for _ in range(5):
        train_env.step(1)
    train_env.close()
    eval_env.close()
    assert [r["global_step"] for r in rows(in_a_train_phase)] == [5.0, 10.0]
    evaluation = rows(in_a_train_phase.parent / EVAL_LOG)
    assert [(r["global_step"], r["finished"]) for r in evaluation] == [(5.0, 1.0), (5.0, 1.0)]


def test_gym_make_inside_evaluation_envs_makes_an_evaluation_env(in_a_train_phase):
    from a2perf_core.envs import make

    with participant.evaluation_envs():
        env = make(TASK)
    env.reset(seed=0)
    for _ in range(5):
        env.step(1)
    env.close()
    assert not in_a_train_phase.exists()
    assert len(rows(in_a_train_phase.parent / EVAL_LOG)) == 1
