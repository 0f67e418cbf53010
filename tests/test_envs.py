"""Tasks as Gymnasium environments, in fresh interpreters as a user would meet them."""

from __future__ import annotations

import pytest

from a2perf_core.envs import unknown_task_message
from a2perf_core.errors import UnknownTaskError
from a2perf_core.specs import Task


def test_gym_make_with_module_prefix_in_a_fresh_interpreter(with_example_domain, run_python):
    result = run_python(
        "import gymnasium as gym\n"
        "env = gym.make('a2perf_core:ExampleCorridor-v0')\n"
        "obs, _ = env.reset(seed=0)\n"
        "print(env.unwrapped.length, obs.tolist())\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "[0.0]"]


def test_import_core_then_gym_make_short_id(with_example_domain, run_python):
    result = run_python(
        "import gymnasium as gym\nimport a2perf_core\n"
        "env = gym.make('ExampleCorridor-v0', length=2)\n"
        "env.reset(seed=0)\n"
        "print(sum(env.step(1)[1] for _ in range(2)))\n"
    )
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(0.8)


def test_heavy_modules_load_only_at_make(with_example_domain, run_python):
    result = run_python(
        "import sys, gymnasium, a2perf_core\n"
        "print('a2perf_example_domain.corridor' in sys.modules)\n"
        "gymnasium.make('ExampleCorridor-v0')\n"
        "print('a2perf_example_domain.corridor' in sys.modules)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_time_limit_comes_from_the_task(with_example_domain):
    from a2perf_core.envs import make

    env = make("ExampleCorridor-v0")
    env.reset(seed=0)
    steps = 0
    truncated = terminated = False
    while not (truncated or terminated):
        _, _, terminated, truncated, _ = env.step(0)
        steps += 1
    assert (steps, truncated, terminated) == (20, True, False)


def test_unknown_id_suggests_close_matches(with_example_domain):
    from a2perf_core.envs import get_task

    with pytest.raises(UnknownTaskError, match="Did you mean: ExampleCorridor-v0"):
        get_task("ExampleCoridor-v0")


def test_unknown_id_names_the_plugin_that_provides_it():
    known = {"ExampleCorridor-v0": Task(id="ExampleCorridor-v0", entry_point="a:b", domain="example")}
    message = unknown_task_message("CircuitTraining-Ariane-v0", known)
    assert "pip install a2perf-circuit-training" in message


def test_import_has_no_heavy_or_plugin_imports(with_example_domain, run_python):
    result = run_python("import a2perf_core", {"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "a2perf_core" in imported
    heavy = {"gymnasium", "numpy", "pluggy", "gin", "rich", "click", "attrs", "a2perf_example_domain"}
    assert not {name.split(".")[0] for name in imported} & heavy, sorted(imported)
