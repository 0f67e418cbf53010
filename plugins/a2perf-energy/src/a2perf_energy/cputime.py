"""CPU time of the participant's process tree, including processes that already ended.

codecarbon's "process" tracking mode charges the CPU-seconds of a process tree between two power
samples. Its own reading (live processes only, rooted at the harness) loses the CPU time of any
process that ends between two samples, so the last interval of every phase (up to
``measure_power_secs`` of work) disappeared when the participant exited. This clock adds what the
kernel credits to a parent when it reaps a child, so the total never drops when a process ends.
"""

from __future__ import annotations

import os

import psutil


def _reaped_children_cpu_s() -> float:
    times = os.times()
    return times.children_user + times.children_system


class ParticipantCpuClock:
    """Cumulative CPU seconds (user + system) of ``root_pid`` and all its descendants, reaped ones too.

    Live processes contribute their own time plus the time of the descendants they reaped; once the
    harness reaps the participant itself, the kernel adds the whole tree's time to the harness's
    ``children`` counters, which are read as a difference from construction. The reading is kept
    monotonic. Children of the harness other than the participant that end during the phase would be
    counted too; the runner starts none.
    """

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        self._reaped_at_start = _reaped_children_cpu_s()
        self._highest = 0.0
        try:
            self._created = psutil.Process(root_pid).create_time()
        except psutil.Error:
            self._created = None

    def seconds(self) -> float:
        live = 0.0
        try:
            root = psutil.Process(self.root_pid)
            same_process = root.create_time() == self._created  # not a later process reusing the pid
            processes = [root, *root.children(recursive=True)] if same_process else []
        except psutil.Error:
            processes = []
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            live += times.user + times.system + times.children_user + times.children_system
        total = live + _reaped_children_cpu_s() - self._reaped_at_start
        self._highest = max(self._highest, total)
        return self._highest

    def as_codecarbon_times(self) -> dict[int, float]:
        """The shape codecarbon's CPU object expects from ``_get_process_cpu_times``: pid -> seconds."""
        return {self.root_pid: self.seconds()}
