"""The ``ray`` executor: resource requests per domain, and the acceptance grid (2 submissions x 2 tasks x
3 seeds) run with ``local`` and with ``ray`` on one local Ray instance (``num_cpus=2``, started once for
this module), giving the same run folders and the same deterministic database rows."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from a2perf_ray.resources import DOMAIN_RESOURCES, RESOURCES_ENV, CellResources, resources_for
from click.testing import CliRunner

from a2perf_core.api import A2PerfError

TASKS = ("CircuitTraining-Synthetic-v0", "CircuitTraining-ToyMacro-v0")
PLUGINS = "a2perf-circuit-training,a2perf-reliability,a2perf-ray"


def test_a_web_navigation_run_asks_for_a_browser_and_others_for_a_core():
    web = resources_for("web_navigation", environ={})
    assert web.ray_options() == {"num_cpus": 1, "memory": 2048 * 1024 * 1024, "resources": {"browser": 1}}
    assert resources_for("quadruped_locomotion", environ={}).ray_options() == {"num_cpus": 1, "memory": 1024**3}
    assert resources_for("someone_elses_domain", environ={}) == CellResources()
    assert set(DOMAIN_RESOURCES) == {"circuit_training", "quadruped_locomotion", "web_navigation"}


def test_the_environment_replaces_a_domains_request():
    environ = {RESOURCES_ENV: '{"quadruped_locomotion": {"num_cpus": 4, "memory_mib": 4096}}'}
    assert resources_for("quadruped_locomotion", environ) == CellResources(num_cpus=4, memory_mib=4096)
    assert resources_for("web_navigation", environ) == DOMAIN_RESOURCES["web_navigation"]
    for bad in ("{", '{"x": 1}', '{"x": {"num_cpus": -1}}', '{"x": {"gpus": 1}}'):
        with pytest.raises(A2PerfError, match=RESOURCES_ENV):
            resources_for("x", {RESOURCES_ENV: bad})


def test_the_plugin_registers_the_ray_executor(a2perf_plugins):
    from a2perf_ray import plugin

    plugins = a2perf_plugins(plugin)
    assert plugins.registry.executors["ray"].spec.factory == "a2perf_ray.executor:RayExecutor"


def test_results_uri_must_hold_the_run_folders(tmp_path):
    from a2perf_ray.executor import RayExecutor

    from a2perf_core.api import RunRequest, RunSettings

    with pytest.raises(A2PerfError, match="not a directory"):
        RayExecutor(results_uri=str(tmp_path / "absent"))
    (tmp_path / "shared").mkdir()
    executor = RayExecutor(results_uri=str(tmp_path / "shared"))
    request = RunRequest(RunSettings("T-v0", "s"), tmp_path / "elsewhere" / "seed_0")
    with pytest.raises(A2PerfError, match="is not inside it; put the sweep folder"):
        list(executor.execute([request]))


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance for the module, started after the environment its workers inherit is set."""
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("A2PERF_LOAD_PLUGINS", PLUGINS)
        from a2perf_core.plugins import set_plugins

        old = set_plugins(None)
        from a2perf_ray.executor import start_local_ray

        start_local_ray(num_cpus=2)
        try:
            yield ray
        finally:
            ray.shutdown()
            set_plugins(old)


def submissions(tmp_path: Path) -> list[Path]:
    """The bundled example and a second tiny submission (one training episode instead of three)."""
    from a2perf_core.runner.cli import example_submission

    example = tmp_path / "example"
    tiny = tmp_path / "tiny"
    for target in (example, tiny):
        shutil.copytree(example_submission(), target, ignore=shutil.ignore_patterns("__pycache__"))
    train = tiny / "train.py"
    train.write_text(train.read_text().replace("num_episodes: int = 3", "num_episodes: int = 1"))
    return [example, tiny]


def sweep(out: Path, subs: list[Path], *extra: str):
    from a2perf_core.cli import main

    args = ["sweep", "--phase", "train", "--seeds", "0-2", "--out", str(out), "--results-root", str(out)]
    args += [a for s in subs for a in ("--submission", str(s))] + [a for t in TASKS for a in ("--task", t)]
    return CliRunner().invoke(main, [*args, *extra])


def run_files(out: Path) -> dict[str, set[str]]:
    """Run folder (relative) -> the names of the files in it."""
    return {
        str(run_json.parent.relative_to(out)): {p.name for p in run_json.parent.iterdir()}
        for run_json in out.glob("*/*/seed_*/run.json")
    }


def deterministic_rows(out: Path) -> list[tuple]:
    """Every database row that does not depend on when or how fast the run went."""
    with sqlite3.connect(out / "results.sqlite") as db:
        runs = db.execute(
            "SELECT path, submission, content_hash, task, seed, status, settings_hash, gin_config_hash FROM runs"
        ).fetchall()
        phases = db.execute(
            "SELECT r.path, p.phase, p.status FROM phases p JOIN runs r USING (run_id) ORDER BY r.path"
        ).fetchall()
        values = db.execute(
            "SELECT r.path, v.name, v.phase, v.value_json FROM metric_values v JOIN runs r USING (run_id) "
            "WHERE v.metric_group != 'system' ORDER BY r.path, v.name, v.phase"
        ).fetchall()
    return sorted(runs) + sorted(phases) + sorted(values)


@pytest.mark.slow
def test_the_grid_gives_the_same_runs_with_local_and_with_ray(ray_instance, tmp_path):
    subs = submissions(tmp_path)
    local, ray_out = tmp_path / "local", tmp_path / "ray"
    assert sweep(local, subs, "--jobs", "2").exit_code == 0
    result = sweep(ray_out, subs, "--executor", "ray")
    assert result.exit_code == 0, result.output
    assert len(run_files(local)) == 12
    assert run_files(ray_out) == run_files(local)
    rows = deterministic_rows(local)
    assert len([r for r in rows if len(r) == 8]) == 12
    assert any(name.startswith("reliability.") for *_, name, _, _ in [r for r in rows if len(r) == 4])
    assert deterministic_rows(ray_out) == rows
    for run_dir in ray_out.glob("*/*/seed_*"):
        contention = json.loads((run_dir / "run.json").read_text())["contention"]
        assert contention == {"executor": "ray", "jobs": 2, "shared_machine": True}
    manifest = json.loads((ray_out / "sweep.json").read_text())
    assert manifest["executor"] == "ray" and {c["status"] for c in manifest["cells"].values()} == {"done"}


@pytest.mark.slow
def test_a_resumed_cell_travels_to_the_node_and_back(ray_instance, tmp_path):
    """A gathered run continued from its folder: the train phase kept, inference added on the node."""
    import attrs
    from a2perf_ray.executor import RayExecutor

    from a2perf_core.metrics import INFERENCE_EPISODES
    from a2perf_core.runner.executor import RunRequest, contention, execute_request
    from a2perf_core.settings import resolve_run_settings

    [example, _] = submissions(tmp_path)
    run_dir = tmp_path / "run"
    gin = ["RunSettings.num_inference_episodes=1", "RunSettings.num_warmup_calls=0"]
    train = resolve_run_settings(str(example), task=TASKS[0], phase="train", seed=3, gin_params=gin)
    execute_request(RunRequest(train, run_dir), contention("local", 1))
    train_attempt = json.loads((run_dir / "run.json").read_text())["phases"]["train"]["attempt"]
    both = attrs.evolve(train, phases=("train", "inference"))
    [outcome] = list(RayExecutor().execute([RunRequest(both, run_dir, resume=True)]))
    record = json.loads((run_dir / "run.json").read_text())
    assert outcome.run_dir == run_dir.resolve() and outcome.ok, outcome.phases
    assert record["phases"]["train"]["resumed"] and record["phases"]["train"]["attempt"] == train_attempt
    assert record["phases"]["inference"]["status"] == "ok" and (run_dir / INFERENCE_EPISODES).exists()
    assert record["contention"]["executor"] == "ray"


def checkpoint(folder: Path, submission: Path) -> Path:
    """A run folder as far as collecting from it reads one: its task, the code it trained, a finished train."""
    from a2perf_core.runner.results import submission_content_hash

    folder.mkdir(parents=True)
    info = {
        "task": TASKS[0],
        "seed": 0,
        "submission": {"reference": str(submission), "content_hash": submission_content_hash(submission)},
        "phases": {"train": {"status": "ok", "wall_time_s": 1.0}},
    }
    (folder / "run.json").write_text(json.dumps(info))
    return folder


@pytest.mark.slow
def test_a_dataset_collected_on_ray_equals_the_local_one(ray_instance, tmp_path, monkeypatch):
    """Two checkpoints' rollouts as Ray tasks give the dataset the local pool gives, episode by episode."""
    import numpy as np

    from a2perf_core.cli import main

    minari = pytest.importorskip("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    random = Path(__file__).resolve().parents[3] / "baselines" / "random"
    runs = [checkpoint(tmp_path / f"ckpt{i}", random) for i in range(2)]
    collect = ["data", "collect", "--task", TASKS[0], "--skill", "novice", "--episodes", "3", "--seed", "4"]
    collect += ["--declared", "--no-energy", *(a for run in runs for a in ("--policy", str(run)))]
    local = CliRunner().invoke(main, [*collect, "--jobs", "2"])
    assert local.exit_code == 0, local.output
    on_ray = CliRunner().invoke(main, [*collect, "--version", "1", "--executor", "ray"])
    assert on_ray.exit_code == 0, on_ray.output
    ids = [f"a2perf/{TASKS[0]}/novice-v{version}" for version in (0, 1)]
    local_episodes, ray_episodes = (list(minari.load_dataset(i).iterate_episodes()) for i in ids)
    assert len(local_episodes) == len(ray_episodes) == 3
    for one, other in zip(local_episodes, ray_episodes, strict=True):
        assert one.id == other.id
        np.testing.assert_array_equal(one.actions, other.actions)
        np.testing.assert_array_equal(one.rewards, other.rewards)
        np.testing.assert_array_equal(one.observations["mask"], other.observations["mask"])
    costs = [json.loads(minari.load_dataset(i).storage.metadata["a2perf_data_cost"]) for i in ids]
    assert [c["sources"][0]["env_steps"] for c in costs] == [36, 36]
    assert costs[1]["sources"][0]["wall_time_s"] > 0 and costs[1]["sources"][0]["energy_kwh"] is None


@pytest.mark.slow
def test_a_call_that_fails_on_ray_raises_its_own_exception(ray_instance):
    """A task's exception reaches the driver as itself (type and message), not as Ray's wrapper, so
    collection's one-line error names what the policy raised."""
    from a2perf_ray.executor import RayExecutor

    results = RayExecutor().map(json.loads, ["[1]", "{"])
    assert next(results) == [1]
    with pytest.raises(json.JSONDecodeError, match=r"^Expecting .*: line 1 column 2 \(char 1\)$") as info:
        next(results)
    assert type(info.value) is json.JSONDecodeError
