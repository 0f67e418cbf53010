"""The ``memory`` metric: the participant's process tree, polled from the harness during each phase."""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gin

from a2perf_core.errors import A2PerfError
from a2perf_core.metrics import Metric, MetricValue, PhaseContext, RunRecords
from a2perf_memory.proctree import MIB, ProcessTreeReader, own_cgroup_peak_file, read_cgroup_peak
from a2perf_memory.sampler import TreeMemoryRecord, TreeMemorySampler

TIMELINE = "memory.csv"
TIMELINE_HEADER = ["time_s", "rss_mib", "processes", "uss_mib", "pss_mib"]
CGROUP_SOURCE = "cgroup v2 memory.peak of the participant's own cgroup (exact; includes page cache)"


#: what the runner records as ``ru_maxrss_kib`` (ru_maxrss itself survives exec, so it would start at
#: the harness's size in a spawned process)
RUNNER_HWM_SOURCE = (
    "the participant process's own kernel high-water mark (VmHWM) and its reaped children's "
    "ru_maxrss, recorded by the runner"
)


class MemoryMetricError(A2PerfError):
    """The memory metric was used in a way it cannot measure."""


def missed_spike(polled_peak: float, kernel_peak: float | None, tolerance: float, slack: float) -> bool:
    """True when a kernel high-water mark exceeds the polled peak: a spike fell between two polls.

    The kernel's value is exact for one process while the poll sums the tree, so a kernel value
    above the poll (beyond ``tolerance`` relative plus ``slack`` absolute) can only be a missed spike.
    """
    if kernel_peak is None:
        return False
    return kernel_peak > polled_peak * (1.0 + tolerance) + slack


@gin.configurable(module="a2perf_memory")
class MemoryMetric(Metric):
    """Peak and mean RSS (MiB) of the participant's whole process tree in each phase."""

    def __init__(
        self,
        interval_s: float = 0.1,
        measure_uss_pss: bool = False,
        spike_tolerance: float = 0.05,
        spike_slack_mib: float = 2.0,
        use_cgroup: bool = True,
    ) -> None:
        if interval_s <= 0:
            raise MemoryMetricError(f"memory sampling interval must be positive, got {interval_s!r} s")
        self._settings = {
            "interval_s": interval_s,
            "measure_uss_pss": measure_uss_pss,
            "spike_tolerance": spike_tolerance,
            "spike_slack_mib": spike_slack_mib,
            "use_cgroup": use_cgroup,
        }
        self.interval_s = float(interval_s)
        self.measure_uss_pss = measure_uss_pss
        self.spike_tolerance = float(spike_tolerance)
        self.spike_slack_mib = float(spike_slack_mib)
        self.use_cgroup = use_cgroup
        self._samplers: dict[str, TreeMemorySampler] = {}
        self._started_at: dict[str, float] = {}
        self._cgroup_files: dict[str, Path | None] = {}
        self._configs: dict[str, MemoryMetric] = {}

    def with_options(self, options: Mapping[str, Any]) -> MemoryMetric:
        """These settings overridden by a run's ``metric_options["memory"]``."""
        known = {k: v for k, v in options.items() if k in self._settings}
        return MemoryMetric(**{**self._settings, **known}) if known else self

    def start(self, phase: PhaseContext) -> None:
        if phase.pid is None:
            raise MemoryMetricError(f"the memory metric needs the participant's process id in phase {phase.phase!r}")
        cfg = self.with_options(phase.options)
        reader = ProcessTreeReader()
        sampler = TreeMemorySampler(phase.pid, cfg.interval_s, cfg.measure_uss_pss, reader)
        self._cgroup_files[phase.phase] = (
            own_cgroup_peak_file(phase.pid, reader.tree_pids(phase.pid)) if cfg.use_cgroup else None
        )
        sampler.start()
        self._started_at[phase.phase] = time.time()
        self._samplers[phase.phase] = sampler
        self._configs[phase.phase] = cfg

    def stop(self, phase: PhaseContext) -> list[MetricValue]:
        sampler = self._samplers.pop(phase.phase, None)
        if sampler is None:
            return []
        record = sampler.stop()
        started_at = self._started_at.pop(phase.phase, None)
        if phase.released_at is not None and started_at is not None:
            record.released_s = max(0.0, phase.released_at - started_at)
        write_timeline(phase.path(TIMELINE), record)
        cgroup_file = self._cgroup_files.pop(phase.phase, None)
        cgroup_peak = read_cgroup_peak(cgroup_file) if cgroup_file is not None else None
        cfg = self._configs.pop(phase.phase, self)
        return cfg._phase_values(phase.phase, record, sampler.reader.method, cgroup_peak)

    def _phase_values(
        self, phase: str, record: TreeMemoryRecord, method: str, cgroup_peak: int | None
    ) -> list[MetricValue]:
        polled_source = f"poll every {self.interval_s * 1000:g} ms: {method}"
        sampling = {
            "interval_s": self.interval_s,
            "samples": len(record.samples),
            "sampler_cpu_s": record.sampler_cpu_s,
            "wall_s": record.wall_s,
            "sampler_cpu_share_of_one_core": record.sampler_cpu_s / record.wall_s if record.wall_s else 0.0,
        }
        peak_polled = record.peak_rss / MIB
        if cgroup_peak is not None:
            headline, source = cgroup_peak / MIB, CGROUP_SOURCE
        else:
            headline, source = peak_polled, polled_source
        values = [
            MetricValue(
                "memory.peak",
                headline,
                "MiB",
                "lower",
                phase,
                "peak memory of the participant's process tree",
                {"source": source, **sampling},
            ),
            MetricValue(
                "memory.peak_rss_polled",
                peak_polled,
                "MiB",
                "lower",
                phase,
                "largest RSS summed over the process tree among the polls",
                {"source": polled_source},
            ),
            MetricValue(
                "memory.mean_rss",
                record.mean_rss / MIB,
                "MiB",
                "lower",
                phase,
                "mean over the polls of RSS summed over the process tree",
                {"source": polled_source},
            ),
        ]
        largest_hwm = record.largest_hwm
        if largest_hwm is not None:
            hwm_pid = max(record.hwm_by_pid, key=record.hwm_by_pid.__getitem__)
            missed = missed_spike(peak_polled, largest_hwm / MIB, self.spike_tolerance, self.spike_slack_mib)
            values += [
                MetricValue(
                    "memory.peak_largest_process",
                    largest_hwm / MIB,
                    "MiB",
                    "lower",
                    phase,
                    "kernel high-water mark (VmHWM) of the single largest process of the tree",
                    {"source": "/proc/<pid>/status VmHWM, last read while the process lived", "pid": hwm_pid},
                ),
                MetricValue(
                    "memory.spike_missed",
                    missed,
                    "",
                    "none",
                    phase,
                    "a process's own kernel peak exceeds the polled tree peak: a spike fell between polls "
                    "(lower the interval, or trust memory.peak_largest_process as a lower bound)",
                    {
                        "polled_peak_mib": peak_polled,
                        "kernel_peak_mib": largest_hwm / MIB,
                        "tolerance": self.spike_tolerance,
                        "slack_mib": self.spike_slack_mib,
                    },
                ),
            ]
        if self.measure_uss_pss:
            for field, label in (("uss", "unique (USS)"), ("pss", "proportional (PSS)")):
                peak = max((getattr(s, field) or 0 for s in record.samples), default=0)
                values.append(
                    MetricValue(
                        f"memory.peak_{field}",
                        peak / MIB,
                        "MiB",
                        "lower",
                        phase,
                        f"largest {label} set size summed over the tree among the polls",
                        {"source": "psutil memory_full_info (smaps)"},
                    )
                )
        return values

    def analyze(self, run: RunRecords) -> list[MetricValue]:
        """Cross-check each phase's polled peak with ``ru_maxrss`` when the runner recorded it."""
        values = []
        for phase, info in run.info.get("phases", {}).items():
            ru_maxrss_kib = info.get("ru_maxrss_kib")
            timeline = run.run_dir / f"memory_{phase}.csv"
            if ru_maxrss_kib is None or not timeline.exists():
                continue
            polled = max(read_timeline_rss_mib(timeline), default=0.0)
            kernel = float(ru_maxrss_kib) / 1024
            values += [
                MetricValue(
                    "memory.ru_maxrss",
                    kernel,
                    "MiB",
                    "lower",
                    phase,
                    "kernel high-water mark of the largest single waited-for process (not a tree sum)",
                    {"source": RUNNER_HWM_SOURCE},
                ),
                MetricValue(
                    "memory.spike_missed_ru_maxrss",
                    missed_spike(polled, kernel, self.spike_tolerance, self.spike_slack_mib),
                    "",
                    "none",
                    phase,
                    "ru_maxrss exceeds the polled tree peak: a spike fell between polls",
                    {"polled_peak_mib": polled, "kernel_peak_mib": kernel},
                ),
            ]
        return values


def write_timeline(path: Path, record: TreeMemoryRecord) -> Path:
    """The polls as CSV, memory in MiB (USS/PSS columns empty unless measured)."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(TIMELINE_HEADER)
        for s in record.samples:
            writer.writerow(
                [
                    f"{s.time_s:.4f}",
                    f"{s.rss / MIB:.3f}",
                    s.processes,
                    "" if s.uss is None else f"{s.uss / MIB:.3f}",
                    "" if s.pss is None else f"{s.pss / MIB:.3f}",
                ]
            )
    return path


def read_timeline_rss_mib(path: str | os.PathLike[str]) -> list[float]:
    with open(path, newline="") as f:
        return [float(row["rss_mib"]) for row in csv.DictReader(f)]
