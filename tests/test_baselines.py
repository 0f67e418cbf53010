"""Every folder of ``baselines/`` is an ordinary submission: its ``baseline.toml`` is well formed and
names real tasks, ``a2perf validate`` accepts it, and it runs all three phases on its CI task on a
tiny budget that it honours. Baselines are discovered, so a new folder is covered without editing
this file. The behaviour of particular baselines (they must beat something) is tested below that.
"""

from __future__ import annotations

import csv
import fnmatch
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

BASELINES_DIR = Path(__file__).resolve().parent.parent / "baselines"
#: every submission folder here (``sweeps/`` holds the sweep specs of docs/baselines, not a submission)
BASELINES = sorted(
    p for p in BASELINES_DIR.iterdir() if p.is_dir() and any((p / f).is_file() for f in ("train.py", "inference.py"))
)
#: key -> (type, required) of ``baseline.toml`` (documented in ``baselines/README.md``)
DECLARATION = {
    "description": (str, True),
    "tasks": (list, True),
    "budget": (int, True),
    "ci_task": (str, True),
    "ci_train_steps": (int, True),
    "ci_gin_params": (list, False),
    "data": (list, False),
    "ci_datasets": (list, False),
}
#: the CI run: few episodes, generalization on the CI task alone, no after-run report or energy tracker
CI_GIN_PARAMS = (
    "RunSettings.num_inference_episodes = 2",
    "RunSettings.num_generalization_episodes = 1",
)
CI_DISABLED_PLUGINS = "a2perf-report,a2perf-energy"


def all_plugins_env(**extra: str) -> dict[str, str]:
    """The environment of an ``a2perf`` subprocess that loads every installed plugin."""
    env = {k: v for k, v in os.environ.items() if k != "A2PERF_LOAD_PLUGINS"}
    return {**env, **extra}


def a2perf(*args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "a2perf_core", *args],
        capture_output=True,
        text=True,
        env=all_plugins_env(**env),
        timeout=timeout,
    )


def read_declaration(folder: Path) -> dict[str, Any]:
    """The baseline's ``baseline.toml``, its keys and types checked."""
    path = folder / "baseline.toml"
    assert path.is_file(), f"{folder.name}: every baseline declares its tasks in baseline.toml"
    declared = tomllib.loads(path.read_text())
    unknown = set(declared) - set(DECLARATION)
    assert not unknown, f"{folder.name}: unknown keys {sorted(unknown)} in baseline.toml"
    for key, (kind, required) in DECLARATION.items():
        if key in declared:
            value = declared[key]
            assert isinstance(value, kind) and not isinstance(value, bool), f"{folder.name}: {key} must be {kind}"
        else:
            assert not required, f"{folder.name}: baseline.toml lacks {key}"
    for key in ("tasks", "ci_gin_params", "data", "ci_datasets"):
        assert all(isinstance(item, str) for item in declared.get(key, [])), f"{folder.name}: {key} holds strings"
    return declared


@pytest.fixture
def all_plugins(monkeypatch):
    """Every installed plugin loaded in this process (the core's tests load only the built-ins)."""
    from a2perf_core.plugins import set_plugins

    monkeypatch.delenv("A2PERF_LOAD_PLUGINS")
    set_plugins(None)


@pytest.fixture(scope="module")
def registered_tasks() -> dict[str, dict[str, Any]]:
    """task id -> its row of ``a2perf tasks --json``, with every installed plugin loaded."""
    result = a2perf("tasks", "--json")
    assert result.returncode == 0, result.stderr
    return {row["id"]: row for row in json.loads(result.stdout)}


def test_baselines_are_discovered():
    assert {"random", "web_rule_based", "quadruped_pretrained", "quadruped_reference_tracking"} <= {
        p.name for p in BASELINES
    }


@pytest.mark.parametrize("folder", BASELINES, ids=lambda p: p.name)
def test_declaration_names_registered_tasks_and_data(folder, registered_tasks, all_plugins):
    from a2perf_core.data import get_asset

    declared = read_declaration(folder)
    for asset in declared.get("data", []):
        get_asset(asset)  # an unknown name raises, with close matches
    assert declared["tasks"], f"{folder.name}: tasks is empty"
    for pattern in declared["tasks"]:
        assert fnmatch.filter(registered_tasks, pattern), f"{folder.name}: {pattern!r} matches no registered task"
    ci_task = declared["ci_task"]
    assert ci_task in registered_tasks, f"{folder.name}: ci_task {ci_task!r} is not a registered task"
    assert any(fnmatch.fnmatchcase(ci_task, p) for p in declared["tasks"]), f"{folder.name}: ci_task not in tasks"
    assert declared["budget"] >= 0 and declared["ci_train_steps"] >= 0
    assert (declared["budget"] == 0) == (declared["ci_train_steps"] == 0), (
        f"{folder.name}: a baseline that trains (budget > 0) trains in CI too, and one that does not, not at all"
    )
    assert declared["ci_train_steps"] <= declared["budget"], f"{folder.name}: the CI budget exceeds the full one"


@pytest.mark.parametrize("folder", BASELINES, ids=lambda p: p.name)
def test_a2perf_validate_accepts_it(folder):
    result = a2perf("validate", str(folder))
    assert result.returncode == 0, f"{folder.name}: {result.stdout}{result.stderr}"
    assert "valid" in result.stdout


def env_steps(log: Path) -> int:
    """Env steps a training log accounts for: the ``global_step`` of its last episode (none without a log)."""
    if not log.exists():
        return 0
    with log.open() as f:
        rows = list(csv.DictReader(f))
    return int(rows[-1]["global_step"]) if rows else 0


@pytest.mark.slow
@pytest.mark.parametrize("folder", BASELINES, ids=lambda p: p.name)
def test_runs_every_phase_on_its_ci_task_within_its_budget(folder, registered_tasks, all_plugins, tmp_path, request):
    from a2perf_core.testing_data import fetched_file, missing_prerequisite

    declared = read_declaration(folder)
    task, steps = declared["ci_task"], declared["ci_train_steps"]
    row = registered_tasks[task]
    if not row["data_present"]:
        missing_prerequisite(f"{task} needs data: a2perf data fetch {' '.join(row['missing_data'])}")
    for asset in declared.get("data", []):
        fetched_file(asset)
    gin = [
        *CI_GIN_PARAMS,
        f"RunSettings.generalization_tasks = [{task!r}]",
        *([f"RunSettings.num_train_steps = {steps}"] if steps else []),
        *declared.get("ci_gin_params", []),
    ]
    if declared.get("ci_datasets"):
        write_random_datasets(request.getfixturevalue("minari_dataset"), declared["ci_datasets"], task)
        gin.append(f"RunSettings.datasets = {declared['ci_datasets']!r}")
    out = tmp_path / "run"
    args = ["run", str(folder), "--task", task, "--out", str(out), "--timeout", "300"]
    for binding in gin:
        args += ["--gin-param", binding]
    result = a2perf(*args, timeout=900, A2PERF_DISABLE_PLUGINS=CI_DISABLED_PLUGINS)
    assert result.returncode == 0, f"{folder.name}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
    phases = json.loads((out / "run.json").read_text())["phases"]
    assert {p: r["status"] for p, r in phases.items()} == {"train": "ok", "inference": "ok", "generalization": "ok"}
    used = env_steps(out / "train_log.csv")
    assert used <= steps, f"{folder.name}: trained {used} env steps on a budget of {steps}"
    if steps:
        assert used > 0, f"{folder.name}: a baseline with a budget trains"
    if not phases["inference"]["step_cap_reached"]:
        assert len((out / "inference_episodes.csv").read_text().splitlines()) == 3


def write_random_datasets(write_dataset: Any, dataset_ids: list[str], task: str) -> None:
    """Each of ``dataset_ids``: three episodes of random legal actions on ``task``, by the ``minari_dataset``
    fixture's ``write_dataset``."""
    from a2perf_core.envs import make
    from a2perf_core.wrappers import action_mask

    env = make(task)
    rng = np.random.default_rng(0)
    masked = callable(getattr(env.unwrapped, "action_masks", None))

    def act(observation: Any) -> Any:
        if masked:
            return int(rng.choice(np.flatnonzero(action_mask(env))))
        return env.action_space.sample()

    for dataset_id in dataset_ids:
        write_dataset(dataset_id, env, act, episodes=3)
    env.close()


def load_baseline_inference(name: str) -> ModuleType:
    """A baseline's ``inference.py``, imported by path as the runner imports it."""
    path = BASELINES_DIR / name / "inference.py"
    spec = importlib.util.spec_from_file_location(f"baseline_{name}_inference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


QUADRUPED_TASK = "QuadrupedLocomotion-DogPace-v1"
#: the standing Laikago's body is about 0.44 m above the ground; upright means near that, and level
UPRIGHT_HEIGHT_M = (0.35, 0.55)
UPRIGHT_MAX_TILT_RAD = 0.3


@pytest.fixture
def quadruped_env(a2perf_data, all_plugins):
    """The DogPace task as ``a2perf run`` makes it; Peng et al.'s policy for it fetched into the cache
    when missing (as ``a2perf data fetch`` does)."""
    pytest.importorskip("a2perf_quadruped_locomotion")
    from a2perf_core.envs import make
    from a2perf_core.testing_data import fetched_file

    a2perf_data("quadruped-dog-pace")
    fetched_file("quadruped-policy-dog-pace")
    env = make(QUADRUPED_TASK)
    yield env
    env.close()


def body_pose(env) -> tuple[float, float, float]:
    """(height of the body above the ground in m, roll, pitch in rad) of the simulated robot."""
    import pybullet as p
    from a2perf_quadruped_locomotion import rotations
    from a2perf_quadruped_locomotion.env import imu_quaternion

    client = env.unwrapped.physics_client
    robot = next(b for b in range(p.getNumBodies(physicsClientId=client)) if p.getNumJoints(b, physicsClientId=client))
    position, orientation = p.getBasePositionAndOrientation(robot, physicsClientId=client)
    roll, pitch = rotations.roll_pitch(imu_quaternion(orientation))
    return float(position[2]), float(roll), float(pitch)


def play(env, act, seed: int, max_steps: int, watch=None) -> tuple[list[float], bool]:
    """Rewards of one episode played with ``act(observation)`` for at most ``max_steps`` steps, and
    whether it terminated (the robot fell). ``watch(env)`` is called after every step."""
    observation, _ = env.reset(seed=seed)
    rewards = []
    for _ in range(max_steps):
        observation, reward, terminated, truncated, _ = env.step(act(observation))
        rewards.append(float(reward))
        if watch is not None:
            watch(env)
        if terminated or truncated:
            return rewards, terminated
    return rewards, False


def upright_steps(env, act, seed: int, steps: int) -> tuple[int, bool]:
    """Steps the robot stayed upright (height and tilt within bounds, not terminated), and whether it
    stayed so for all ``steps``."""
    poses = []
    rewards, terminated = play(env, act, seed, steps, watch=lambda e: poses.append(body_pose(e)))
    low, high = UPRIGHT_HEIGHT_M
    for i, (height, roll, pitch) in enumerate(poses):
        if not (low < height < high and abs(roll) < UPRIGHT_MAX_TILT_RAD and abs(pitch) < UPRIGHT_MAX_TILT_RAD):
            return i, False
    return len(poses), not terminated and len(poses) == steps


def baseline_actor(name: str, env, **load_kwargs):
    """``observation -> action`` through the baseline's own ``load_policy``, ``preprocess_observation``
    and ``infer_once``, as the inference phase calls them (nothing is told of episode starts)."""
    inference = load_baseline_inference(name)
    policy = inference.load_policy(env, **load_kwargs)
    return lambda observation: inference.infer_once(policy, inference.preprocess_observation(observation))


@pytest.mark.slow
def test_quadruped_pretrained_policy_stays_upright(quadruped_env, capsys):
    """200 steps on DogPace from each of two seeds: the trained policy keeps the body at standing height and
    level, and never falls; open-loop tracking, the same check's counter-example, does not."""
    env = quadruped_env
    trained = baseline_actor("quadruped_pretrained", env, task_id=QUADRUPED_TASK)
    open_loop = baseline_actor("quadruped_reference_tracking", env)
    results = {seed: upright_steps(env, trained, seed, 200) for seed in (0, 1)}
    fallen = upright_steps(env, open_loop, 0, 200)
    with capsys.disabled():
        print(f"\nDogPace-v1 upright steps of 200: trained {results}, open loop {fallen}")
    assert all(whole for _, whole in results.values()), results
    assert not fallen[1], "open-loop tracking fell in every measurement so far: the upright check is too loose"


@pytest.mark.slow
def test_open_loop_tracking_earns_more_per_step_than_the_zero_action(quadruped_env, capsys):
    """Mean reward per step over the first 100 steps of three seeded DogPace episodes (or until the
    robot falls). The baseline's policy is called through ``infer_once`` alone across episodes, so it
    must notice each new episode itself."""
    from a2perf_quadruped_locomotion.policies import zero_policy

    env = quadruped_env
    open_loop = baseline_actor("quadruped_reference_tracking", env)
    tracking = [play(env, open_loop, seed, 100)[0] for seed in range(3)]
    zero = [play(env, zero_policy, seed, 100)[0] for seed in range(3)]
    per_step = {
        name: float(sum(map(sum, runs)) / sum(map(len, runs)))
        for name, runs in (("tracking", tracking), ("zero", zero))
    }
    with capsys.disabled():
        print(
            f"\nDogPace-v1 reward per step: open loop {per_step['tracking']:.3f} (episode lengths "
            f"{[len(r) for r in tracking]}), zero action {per_step['zero']:.3f}"
        )
    assert per_step["tracking"] > per_step["zero"]


class CountingEnv:
    """A tiny env for the random baseline: ``Discrete(6)`` with actions 2 and 4 legal, 3-step episodes;
    it counts steps and resets and remembers every action."""

    def __init__(self, masked: bool = True) -> None:
        from gymnasium import spaces

        self.action_space = spaces.Discrete(6)
        self.unwrapped = self
        if masked:
            self.action_masks = lambda: np.array([0, 0, 1, 0, 1, 0], bool)
        self.steps, self.resets, self.actions, self.closed = 0, 0, [], False

    def reset(self, seed=None):
        self.resets += 1
        self._t = 0
        return 0, {}

    def step(self, action):
        self.steps += 1
        self._t += 1
        self.actions.append(int(action))
        return 0, 0.0, self._t == 3, False, {}

    def close(self):
        self.closed = True


def random_baseline_train(monkeypatch, env: CountingEnv, budget: int | None):
    """Run the random baseline's ``train()`` on ``env``, with ``budget`` as the run's step budget."""
    from a2perf_core import participant

    monkeypatch.setitem(sys.modules, "inference", load_baseline_inference("random"))
    monkeypatch.setattr(participant, "make_env", lambda **kwargs: env)
    if budget is None:
        monkeypatch.delenv("A2PERF_NUM_TRAIN_STEPS", raising=False)
    else:
        monkeypatch.setenv("A2PERF_NUM_TRAIN_STEPS", str(budget))
    spec = importlib.util.spec_from_file_location("baseline_random_train", BASELINES_DIR / "random" / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.train()
    return module


@pytest.mark.parametrize("budget", [1, 10, 12])
def test_random_baseline_trains_exactly_its_budget_with_legal_actions(monkeypatch, budget):
    env = CountingEnv()
    random_baseline_train(monkeypatch, env, budget)
    assert env.steps == budget
    assert env.resets == -(-budget // 3)  # 3-step episodes, the last one cut off by the budget
    assert set(env.actions) <= {2, 4} and env.closed


def test_random_baseline_without_a_budget_plays_its_default(monkeypatch):
    env = CountingEnv()
    module = random_baseline_train(monkeypatch, env, None)
    assert env.steps == module.DEFAULT_TRAIN_STEPS


def test_random_baseline_draws_every_legal_action_and_only_those():
    inference = load_baseline_inference("random")
    masked = inference.load_policy(CountingEnv(), seed=0)
    assert {inference.infer_once(masked, None) for _ in range(200)} == {2, 4}
    free = inference.load_policy(CountingEnv(masked=False), seed=0)
    assert {int(inference.infer_once(free, None)) for _ in range(200)} == set(range(6))


def test_random_baseline_is_reproducible_from_its_seed():
    inference = load_baseline_inference("random")

    def draws(seed: int, masked: bool) -> list[int]:
        policy = inference.load_policy(CountingEnv(masked=masked), seed=seed)
        return [int(inference.infer_once(policy, None)) for _ in range(30)]

    for masked in (True, False):
        assert draws(0, masked) == draws(0, masked)
        assert draws(0, masked) != draws(1, masked)


def test_the_readme_main_job_compares_two_baselines_on_the_default_task():
    """``a2perf sweep baselines/first-look.toml`` (the README's first command): baselines that the test
    above runs, on the task that needs no download, over several seeds."""
    from a2perf_core.sweep.spec import make_spec, read_spec_file

    readme = (BASELINES_DIR.parent / "README.md").read_text()
    assert "a2perf sweep baselines/first-look.toml" in readme
    spec = make_spec(read_spec_file(BASELINES_DIR / "first-look.toml"))
    assert {Path(s).name for s in spec.submissions} == {"random", "circuit_annealing"}
    assert all(Path(s).parent == BASELINES_DIR for s in spec.submissions)
    assert spec.tasks == ("CircuitTraining-Synthetic-v0",) and len(spec.seeds) >= 3
    assert spec.phase == "all"


def test_the_baselines_readme_lists_every_baseline():
    text = (BASELINES_DIR / "README.md").read_text()
    assert [p.name for p in BASELINES if f"| `{p.name}` |" not in text] == []


def test_the_baseline_sweeps_name_only_baselines_of_their_domain():
    """``nox -s baselines`` sweeps ``baselines/sweeps/<domain>.toml`` for docs/baselines: each names baseline
    folders that declare its tasks."""
    from a2perf_core.sweep.spec import make_spec, read_spec_file

    specs = sorted((BASELINES_DIR / "sweeps").glob("*.toml"))
    domains = {"circuit_training", "web_navigation", "quadruped_locomotion"}
    assert {p.stem.removesuffix("_bc") for p in specs} == domains
    for path in specs:
        spec = make_spec(read_spec_file(path))
        for submission in spec.submissions:
            folder = Path(submission)
            assert folder in BASELINES, f"{path.name}: {submission} is not a baseline folder"
            patterns = read_declaration(folder)["tasks"]
            assert all(any(fnmatch.fnmatchcase(t, p) for p in patterns) for t in spec.tasks), (path.name, folder.name)


def test_each_offline_baseline_sweep_declares_a_dataset_nox_collects():
    """A ``<domain>_bc.toml`` sweep runs on the offline track from datasets ``nox -s baselines`` collects
    first (``BC_DATASETS`` in noxfile.py): a declared id nox does not make would stop the sweep."""
    import ast

    from a2perf_core.sweep.spec import make_spec, read_spec_file

    tree = ast.parse((BASELINES_DIR.parent / "noxfile.py").read_text())
    value = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "BC_DATASETS"
    )
    collected = {
        domain: {f"a2perf/{d['task']}/{d['skill']}-v0" for d in entries}
        for domain, entries in ast.literal_eval(value).items()
    }
    offline_specs = sorted((BASELINES_DIR / "sweeps").glob("*_bc.toml"))
    assert offline_specs
    for path in offline_specs:
        spec = make_spec(read_spec_file(path))
        params = " ".join(spec.gin_params)
        assert "RunSettings.offline = True" in params, path.name
        declared = set(re.findall(r"a2perf/[^'\"]+", params))
        assert declared and declared <= collected[path.stem.removesuffix("_bc")], path.name
