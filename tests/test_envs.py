"""Tasks as Gymnasium environments, in fresh interpreters as a user would meet them."""

from __future__ import annotations

import json
import types

import pytest

from a2perf_core.envs import unknown_task_message
from a2perf_core.errors import A2PerfError, UnknownTaskError
from a2perf_core.hookspecs import hookimpl
from a2perf_core.plugins import PluginInfo
from a2perf_core.specs import DataAsset, Task


def test_import_core_registers_nothing_and_loads_no_plugin(with_example_domain, run_python):
    result = run_python(
        "import sys, gymnasium\n"
        "before = set(gymnasium.registry)\n"
        "import a2perf_core\n"
        "print(sorted(set(gymnasium.registry) - before))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('a2perf_example_domain', 'a2perf_core.plugins'))))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "[]"]


@pytest.mark.parametrize(
    "code",
    [
        "import gymnasium as gym\nenv = gym.make('a2perf_core.gym:ExampleCorridor-v0')\n",
        "import gymnasium as gym\nimport a2perf_core.gym\ngym.register_envs(a2perf_core.gym)\n"
        "env = gym.make('ExampleCorridor-v0')\n",
        "import gymnasium as gym\nimport a2perf_core\na2perf_core.register_envs()\n"
        "env = gym.make('ExampleCorridor-v0')\n",
        "import a2perf_core\nenv = a2perf_core.make('ExampleCorridor-v0')\n",
    ],
    ids=["module-prefix", "import-gym-submodule", "register_envs", "make"],
)
def test_documented_ways_to_make_a_task_in_a_fresh_interpreter(with_example_domain, run_python, code):
    result = run_python(code + "obs, _ = env.reset(seed=0)\nprint(env.unwrapped.length, obs.tolist())\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "[0.0]"]


def test_heavy_modules_load_only_at_make(with_example_domain, run_python):
    result = run_python(
        "import sys, gymnasium, a2perf_core\n"
        "a2perf_core.register_envs()\n"
        "print('a2perf_example_domain.corridor' in sys.modules)\n"
        "gymnasium.make('ExampleCorridor-v0')\n"
        "print('a2perf_example_domain.corridor' in sys.modules)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def episode_length(env) -> tuple[int, bool, bool]:
    env.reset(seed=0)
    steps = 0
    truncated = terminated = False
    while not (truncated or terminated):
        _, _, terminated, truncated, _ = env.step(0)  # standing still: only the time limit ends it
        steps += 1
    return steps, truncated, terminated


def time_limits(env) -> list[int]:
    from gymnasium.wrappers import TimeLimit

    limits = []
    while hasattr(env, "env"):
        if isinstance(env, TimeLimit):
            limits.append(env._max_episode_steps)
        env = env.env
    return limits


def test_spec_holds_the_tasks_kwargs_and_time_limit(with_example_domain):
    import gymnasium as gym

    from a2perf_core.envs import register_envs

    register_envs()
    spec = gym.spec("ExampleCorridor-v0")
    assert spec.max_episode_steps == 20
    assert spec.kwargs == {"task_id": "ExampleCorridor-v0", "length": 5}
    assert json.loads(spec.to_json())["kwargs"] == {"task_id": "ExampleCorridor-v0", "length": 5}


def test_time_limit_comes_from_the_task(with_example_domain):
    from a2perf_core.envs import make

    env = make("ExampleCorridor-v0")
    assert time_limits(env) == [20]
    assert episode_length(env) == (20, True, False)


def test_max_episode_steps_of_make_replaces_the_tasks(with_example_domain):
    import gymnasium as gym

    from a2perf_core.envs import make, register_envs

    register_envs()
    for env in (gym.make("ExampleCorridor-v0", max_episode_steps=50), make("ExampleCorridor-v0", max_episode_steps=50)):
        assert time_limits(env) == [50]
        assert episode_length(env) == (50, True, False)


def test_training_log_records_episodes_cut_by_the_time_limit(with_example_domain, tmp_path, monkeypatch):
    from a2perf_core.envs import TRAIN_LOG_ENV, make

    log = tmp_path / "train_log.csv"
    monkeypatch.setenv(TRAIN_LOG_ENV, str(log))
    env = make("ExampleCorridor-v0", max_episode_steps=3)
    assert episode_length(env) == (3, True, False)
    rows = log.read_text().splitlines()  # written when the episode ended, not at the next reset
    assert rows[0] == "global_step,episode_return,episode_length,wall_time_s,finished"
    assert [r.split(",")[2] for r in rows[1:]] == ["3"]
    assert [r.split(",")[4] for r in rows[1:]] == ["1"]  # a time-limit truncation is a whole episode


def test_run_env_kwargs_are_defaults_the_caller_overrides(with_example_domain, run_python):
    """As in a phase's process: the runner's env kwargs are set before anything registers."""
    result = run_python(
        "import gymnasium as gym, a2perf_core\n"
        "a2perf_core.register_envs()\n"
        "print(gym.spec('ExampleCorridor-v0').kwargs['length'])\n"
        "print(a2perf_core.make('ExampleCorridor-v0').unwrapped.length)\n"
        "print(gym.make('ExampleCorridor-v0', length=4).unwrapped.length)\n",
        {"A2PERF_ENV_KWARGS": '{"length": 3}'},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "3", "4"]


def test_unknown_id_suggests_close_matches(with_example_domain):
    from a2perf_core.envs import get_task

    with pytest.raises(UnknownTaskError, match="Did you mean: ExampleCorridor-v0"):
        get_task("ExampleCoridor-v0")


def test_unknown_id_without_close_match_says_how_to_find_tasks(monkeypatch):
    monkeypatch.delenv("A2PERF_LOAD_PLUGINS")
    known = {"ExampleCorridor-v0": Task(id="ExampleCorridor-v0", entry_point="a:b", domain="example")}
    message = unknown_task_message("CircuitTraining-Ariane-v0", known)
    assert "`a2perf tasks`" in message and "needs that domain's plugin installed" in message
    monkeypatch.setenv("A2PERF_LOAD_PLUGINS", "")
    assert "restricted by A2PERF_LOAD_PLUGINS" in unknown_task_message("CircuitTraining-Ariane-v0", known)


def test_core_names_no_domain():
    from pathlib import Path

    import a2perf_core

    core = Path(a2perf_core.__file__).parent
    sources = {p: p.read_text() for p in core.rglob("*.py")}
    names = ("CircuitTraining", "WebNavigation", "QuadrupedLocomotion", "circuit", "quadruped", "web_nav")
    keys = ('"mask"', "'mask'", '"action_mask"', "'action_mask'")  # observation keys of our domains
    for name in names + keys:
        assert not [p.name for p, text in sources.items() if name in text], name


def test_import_has_no_heavy_or_plugin_imports(with_example_domain, run_python):
    result = run_python("import a2perf_core", {"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "a2perf_core" in imported
    heavy = {"gymnasium", "numpy", "pluggy", "gin", "rich", "click", "attrs", "a2perf_example_domain"}
    assert not {name.split(".")[0] for name in imported} & heavy, sorted(imported)


# --- the default task of `a2perf run` ------------------------------------------------------------


def tasks_plugin(*tasks: Task, assets: tuple[DataAsset, ...] = ()) -> tuple[object, PluginInfo]:
    module = types.ModuleType("default_tasks")

    @hookimpl
    def a2perf_register_tasks(register):
        for task in tasks:
            register(task)

    @hookimpl
    def a2perf_register_data_assets(register):
        for asset in assets:
            register(asset)

    module.a2perf_register_tasks = a2perf_register_tasks
    module.a2perf_register_data_assets = a2perf_register_data_assets
    return module, PluginInfo("default_tasks", "dist-default-tasks", "0")


def task(task_id: str, default: bool = False, data: tuple[str, ...] = ()) -> Task:
    return Task(id=task_id, entry_point="pkg.mod:Env", domain="d", default=default, data=data)


MISSING = DataAsset(name="missing-file", path="d/missing.bin")


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ((task("A-v0"), task("B-v0", default=True)), "B-v0"),  # the flagged one
        ((task("C-v0", default=True), task("B-v0", default=True), task("A-v0")), "B-v0"),  # several: first by id
        ((task("A-v0", default=True, data=("missing-file",)), task("B-v0", default=True)), "B-v0"),  # data first
        ((task("A-v0", default=True, data=("missing-file",)), task("B-v0")), "A-v0"),  # flagged wins even so
        ((task("B-v0"), task("A-v0", data=("missing-file",))), "B-v0"),  # none flagged: first with data
    ],
)
def test_default_task_rule(a2perf_plugins, tmp_path, monkeypatch, tasks, expected):
    from a2perf_core.envs import default_task

    monkeypatch.setenv("A2PERF_DATA_PATH", str(tmp_path))
    monkeypatch.setenv("A2PERF_CACHE_DIR", str(tmp_path))
    a2perf_plugins(tasks_plugin(*tasks, assets=(MISSING,)))
    assert default_task() == expected


def test_no_task_installed_is_a_clear_error(a2perf_plugins):
    from a2perf_core.envs import default_task

    a2perf_plugins()
    with pytest.raises(A2PerfError, match="no task is installed; install a domain plugin"):
        default_task()
