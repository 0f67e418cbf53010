"""The offline track and declared datasets: the manifest, the checks before a run starts, run.json's
``datasets``, the results index, and the harness refusing every env factory in an offline train phase.

The hostile submissions (``tests/hostile/offline_*``) make an env in train() in three ways; each one
runs without ``--offline`` first, where making the env is fine, so the refusal is the track's doing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2perf_core import offline
from a2perf_core.cli import main
from a2perf_core.errors import A2PerfError

#: the data cost the ``minari_dataset`` fixture records (written out here: the test compares against it)
DATASET_COST = {"energy_kwh": 0.001, "env_steps": 0, "wall_time_s": 1.5, "sources": []}

pytest.importorskip("minari")

HOSTILE = Path(__file__).resolve().parent / "hostile"
TASK = "ExampleCorridor-v0"
EXPERT = f"a2perf/{TASK}/expert-v0"
FEW = (
    "--gin-param",
    "RunSettings.num_inference_episodes=1",
    "--gin-param",
    "RunSettings.num_generalization_episodes=1",
)
#: the train phase alone: what the offline track is about
TRAIN = ("--phase", "train")


@pytest.fixture
def expert_dataset(minari_dataset, with_example_domain) -> str:
    """Two episodes of always stepping right in the corridor, with a data cost."""
    from a2perf_example_domain.corridor import CorridorEnv

    minari_dataset(EXPERT, CorridorEnv(), lambda observation: 1, episodes=2)
    return EXPERT


def hostile(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(HOSTILE / name, tmp_path / name))


def run_cli(*args: str):
    return CliRunner().invoke(main, ["run", *args], catch_exceptions=False)


def run_json(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


def test_manifest_ids_come_after_the_settings_ones_each_once(tmp_path):
    (tmp_path / offline.MANIFEST).write_text("# expert data\na2perf/T-v0/expert-v0\n\n  a2perf/T-v0/novice-v0  # ok\n")
    assert offline.read_manifest(tmp_path) == ["a2perf/T-v0/expert-v0", "a2perf/T-v0/novice-v0"]
    merged = offline.declared_ids(["a2perf/T-v0/novice-v0", "a2perf/T-v0/mixed-v0"], tmp_path)
    assert merged == ["a2perf/T-v0/novice-v0", "a2perf/T-v0/mixed-v0", "a2perf/T-v0/expert-v0"]
    assert offline.read_manifest(tmp_path / "nowhere") == []


def test_a_manifest_line_of_two_words_is_refused(tmp_path):
    (tmp_path / offline.MANIFEST).write_text("a2perf/T-v0/expert-v0 a2perf/T-v0/novice-v0\n")
    with pytest.raises(A2PerfError, match=r"datasets.txt:1: .* is not one dataset id"):
        offline.read_manifest(tmp_path)


def test_settings_datasets_is_a_list_of_strings():
    from a2perf_core.settings import RunSettings, SettingsError

    settings = RunSettings(task_id=TASK, submission="s")
    settings.datasets = ["a2perf/T-v0/expert-v0"]
    assert settings.datasets == ("a2perf/T-v0/expert-v0",)
    with pytest.raises(SettingsError, match="RunSettings.datasets must be a list of strings"):
        settings.datasets = [3]
    with pytest.raises(SettingsError, match="RunSettings.offline must be True or False"):
        settings.offline = "yes"


def test_a_missing_dataset_stops_the_run_before_it_starts(minari_root, with_example_domain, tmp_path):
    submission = hostile("offline_make_env", tmp_path)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(submission), "--task", TASK, "--out", str(out), "--offline"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and EXPERT in lines[0] and "a2perf data collect" in lines[0], result.output
    assert not (out / "run.json").exists()


def test_a_dataset_without_data_cost_is_refused(minari_dataset, with_example_domain, tmp_path):
    from a2perf_example_domain.corridor import CorridorEnv

    minari_dataset(EXPERT, CorridorEnv(), lambda observation: 1, episodes=1, cost=None)
    result = CliRunner().invoke(main, ["run", str(hostile("offline_make_env", tmp_path)), "--task", TASK, "--offline"])
    assert result.exit_code == 2
    assert "records no data cost" in result.output and "Traceback" not in result.output


def test_an_offline_run_without_datasets_is_refused(minari_root, with_example_domain, tmp_path):
    submission = hostile("offline_make_env", tmp_path)
    (submission / offline.MANIFEST).unlink()
    result = CliRunner().invoke(main, ["run", str(submission), "--task", TASK, "--offline"])
    assert result.exit_code == 2
    assert "the offline track trains from datasets only" in result.output


@pytest.mark.parametrize(
    ("name", "factory"),
    [("offline_gym_make", "gymnasium.make"), ("offline_make_env", "participant.make_env")],
)
def test_the_offline_track_refuses_a_train_that_makes_an_env(expert_dataset, tmp_path, name, factory):
    submission = hostile(name, tmp_path)
    online = run_cli(str(submission), "--task", TASK, "--out", str(tmp_path / "online"), *TRAIN)
    assert online.exit_code == 0, online.output
    out = tmp_path / "offline"
    result = run_cli(str(submission), "--task", TASK, "--out", str(out), "--offline", *TRAIN)
    assert result.exit_code == 1
    train = run_json(out)["phases"]["train"]
    assert train["status"] == "failed"
    assert train["reason"].startswith("train: OfflineTrackError: the offline track: train() may not make an env")
    assert factory in train["reason"] and "\n" not in train["reason"]


def test_a_train_that_catches_the_refusal_still_fails(expert_dataset, tmp_path):
    submission = hostile("offline_catches_refusal", tmp_path)
    assert run_cli(str(submission), "--task", TASK, "--out", str(tmp_path / "online"), *TRAIN).exit_code == 0
    out = tmp_path / "offline"
    result = run_cli(str(submission), "--task", TASK, "--out", str(out), "--offline", *TRAIN)
    assert result.exit_code == 1
    train = run_json(out)["phases"]["train"]
    assert train["status"] == "failed"
    assert train["reason"].startswith("train: the offline track: train() may not make an env (gymnasium.make of")
    assert (out / offline.VIOLATION_FILE).is_file()


def test_run_json_records_the_datasets_and_their_cost(expert_dataset, tmp_path):
    from a2perf_core.results.store import index_run, load_runs

    submission = hostile("offline_make_env", tmp_path)
    (submission / "train.py").write_text(
        "from a2perf_core import participant\n\n\ndef train():\n"
        "    found = [d.id for d in participant.datasets()]\n"
        f"    assert found == [{EXPERT!r}], found\n"
        "    assert participant.offline()\n"
    )
    out = tmp_path / "run"
    result = run_cli(str(submission), "--task", TASK, "--out", str(out), "--offline", *FEW)
    assert result.exit_code == 0, result.output
    record = run_json(out)
    assert record["datasets"] == [{"id": EXPERT, "data_cost": DATASET_COST}]
    assert record["settings"]["offline"] is True
    index_run(out, tmp_path / "results")
    (indexed,) = load_runs(tmp_path / "results")
    assert indexed.datasets == ({"id": EXPERT, "data_cost": DATASET_COST},)
    assert indexed.result_settings["offline"] is True


def test_resume_refuses_to_toggle_the_offline_track(expert_dataset, tmp_path):
    submission = hostile("offline_make_env", tmp_path)
    out = tmp_path / "run"
    first = run_cli(str(submission), "--task", TASK, "--out", str(out), "--offline", *TRAIN)
    assert first.exit_code == 1
    result = CliRunner().invoke(main, ["run", str(submission), "--task", TASK, "--out", str(out), "--resume"])
    assert result.exit_code == 2
    assert "holds a different run" in result.output and "offline True -> False" in result.output


def test_a_run_recorded_before_these_settings_existed_hashes_as_one_without_datasets():
    from a2perf_core.results.store import settings_hash

    new = {"num_train_steps": 10, "datasets": [], "offline": False}
    assert settings_hash({"num_train_steps": 10}) == settings_hash(new)
    assert settings_hash({**new, "offline": True}) != settings_hash(new)
    assert settings_hash({**new, "datasets": [EXPERT]}) != settings_hash(new)


def test_every_env_factory_refuses_in_an_offline_train_phase(with_example_domain, tmp_path, monkeypatch):
    import gymnasium as gym

    import a2perf_core
    from a2perf_core import participant

    monkeypatch.setenv("A2PERF_TASK_ID", TASK)
    monkeypatch.setenv("A2PERF_RECORDS_DIR", str(tmp_path))
    a2perf_core.register_envs()
    gym.make(TASK).close()  # not offline: fine
    monkeypatch.setenv(offline.OFFLINE_ENV, "1")
    calls = {
        "gymnasium.make": lambda: gym.make(TASK),
        "a2perf_core.make": lambda: a2perf_core.make(TASK),
        "participant.make_env": participant.make_env,
        "participant.make_env(evaluation=True)": lambda: participant.make_env(evaluation=True),
        "participant.make_vec_env": lambda: participant.make_vec_env(2),
    }
    for name, call in calls.items():
        with pytest.raises(offline.OfflineTrackError, match="the offline track: train.. may not make an env"):
            call()
        assert participant.offline(), name
    notes = (tmp_path / offline.VIOLATION_FILE).read_text().splitlines()
    assert len(notes) == len(calls)
    assert offline.violation(tmp_path) == notes[0]
    assert offline.violation(tmp_path / "elsewhere") is None
