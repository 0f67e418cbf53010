"""Actions are checked before they reach the physics: a NaN or a wrong shape is an error."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_quadruped_locomotion.env import QuadrupedLocomotionEnv
from a2perf_quadruped_locomotion.errors import QuadrupedConfigError


@pytest.fixture
def pace_env(clip_file):
    env = QuadrupedLocomotionEnv(clip_file("pace"))
    env.reset(seed=0)
    yield env
    env.close()


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_non_finite_action_is_an_error_and_leaves_the_episode_usable(pace_env, value):
    action = np.zeros(12)
    action[3] = value
    with pytest.raises(QuadrupedConfigError, match=r"non-finite values at motors \[3\]"):
        pace_env.step(action)
    _, reward, *_ = pace_env.step(np.zeros(12))
    assert np.isfinite(reward)


@pytest.mark.parametrize("shape", [(3, 4), (1, 12), (11,), (13,), ()])
def test_an_action_of_another_shape_is_an_error(pace_env, shape):
    with pytest.raises(QuadrupedConfigError, match="shape"):
        pace_env.step(np.zeros(shape))


def test_a_non_numeric_action_is_an_error(pace_env):
    with pytest.raises(QuadrupedConfigError, match="12 numbers"):
        pace_env.step(["a"] * 12)


def test_out_of_range_actions_are_clipped_to_the_space(clip_file):
    envs = [QuadrupedLocomotionEnv(clip_file("pace")) for _ in range(2)]
    try:
        high = envs[0].action_space.high.astype(float)
        results = []
        for env, action in zip(envs, (high, high * 10), strict=True):
            env.reset(seed=0)
            observation, reward, *_ = env.step(action)
            results.append((observation, reward))
        assert np.array_equal(results[0][0], results[1][0]) and results[0][1] == results[1][1]
    finally:
        for env in envs:
            env.close()
