"""Every process a phase starts, however it detaches, is contained, counted and ended with the phase.

The hostile submission (``tests/hostile/double_fork_daemon``) moves its work into a double-forked
daemon. Each test runs it through the real CLI, with the containment this machine offers and with
the subreaper fallback forced.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from a2perf_core.proctree import PhaseCgroup
from a2perf_core.runner.process import CGROUP, CONTAINMENT_ENV, SUBREAPER

HOSTILE = Path(__file__).parent / "hostile" / "double_fork_daemon"
DAEMON_MIB = 300


def machine_containment() -> str:
    """The mechanism the runner uses on this machine (a cgroup v2 group where one can be made)."""
    group = PhaseCgroup.create("probe")
    if group is None:
        return SUBREAPER
    group.remove()
    return CGROUP


MECHANISMS = [pytest.param(machine_containment(), id="this-machine"), pytest.param(SUBREAPER, id="forced-subreaper")]


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status and "\nState:\tX" not in status


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def start_cli(run_dir: Path, mechanism: str, *extra: str, **environ: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "A2PERF_LOAD_PLUGINS": "a2perf-example-domain,a2perf-memory", **environ}
    env[CONTAINMENT_ENV] = mechanism
    argv = [sys.executable, "-m", "a2perf_core", "run", str(HOSTILE), "--task", "ExampleCorridor-v0"]
    argv += ["--phase", "train", "--out", str(run_dir), *extra]
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def train_record(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())["phases"]["train"]


def pid_in(run_dir: Path, name: str) -> int:
    path = run_dir / name
    assert wait_for(lambda: path.exists() and path.read_text().strip() != ""), f"{name} never appeared"
    return int(path.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_double_forked_daemon_is_counted_and_ended_with_the_phase(
    with_example_domain: Path, tmp_path: Path, mechanism: str
) -> None:
    run_dir = tmp_path / "run"
    cli = start_cli(run_dir, mechanism)
    _, stderr = cli.communicate(timeout=120)
    assert cli.returncode == 0, stderr.decode()
    record = train_record(run_dir)
    assert record["status"] == "ok"
    assert record["containment"] == mechanism
    daemon = int((run_dir / "daemon.pid").read_text())
    assert not alive(daemon)
    # the daemon held DAEMON_MIB resident while train() waited, so both memory readings include it
    assert record["peak_tree_rss_mib"] >= DAEMON_MIB
    metrics = {(v["name"], v.get("phase")): v for v in json.loads((run_dir / "metrics.json").read_text())}
    assert metrics[("memory.peak_rss_polled", "train")]["value"] >= DAEMON_MIB
    # the CPU time recorded for the phase covers what the daemon and train() each measured of themselves
    own = float((run_dir / "daemon_cpu_s").read_text()) + float((run_dir / "train_cpu_s").read_text())
    assert record["participant_cpu_s"] >= own - 0.05


@pytest.mark.slow
def test_sigterm_mid_train_is_recorded_as_interrupted_and_ends_the_tree(
    with_example_domain: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    cli = start_cli(run_dir, machine_containment(), A2PERF_HOSTILE_HANG="1", A2PERF_HOSTILE_MIB="20")
    root, daemon = pid_in(run_dir, "train.pid"), pid_in(run_dir, "daemon.pid")
    cli.send_signal(signal.SIGTERM)
    _, stderr = cli.communicate(timeout=60)
    assert cli.returncode != 0
    record = train_record(run_dir)
    assert record["status"] == "failed"
    assert record["reason"] == "interrupted (SIGTERM)"
    assert "Traceback" not in stderr.decode()
    assert not alive(root) and not alive(daemon)


@pytest.mark.slow
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_no_participant_process_survives_a_sigkill_of_the_harness(
    with_example_domain: Path, tmp_path: Path, mechanism: str
) -> None:
    run_dir = tmp_path / "run"
    cli = start_cli(run_dir, mechanism, A2PERF_HOSTILE_HANG="1", A2PERF_HOSTILE_MIB="20")
    root, daemon = pid_in(run_dir, "train.pid"), pid_in(run_dir, "daemon.pid")
    cli.kill()
    cli.wait(timeout=10)
    assert wait_for(lambda: not alive(root) and not alive(daemon), timeout_s=10)


@pytest.mark.slow
def test_a_resumed_train_log_has_only_the_rows_of_the_new_attempt(with_example_domain: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = start_cli(
        run_dir, machine_containment(), A2PERF_HOSTILE_HANG="1", A2PERF_HOSTILE_MIB="20", A2PERF_HOSTILE_WRITE_LOG="1"
    )
    log = run_dir / ".attempts" / "train-1" / "train_log.csv"  # the first attempt writes there
    assert wait_for(lambda: log.exists() and "daemon-" in log.read_text()), "the daemon never wrote to the log"
    first.kill()
    first.wait(timeout=10)
    second = start_cli(run_dir, machine_containment(), "--resume", A2PERF_HOSTILE_MIB="20", A2PERF_HOSTILE_LINGER_S="1")
    _, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr.decode()
    rows = (run_dir / "train_log.csv").read_text().splitlines()
    from a2perf_core.runner.recording import HEADER

    assert rows == [HEADER.strip(), rows[1]]
    assert rows[1].startswith("1,")
