"""The sweep's status line on a terminal: done / running / failed / to go, and an ETA."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class SweepStatus:
    """Counts of the whole grid, refreshed by rich about once a second while the sweep runs.

    Running cells are those whose ``run.json`` has a phase in progress (visible where the run folders
    are written straight to this machine or to shared storage). The ETA is the cells still to run
    times this invocation's mean seconds per finished cell (its observed throughput, whatever the
    executor's parallelism).
    """

    def __init__(self, total: int, done: int, failed: int) -> None:
        self.total = total
        self.done = done
        self.failed = failed
        self.finished_here = 0
        self.started = time.monotonic()
        self.queued: list[Path] = []

    def queue(self, run_dirs: Sequence[Path]) -> None:
        self.queued = list(run_dirs)

    def finished(self, run_dir: Path, ok: bool) -> None:
        self.finished_here += 1
        if ok:
            self.done += 1
        else:
            self.failed += 1
        if run_dir in self.queued:
            self.queued.remove(run_dir)

    def running(self) -> int:
        from a2perf_core.metrics import RUN_JSON
        from a2perf_core.runner.results import read_json

        count = 0
        for run_dir in self.queued:
            try:
                info = read_json(run_dir / RUN_JSON)
            except (ValueError, OSError):
                continue
            count += bool(info and info.get("phase_in_progress"))
        return count

    def eta_s(self) -> float | None:
        to_go = len(self.queued)
        if not self.finished_here or not to_go:
            return None
        return to_go * (time.monotonic() - self.started) / self.finished_here

    def line(self) -> str:
        eta = self.eta_s()
        eta_text = "ETA --" if eta is None else f"ETA {format_duration(eta)}"
        to_go = self.total - self.done - self.failed
        return (
            f"sweep: {self.done}/{self.total} done, {self.running()} running, {self.failed} failed, "
            f"{to_go} to go, {eta_text}"
        )

    def __rich__(self) -> Any:
        from rich.text import Text

        return Text(self.line())


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
