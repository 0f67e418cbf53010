"""Phase attempts: each attempt writes only into its own folder, its records are promoted when it ends
(however it ends), a stale writer of an older attempt cannot change them, and one ``a2perf run`` at a
time holds a run directory.

The submission is ``tests/hostile/trains_slowly``: it records its environment, so a test can start
a process that writes where an attempt writes, as a process left over from a killed harness would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.metrics import (
    LATENCIES,
    LATENCIES_RAW,
    RUN_JSON,
    TRAIN_LOG,
    WARMUP_LATENCIES,
    WARMUP_LATENCIES_RAW,
    phase_error,
    phase_log,
    phase_result,
)
from a2perf_core.runner.recording import EVAL_LOG, HEADER
from a2perf_core.runner.run import ABANDONED, ATTEMPTS, new_attempt, promote

SUBMISSION = Path(__file__).parent / "hostile" / "trains_slowly"
TASK = "ExampleCorridor-v0"

#: keeps appending training episodes with the environment of an attempt (stdin: nothing; runs until killed)
STALE_WRITER = """
import time
from a2perf_core import participant

while True:
    try:
        env = participant.make_env()
        env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(1)
            done = terminated or truncated
        env.close()
    except OSError:  # its attempt's folder was renamed: an orphan would go on trying
        pass
    time.sleep(0.02)
"""


def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def cli_argv(run_dir: Path, *extra: str) -> list[str]:
    argv = [sys.executable, "-m", "a2perf_core", "run", str(SUBMISSION), "--task", TASK, "--phase", "train"]
    return [*argv, "--out", str(run_dir), *extra]


def start_cli(run_dir: Path, *extra: str, **environ: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "A2PERF_LOAD_PLUGINS": "a2perf-example-domain", **environ}
    return subprocess.Popen(cli_argv(run_dir, *extra), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_json(run_dir: Path) -> dict:
    return json.loads((run_dir / RUN_JSON).read_text())


def written(path: Path) -> str:
    """The file's text once it is there and not empty."""
    assert wait_for(lambda: path.exists() and path.read_text().strip() != ""), f"{path.name} never appeared"
    return path.read_text()


def log_rows(path: Path) -> list[list[str]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.split(",") for line in lines if line != HEADER.strip()]


@pytest.mark.slow
def test_a_stale_writer_of_a_killed_attempt_cannot_change_the_resumed_records(
    with_example_domain: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    first = start_cli(run_dir, A2PERF_HOSTILE_EPISODE_S="60")
    environ = json.loads(written(run_dir / "train_environ.json"))
    first.kill()
    first.wait(timeout=10)
    stale_log = Path(environ["A2PERF_TRAIN_LOG"])
    writer = subprocess.Popen([sys.executable, "-c", STALE_WRITER], env=environ, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: len(log_rows(stale_log)) >= 2), "the stale writer never wrote"
        stale_rows_before_resume = len(log_rows(stale_log))
        second = start_cli(run_dir, "--resume", A2PERF_HOSTILE_EPISODES="4", A2PERF_HOSTILE_EPISODE_S="0.3")
        _, stderr = second.communicate(timeout=120)
        assert writer.poll() is None, writer.stderr.read().decode() if writer.stderr else ""
    finally:
        writer.kill()
        writer.wait(timeout=10)
    assert second.returncode == 0, stderr.decode()
    rows = log_rows(run_dir / TRAIN_LOG)
    steps = [int(r[0]) for r in rows]
    assert len(rows) == 4
    assert steps == list(np.cumsum([int(r[2]) for r in rows]))  # this attempt's own steps, in order
    assert all(r[4] == "1" for r in rows)
    record = run_json(run_dir)
    assert record["phases"]["train"]["status"] == "ok"
    assert record["phases"]["train"]["attempt"] == "train-2"
    assert record["phase_in_progress"] is None
    # the stale writer went on writing during the resume, into the old attempt's folder only
    abandoned = run_dir / ATTEMPTS / f"train-1{ABANDONED}"
    assert len(log_rows(abandoned / TRAIN_LOG)) > stale_rows_before_resume


@pytest.mark.slow
def test_a_second_run_on_a_directory_in_use_is_refused_with_the_holders_pid(
    with_example_domain: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    first = start_cli(run_dir, A2PERF_HOSTILE_EPISODE_S="60")
    try:
        written(run_dir / "train.pid")
        env = {**os.environ, "A2PERF_LOAD_PLUGINS": "a2perf-example-domain"}
        second = subprocess.run(
            cli_argv(run_dir, "--resume", "--timeout", "10"), env=env, capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 2, second.stderr
        errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and f"pid {first.pid}" in errors[0], second.stderr
        assert "Traceback" not in second.stderr
        assert run_json(run_dir)["phase_in_progress"]["attempt"] == "train-1"  # the refused run changed nothing
        assert not (run_dir / ATTEMPTS / "train-2").exists()
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)


@pytest.mark.slow
def test_run_json_names_the_phase_in_progress_while_it_runs(with_example_domain: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    cli = start_cli(run_dir, A2PERF_HOSTILE_EPISODES="3", A2PERF_HOSTILE_EPISODE_S="1")
    try:
        running: dict = {}

        def in_progress() -> bool:
            nonlocal running
            if (run_dir / RUN_JSON).exists():
                running = run_json(run_dir)["phase_in_progress"] or {}
            return bool(running)

        assert wait_for(in_progress), "run.json never named a phase in progress"
        pid = int(written(run_dir / "train.pid"))
        assert running == {"phase": "train", "attempt": "train-1", "pid": pid, "started": running["started"]}
        datetime.fromisoformat(running["started"])
        _, stderr = cli.communicate(timeout=120)
    finally:
        cli.kill()
    assert cli.returncode == 0, stderr.decode()
    record = run_json(run_dir)
    assert record["phase_in_progress"] is None
    assert record["phases"]["train"]["attempt"] == "train-1"


def run_in_process(run_dir: Path, *extra: str):
    return CliRunner().invoke(
        main, ["run", str(SUBMISSION), "--task", TASK, "--phase", "train", "--out", str(run_dir), *extra]
    )


def assert_promoted_after_failure(run_dir: Path, reason_part: str, episodes: int) -> None:
    record = run_json(run_dir)
    train = record["phases"]["train"]
    assert train["status"] == "failed" and reason_part in train["reason"], train["reason"]
    assert train["attempt"] == "train-1"
    assert record["phase_in_progress"] is None
    assert len(log_rows(run_dir / TRAIN_LOG)) == episodes
    assert (run_dir / phase_log("train")).exists()
    folder = run_dir / ATTEMPTS / "train-1"
    assert not any((folder / name).exists() for name in (TRAIN_LOG, phase_log("train"), phase_error("train")))


def test_a_failing_phases_records_and_error_are_promoted(
    with_example_domain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("A2PERF_HOSTILE_EPISODES", "2")
    monkeypatch.setenv("A2PERF_HOSTILE_RAISE", "1")
    run_dir = tmp_path / "run"
    result = run_in_process(run_dir)
    assert result.exit_code == 1, result.output
    assert_promoted_after_failure(run_dir, "RuntimeError: train fails on purpose", episodes=2)
    assert "RuntimeError: train fails on purpose" in (run_dir / phase_error("train")).read_text()
    assert json.loads((run_dir / phase_result("train")).read_text())["error"].startswith("RuntimeError")


@pytest.mark.slow
def test_a_timed_out_phases_records_are_promoted(
    with_example_domain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("A2PERF_HOSTILE_EPISODE_S", "60")
    run_dir = tmp_path / "run"
    result = run_in_process(run_dir, "--timeout", "3")
    assert result.exit_code == 1, result.output
    assert_promoted_after_failure(run_dir, "timed out after 3 s", episodes=1)


@pytest.mark.slow
def test_an_interrupted_phases_records_are_promoted(with_example_domain: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    cli = start_cli(run_dir, A2PERF_HOSTILE_EPISODE_S="60")
    try:
        assert wait_for(lambda: len(log_rows(run_dir / ATTEMPTS / "train-1" / TRAIN_LOG)) == 1)
        cli.send_signal(signal.SIGTERM)
        _, stderr = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode != 0
    assert "Traceback" not in stderr.decode()
    assert_promoted_after_failure(run_dir, "interrupted (SIGTERM)", episodes=1)


def test_a_rerun_phase_leaves_no_record_of_the_earlier_attempt(
    with_example_domain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    monkeypatch.setenv("A2PERF_HOSTILE_EVALUATE", "1")
    monkeypatch.setenv("A2PERF_HOSTILE_RAISE", "1")
    assert run_in_process(run_dir).exit_code == 1
    assert (run_dir / EVAL_LOG).exists() and (run_dir / "train_scalars.csv").exists()
    monkeypatch.delenv("A2PERF_HOSTILE_EVALUATE")
    monkeypatch.delenv("A2PERF_HOSTILE_RAISE")
    result = run_in_process(run_dir, "--resume")
    assert result.exit_code == 0, result.output
    assert not (run_dir / EVAL_LOG).exists() and not (run_dir / "train_scalars.csv").exists()
    assert not (run_dir / phase_error("train")).exists()
    assert run_json(run_dir)["phases"]["train"]["attempt"] == "train-2"
    assert sorted(p.name for p in (run_dir / ATTEMPTS).iterdir()) == [f"train-1{ABANDONED}", "train-2"]


def test_a_run_recorded_before_attempts_resumes(
    with_example_domain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    monkeypatch.setenv("A2PERF_HOSTILE_RAISE", "1")
    assert run_in_process(run_dir).exit_code == 1
    old = run_json(run_dir)  # as a version without attempts wrote it
    del old["phase_in_progress"], old["phases"]["train"]["attempt"]
    (run_dir / RUN_JSON).write_text(json.dumps(old))
    monkeypatch.delenv("A2PERF_HOSTILE_RAISE")
    result = run_in_process(run_dir, "--resume")
    assert result.exit_code == 0, result.output
    assert run_json(run_dir)["phases"]["train"]["attempt"] == "train-2"


def test_promotion_moves_only_the_attempts_records_and_abandons_older_attempts(tmp_path: Path) -> None:
    run_dir = tmp_path
    older = new_attempt(run_dir, "inference")
    attempt = new_attempt(run_dir, "inference")
    other_phase = new_attempt(run_dir, "train")
    assert (older.id, attempt.id, other_phase.id) == ("inference-1", "inference-2", "train-1")
    samples = np.array([5, 7, 11], dtype=np.int64)
    (attempt.folder / LATENCIES_RAW).write_bytes(samples.astype("=i8").tobytes())
    (attempt.folder / "inference_episodes.csv").write_text("episode,return,length\n0,0.5,5\n")
    (attempt.folder / RUN_JSON).write_text("{}")  # not a record of the phase: never promoted
    (run_dir / WARMUP_LATENCIES).write_bytes(b"from an earlier attempt")
    (run_dir / WARMUP_LATENCIES_RAW).write_bytes(b"left by a version without attempts")
    (older.folder / LATENCIES_RAW).write_bytes(b"\x00" * 80)
    promote(run_dir, attempt, ["inference"])
    assert np.load(run_dir / LATENCIES).tolist() == samples.tolist()
    assert (run_dir / "inference_episodes.csv").read_text().endswith("0,0.5,5\n")
    assert not (run_dir / WARMUP_LATENCIES).exists() and not (run_dir / WARMUP_LATENCIES_RAW).exists()
    assert not (run_dir / RUN_JSON).exists()
    assert sorted(p.name for p in (run_dir / ATTEMPTS).iterdir()) == [
        f"inference-1{ABANDONED}",
        "inference-2",
        "train-1",
    ]
    assert new_attempt(run_dir, "inference").id == "inference-3"
