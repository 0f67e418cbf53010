"""A phase's participant process: spawned held back, released, watched, and ended with its tree.

The child runs in its own session, so ending a phase (timeout, memory limit, Ctrl-C, or just the
participant leaving grandchildren behind) ends the whole process tree: no orphans survive a phase.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import attrs
import psutil


@attrs.frozen
class PhaseOutcome:
    """How a child process ended."""

    ok: bool
    exitcode: int | None
    reason: str | None
    wall_time_s: float
    #: peak RSS of the process tree as polled by the harness (every 0.1 s with a memory limit, else 1 s)
    peak_tree_rss_mib: float


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "did not exit"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"killed by {name}" + (" (segmentation fault)" if name == "SIGSEGV" else "")
    return f"exited with code {exitcode}"


class ChildProcess:
    """One participant process: started held back, released, watched, and ended with its tree."""

    def __init__(self, job: dict[str, Any]) -> None:
        from a2perf_core.runner.child import child_main

        context = multiprocessing.get_context("spawn")
        self._go = context.Event()
        self._process = context.Process(target=child_main, args=(job, self._go), name=f"a2perf-{job['label']}")
        self._seen: dict[int, psutil.Process] = {}

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> int:
        self._process.start()
        assert self._process.pid is not None
        return self._process.pid

    def tree(self) -> list[psutil.Process]:
        """The child and all its descendants alive now (remembered, to end them later)."""
        try:
            root = psutil.Process(self._process.pid)
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        for member in members:
            self._seen.setdefault(member.pid, member)
        return members

    def tree_rss_mib(self) -> float:
        total = 0
        for member in self.tree():
            try:
                total += member.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    def release_and_wait(
        self,
        timeout_s: float | None = None,
        max_memory_mib: float | None = None,
        tick: Callable[[float], None] | None = None,
        poll_s: float = 0.1,
    ) -> PhaseOutcome:
        """Let the child run; end it on timeout or memory limit; always end its whole tree."""
        start = time.perf_counter()
        self._go.set()
        reason: str | None = None
        peak = 0.0
        # walking the tree costs a few % of a core at 10 Hz: do it that often only to enforce a limit
        tree_every = poll_s if max_memory_mib is not None else 1.0
        next_tree = start
        rss = 0.0
        try:
            while True:
                self._process.join(poll_s)
                elapsed = time.perf_counter() - start
                if not self._process.is_alive():
                    break
                if start + elapsed >= next_tree:
                    next_tree = start + elapsed + tree_every
                    rss = self.tree_rss_mib()
                    peak = max(peak, rss)
                if timeout_s is not None and elapsed > timeout_s:
                    reason = f"timed out after {timeout_s:g} s"
                    break
                if max_memory_mib is not None and rss > max_memory_mib:
                    reason = f"exceeded the memory limit: {rss:.0f} MiB > {max_memory_mib:g} MiB (process tree RSS)"
                    break
                if tick is not None:
                    tick(elapsed)
        except KeyboardInterrupt:
            reason = "interrupted (Ctrl-C)"
            self.end_tree()
            raise
        finally:
            wall = time.perf_counter() - start
            if reason is not None:
                self.end_tree()
            self.end_tree()
        exitcode = self._process.exitcode
        if reason is None and exitcode != 0:
            reason = describe_exit(exitcode)
        return PhaseOutcome(reason is None, exitcode, reason, wall, peak)

    def end_tree(self) -> None:
        """SIGKILL the child's process group and every descendant ever seen; reap the child."""
        self.tree()
        pid = self._process.pid
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for member in self._seen.values():
            try:
                member.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(list(self._seen.values()), timeout=5)
        self._process.join(5)
