"""Parsing, the cgroup source, the cross-checks and registration of the memory metric."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from a2perf_memory import plugin
from a2perf_memory.metric import CGROUP_SOURCE, MemoryMetric, missed_spike, write_timeline
from a2perf_memory.proctree import MIB, own_cgroup_peak_file, parse_status, read_cgroup_peak
from a2perf_memory.sampler import TreeMemoryRecord, TreeSample

from a2perf_core.errors import A2PerfError
from a2perf_core.metrics import RUN_JSON, PhaseContext, RunRecords

STATUS = b"""Name:\tpython3
State:\tS (sleeping)
Pid:\t4242
VmPeak:\t  600000 kB
VmSize:\t  500000 kB
VmHWM:\t  307200 kB
VmRSS:\t   10240 kB
Threads:\t1
"""


def test_parse_status_reads_kib() -> None:
    memory = parse_status(4242, STATUS)
    assert memory is not None
    assert memory.rss == 10 * MIB
    assert memory.hwm == 300 * MIB


def test_parse_status_of_a_zombie_is_none() -> None:
    assert parse_status(1, b"Name:\tx\nState:\tZ (zombie)\n") is None


@pytest.mark.parametrize(
    ("polled", "kernel", "expected"),
    [
        (500.0, 300.0, False),  # a single process below the tree sum: fine
        (100.0, 106.0, False),  # within 5 % + 2 MiB
        (100.0, 108.0, True),  # 108 > 100 * 1.05 + 2
        (100.0, None, False),  # no kernel value, nothing to check
    ],
)
def test_missed_spike(polled: float, kernel: float | None, expected: bool) -> None:
    assert missed_spike(polled, kernel, tolerance=0.05, slack=2.0) is expected


def fake_cgroup(
    tmp_path: Path, child_group: str = "/a2perf/run1", own_group: str = "/", members: str = "123\n124\n"
) -> Path:
    proc = tmp_path / "proc"
    (proc / "123").mkdir(parents=True)
    (proc / "self").mkdir()
    (proc / "123" / "cgroup").write_text(f"4:memory:/x\n0::{child_group}\n")
    (proc / "self" / "cgroup").write_text(f"0::{own_group}\n")
    mount = tmp_path / "cg"
    (proc / "self" / "mountinfo").write_text(
        "22 1 0:20 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        f"30 1 0:26 / {mount} rw,relatime - cgroup2 cgroup2 rw\n"
    )
    group = mount / child_group.lstrip("/")
    group.mkdir(parents=True)
    (group / "cgroup.procs").write_text(members)
    (group / "memory.peak").write_text(f"{512 * MIB}\n")
    return proc


def test_cgroup_peak_used_when_the_participant_has_its_own_group(tmp_path: Path) -> None:
    proc = fake_cgroup(tmp_path)
    path = own_cgroup_peak_file(123, [123, 124], proc_root=proc)
    assert path == tmp_path / "cg" / "a2perf" / "run1" / "memory.peak"
    assert read_cgroup_peak(path) == 512 * MIB


def test_cgroup_shared_with_the_harness_is_not_used(tmp_path: Path) -> None:
    proc = fake_cgroup(tmp_path, child_group="/jobs", own_group="/jobs")
    assert own_cgroup_peak_file(123, [123, 124], proc_root=proc) is None


def test_cgroup_with_foreign_processes_is_not_used(tmp_path: Path) -> None:
    proc = fake_cgroup(tmp_path, members="123\n999\n")
    assert own_cgroup_peak_file(123, [123, 124], proc_root=proc) is None


def record(*rss_mib: float, hwm_mib: float | None = None) -> TreeMemoryRecord:
    samples = [TreeSample(0.1 * i, int(r * MIB), 1) for i, r in enumerate(rss_mib)]
    return TreeMemoryRecord(samples, {} if hwm_mib is None else {7: int(hwm_mib * MIB)}, 0.01, 1.0)


def test_cgroup_peak_becomes_the_headline_and_says_so() -> None:
    values = {v.name: v for v in MemoryMetric()._phase_values("train", record(10, 40, 20), "poll", 64 * MIB)}
    assert values["memory.peak"].value == 64.0
    assert values["memory.peak"].details["source"] == CGROUP_SOURCE
    assert values["memory.peak_rss_polled"].value == 40.0


def test_mean_ignores_polls_after_the_tree_ended() -> None:
    rec = record(10, 30)
    rec.samples.append(TreeSample(0.3, 0, 0))
    values = {v.name: v for v in MemoryMetric()._phase_values("inference", rec, "poll", None)}
    assert values["memory.mean_rss"].value == 20.0
    assert values["memory.peak"].details["samples"] == 3


def test_mean_leaves_out_polls_before_the_participant_was_released() -> None:
    rec = record(5, 5, 30, 50)  # polls at 0.0, 0.1, 0.2 and 0.3 s; released at 0.15 s
    rec.released_s = 0.15
    values = {v.name: v for v in MemoryMetric()._phase_values("train", rec, "poll", None)}
    assert values["memory.mean_rss"].value == 40.0
    assert values["memory.peak_rss_polled"].value == 50.0


def test_analyze_cross_checks_ru_maxrss(tmp_path: Path) -> None:
    write_timeline(tmp_path / "memory_train.csv", record(10, 50, 30))
    write_timeline(tmp_path / "memory_inference.csv", record(10, 50, 30))
    (tmp_path / RUN_JSON).write_text(
        json.dumps(
            {
                "phases": {
                    "train": {"status": "ok", "ru_maxrss_kib": 45 * 1024},
                    "inference": {"status": "ok", "ru_maxrss_kib": 80 * 1024},
                }
            }
        )
    )
    values = {(v.name, v.phase): v for v in MemoryMetric().analyze(RunRecords(tmp_path))}
    assert values["memory.ru_maxrss", "train"].value == 45.0
    assert values["memory.spike_missed_ru_maxrss", "train"].value is False
    assert values["memory.spike_missed_ru_maxrss", "inference"].value is True


def test_run_options_override_gin_settings() -> None:
    metric = MemoryMetric(measure_uss_pss=True)
    resolved = metric.with_options({"interval_s": 0.5, "unrelated": 1})
    assert (resolved.interval_s, resolved.measure_uss_pss) == (0.5, True)
    assert metric.with_options({"unrelated": 1}) is metric
    with pytest.raises(A2PerfError, match="positive"):
        metric.with_options({"interval_s": -1})


def test_missing_pid_is_a_user_facing_error(tmp_path: Path) -> None:
    with pytest.raises(A2PerfError, match="process id"):
        MemoryMetric().start(PhaseContext("train", tmp_path, "Test-v0", 0, pid=None))
    with pytest.raises(A2PerfError, match="positive"):
        MemoryMetric(interval_s=0)


def test_registered_through_the_plugin(a2perf_plugins) -> None:
    spec = a2perf_plugins(plugin).registry.metrics["memory"].spec
    assert (spec.unit, spec.direction, spec.factory) == ("MiB", "lower", "a2perf_memory.metric:MemoryMetric")


def test_absent_without_the_plugin(a2perf_plugins) -> None:
    assert "memory" not in a2perf_plugins().registry.metrics


def test_entry_point_module_is_light() -> None:
    code = (
        "import sys, a2perf_memory.plugin; "
        "heavy = {'psutil', 'gin', 'a2perf_memory.metric', 'a2perf_memory.sampler'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_settings_are_gin_configurable() -> None:
    import gin

    try:
        gin.parse_config("a2perf_memory.MemoryMetric.interval_s = 0.25\na2perf_memory.MemoryMetric.use_cgroup = False")
        metric = MemoryMetric()
        assert (metric.interval_s, metric.use_cgroup) == (0.25, False)
    finally:
        gin.clear_config()
