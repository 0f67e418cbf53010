"""summary.json: a failed seed counts as failed in every aggregate, and paths are relative."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.runner.summary import run_status, summarize


def run_dir(root: Path, seed: int, phases: dict[str, dict], latency_ms: float | None) -> Path:
    directory = root / f"seed_{seed}"
    directory.mkdir(parents=True)
    info = {"seed": seed, "phases_requested": ["train", "inference"], "phases": phases}
    (directory / "run.json").write_text(json.dumps(info))
    values = (
        []
        if latency_ms is None
        else [{"name": "latency.mean", "value": latency_ms, "unit": "ms", "phase": "inference"}]
    )
    (directory / "metrics.json").write_text(json.dumps(values))
    return directory


OK = {"train": {"status": "ok"}, "inference": {"status": "ok"}}


def test_a_failed_seed_makes_every_aggregate_undefined_and_says_why(tmp_path):
    crashed = {"train": {"status": "ok"}, "inference": {"status": "failed", "reason": "exit code -11 (SIGSEGV)"}}
    dirs = [run_dir(tmp_path, 0, OK, 2.0), run_dir(tmp_path, 1, crashed, 1.0), run_dir(tmp_path, 2, OK, 4.0)]
    summary = summarize(dirs, tmp_path)
    assert summary["run_status"]["seed_1"] == {
        "status": "failed",
        "seed": 1,
        "failed_phases": {"inference": "failed: exit code -11 (SIGSEGV)"},
    }
    assert summary["run_status"]["seed_0"]["status"] == "ok" and summary["n_failed"] == 1
    latency = next(a for a in summary["aggregate"] if a["name"] == "latency.mean")
    assert latency["mean"] is None and latency["std"] is None and latency["n_failed"] == 1
    assert "1 of 3 runs failed (seed_1: inference failed: exit code -11 (SIGSEGV))" in latency["reason"]
    assert latency["values"] == {"seed_0": 2.0, "seed_1": 1.0, "seed_2": 4.0}
    assert json.loads((tmp_path / "summary.json").read_text())["aggregate"] == summary["aggregate"]


def test_without_failures_the_aggregate_is_mean_and_std(tmp_path):
    dirs = [run_dir(tmp_path, 0, OK, 2.0), run_dir(tmp_path, 1, OK, 4.0)]
    latency = next(a for a in summarize(dirs, tmp_path)["aggregate"] if a["name"] == "latency.mean")
    assert (latency["mean"], latency["n"], latency["n_failed"]) == (3.0, 2, 0)
    assert latency["std"] == 2**0.5 and "reason" not in latency


def test_a_run_that_stopped_before_a_requested_phase_is_failed(tmp_path):
    directory = run_dir(tmp_path, 0, {"train": {"status": "ok"}}, None)
    assert run_status(directory)["failed_phases"] == {"inference": "no record: the run stopped before this phase"}
    assert run_status(tmp_path / "never-started")["status"] == "failed"
    skipped = run_dir(tmp_path, 1, {"train": {"status": "ok"}, "inference": {"status": "skipped"}}, None)
    assert run_status(skipped)["status"] == "ok"


def test_paths_are_relative_to_the_results_root(tmp_path):
    elsewhere = run_dir(tmp_path / "other", 0, OK, 1.0)
    inside = run_dir(tmp_path / "results", 1, OK, 1.0)
    summary = summarize([inside, elsewhere], tmp_path / "results")
    assert summary["runs"] == ["seed_1", "../other/seed_0"]
    assert str(tmp_path) not in (tmp_path / "results" / "summary.json").read_text()


CRASH_ON_SEED_1 = """
from a2perf_core import participant

def load_policy(env, **kw):
    if participant.seed() == 1:
        raise RuntimeError("hard seed")
    return None

def preprocess_observation(observation):
    return observation

def infer_once(policy, observation):
    return 1
"""


def test_the_run_command_records_a_crashed_seed_in_the_summary(with_example_domain, tmp_path):
    root = tmp_path / "sub"
    root.mkdir()
    for name, text in {"__init__.py": "", "requirements.txt": "", "train.py": "def train():\n    pass\n"}.items():
        (root / name).write_text(text)
    (root / "inference.py").write_text(textwrap.dedent(CRASH_ON_SEED_1))
    out = tmp_path / "runs"
    args = [
        "run",
        str(root),
        "--task",
        "ExampleCorridor-v0",
        "--phase",
        "inference",
        "--seeds",
        "0,1",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == ["seed_0", "seed_1"]
    assert summary["run_status"]["seed_0"]["status"] == "ok"
    assert "hard seed" in summary["run_status"]["seed_1"]["failed_phases"]["inference"]
    wall = next(a for a in summary["aggregate"] if a["name"] == "wall_clock.inference")
    assert wall["mean"] is None and wall["n_failed"] == 1
