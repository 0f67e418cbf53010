"""The executor hook: `a2perf run` hands every run to the chosen executor, which yields outcomes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2perf_core.cli import main
from a2perf_core.hookspecs import hookimpl
from a2perf_core.plugins import PluginInfo
from a2perf_core.runner.executor import LocalExecutor, RunRequest
from a2perf_core.runner.run import RunOutcome
from a2perf_core.specs import ExecutorSpec

RECEIVED: list[tuple[list[RunRequest], object]] = []


class RecordingExecutor:
    """A third party's executor: remembers what it was given and reports every phase as done."""

    name = "recording"

    def execute(self, requests, progress=None):
        RECEIVED.append((list(requests), progress))
        for request in requests:
            request.run_dir.mkdir(parents=True, exist_ok=True)
            yield RunOutcome(request.run_dir, {p: {"status": "ok"} for p in request.settings.phases}, [])


class ForgetfulExecutor(RecordingExecutor):
    """Yields one outcome fewer than it was asked for."""

    name = "forgetful"

    def execute(self, requests, progress=None):
        yield from list(super().execute(requests, progress))[:-1]


class NotAnExecutor:
    pass


def executor_plugin() -> tuple[object, PluginInfo]:
    module = types.ModuleType("third_party_executors")

    @hookimpl
    def a2perf_register_executors(register):
        executors = {"recording": "RecordingExecutor", "forgetful": "ForgetfulExecutor", "bad": "NotAnExecutor"}
        for name, cls in executors.items():
            register(ExecutorSpec(name=name, factory=f"{__name__}:{cls}"))

    module.a2perf_register_executors = a2perf_register_executors
    return module, PluginInfo("third_party_executors", "dist-executors", "0")


@pytest.fixture
def plugins(with_example_domain, a2perf_plugins):
    from a2perf_example_domain import plugin as example

    RECEIVED.clear()
    return a2perf_plugins(example, executor_plugin())


def run(*args: str):
    return CliRunner().invoke(main, ["run", "--task", "ExampleCorridor-v0", *args])


def test_a_third_party_executor_gets_every_seed_as_one_batch(plugins, tmp_path):
    result = run("--executor", "recording", "--seeds", "3,1", "--phase", "inference", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    [(requests, progress)] = RECEIVED
    assert [(r.settings.seed, r.run_dir, r.resume) for r in requests] == [
        (3, tmp_path / "seed_3", False),
        (1, tmp_path / "seed_1", False),
    ]
    assert {(r.settings.task_id, r.settings.phases) for r in requests} == {("ExampleCorridor-v0", ("inference",))}
    assert callable(progress)
    assert (tmp_path / "summary.json").exists()


def test_resume_reaches_the_executor(plugins, tmp_path):
    assert run("--executor", "recording", "--resume", "--out", str(tmp_path)).exit_code == 0
    [(requests, _)] = RECEIVED
    assert [(r.run_dir, r.resume) for r in requests] == [(tmp_path, True)]


def test_an_executor_that_loses_a_run_is_a_one_line_error(plugins, tmp_path):
    result = run("--executor", "forgetful", "--seeds", "0,1", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "error: executor 'forgetful' returned 1 outcomes for 2 runs (one per run, in order)" in result.output


def test_a_factory_that_returns_no_executor_is_a_one_line_error(plugins, tmp_path):
    result = run("--executor", "bad", "--out", str(tmp_path))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "executor 'bad' (dist-executors)" in result.output and "has no name and execute" in result.output


def test_unknown_executor_lists_the_known_ones(plugins, tmp_path):
    result = run("--executor", "ray", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "unknown executor 'ray'; known executors: bad, forgetful, local, recording" in result.output
    assert not tmp_path.joinpath("run.json").exists()


def test_the_local_executor_runs_requests_in_order(with_example_domain, tmp_path, monkeypatch):
    from a2perf_core.runner import run as run_module

    calls = []

    class FakeRun:
        def __init__(self, settings, run_dir, resume=False, progress=None):
            calls.append((settings.seed, run_dir, resume, progress))

        def execute(self):
            return RunOutcome(calls[-1][1], {}, [])

    monkeypatch.setattr(run_module, "Run", FakeRun)
    from a2perf_core.settings import RunSettings

    requests = [RunRequest(RunSettings("T-v0", "s", seed=s), Path(f"d{s}"), resume=s == 2) for s in (2, 0)]
    outcomes = list(LocalExecutor().execute(requests, progress=print))
    assert [o.run_dir for o in outcomes] == [Path("d2"), Path("d0")]
    assert calls == [(2, Path("d2"), True, print), (0, Path("d0"), False, print)]


WORKER_FUNCTIONS = """
import os
import time
from pathlib import Path


def pid_and_square(x):
    if x < 0:
        raise ValueError(f"negative: {x}\\nsecond line")
    return os.getpid(), x * x


def nap(folder):
    Path(folder, str(os.getpid())).write_text("")
    time.sleep(120)
"""


@pytest.fixture
def worker_functions(tmp_path, monkeypatch):
    """A module of picklable functions the spawned workers import (they get this process's sys.path)."""
    (tmp_path / "worker_functions.py").write_text(WORKER_FUNCTIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    return importlib.import_module("worker_functions")


def test_local_map_calls_each_item_in_a_fresh_process_in_order(worker_functions):
    results = list(LocalExecutor(jobs=2).map(worker_functions.pid_and_square, [3, 1, 2]))
    assert [square for _, square in results] == [9, 1, 4]
    pids = {pid for pid, _ in results}
    assert len(pids) == 3 and os.getpid() not in pids
    with pytest.raises(ValueError, match="negative: -1"):  # raised here as itself
        list(LocalExecutor().map(worker_functions.pid_and_square, [-1]))
    assert list(LocalExecutor().map(worker_functions.pid_and_square, [])) == []


STOPPED_DRIVER = """
import sys

from a2perf_core.runner.executor import LocalExecutor
from a2perf_core.runner.process import raise_interrupted_on_sigterm
from worker_functions import nap

raise_interrupted_on_sigterm()
for _ in LocalExecutor(jobs=2).map(nap, [sys.argv[1]] * 4):
    pass
"""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_a_local_map_ends_its_calls_and_starts_no_more(worker_functions, tmp_path, stop, signal_and_wait):
    """SIGTERM or Ctrl-C of the driver ends the calls in flight, and no fresh worker takes a queued one."""
    started = tmp_path / "started"
    started.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-c", STOPPED_DRIVER, str(started)], env=env)
    deadline = time.monotonic() + 60
    while len(list(started.iterdir())) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    pids = [int(p.name) for p in started.iterdir()]
    assert len(pids) == 2, pids
    signal_and_wait(process, stop, 30, "the driver")
    assert process.returncode != 0
    time.sleep(1)
    assert sorted(int(p.name) for p in started.iterdir()) == sorted(pids)  # no queued call started
    assert not [pid for pid in pids if running(pid)]


def running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
