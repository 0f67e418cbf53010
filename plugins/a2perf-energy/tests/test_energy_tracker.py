"""The energy metric around real child processes, offline, driven the way the runner drives it."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from a2perf_energy.cputime import ParticipantCpuClock
from a2perf_energy.metric import J_PER_KWH, EnergyMetric

from a2perf_core.metrics import PhaseContext
from a2perf_core.runner.wallclock import ParticipantSpan, span_path

#: a phase process notes the participant's span the way the runner's does (argv[1]: the span file)
IDLE = """
import sys, time
from pathlib import Path
from a2perf_core.runner.wallclock import SpanMarks
span = SpanMarks(Path(sys.argv[1]))
sys.stdin.readline()
span.mark("started")
time.sleep(0.5)
span.mark("ended")
"""

BUSY = """
import sys, time
from pathlib import Path
from a2perf_core.runner.wallclock import SpanMarks
span = SpanMarks(Path(sys.argv[1]))
sys.stdin.readline()
span.mark("started")
end = time.process_time() + {cpu_s}
x = 0
while time.process_time() < end:
    x += 1
span.mark("ended")
"""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """Every attempt to open a network connection fails and is recorded."""
    attempts: list = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts


def run_phase(metric: EnergyMetric, tmp_path: Path, code: str, phase: str = "inference") -> tuple[dict, float]:
    """Start a waiting child, start the metric, release the child, reap it, stop the metric.

    Returns the values and the CPU seconds the child used after it was released (from its rusage).
    """
    span_file = span_path(tmp_path, phase)
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(span_file)], stdin=subprocess.PIPE)
    context = PhaseContext(phase=phase, run_dir=tmp_path, task_id="Test-v0", seed=0, pid=child.pid)
    try:
        metric.start(context)
        before = psutil.Process(child.pid).cpu_times()
        child.stdin.write(b"go\n")
        child.stdin.close()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if child.returncode is None:
            child.kill()
            child.wait()
    assert child.returncode == 0
    phase_cpu_s = usage.ru_utime + usage.ru_stime - before.user - before.system
    return {v.name: v for v in metric.stop(context)}, phase_cpu_s


def test_offline_smoke(tmp_path: Path, no_network: list) -> None:
    values, _ = run_phase(EnergyMetric(), tmp_path, IDLE)

    assert no_network == []
    with (tmp_path / "emissions_inference.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and list(rows[0])[0] == "timestamp"
    assert float(rows[0]["energy_consumed"]) == values["energy.total"].value
    assert float(rows[0]["duration"]) == values["energy.duration"].value
    for name in ("energy.total", "energy.ram", "energy.emissions", "energy.mean_power", "energy.duration"):
        assert values[name].value > 0, name
    assert values["energy.cpu"].value >= 0
    assert values["energy.total"].unit == "kWh" and values["energy.total"].direction == "lower"
    assert values["energy.emissions"].unit == "kg CO2eq"
    assert values["energy.mean_power"].unit == "W"
    assert values["energy.total"].value == pytest.approx(
        values["energy.cpu"].value + values["energy.ram"].value + values["energy.gpu"].value
    )
    assert values["energy.tracking_mode"].value == "process"
    assert values["energy.region"].value == "USA"
    cpu_method = values["energy.cpu_method"].value
    assert cpu_method and values["energy.total"].details["cpu_method"] == cpu_method
    assert values["energy.total"].details["cpu_method_kind"] in ("measured", "model", "constant")
    assert values["energy.total"].details["measure_power_secs"] == 1.0
    assert values["energy.total"].details["csv"] == "emissions_inference.csv"


@pytest.mark.slow
def test_forced_cpu_power_over_a_cpu_bound_phase(tmp_path: Path, no_network: list) -> None:
    """X W forced over a phase that burns c CPU-seconds on n logical CPUs: X * c / n joules."""
    forced_cpu_w, forced_ram_w = 40.0, 5.0
    metric = EnergyMetric(force_cpu_power=forced_cpu_w, force_ram_power=forced_ram_w)
    values, cpu_s = run_phase(metric, tmp_path, BUSY.format(cpu_s=3.0))

    n_cpus = psutil.cpu_count()
    expected_cpu_kwh = forced_cpu_w * cpu_s / n_cpus / J_PER_KWH
    assert cpu_s == pytest.approx(3.0, abs=0.2)
    assert values["energy.cpu"].value == pytest.approx(expected_cpu_kwh, rel=0.10)
    duration = values["energy.duration"].value
    # codecarbon integrates per sample; its sum and its reported duration differ by a few per cent under load
    assert values["energy.ram"].value == pytest.approx(forced_ram_w * duration / J_PER_KWH, rel=0.10)
    assert values["energy.total"].details["cpu_method_kind"] == "model"
    assert "forced by force_cpu_power" in values["energy.cpu_method"].value
    assert "participant process tree" in values["energy.cpu_method"].value
    assert no_network == []


def test_cpu_clock_keeps_the_time_of_ended_processes() -> None:
    code = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        "'import time\\nend = time.process_time() + 0.4\\nwhile time.process_time() < end: pass'])"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    clock = ParticipantCpuClock(child.pid)
    first = clock.seconds()
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    after = clock.seconds()
    # the child and its reaped grandchild burnt >= 0.4 s; all of it is credited once the child is reaped
    assert after - first >= 0.35
    assert after >= usage.ru_utime + usage.ru_stime - 0.1
    assert clock.seconds() == after  # nothing is lost and nothing is counted twice afterwards


def test_cpu_clock_counts_the_phase_cgroup_like_the_memory_reader() -> None:
    """A daemon that left the root's tree is charged, because it is still in the phase's cgroup."""
    from a2perf_core.proctree import PhaseCgroup, ProcessTreeReader

    group = PhaseCgroup.create("energy-test")
    if group is None:
        pytest.skip("no cgroup v2 group can be made here")
    code = (
        "import os, sys, time\n"
        "sys.stdin.readline()\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        end = time.process_time() + 0.5\n"
        "        while time.process_time() < end: pass\n"
        "        print(os.getpid(), flush=True); time.sleep(60)\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        "time.sleep(60)\n"
    )
    root = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert group.add(root.pid)
        assert root.stdin is not None and root.stdout is not None
        root.stdin.write("\n")
        root.stdin.flush()
        daemon = int(root.stdout.readline())
        clock, reader = ParticipantCpuClock(root.pid), ProcessTreeReader()
        assert clock.group == reader.group_of(root.pid) == group.path
        assert daemon in reader.tree_pids(root.pid)
        assert clock.seconds() >= 0.5
    finally:
        group.remove()
        root.wait(timeout=10)


#: 1.5 s of set-up before the participant's first call and 1 s of teardown after its last
SET_UP_AND_TEARDOWN = """
import json, sys, time
from pathlib import Path
from a2perf_core.runner.wallclock import SpanMarks
span = SpanMarks(Path(sys.argv[1]))
sys.stdin.readline()
time.sleep(1.5)
span.mark("started")
time.sleep(0.3)
span.mark("ended")
time.sleep(1.0)
Path(sys.argv[1]).with_name("exiting.json").write_text(json.dumps(time.monotonic()))
"""


def test_the_tracker_covers_the_participants_span_only(tmp_path: Path, no_network: list) -> None:
    """Timestamps, not durations: the tracker starts after the span's first mark, stops after its
    last and before the process's teardown is over."""
    values, _ = run_phase(EnergyMetric(), tmp_path, SET_UP_AND_TEARDOWN)

    span = ParticipantSpan.read(span_path(tmp_path, "inference"))
    exiting = json.loads((tmp_path / "exiting.json").read_text())
    details = values["energy.total"].details
    assert span.started is not None and span.ended is not None
    assert span.started <= details["window_started_monotonic_s"] < span.ended
    assert span.ended <= details["window_stopped_monotonic_s"] < exiting
    assert details["window_end"] == "participant's last call"
    assert details["window_start_lag_s"] >= 0 and details["window_end_lag_s"] >= 0


def test_no_values_when_the_participant_was_never_called(tmp_path: Path, no_network: list) -> None:
    values, _ = run_phase(EnergyMetric(), tmp_path, "import sys; sys.stdin.readline()")

    assert set(values) == {"energy.status"}
    assert values["energy.status"].value == "not measured"


#: in a fresh interpreter: the modules imported from the metric's start returning until codecarbon has
#: computed the tracked interval (its final record, before it writes the CSV); argv[1]: a folder
FRESH_START_STOP = """
import os, sys
from pathlib import Path
from codecarbon import OfflineEmissionsTracker
from a2perf_energy.metric import EnergyMetric
from a2perf_core.metrics import PhaseContext
from a2perf_core.runner.wallclock import SpanMarks, span_path

folder = Path(sys.argv[1])
context = PhaseContext(phase="inference", run_dir=folder, task_id="Test-v0", seed=0, pid=os.getpid())
computed = {}
final_record = OfflineEmissionsTracker._prepare_emissions_data


def noting_modules(self):
    record = final_record(self)
    computed["modules"] = set(sys.modules)
    return record


OfflineEmissionsTracker._prepare_emissions_data = noting_modules
metric = EnergyMetric()
metric.start(context)
before = set(sys.modules)
span = SpanMarks(span_path(folder, "inference"))
span.mark("started")
span.mark("ended")
metric.stop(context)
print(sorted(computed["modules"] - before))
"""


def test_nothing_is_imported_inside_the_tracked_interval(tmp_path: Path) -> None:
    """codecarbon's lazy set-up (its emissions engine imports requests) is done before the release."""
    done = subprocess.run(
        [sys.executable, "-c", FRESH_START_STOP, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


#: in a fresh interpreter: warm_up, then what the first phase's start still imports (A2Perf's own modules aside)
FRESH_WARM_UP = """
import json, os, sys
from pathlib import Path
from a2perf_energy import metric as energy
from a2perf_core.metrics import PhaseContext

folder = Path(sys.argv[1])
context = PhaseContext(phase="inference", run_dir=folder, task_id="Test-v0", seed=0, pid=os.getpid())
metric = energy.EnergyMetric()
metric.warm_up({})
before = set(sys.modules)
metric.start(context)
imported = sorted(m for m in set(sys.modules) - before if not m.startswith("a2perf"))
window, method, _ = metric._trackers["inference"]
warnings = {"warm_up": energy._first_tracker_warnings, "phase": method["codecarbon_warnings"]}
print(json.dumps({"imported": imported, **warnings}))
"""


def test_the_warm_up_does_the_first_trackers_set_up(tmp_path: Path) -> None:
    """After ``warm_up`` a phase's start imports nothing (pandas, requests, the TDP table: all done), and
    what codecarbon warned once, at the warm-up, is still in the phase's details."""
    done = subprocess.run(
        [sys.executable, "-c", FRESH_WARM_UP, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["imported"] == []
    assert seen["warm_up"] is not None
    assert seen["phase"][: len(seen["warm_up"])] == seen["warm_up"]
