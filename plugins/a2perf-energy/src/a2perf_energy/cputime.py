"""CPU time of the participant's processes, including processes that already ended.

codecarbon's "process" tracking mode charges the CPU-seconds of a process tree between two power
samples. Its own reading (live processes only, rooted at the harness) loses the CPU time of any
process that ends between two samples, so the last interval of every phase (up to
``measure_power_secs`` of work) disappeared when the participant exited. This clock is the core's
:class:`~a2perf_core.proctree.PhaseCpuClock`: the phase cgroup's ``cpu.stat`` where the runner made
one, else the subreaper tree plus what the kernel credits to a parent when it reaps a child, so
the total never drops when a process ends and counts the same processes as the memory metric.
"""

from __future__ import annotations

from a2perf_core.proctree import PhaseCpuClock


class ParticipantCpuClock(PhaseCpuClock):
    """Cumulative CPU seconds (user + system) of the phase whose root process is ``root_pid``."""

    def as_codecarbon_times(self) -> dict[int, float]:
        """The shape codecarbon's CPU object expects from ``_get_process_cpu_times``: pid -> seconds."""
        return {self.root_pid: self.seconds()}
