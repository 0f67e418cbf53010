"""The built-in ``local`` executor: each phase in a spawned child process on this machine."""

from __future__ import annotations

from typing import Any

from a2perf_core.runner.process import ChildProcess


class LocalExecutor:
    """Runs each phase as a :class:`~a2perf_core.runner.process.ChildProcess` on this machine."""

    name = "local"

    def process(self, job: dict[str, Any]) -> ChildProcess:
        return ChildProcess(job)
