"""A thread in the harness process that polls the memory of the participant's process tree."""

from __future__ import annotations

import threading
import time

import attrs

from a2perf_memory.proctree import ProcessTreeReader, unique_set_sizes


@attrs.frozen
class TreeSample:
    """Memory of the whole tree at one instant (bytes); USS/PSS only when asked for."""

    time_s: float
    rss: int
    processes: int
    uss: int | None = None
    pss: int | None = None


@attrs.define
class TreeMemoryRecord:
    """What a sampler saw: the timeline and each process's last-read kernel high-water mark."""

    samples: list[TreeSample] = attrs.Factory(list)
    #: pid -> largest VmHWM read while it lived (bytes)
    hwm_by_pid: dict[int, int] = attrs.Factory(dict)
    #: CPU time the sampler thread itself used (s): the cost of measuring
    sampler_cpu_s: float = 0.0
    wall_s: float = 0.0

    #: samples taken before this time (s since the sampler started) are left out of the mean:
    #: the participant was still held back while other metrics started
    released_s: float = 0.0

    def live_samples(self) -> list[TreeSample]:
        live = [s for s in self.samples if s.processes > 0]
        after = [s for s in live if s.time_s >= self.released_s]
        return after or live

    @property
    def peak_rss(self) -> int:
        return max((s.rss for s in self.samples), default=0)

    @property
    def mean_rss(self) -> float:
        live = self.live_samples()
        return sum(s.rss for s in live) / len(live) if live else 0.0

    @property
    def largest_hwm(self) -> int | None:
        return max(self.hwm_by_pid.values(), default=None)


class TreeMemorySampler:
    """Polls RSS summed over ``root_pid`` and all its descendants every ``interval_s`` seconds.

    The first sample is taken synchronously in :meth:`start`; :meth:`stop` takes a last one, so a
    phase shorter than the interval still has two samples.
    """

    def __init__(
        self,
        root_pid: int,
        interval_s: float = 0.1,
        measure_uss_pss: bool = False,
        reader: ProcessTreeReader | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"sampling interval must be positive, got {interval_s!r}")
        self.root_pid = root_pid
        self.interval_s = interval_s
        self.measure_uss_pss = measure_uss_pss
        self.reader = reader or ProcessTreeReader()
        self.record = TreeMemoryRecord()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._lock = threading.Lock()

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self.sample()
        self._thread = threading.Thread(target=self._run, name="a2perf-memory-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> TreeMemoryRecord:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        self.record.wall_s = time.perf_counter() - self._t0
        return self.record

    def _run(self) -> None:
        cpu0 = time.thread_time()
        tick = 1
        while not self._stop.wait(max(0.0, self._t0 + tick * self.interval_s - time.perf_counter())):
            self.sample()
            tick = max(tick + 1, int((time.perf_counter() - self._t0) / self.interval_s) + 1)
        self.record.sampler_cpu_s += time.thread_time() - cpu0

    def sample(self) -> TreeSample:
        """Read the tree once and append the sample."""
        now = time.perf_counter() - self._t0
        rss = processes = uss = pss = 0
        hwm_seen: dict[int, int] = {}
        for memory in self.reader.snapshot(self.root_pid):
            pid = memory.pid
            rss += memory.rss
            processes += 1
            if memory.hwm is not None:
                hwm_seen[pid] = memory.hwm
            if self.measure_uss_pss:
                sizes = unique_set_sizes(pid)
                if sizes is not None:
                    uss += sizes[0]
                    pss += sizes[1]
        sample = TreeSample(
            now, rss, processes, uss if self.measure_uss_pss else None, pss if self.measure_uss_pss else None
        )
        with self._lock:
            self.record.samples.append(sample)
            for pid, hwm in hwm_seen.items():
                self.record.hwm_by_pid[pid] = max(hwm, self.record.hwm_by_pid.get(pid, 0))
        return sample
