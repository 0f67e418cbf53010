"""``--untrusted`` (issue #13): each forgery of the issue works in the trusted default and fails in untrusted mode.

Every hostile submission in ``tests/hostile/`` used here is first run trusted, where the forgery succeeds (so
the test can fail), then untrusted, where the records must be the honest ones.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import a2perf_core
from a2perf_core.cli import main

HOSTILE = Path(__file__).resolve().parent / "hostile"
REPO = Path(__file__).resolve().parent.parent
TASK = "ExampleCorridor-v0"
FEW = ("--gin-param", "RunSettings.num_inference_episodes = 2", "--gin-param", "RunSettings.num_warmup_calls = 1")
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


def hostile(name: str, tmp_path: Path) -> Path:
    """A copy of ``tests/hostile/<name>`` (a trusted run writes ``__pycache__`` into the submission)."""
    return Path(shutil.copytree(HOSTILE / name, tmp_path / "submissions" / name))


def run_cli(*args: str):
    return CliRunner().invoke(main, ["run", *args], catch_exceptions=False)


def run_json(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


def inference_returns(out: Path) -> list[float]:
    with (out / "inference_episodes.csv").open(newline="") as table:
        return [float(row["return"]) for row in csv.DictReader(table)]


def test_untrusted_without_a_working_sandbox_is_one_line_before_anything_starts(
    with_example_domain, monkeypatch, tmp_path
):
    from a2perf_core.runner import sandbox

    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    submission = REPO / "a2perf_core" / "examples" / "random_submission"
    for how in (["--untrusted"], ["--gin-param", "RunSettings.untrusted = True"]):
        out = tmp_path / how[0].strip("-")
        result = run_cli(str(submission), "--task", TASK, "--out", str(out), *how)
        assert result.exit_code == 2, result.output
        assert "install the Debian package 'bubblewrap'" in result.output
        assert "Traceback" not in result.output
        assert not out.exists()


def test_untrusted_must_be_a_boolean():
    from a2perf_core.settings import RunSettings, SettingsError

    with pytest.raises(SettingsError, match="RunSettings.untrusted must be True or False"):
        RunSettings(task_id="t", submission="s", untrusted="yes")


@needs_bwrap
@pytest.mark.slow
def test_a_patched_env_step_raises_returns_only_in_trusted_mode(with_example_domain, tmp_path):
    submission = hostile("patches_env_step", tmp_path)
    common = (str(submission), "--task", TASK, "--phase", "inference", *FEW)
    honest = tmp_path / "honest"
    assert run_cli(*common, "--out", str(honest), "--participant-arg", "forge=False").exit_code == 0
    trusted, untrusted = tmp_path / "trusted", tmp_path / "untrusted"
    assert run_cli(*common, "--out", str(trusted)).exit_code == 0
    result = run_cli(*common, "--out", str(untrusted), "--untrusted")
    assert result.exit_code == 0, result.output

    honest_returns = inference_returns(honest)
    assert honest_returns == [pytest.approx(0.5)] * 2  # 5 steps right: 4 x -0.1, then 0.9
    assert inference_returns(trusted) == [pytest.approx(5000.5)] * 2  # the forgery works when trusted
    assert inference_returns(untrusted) == honest_returns
    assert run_json(untrusted)["trust"] == {"mode": "untrusted", "sandbox": "bubblewrap"}
    assert run_json(untrusted)["phases"]["inference"]["reported_by"] == "harness"


@needs_bwrap
@pytest.mark.slow
def test_forged_latency_records_only_in_trusted_mode(with_example_domain, a2perf_plugins, tmp_path):
    from a2perf_example_domain import plugin as example_domain
    from a2perf_latency import plugin as latency

    a2perf_plugins(example_domain, latency)
    submission = hostile("fakes_latency_records", tmp_path)
    common = (str(submission), "--task", TASK, "--phase", "inference", *FEW)
    trusted, untrusted = tmp_path / "trusted", tmp_path / "untrusted"
    assert run_cli(*common, "--out", str(trusted)).exit_code == 0
    result = run_cli(*common, "--out", str(untrusted), "--untrusted")
    assert result.exit_code == 0, result.output

    forged = np.load(trusted / "latencies_ns.npy")
    assert forged.size == 9 and set(forged.tolist()) == {1000}  # p50 0.001 ms: the forgery works when trusted
    reported = np.load(untrusted / "latencies_ns.npy")
    roundtrip = np.load(untrusted / "latencies_roundtrip_ns.npy")
    assert reported.size == roundtrip.size == 9
    assert set(reported.tolist()) != {1000}
    assert np.all(roundtrip >= reported)
    floor = run_json(untrusted)["phases"]["inference"]["transport_floor_ns"]
    assert floor > 0 and np.median(roundtrip) > floor
    values = {v["name"]: v for v in json.loads((untrusted / "metrics.json").read_text())}
    assert values["latency.roundtrip.p50"]["value"] == pytest.approx(np.sort(roundtrip)[4] / 1e6)
    assert values["latency.roundtrip.p50"]["details"]["transport_floor_ms"] == pytest.approx(floor / 1e6)


@needs_bwrap
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["trusted", "untrusted"])
def test_the_training_log_cannot_be_rewritten_during_inference_when_untrusted(
    with_example_domain, a2perf_plugins, tmp_path, mode
):
    from a2perf_example_domain import plugin as example_domain
    from a2perf_reliability import plugin as reliability

    a2perf_plugins(example_domain, reliability)
    submission = hostile("rewrites_train_log", tmp_path)
    out = tmp_path / "run"
    flags = ["--untrusted"] if mode == "untrusted" else []
    common = (str(submission), "--task", TASK, "--out", str(out), *FEW, *flags)
    assert run_cli(*common, "--phase", "train").exit_code == 0
    trained = (out / "train_log.csv").read_text()
    assert trained.count("\n") == 3  # header and two episodes
    result = run_cli(*common, "--phase", "inference", "--resume")
    assert result.exit_code == 0, result.output

    after = (out / "train_log.csv").read_text()
    if mode == "trusted":
        assert after != trained and after.count("\n") == 51  # the forgery works when trusted
    else:
        assert after == trained
        assert run_json(out)["phases"]["train"]["reported_by"] == "participant"
        train_values = [v for v in json.loads((out / "metrics.json").read_text()) if v["name"].startswith("rel")]
        assert train_values and all(
            v["details"].get("reported_by") == "participant" for v in train_values if v["phase"] == "train"
        )


@needs_bwrap
@pytest.mark.slow
def test_the_policy_has_no_network_and_writes_only_its_directory(with_example_domain, tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    out = tmp_path / "run"
    outside = Path(a2perf_core.__file__).parent / f"forged-{os.getpid()}.json"  # not under the private /tmp
    submission = hostile("probes_the_sandbox", tmp_path)
    result = run_cli(
        str(submission),
        *("--task", TASK, "--phase", "inference", "--out", str(out), "--untrusted", *FEW),
        *("--participant-arg", f"port={listener.getsockname()[1]}", "--participant-arg", f"outside={outside}"),
    )
    listener.close()
    forged = outside.exists()
    outside.unlink(missing_ok=True)
    assert result.exit_code == 0, result.output
    probe = json.loads((out / "participant" / "probe.json").read_text())
    assert probe["network"] != "open"
    assert probe == {"network": probe["network"], "outside": "EROFS", "own_directory": "written"}
    assert not forged


@needs_bwrap
@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("sends_illegal_action", "outside the env's action space Discrete(2)"),
        ("exits_silently_in_infer", "the policy process exited with code 0 during infer_once without answering"),
    ],
)
def test_a_bad_reply_or_a_crash_of_the_policy_fails_the_phase(with_example_domain, tmp_path, name, reason):
    out = tmp_path / "run"
    submission = hostile(name, tmp_path)
    result = run_cli(str(submission), "--task", TASK, "--phase", "inference", "--out", str(out), "--untrusted", *FEW)
    assert result.exit_code == 1, result.output
    record = run_json(out)["phases"]["inference"]
    assert record["status"] == "failed"
    assert reason in record["reason"]


@needs_bwrap
@pytest.mark.slow
def test_the_bundled_example_returns_the_same_untrusted_on_the_default_task(tmp_path):
    submission = tmp_path / "example"
    shutil.copytree(REPO / "a2perf_core" / "examples" / "random_submission", submission)
    few = (*FEW, "--gin-param", "RunSettings.num_generalization_episodes = 1", "--seed", "3")
    trusted, untrusted = tmp_path / "trusted", tmp_path / "untrusted"
    every_plugin = {k: v for k, v in os.environ.items() if k != "A2PERF_LOAD_PLUGINS"}
    for out, flags in ((trusted, []), (untrusted, ["--untrusted"])):
        finished = subprocess.run(
            [sys.executable, "-m", "a2perf_core", "run", str(submission), "--out", str(out), *few, *flags],
            capture_output=True,
            text=True,
            env=every_plugin,
            timeout=900,
        )
        assert finished.returncode == 0, finished.stdout + finished.stderr

    run = run_json(untrusted)
    assert run["task"] == run_json(trusted)["task"] == "CircuitTraining-Synthetic-v0"
    assert inference_returns(untrusted) == inference_returns(trusted)
    generalization = "generalization_episodes.csv"
    assert (untrusted / generalization).read_text() == (trusted / generalization).read_text()
    assert (untrusted / "participant" / "policy.json").exists()  # train saved where the sandboxed policy reads
    assert not (untrusted / "policy.json").exists()
    assert run["settings"]["untrusted"] is True and run_json(trusted)["settings"]["untrusted"] is False
    assert run_json(trusted)["trust"] == {"mode": "trusted", "sandbox": None}
    assert {name: p["reported_by"] for name, p in run["phases"].items()} == {
        "train": "participant",
        "inference": "harness",
        "generalization": "harness",
    }
    assert np.load(untrusted / "latencies_roundtrip_ns.npy").size == np.load(untrusted / "latencies_ns.npy").size
    for phase in ("inference", "generalization"):  # the span marks are set on the untrusted path too
        assert 0 < run["phases"][phase]["wall_time_s"] < 300


@needs_bwrap
@pytest.mark.slow
def test_a_hanging_policy_ends_at_the_timeout_keeping_what_was_measured(with_example_domain, tmp_path):
    import psutil

    out = tmp_path / "run"
    submission = hostile("hangs_after_502_calls", tmp_path)
    result = run_cli(
        str(submission),
        *("--task", TASK, "--phase", "inference", "--out", str(out), "--untrusted", "--timeout", "20"),
        *("--gin-param", "RunSettings.num_inference_episodes = 1000"),
        *("--gin-param", "RunSettings.num_warmup_calls = 3"),
    )
    assert result.exit_code == 1
    assert "timed out after 20 s" in run_json(out)["phases"]["inference"]["reason"]
    # 502 calls answered, 3 of them warm-up; the last 2 came after the last finished episode
    assert np.load(out / "latencies_ns.npy").size == np.load(out / "latencies_roundtrip_ns.npy").size == 499
    sandbox_dir = str(out / "participant")
    left = [p for p in psutil.process_iter(["cmdline"]) if sandbox_dir in " ".join(p.info["cmdline"] or [])]
    assert not left  # the sandboxed policy process ended with the phase


@needs_bwrap
@pytest.mark.slow
def test_resume_refuses_to_mix_trusted_and_untrusted_records(with_example_domain, tmp_path):
    out = tmp_path / "run"
    submission = hostile("rewrites_train_log", tmp_path)
    common = (str(submission), "--task", TASK, "--out", str(out))
    assert run_cli(*common, "--phase", "train").exit_code == 0
    result = run_cli(*common, "--phase", "inference", "--resume", "--untrusted")
    assert result.exit_code == 2
    assert "untrusted False -> True" in result.output
