"""The participant API's glue for learners: flat observations, the action mask through wrappers and
vector envs, and ``make_vec_env`` recorded in a real run's training curve."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from a2perf_core import participant
from a2perf_core.errors import A2PerfError
from a2perf_core.wrappers import FlattenDictObservation, flat_observation_space

CORRIDOR = "ExampleCorridor-v0"


class MaskedToyEnv(gym.Env):
    """Four actions; action ``a`` is legal iff bit ``a`` of the step count is not set (a mask that changes)."""

    observation_space = spaces.Dict(
        {"position": spaces.Box(0, 9, (2,), np.int32), "heat": spaces.Box(0.0, 1.0, (2, 2), np.float32)}
    )
    action_space = spaces.Discrete(4)

    def __init__(self) -> None:
        self.count = 0

    def _observation(self) -> dict[str, np.ndarray]:
        heat = np.array([[0.5, 0.25], [0.0, 1.0]], dtype=np.float32)
        return {"position": np.array([self.count, 7], dtype=np.int32), "heat": heat}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.count = 0
        return self._observation(), {}

    def step(self, action: int):
        self.count += 1
        return self._observation(), 0.0, self.count >= 9, False, {}

    def action_masks(self) -> np.ndarray:
        return np.array([not (self.count >> bit) & 1 for bit in range(4)])


def test_a_dict_of_boxes_flattens_in_key_order_to_float32():
    space = MaskedToyEnv.observation_space
    flat = flat_observation_space(space)
    assert flat.dtype == np.float32 and flat.shape == (6,)
    # gymnasium sorts a Dict's keys: heat (2x2, raveled row by row), then position
    assert flat.low.tolist() == [0.0] * 6
    assert flat.high.tolist() == [1.0, 1.0, 1.0, 1.0, 9.0, 9.0]
    env = FlattenDictObservation(MaskedToyEnv())
    observation, _ = env.reset(seed=0)
    assert observation.tolist() == [0.5, 0.25, 0.0, 1.0, 0.0, 7.0]
    observation, *_ = env.step(0)
    assert observation.tolist() == [0.5, 0.25, 0.0, 1.0, 1.0, 7.0]
    assert env.observation_space.contains(observation)
    raw = MaskedToyEnv()._observation()
    assert participant.flatten_observation(space, raw).tolist() == [0.5, 0.25, 0.0, 1.0, 0.0, 7.0]


def test_a_box_observation_is_not_flattened():
    space = spaces.Box(-1.0, 1.0, (3,), np.float64)
    assert flat_observation_space(space) is space
    observation = np.array([0.1, 0.2, 0.3])
    assert participant.flatten_observation(space, observation) is observation


def test_a_dict_entry_that_is_not_a_box_is_an_error():
    space = spaces.Dict({"a": spaces.Discrete(3)})
    with pytest.raises(A2PerfError, match="'a'.*neither a Box nor a MultiBinary"):
        flat_observation_space(space)


def test_a_multibinary_entry_flattens_to_zeros_and_ones():
    space = spaces.Dict({"grid": spaces.Box(-2.0, 3.0, (2,), np.float32), "mask": spaces.MultiBinary((2, 2))})
    flat = flat_observation_space(space)
    assert flat.low.tolist() == [-2.0, -2.0, 0.0, 0.0, 0.0, 0.0]
    assert flat.high.tolist() == [3.0, 3.0, 1.0, 1.0, 1.0, 1.0]
    observation = {"grid": np.array([0.5, -1.0], np.float32), "mask": np.array([[1, 0], [0, 1]], np.int8)}
    flattened = participant.flatten_observation(space, observation)
    assert flattened.tolist() == [0.5, -1.0, 1.0, 0.0, 0.0, 1.0]
    assert flat.contains(flattened)


def test_a_web_env_flattened_keeps_its_mask(monkeypatch: pytest.MonkeyPatch):
    """Web navigation's observation holds its mask as a ``MultiBinary``: it flattens, and the mask found
    through the wrapper is the env's own (the dom backend: no browser needed)."""
    pytest.importorskip("a2perf_web_navigation")
    monkeypatch.setenv("A2PERF_LOAD_PLUGINS", "a2perf-web-navigation")
    from a2perf_core.plugins import set_plugins

    set_plugins(None)
    monkeypatch.setenv(participant.TASK_ENV, "WebNavigation-Difficulty-01-v1")
    env = participant.flatten_observations(participant.make_env(backend="dom"))
    flat, _ = env.reset(seed=0)
    assert env.observation_space.contains(flat)
    mask = participant.action_mask(env)
    assert np.array_equal(mask, env.unwrapped.action_masks()) and mask.any()
    flat, *_ = env.step(int(np.flatnonzero(mask)[0]))
    assert env.observation_space.contains(flat)
    assert np.array_equal(flat[-mask.size :].astype(bool), participant.action_mask(env))
    env.close()


def test_the_mask_is_found_through_wrappers():
    env = gym.wrappers.TimeLimit(FlattenDictObservation(MaskedToyEnv()), max_episode_steps=20)
    env.reset(seed=0)
    for _ in range(6):
        mask = participant.action_mask(env)
        assert mask.dtype == bool
        assert mask.tolist() == env.unwrapped.action_masks().tolist()
        legal = int(np.flatnonzero(mask)[0])
        env.step(legal)
    assert participant.action_mask(env).tolist() == [True, False, False, True]  # 6 = 0b0110


def test_sb3_contrib_action_masker_takes_the_function():
    wrappers = pytest.importorskip("sb3_contrib.common.wrappers")
    env = wrappers.ActionMasker(FlattenDictObservation(MaskedToyEnv()), participant.action_mask)
    env.reset(seed=0)
    env.step(0)
    assert env.action_masks().tolist() == [False, True, True, True]  # 1 = 0b0001


def test_an_env_without_a_mask_says_so(with_example_domain):
    import a2perf_core

    env = a2perf_core.make(CORRIDOR)
    with pytest.raises(A2PerfError, match=f"{CORRIDOR} has no action_masks"):
        participant.action_mask(env)
    env.close()


def test_make_vec_env_refuses_a_bad_count(with_example_domain, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(participant.TASK_ENV, CORRIDOR)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            participant.make_vec_env(bad)


def test_an_evaluation_vector_env_is_not_in_the_training_curve(
    with_example_domain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from a2perf_core.envs import TRAIN_LOG_ENV
    from a2perf_core.runner.recording import EVAL_LOG

    monkeypatch.setenv(TRAIN_LOG_ENV, str(tmp_path / "train_log.csv"))
    monkeypatch.setenv(participant.TASK_ENV, CORRIDOR)
    vector = participant.make_vec_env(2, evaluation=True)
    vector.reset(seed=0)
    for _ in range(5):
        vector.step(np.array([1, 1]))
    vector.close()
    assert not (tmp_path / "train_log.csv").exists()
    with (tmp_path / EVAL_LOG).open(newline="") as f:
        logged = list(csv.DictReader(f))
    assert [(row["global_step"], row["episode_length"]) for row in logged] == [("0", "5"), ("0", "5")]


def test_the_mask_of_a_vector_env_has_a_row_per_env():
    vector = gym.vector.AsyncVectorEnv([MaskedToyEnv, MaskedToyEnv])
    vector.reset(seed=0)
    vector.step(np.array([0, 0]))
    vector.step(np.array([1, 1]))
    assert participant.action_mask(vector).tolist() == [[True, False, True, True]] * 2  # 2 = 0b0010
    vector.close()


def test_a_circuit_env_flattened_keeps_its_mask(monkeypatch: pytest.MonkeyPatch):
    """A real masked task: the mask through the flattening wrapper and through ``make_vec_env``
    equals the env's own ``action_masks()`` (and the observation's ``mask`` entry)."""
    pytest.importorskip("a2perf_circuit_training")
    monkeypatch.setenv("A2PERF_LOAD_PLUGINS", "a2perf-circuit-training")
    from a2perf_core.plugins import set_plugins

    set_plugins(None)
    monkeypatch.setenv(participant.TASK_ENV, "CircuitTraining-Synthetic-v0")
    env = participant.flatten_observations(participant.make_env())
    flat, _ = env.reset(seed=0)
    assert env.observation_space.contains(flat)
    assert flat.shape == (sum(int(np.prod(s.shape)) for s in env.unwrapped.observation_space.spaces.values()),)
    env.step(int(np.flatnonzero(participant.action_mask(env))[0]))
    assert np.array_equal(participant.action_mask(env), env.unwrapped.action_masks())
    env.close()
    vector = participant.make_vec_env(2)
    observations, _ = vector.reset(seed=0)
    vector.step(np.array([int(np.flatnonzero(row)[-1]) for row in participant.action_mask(vector)]))
    masks = participant.action_mask(vector)
    assert np.array_equal(masks, np.stack(vector.call("action_masks")))
    observations = vector.step(np.array([int(np.flatnonzero(row)[0]) for row in masks]))[0]
    assert np.array_equal(participant.action_mask(vector), observations["mask"].astype(bool))
    vector.close()


VECTOR_SUBMISSION = '''
from a2perf_core import participant


def train(vector_steps: int = 18) -> None:
    """Two workers walk right: an episode is 5 env steps, and the sixth vector step resets it."""
    vector = participant.make_vec_env(2)
    vector.reset(seed=participant.seed())
    for _ in range(vector_steps):
        vector.step([1, 1])
    vector.close()
'''

INFERENCE = """
def load_policy(env, **kwargs):
    return None


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    return 1
"""


@pytest.mark.slow
def test_make_vec_env_steps_of_both_workers_are_in_the_training_curve(with_example_domain, tmp_path: Path):
    submission = tmp_path / "vector_submission"
    submission.mkdir()
    (submission / "__init__.py").write_text("")
    (submission / "requirements.txt").write_text("")
    (submission / "train.py").write_text(textwrap.dedent(VECTOR_SUBMISSION))
    (submission / "inference.py").write_text(textwrap.dedent(INFERENCE))
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "a2perf_core", "run", str(submission), "--task", CORRIDOR, "--phase", "train"]
    result = subprocess.run([*argv, "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with (out / "train_log.csv").open(newline="") as f:
        logged = list(csv.DictReader(f))
    # 18 vector steps = 3 episodes of 5 steps per worker; the last global step counts both workers
    assert len(logged) == 6
    assert {(row["episode_length"], row["finished"]) for row in logged} == {("5", "1")}
    assert {round(float(row["episode_return"]), 6) for row in logged} == {0.5}
    steps = [int(row["global_step"]) for row in logged]
    assert steps == sorted(steps) and steps[-1] == 30
