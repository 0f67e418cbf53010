"""The memory metric on real process trees, driven the way the runner drives it."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from a2perf_memory.metric import MemoryMetric
from a2perf_memory.proctree import MIB, ProcessTreeReader

from a2perf_core.metrics import PhaseContext

MB = 1_000_000

HOLD = """
import sys, time
block = bytearray(b"\\x01") * {size}  # every page written, so all of it is resident
time.sleep({hold})
"""

PARENT = """
import subprocess, sys, time
sys.stdin.readline()  # wait until the harness releases us, as the runner's child does
block = bytearray(b"\\x01") * {child_size}
grandchild = subprocess.Popen([sys.executable, "-c", {grandchild!r}])
grandchild.wait()
"""

SPIKE = """
import sys, time
sys.stdin.readline()
time.sleep(0.3)
spike = bytearray(b"\\x01") * {size}
del spike  # a large block is unmapped at once: RSS falls back
time.sleep({rest})
"""


def run_phase(metric: MemoryMetric, tmp_path: Path, code: str, phase: str = "train") -> dict:
    """Start a waiting child, start the metric, release the child, wait, stop the metric."""
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdin=subprocess.PIPE)
    context = PhaseContext(phase=phase, run_dir=tmp_path, task_id="Test-v0", seed=0, pid=child.pid)
    try:
        metric.start(context)
        child.stdin.write(b"go\n")
        child.stdin.close()
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
    return {v.name: v for v in metric.stop(context)}


def test_child_and_grandchild_allocations_add_up(tmp_path: Path) -> None:
    grandchild = HOLD.format(size=300 * MB, hold=1.5)
    values = run_phase(MemoryMetric(), tmp_path, PARENT.format(child_size=200 * MB, grandchild=grandchild))

    expected_mib = 500 * MB / MIB
    peak = values["memory.peak"]
    assert peak.unit == "MiB" and peak.direction == "lower"
    assert abs(peak.value - expected_mib) <= 0.10 * expected_mib, peak
    assert "poll every 100 ms" in peak.details["source"]
    assert values["memory.peak_rss_polled"].value == peak.value
    assert 0 < values["memory.mean_rss"].value < peak.value
    # the largest single process is the 300 MB grandchild, well below the tree's sum
    assert values["memory.peak_largest_process"].value == pytest.approx(300 * MB / MIB, rel=0.10)
    assert values["memory.spike_missed"].value is False

    with (tmp_path / "memory_train.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["time_s", "rss_mib", "processes", "uss_mib", "pss_mib"]
    assert max(int(r["processes"]) for r in rows) == 2
    assert max(float(r["rss_mib"]) for r in rows) == pytest.approx(peak.value, abs=0.01)


def test_spike_between_polls_is_flagged(tmp_path: Path) -> None:
    # a 200 MB spike at ~0.3 s lasting a fraction of the 2 s interval; the process outlives the next poll
    values = run_phase(MemoryMetric(interval_s=2.0), tmp_path, SPIKE.format(size=200 * MB, rest=2.5))

    polled = values["memory.peak_rss_polled"].value
    kernel = values["memory.peak_largest_process"].value
    assert polled < 100, "the poll should not have seen the 200 MB spike"
    assert kernel > 190
    assert values["memory.spike_missed"].value is True
    assert values["memory.spike_missed"].details["kernel_peak_mib"] == kernel


def test_uss_and_pss_when_asked(tmp_path: Path) -> None:
    values = run_phase(MemoryMetric(measure_uss_pss=True), tmp_path, SPIKE.format(size=MB, rest=0.3))
    assert 0 < values["memory.peak_uss"].value <= values["memory.peak_pss"].value
    assert values["memory.peak_pss"].value <= values["memory.peak_rss_polled"].value + 1


def test_tree_reader_finds_descendants() -> None:
    code = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'import time; time.sleep(3)'])"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        reader = ProcessTreeReader()
        memory = None
        for _ in range(100):  # the grandchild is found between fork and exec too: wait for its interpreter
            pids = reader.tree_pids(child.pid)
            memory = reader.read(pids[1]) if len(pids) == 2 else None
            if memory is not None and memory.rss > MIB:
                break
            time.sleep(0.05)
        assert pids[0] == child.pid and len(pids) == 2
        assert memory is not None and memory.rss > MIB
    finally:
        for pid in reader.tree_pids(child.pid)[::-1]:
            os.kill(pid, signal.SIGKILL)
        child.wait()
    assert reader.tree_pids(child.pid) == []


def test_tree_reader_finds_children_started_by_other_threads() -> None:
    code = textwrap.dedent("""
        import subprocess, sys, threading, time
        def spawn():
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
            time.sleep(3)
        threading.Thread(target=spawn).start()
        time.sleep(3)
    """)
    child = subprocess.Popen([sys.executable, "-c", code])
    reader = ProcessTreeReader()
    try:
        for _ in range(100):
            pids = reader.tree_pids(child.pid)
            if len(pids) == 2:
                break
            time.sleep(0.05)
        assert len(pids) == 2
    finally:
        for pid in reader.tree_pids(child.pid)[::-1]:
            os.kill(pid, signal.SIGKILL)
        child.wait()
