"""``a2perf data collect``: datasets that load with plain Minari, replay to their recorded returns, and carry
a data cost equal to the collection's plus the generating runs' recorded training costs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from a2perf_core import datasets
from a2perf_core.cli import main
from a2perf_core.collection import collect, split_episodes
from a2perf_core.errors import A2PerfError
from a2perf_core.runner.executor import LocalExecutor
from a2perf_core.runner.results import submission_content_hash

minari = pytest.importorskip("minari")

TASK = "CircuitTraining-Synthetic-v0"
BASELINES = Path(__file__).resolve().parent.parent / "baselines"
RANDOM = BASELINES / "random"


@pytest.fixture
def root(tmp_path, monkeypatch):
    """Minari's root in the test's folder; the circuit tasks and the energy metric loaded (here and in the
    rollout processes, which inherit the environment)."""
    from a2perf_core.plugins import set_plugins

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    monkeypatch.setenv("A2PERF_LOAD_PLUGINS", "a2perf-circuit-training,a2perf-energy")
    old = set_plugins(None)
    yield tmp_path / "minari"
    set_plugins(old)


def replayed_returns(dataset) -> list[float]:
    """Each episode's actions played again from its recorded seed in an env Minari recovers from the dataset."""
    env = dataset.recover_environment()
    seeds = [m["seed"] for m in dataset.storage.get_episode_metadata(dataset.episode_indices)]
    returns = []
    for episode, seed in zip(dataset.iterate_episodes(), seeds, strict=True):
        env.reset(seed=int(seed))
        total = 0.0
        for action in episode.actions:
            _, reward, terminated, truncated, _ = env.step(int(action))
            total += float(reward)
        assert terminated or truncated
        returns.append(total)
    env.close()
    return returns


def check_dataset(result, episodes: int) -> None:
    dataset = minari.load_dataset(result.dataset_id)  # plain Minari, no a2perf code
    assert dataset.total_episodes == episodes
    assert dataset.total_steps == result.env_steps
    recorded = [float(np.sum(e.rewards)) for e in dataset.iterate_episodes()]
    assert recorded == pytest.approx(list(result.returns))
    assert replayed_returns(dataset) == pytest.approx(recorded)
    meta = datasets.metadata(dataset)
    assert meta[datasets.RETURNS_KEY]["episodes"] == pytest.approx(recorded)
    assert meta[datasets.ENV_KEY]["id"] == TASK and meta[datasets.ENV_KEY]["version"] == 0


def test_random_baseline_dataset_loads_and_replays(root):
    result = collect(TASK, str(RANDOM), skill="novice", episodes=3, seed=7, measure_energy=False)
    assert result.dataset_id == "a2perf/CircuitTraining-Synthetic-v0/novice-v0"
    check_dataset(result, 3)
    assert len(set(result.returns)) > 1  # random placements differ between seeds
    meta = datasets.metadata(result.dataset_id)
    assert meta[datasets.POLICY_KEY]["content_hash"] == submission_content_hash(RANDOM)
    assert meta[datasets.SKILL_KEY]["chosen_by"].startswith("declared")
    cost = datasets.data_cost(result.dataset_id)
    assert cost["env_steps"] == result.env_steps == 36  # 12 hard macros, one step each
    assert cost["energy_kwh"] is None  # not measured: never a number
    with pytest.raises(A2PerfError, match="exists"):
        collect(TASK, str(RANDOM), skill="novice", episodes=1, measure_energy=False)


@pytest.mark.slow
def test_greedy_baseline_dataset_replays(root):
    result = collect(TASK, str(BASELINES / "circuit_greedy"), skill="expert", episodes=2, measure_energy=False)
    check_dataset(result, 2)
    assert result.returns[0] == pytest.approx(result.returns[1])  # the greedy placement is deterministic


def training_run(folder: Path, *, energy: float | None, steps: int, wall: float, content_hash: str) -> Path:
    """A run folder as the runner leaves it, as far as its training cost goes."""
    folder.mkdir(parents=True)
    info = {
        "task": TASK,
        "seed": 0,
        "started": "2026-01-01T00:00:00Z",
        "submission": {"reference": str(RANDOM), "content_hash": content_hash},
        "phases": {"train": {"status": "ok", "wall_time_s": wall}, "inference": {"status": "ok"}},
    }
    (folder / "run.json").write_text(json.dumps(info))
    metrics = [{"name": "energy.total", "value": energy, "phase": "train"}] if energy is not None else []
    metrics.append({"name": "energy.total", "value": 99.0, "phase": "inference"})  # not training: not counted
    (folder / "metrics.json").write_text(json.dumps(metrics))
    with (folder / "train_log.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["global_step", "episode_return", "episode_length", "wall_time_s", "finished"])
        writer.writerows([[steps // 2, 0.0, steps // 2, 1.0, 1], [steps, 0.0, steps - steps // 2, 2.0, 0]])
    return folder


class RecordingExecutor:
    """The local executor's pool of two, keeping every rollout it sends back."""

    name = "recording"

    def __init__(self) -> None:
        self.rollouts: list = []

    def map(self, function, items):
        for rollout in LocalExecutor(jobs=2).map(function, items):
            self.rollouts.append(rollout)
            yield rollout


@pytest.mark.slow
def test_data_cost_is_collection_plus_generating_runs(root, tmp_path):
    digest = submission_content_hash(RANDOM)
    runs = [
        training_run(tmp_path / "a", energy=0.002, steps=1000, wall=30.0, content_hash=digest),
        training_run(tmp_path / "b", energy=0.003, steps=1500, wall=45.5, content_hash=digest),
    ]
    executor = RecordingExecutor()
    result = collect(TASK, str(RANDOM), skill="expert", episodes=3, from_runs=runs, executor=executor)
    check_dataset(result, 3)
    cost = datasets.data_cost(result.dataset_id)
    collection = cost["sources"][0]
    assert collection["kind"] == "collection" and collection["episodes"] == 3
    # the collection's cost is the sum of what each rollout measured in its own process
    rollouts = executor.rollouts
    assert len(rollouts) == 2 and all(r.energy_kwh > 0 and r.wall_time_s > 0 for r in rollouts)
    assert collection["energy_kwh"] == pytest.approx(sum(r.energy_kwh for r in rollouts))
    assert collection["env_steps"] == sum(r.env_steps for r in rollouts) == 36
    assert collection["wall_time_s"] == pytest.approx(sum(r.wall_time_s for r in rollouts))
    assert collection["elapsed_s"] >= max(r.wall_time_s for r in rollouts)
    assert cost["env_steps"] == 36 + 1000 + 1500
    assert cost["wall_time_s"] == pytest.approx(sum(r.wall_time_s for r in rollouts) + 30.0 + 45.5)
    assert cost["energy_kwh"] == pytest.approx(sum(r.energy_kwh for r in rollouts) + 0.002 + 0.003)
    assert [s["run"] for s in cost["sources"][1:]] == [str(r) for r in runs]
    assert datasets.metadata(result.dataset_id)[datasets.POLICY_KEY]["checkpoints"] == [str(r) for r in runs]


@pytest.mark.slow
def test_run_without_energy_leaves_the_sum_unmeasured(root, tmp_path):
    run = training_run(tmp_path / "a", energy=None, steps=100, wall=3.0, content_hash=submission_content_hash(RANDOM))
    result = collect(TASK, str(RANDOM), skill="novice", episodes=1, from_runs=[run])
    assert result.data_cost["sources"][0]["energy_kwh"] > 0
    assert result.data_cost["energy_kwh"] is None
    assert result.data_cost["env_steps"] == 12 + 100


def test_runs_of_other_code_or_tasks_are_refused(root, tmp_path):
    other = training_run(tmp_path / "other", energy=0.1, steps=10, wall=1.0, content_hash="sha256:" + "0" * 64)
    with pytest.raises(A2PerfError, match="not the one given") as info:
        collect(TASK, str(RANDOM), skill="expert", episodes=1, from_runs=[other], measure_energy=False)
    assert "\n" not in str(info.value)
    with pytest.raises(A2PerfError, match="not of 'CircuitTraining-ToyMacro-v0'"):
        collect("CircuitTraining-ToyMacro-v0", str(RANDOM), skill="expert", episodes=1, from_runs=[other])
    good = training_run(tmp_path / "good", energy=0.1, steps=10, wall=1.0, content_hash=submission_content_hash(RANDOM))
    with pytest.raises(A2PerfError, match="cannot cover 2 checkpoints"):
        collect(TASK, str(RANDOM), skill="x", episodes=1, from_runs=[good, good], measure_energy=False)
    with pytest.raises(A2PerfError, match="positive integer"):
        collect(TASK, str(RANDOM), skill="x", episodes=0)


def test_split_episodes():
    assert split_episodes(7, 3) == [3, 2, 2]
    assert split_episodes(2, 2) == [1, 1]


def evaluated_run(folder: Path, mean_return: float, digest: str) -> Path:
    training_run(folder, energy=0.001, steps=10, wall=1.0, content_hash=digest)
    with (folder / "inference_episodes.csv").open("w", newline="") as f:
        f.write(f"episode,return,length\n0,{mean_return - 1},12\n1,{mean_return + 1},12\n")
    return folder


def test_cli_collects_the_checkpoints_at_the_level(root, tmp_path):
    digest = submission_content_hash(RANDOM)
    runs = [evaluated_run(tmp_path / f"mid{i}", 5.0, digest) for i in range(8)]
    runs += [evaluated_run(tmp_path / "low", 0.0, digest), evaluated_run(tmp_path / "high", 10.0, digest)]
    result = CliRunner().invoke(
        main,
        ["data", "collect", "--task", TASK, "--skill", "expert", "--episodes", "2", "--no-energy"]
        + [arg for run in runs for arg in ("--policy", str(run))],
    )
    assert result.exit_code == 0, result.output
    dataset_id = "a2perf/CircuitTraining-Synthetic-v0/expert-v0"
    assert dataset_id in result.output
    meta = datasets.metadata(dataset_id)
    assert meta[datasets.POLICY_KEY]["checkpoints"] == [str(tmp_path / "high")]
    skill = meta[datasets.SKILL_KEY]
    assert skill["level"] == "expert" and skill["chosen_by"] == "evaluated return"
    assert skill["thresholds"]["checkpoints"] == 10
    assert datasets.data_cost(dataset_id)["env_steps"] == 24 + 10  # two episodes and the one run's training
    bad = CliRunner().invoke(main, ["data", "collect", "--task", TASK, "--skill", "novice", "--episodes", "1"])
    assert bad.exit_code == 2 and "--policy" in bad.output
    nowhere = CliRunner().invoke(
        main,
        ["data", "collect", "--task", TASK, "--policy", str(RANDOM), "--skill", "novice", "--episodes", "1"]
        + ["--executor", "nowhere"],
    )
    assert nowhere.exit_code == 2 and "unknown executor 'nowhere'; known executors: local" in nowhere.output


SEEDED_POLICY = '''
import json

import numpy as np

from a2perf_core import participant


def load_policy(env, **kwargs):
    """A random legal placement seeded by the checkpoint: each run folder is another policy."""
    return np.random.default_rng(json.loads((participant.run_dir() / "policy.json").read_text())["seed"])


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    return int(policy.choice(np.flatnonzero(observation["mask"])))
'''


def seeded_checkpoints(tmp_path: Path, count: int) -> tuple[Path, list[Path]]:
    """A submission whose checkpoints are different policies, and ``count`` run folders that trained it."""
    agent = tmp_path / "seeded"
    agent.mkdir()
    for name, text in {"__init__.py": "", "requirements.txt": "", "train.py": "def train():\n    pass\n"}.items():
        (agent / name).write_text(text)
    (agent / "inference.py").write_text(SEEDED_POLICY)
    digest = submission_content_hash(agent)
    runs = []
    for i in range(count):
        run = training_run(tmp_path / f"ckpt{i}", energy=0.001, steps=100, wall=2.0, content_hash=digest)
        (run / "policy.json").write_text(json.dumps({"seed": i}))
        runs.append(run)
    return agent, runs


@pytest.mark.slow
def test_fresh_evaluation_counts_in_the_data_cost(root, tmp_path):
    from a2perf_core.skills import evaluate

    agent, runs = seeded_checkpoints(tmp_path, 3)
    assignment = evaluate(TASK, str(agent), runs, episodes=2, seed=3, jobs=2, measure_energy=False)
    assert assignment.cost["env_steps"] == 3 * 2 * 12
    assert len(set(assignment.returns.values())) == 3  # three different policies
    choice = assignment.choice("intermediate")
    chosen = assignment.at("intermediate")
    result = collect(
        TASK,
        str(agent),
        skill="intermediate",
        episodes=2 * len(chosen),
        from_runs=chosen,
        seed=3,
        measure_energy=False,
        skill_choice=choice,
    )
    cost = datasets.data_cost(result.dataset_id)
    assert [s["kind"] for s in cost["sources"]] == ["collection", "skill evaluation", *["training"] * len(chosen)]
    assert cost["env_steps"] == result.env_steps + 72 + 100 * len(chosen)
    # the checkpoint's collected episodes replay its evaluation: same policy, same seeds
    first = result.returns[:2]
    assert sum(first) / 2 == pytest.approx(assignment.returns[chosen[0]])
    assert datasets.metadata(result.dataset_id)[datasets.SKILL_KEY]["evaluation"].startswith("fresh: 2 episodes")


def test_a_pool_of_two_collects_the_dataset_one_process_does(root, tmp_path):
    agent, runs = seeded_checkpoints(tmp_path, 2)
    options = {"skill": "expert", "episodes": 3, "from_runs": runs, "seed": 5, "measure_energy": False}
    alone = collect(TASK, str(agent), jobs=1, **options)
    pooled = collect(TASK, str(agent), version=1, executor=LocalExecutor(jobs=2), **options)
    episodes = [list(minari.load_dataset(r.dataset_id).iterate_episodes()) for r in (alone, pooled)]
    assert [len(e) for e in episodes] == [3, 3]
    for one, other in zip(*episodes, strict=True):
        assert one.id == other.id
        np.testing.assert_array_equal(one.actions, other.actions)
        np.testing.assert_array_equal(one.rewards, other.rewards)
    assert pooled.returns == alone.returns and len(set(alone.returns)) > 1
    seeds = [datasets.metadata(r.dataset_id)[datasets.RETURNS_KEY]["seeds"] for r in (alone, pooled)]
    assert seeds == [[5, 6, 7]] * 2


def test_an_executor_that_only_runs_whole_runs_is_a_one_line_error(root):
    class RunsOnly:
        name = "runs-only"

        def execute(self, requests, progress=None):
            return iter(())

    with pytest.raises(A2PerfError, match=r"executor 'runs-only' cannot roll out policies: it has no map") as info:
        collect(TASK, str(RANDOM), skill="novice", episodes=1, executor=RunsOnly(), measure_energy=False)
    assert "\n" not in str(info.value)
    assert datasets.dataset_id(TASK, "novice") not in minari.list_local_datasets()


def test_a_failing_policy_is_a_one_line_error(root, tmp_path):
    agent = tmp_path / "broken"
    agent.mkdir()
    for name, text in {"__init__.py": "", "requirements.txt": "", "train.py": "def train():\n    pass\n"}.items():
        (agent / name).write_text(text)
    (agent / "inference.py").write_text(
        "def load_policy(env, **kwargs):\n    return None\n\n\n"
        "def preprocess_observation(observation):\n    return observation\n\n\n"
        "def infer_once(policy, observation):\n    raise ValueError('no action today\\nsecond line')\n"
    )
    result = CliRunner().invoke(
        main,
        [
            "data",
            "collect",
            "--task",
            TASK,
            "--policy",
            str(agent),
            "--skill",
            "novice",
            "--episodes",
            "1",
            "--no-energy",
        ],
    )
    assert result.exit_code == 2
    assert "ValueError: no action today" in result.output
    assert "second line" not in result.output and "Traceback" not in result.output
    assert "a2perf/CircuitTraining-Synthetic-v0/novice-v0" not in minari.list_local_datasets()


def test_training_cost_reads_the_runs_own_records(tmp_path):
    run = training_run(tmp_path / "a", energy=0.25, steps=333, wall=7.5, content_hash="sha256:x")
    assert datasets.training_cost(run) == {"energy_kwh": 0.25, "env_steps": 333, "wall_time_s": 7.5}
    (run / "train_log.csv").unlink()  # a baseline that does not train makes no env
    (run / "metrics.json").unlink()
    assert datasets.training_cost(run) == {"energy_kwh": None, "env_steps": 0, "wall_time_s": 7.5}
    info = json.loads((run / "run.json").read_text())
    info["phases"]["train"]["status"] = "failed"
    (run / "run.json").write_text(json.dumps(info))
    with pytest.raises(A2PerfError, match="train phase 'failed'"):
        datasets.training_cost(run)
    assert datasets.total_cost([{"energy_kwh": 1.0, "env_steps": 2, "wall_time_s": 3.0}] * 2) == {
        "energy_kwh": 2.0,
        "env_steps": 4,
        "wall_time_s": 6.0,
    }


@pytest.mark.slow
def test_dataset_from_real_runs_charges_their_recorded_training(root, tmp_path):
    """Two real runs of the random baseline (60 training steps each), then a dataset from both."""
    out = tmp_path / "runs"
    ran = CliRunner().invoke(
        main,
        ["run", str(RANDOM), "--task", TASK, "--seeds", "0,1", "--out", str(out)]
        + ["--gin-param", "RunSettings.num_train_steps = 60", "--gin-param", "RunSettings.num_inference_episodes = 2"]
        + ["--gin-param", "RunSettings.num_generalization_episodes = 1"],
    )
    assert ran.exit_code == 0, ran.output
    runs = [out / "seed_0", out / "seed_1"]
    collected = CliRunner().invoke(
        main,
        ["data", "collect", "--task", TASK, "--skill", "intermediate", "--episodes", "2"]
        + ["--policy", str(runs[0]), "--policy", str(runs[1])],
    )
    assert collected.exit_code == 0, collected.output
    cost = datasets.data_cost("a2perf/CircuitTraining-Synthetic-v0/intermediate-v0")
    collection = cost["sources"][0]
    energy = [
        next(
            v["value"]
            for v in json.loads((r / "metrics.json").read_text())
            if v["name"] == "energy.total" and v["phase"] == "train"
        )
        for r in runs
    ]
    walls = [json.loads((r / "run.json").read_text())["phases"]["train"]["wall_time_s"] for r in runs]
    assert cost["env_steps"] == 2 * 12 + 60 + 60
    assert cost["energy_kwh"] == pytest.approx(collection["energy_kwh"] + sum(energy))
    assert cost["wall_time_s"] == pytest.approx(collection["wall_time_s"] + sum(walls))


def test_the_collect_command_prints_no_env_checker_warning(root):
    """Gymnasium's passive env checker warns about this task's constant observation entries, in the
    rollout process and where Minari makes the env: neither may reach the command's terminal."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "a2perf_core", "data", "collect", "--task", TASK, "--policy", str(RANDOM)]
    command += ["--skill", "novice", "--episodes", "1", "--no-energy"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "passive_env_checker" not in done.stderr + done.stdout
    assert datasets.dataset_id(TASK, "novice") in minari.list_local_datasets()
