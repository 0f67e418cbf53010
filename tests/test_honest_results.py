"""A run reports what really happened: no silent successes, no lost samples, no duplicated values,
and neither a broken metric nor a huge error message stops it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from a2perf_core.cli import main

HOSTILE = Path(__file__).resolve().parent / "hostile"
REPO = Path(__file__).resolve().parent.parent
TASK = "ExampleCorridor-v0"


def hostile(name: str, tmp_path: Path) -> Path:
    """A copy of ``tests/hostile/<name>`` (a run writes ``__pycache__`` into the submission)."""
    return Path(shutil.copytree(HOSTILE / name, tmp_path / name))


def run_cli(*args: str):
    return CliRunner().invoke(main, ["run", *args], catch_exceptions=False)


def run_json(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


METRICS_MODULE = '''
from a2perf_core.metrics import Metric, MetricValue


class PerPhaseMetric(Metric):
    """One value per phase from stop(), like the memory and energy plugins."""

    def stop(self, phase):
        return [MetricValue("probe.stopped", 1, "", "none", phase.phase)]


def broken_factory():
    raise RuntimeError("this metric cannot be created")
'''


def probe_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *metrics: tuple[str, str]) -> list[object]:
    """The example domain plus metric plugins whose factories live in a module written to ``tmp_path``."""
    from a2perf_example_domain import plugin as example_domain

    from a2perf_core.hookspecs import hookimpl
    from a2perf_core.specs import MetricSpec

    (tmp_path / "records_probe_metrics.py").write_text(METRICS_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))

    class ProbeMetrics:
        @hookimpl
        def a2perf_register_metrics(self, register):
            for name, factory in metrics:
                register(MetricSpec(name=name, factory=f"records_probe_metrics:{factory}"))

    return [example_domain, ProbeMetrics()]


def test_resume_after_a_failed_phase_does_not_duplicate_its_metrics(
    with_example_domain, a2perf_plugins, tmp_path, monkeypatch
):
    a2perf_plugins(*probe_plugins(tmp_path, monkeypatch, ("probe", "PerPhaseMetric")))
    submission = hostile("fails_until_marker", tmp_path)
    out = tmp_path / "run"
    args = [str(submission), "--task", TASK, "--out", str(out), "--gin-param", "RunSettings.num_inference_episodes=2"]
    first = run_cli(*args)
    assert first.exit_code == 1
    assert run_json(out)["phases"]["train"]["status"] == "failed"
    resumed = run_cli(*args, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert {p: r["status"] for p, r in run_json(out)["phases"].items()} == dict.fromkeys(
        ("train", "inference", "generalization"), "ok"
    )
    values = [(v["name"], v["phase"]) for v in json.loads((out / "metrics.json").read_text())]
    assert len(values) == len(set(values)), values
    assert values.count(("probe.stopped", "train")) == 1
    assert values.count(("wall_clock.train", "train")) == 1


def test_a_metric_whose_factory_raises_never_stops_the_run(with_example_domain, a2perf_plugins, tmp_path, monkeypatch):
    a2perf_plugins(*probe_plugins(tmp_path, monkeypatch, ("broken", "broken_factory"), ("probe", "PerPhaseMetric")))
    submission = hostile("fails_until_marker", tmp_path)
    (submission / "train.py").write_text("def train():\n    pass\n")
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(submission), "--task", TASK, "--out", str(out)])
    assert result.exit_code == 0, result.output
    errors = run_json(out)["metric_errors"]
    assert len(errors) == 1 and "'broken'" in errors[0] and "this metric cannot be created" in errors[0]
    assert "warning: metric failed" in result.stderr and "this metric cannot be created" in result.stderr
    names = {v["name"] for v in json.loads((out / "metrics.json").read_text())}
    assert {"probe.stopped", "wall_clock.inference"} <= names


def test_a_process_that_exits_without_reporting_fails_the_phase(with_example_domain, tmp_path):
    out = tmp_path / "run"
    submission = hostile("exits_silently_in_infer", tmp_path)
    result = run_cli(str(submission), "--task", TASK, "--phase", "inference", "--out", str(out))
    assert result.exit_code == 1
    inference = run_json(out)["phases"]["inference"]
    assert inference["status"] == "failed"
    assert inference["exitcodes"] == {"inference": 0}
    assert "exited with code 0 without reporting a result" in inference["reason"]


def test_a_step_cap_that_ends_the_phase_early_is_not_a_shortfall(with_example_domain, tmp_path):
    out = tmp_path / "run"
    submission = hostile("fails_until_marker", tmp_path)
    caps = ["--gin-param", "RunSettings.num_inference_steps = 10", "--gin-param", "RunSettings.num_warmup_calls = 0"]
    result = run_cli(str(submission), "--task", TASK, "--phase", "inference", "--out", str(out), *caps)
    assert result.exit_code == 0, result.output
    inference = run_json(out)["phases"]["inference"]
    assert (inference["episodes"], inference["episodes_requested"], inference["step_cap_reached"]) == (2, 3, True)


def test_fewer_episodes_than_asked_is_a_failure_with_that_reason():
    from a2perf_core.runner.records import PhaseResult

    assert PhaseResult(episodes=2, episodes_requested=3).shortfall() == "only 2 of 3 episodes completed"
    assert PhaseResult(episodes=3, episodes_requested=3).shortfall() is None
    assert PhaseResult(episodes=2, episodes_requested=3, step_cap_reached=True).shortfall() is None


@pytest.mark.slow
def test_latencies_measured_before_a_timeout_are_kept(with_example_domain, tmp_path):
    out = tmp_path / "run"
    submission = hostile("hangs_after_502_calls", tmp_path)
    result = run_cli(
        str(submission),
        "--task",
        TASK,
        "--phase",
        "inference",
        "--out",
        str(out),
        "--timeout",
        "20",
        "--gin-param",
        "RunSettings.num_inference_episodes = 1000",
        "--gin-param",
        "RunSettings.num_warmup_calls = 3",
    )
    assert result.exit_code == 1
    assert "timed out after 20 s" in run_json(out)["phases"]["inference"]["reason"]
    latencies = np.load(out / "latencies_ns.npy")
    # 502 calls answered, 3 of them warm-up; the last 2 came after the last finished episode
    assert latencies.dtype == np.int64 and latencies.size == 499 and (latencies > 0).all()
    assert np.load(out / "warmup_latencies_ns.npy").size == 3
    assert not list(out.glob(".*latencies*"))


def test_the_reported_overhead_is_timed_through_the_participants_call_path(monkeypatch):
    import types

    from a2perf_core.runner import child

    seen: list[bool] = []
    original = child.ParticipantCalls.infer

    def counting_infer(self, policy, observation):
        seen.append(self.infer_keywords)
        return original(self, policy, observation)

    monkeypatch.setattr(child.ParticipantCalls, "infer", counting_infer)
    for keywords in (False, True):
        source = (
            "def infer_once(*, policy, preprocessed_observation):\n    return 0\n"
            if keywords
            else "def infer_once(policy, observation):\n    return 0\n"
        )
        module = types.ModuleType("participant_inference")
        exec(
            source + "def load_policy(env):\n    return 0\ndef preprocess_observation(observation):\n    return 0\n",
            module.__dict__,
        )
        seen.clear()
        overhead = child.harness_overhead_ns(child.ParticipantCalls(module), calls=300)
        assert overhead > 0
        assert seen == [keywords] * 300


@pytest.mark.slow
def test_a_200kb_error_message_is_capped_and_the_run_finishes(with_example_domain, tmp_path):
    out = tmp_path / "run"
    submission = hostile("raises_200kb_message", tmp_path)
    command = [sys.executable, "-m", "a2perf_core", "run", str(submission), "--task", TASK, "--out", str(out)]
    completed = subprocess.run(
        [*command, "--phase", "inference"], capture_output=True, text=True, env=dict(os.environ), timeout=240
    )
    assert completed.returncode == 1, completed.stderr[-2000:]
    reason = run_json(out)["phases"]["inference"]["reason"]
    assert reason.startswith("inference: RuntimeError: xxx") and len(reason) < 1200
    assert "199014 more characters in inference_error.txt" in reason
    assert "x" * 200_000 in (out / "inference_error.txt").read_text()
    assert len(completed.stderr) < 5000


def test_missing_task_data_is_an_error_before_anything_starts(with_example_domain, a2perf_plugins, tmp_path):
    from a2perf_example_domain import plugin as example_domain

    from a2perf_core.hookspecs import hookimpl
    from a2perf_core.specs import DataAsset, Task

    class DataDomain:
        @hookimpl
        def a2perf_register_domains(self, register):
            register(
                Task(
                    id="ExampleCorridorData-v0",
                    entry_point="a2perf_example_domain.corridor:CorridorEnv",
                    domain="example",
                    data=("example-corridor-map",),
                    generalization=True,
                )
            )

        @hookimpl
        def a2perf_register_data_assets(self, register):
            register(DataAsset(name="example-corridor-map", path="example/corridor-map.txt", url="https://x.invalid/m"))

    a2perf_plugins(example_domain, DataDomain())
    submission = hostile("fails_until_marker", tmp_path)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(submission), "--task", "ExampleCorridorData-v0", "--out", str(out)])
    assert result.exit_code == 2
    assert "a2perf data fetch example-corridor-map" in result.output and "Traceback" not in result.output
    assert not out.exists()
    # a generalization task without its data is still skipped, with the command that fixes it
    (submission / "train.py").write_text("def train():\n    pass\n")
    general = textwrap.dedent("""
        RunSettings.generalization_tasks = ['ExampleCorridorData-v0']
        RunSettings.num_inference_episodes = 1
    """).strip()
    params = [arg for line in general.splitlines() for arg in ("--gin-param", line)]
    ok = CliRunner().invoke(main, ["run", str(submission), "--task", TASK, "--out", str(out), *params])
    assert ok.exit_code == 0, ok.output
    generalization = run_json(out)["phases"]["generalization"]
    assert generalization["status"] == "skipped"
    assert "a2perf data fetch example-corridor-map" in generalization["skipped_tasks"]["ExampleCorridorData-v0"]
