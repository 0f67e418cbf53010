"""The example domain, tested the way a third party would test its own domain."""

from __future__ import annotations

import pytest

gym = pytest.importorskip("gymnasium")


def test_registered_and_makeable(a2perf_plugins):
    from a2perf_example_domain import plugin

    plugins = a2perf_plugins(plugin)
    assert "ExampleCorridor-v0" in plugins.registry.tasks
    from a2perf_core.envs import make

    env = make("ExampleCorridor-v0")
    env.reset(seed=0)
    total = 0.0
    for _ in range(5):
        _, reward, terminated, truncated, _ = env.step(1)
        total += reward
    assert terminated and not truncated
    assert total == pytest.approx(1 - 0.1 * 5)


def test_passes_gymnasium_checker():
    from a2perf_example_domain.corridor import CorridorEnv
    from gymnasium.utils.env_checker import check_env

    check_env(CorridorEnv(length=3), skip_render_check=True)
