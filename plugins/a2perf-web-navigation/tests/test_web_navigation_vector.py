"""Several browsers through Gymnasium's vector API (one Chromium per sub-env)."""

from __future__ import annotations

import numpy as np
import psutil
import pytest
from a2perf_web_navigation import plugin

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def chromium_processes() -> set[int]:
    found = set()
    for proc in psutil.process_iter(["name", "status"]):
        if "chrom" in (proc.info["name"] or "") and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.add(proc.pid)
    return found


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vector_env_steps_several_browsers(a2perf_plugins, mode):
    import gymnasium as gym

    from a2perf_core.envs import register_envs

    a2perf_plugins(plugin)
    register_envs()
    before = chromium_processes()
    envs = gym.make_vec("WebNavigation-Difficulty-01-v1", num_envs=2, vectorization_mode=mode, num_websites=3)
    try:
        obs, _ = envs.reset(seed=4)
        assert obs["mask"].shape == (2, 25 * 250)
        assert obs["dom_elements"].shape == (2, 250, 5, 10)
        rng = np.random.default_rng(0)
        finished = 0
        for _ in range(40):
            actions = np.array([rng.choice(np.flatnonzero(mask)) for mask in obs["mask"]])
            obs, rewards, terminated, truncated, _ = envs.step(actions)
            assert rewards.shape == (2,) and np.all(rewards >= -1.6) and np.all(rewards <= 2.0)
            finished += int(np.sum(terminated | truncated))
        assert finished >= 2
        assert len(chromium_processes() - before) >= 2
    finally:
        envs.close()
    assert chromium_processes() - before == set()
