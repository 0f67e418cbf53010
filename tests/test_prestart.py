"""Phase processes started ahead of their phase (issue #13's harness cost): contained from their
first line, blocked while any phase is measured, and ended when their phase never runs, when the
run fails or when the harness is killed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from a2perf_core.proctree import PhaseCgroup
from a2perf_core.runner.process import CGROUP, CONTAINMENT_ENV, SUBREAPER, ChildProcess

HOSTILE = Path(__file__).parent / "hostile" / "double_fork_daemon"

FAILING_TRAIN = """
def train():
    raise RuntimeError("train fails on purpose")
"""

INFERENCE = """
def load_policy(env):
    return None


def preprocess_observation(observation):
    return observation


def infer_once(policy, observation):
    return 1
"""

#: the phase processes print while they do their imports, before they have their job
SITECUSTOMIZE = """
import os, sys
from a2perf_core.runner import child

_prepare_imports = child.prepare_imports


def noisy_prepare_imports():
    print(f"start-up output of {os.getpid()}", file=sys.stderr)
    _prepare_imports()


child.prepare_imports = noisy_prepare_imports
"""


def machine_containment() -> str:
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


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_prestarted_process_is_contained_and_blocks_without_cpu_until_ended(
    mechanism: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONTAINMENT_ENV, mechanism)
    child = ChildProcess("prestart-probe")
    pid = child.prestart()
    try:
        assert child.containment == mechanism
        assert child.wait_prepared(120)
        before = cpu_s(pid)
        time.sleep(0.3)
        assert cpu_s(pid) == before
        assert psutil.Process(pid).status() == psutil.STATUS_SLEEPING
        assert child.tree() == [pid]  # nothing started under it
    finally:
        child.end_tree()
    assert not alive(pid)


#: a harness started as a script file (as a console script is): spawn would re-run it in the child
MAIN_SCRIPT = """
import sys
from pathlib import Path

if __name__ == "__mp_main__":  # the script re-run in a spawned process
    Path(sys.argv[1]).write_text("re-run")

if __name__ == "__main__":
    from a2perf_core.runner.process import ChildProcess

    child = ChildProcess("main-script-probe")
    child.prestart()
    prepared = child.wait_prepared(120)
    child.end_tree()
    assert prepared and sys.modules["__main__"].__file__ == __file__
"""


def test_a_phase_process_does_not_re_run_the_harness_main_script(tmp_path: Path) -> None:
    script, marker = tmp_path / "harness_main.py", tmp_path / "re-run.txt"
    script.write_text(MAIN_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(marker)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()


@pytest.mark.slow
def test_the_prestarted_processes_of_phases_that_never_run_are_ended(
    with_example_domain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from a2perf_core.runner.run import Run
    from a2perf_core.settings import resolve_run_settings

    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "__init__.py").write_text("")
    (submission / "requirements.txt").write_text("")
    (submission / "train.py").write_text(FAILING_TRAIN)
    (submission / "inference.py").write_text(INFERENCE)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", f"{site}:{with_example_domain}")
    settings = resolve_run_settings(str(submission), task="ExampleCorridor-v0")
    run = Run(settings, tmp_path / "run")
    prestarted = {label: child.pid for label, child in run.prestarted.items()}
    assert sorted(prestarted) == ["generalization-ExampleCorridor-v0", "inference", "train"]
    outcome = run.execute()
    phases = outcome.phases
    assert phases["train"]["status"] == "failed" and "train fails on purpose" in phases["train"]["reason"]
    assert phases["inference"]["status"] == phases["generalization"]["status"] == "not run"
    assert run.prestarted == {}
    assert wait_for(lambda: not any(alive(pid) for pid in prestarted.values()), timeout_s=10)
    # what the train process printed before it had its job is at the start of its phase's log
    assert (tmp_path / "run" / "train.log").read_text().startswith(f"start-up output of {prestarted['train']}")


def spawned_children(pid: int) -> list[int]:
    """The harness's phase processes (multiprocessing's spawned interpreters), not its helpers."""
    children = []
    for child in psutil.Process(pid).children():
        try:
            if "--multiprocessing-fork" in child.cmdline():
                children.append(child.pid)
        except psutil.Error:
            pass
    return children


@pytest.mark.slow
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_no_prestarted_process_survives_a_sigkill_of_the_harness(
    with_example_domain: Path, tmp_path: Path, mechanism: str
) -> None:
    run_dir = tmp_path / "run"
    env = {**os.environ, "A2PERF_LOAD_PLUGINS": "a2perf-example-domain", CONTAINMENT_ENV: mechanism}
    env.update(A2PERF_HOSTILE_HANG="1", A2PERF_HOSTILE_MIB="20", A2PERF_HOSTILE_CPU_S="0")
    argv = [sys.executable, "-m", "a2perf_core", "run", str(HOSTILE), "--task", "ExampleCorridor-v0", "--out"]
    cli = subprocess.Popen([*argv, str(run_dir)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: (run_dir / "daemon.pid").exists(), timeout_s=60)
        processes = spawned_children(cli.pid)
        assert len(processes) == 3  # train (running), inference and generalization (waiting for their jobs)
    finally:
        cli.kill()
        cli.wait(timeout=10)
    assert wait_for(lambda: not any(alive(pid) for pid in processes), timeout_s=10)
