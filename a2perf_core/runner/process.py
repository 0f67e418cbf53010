"""A phase's participant process: spawned held back, contained, released, watched, and ended with all it started.

Containment, best first (``run.json`` records which one each phase used, as ``containment``):

- ``cgroup v2``: the root process moves into a cgroup of its own before it is released. Nothing
  leaves a cgroup by forking, ``setsid`` or re-parenting, so every process the phase starts is
  listed (memory), charged (``cpu.stat``) and ended (``cgroup.kill``). A watchdog process in its own
  session holds a pipe from the harness and kills the group when the pipe closes, also after a
  SIGKILL of the harness; the root gets SIGKILL when the harness dies (``PR_SET_PDEATHSIG``).
- ``subreaper``: where no cgroup can be made (no cgroup v2 mount, no permission), the root process
  is a child subreaper (``PR_SET_CHILD_SUBREAPER``), so descendants that detach are re-parented to it
  and stay in the tree that is walked. A thread in the root ends the tree if the harness dies.

In both, the root kills and reaps whatever is left under it when the phase's function returns, and
the harness ends the rest when the phase ends however it ends (timeout, memory limit, Ctrl-C,
SIGTERM). ``A2PERF_CONTAINMENT=subreaper`` forces the fallback.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import psutil

from a2perf_core.proctree import (
    MIB,
    PhaseCgroup,
    PhaseCpuClock,
    ProcessTreeReader,
    become_child_subreaper,
    cgroup_pids,
    end_descendants,
    set_parent_death_signal,
    wait_gone,
)
from a2perf_core.runner.wallclock import ParticipantSpan, span_path

CONTAINMENT_ENV = "A2PERF_CONTAINMENT"
#: what a prestarted process sends when it has done its imports and waits for its job
PREPARED = "prepared"
CGROUP = "cgroup v2"
SUBREAPER = "subreaper"


class PhaseInterrupted(KeyboardInterrupt):
    """The harness was told to stop (Ctrl-C or a signal); the message is the phase's reason."""


def _interrupt(signum: int, frame: Any) -> None:
    raise PhaseInterrupted(f"interrupted ({signal.Signals(signum).name})")


def raise_interrupted_on_sigterm() -> None:
    """In this (main) thread, SIGTERM raises :class:`PhaseInterrupted`: the phase ends as on Ctrl-C."""
    signal.signal(signal.SIGTERM, _interrupt)


@attrs.frozen
class PhaseOutcome:
    """How a child process ended."""

    ok: bool
    exitcode: int | None
    reason: str | None
    #: the participant's span (see :mod:`a2perf_core.runner.wallclock`); 0 when it was never called
    wall_time_s: float
    #: peak RSS of the phase's processes as polled by the harness (every 0.1 s with a memory limit, else 1 s)
    peak_tree_rss_mib: float
    #: how the phase's processes were kept together: ``cgroup v2`` or ``subreaper``
    containment: str = "subreaper"
    #: CPU seconds (user + system) of every process of the phase, ended ones included
    participant_cpu_s: float | None = None

    def recorded(self) -> dict[str, Any]:
        """The fields the run records in the phase's entry of ``run.json``."""
        return {"containment": self.containment, "participant_cpu_s": self.participant_cpu_s}


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


def requested_containment() -> str:
    """``cgroup v2`` unless ``A2PERF_CONTAINMENT=subreaper`` forces the fallback."""
    value = os.environ.get(CONTAINMENT_ENV, "").strip().lower()
    return SUBREAPER if value == SUBREAPER else CGROUP


@contextmanager
def main_script_withheld() -> Iterator[None]:
    """While a phase process is spawned: the harness's main script is not named to it.

    Spawn re-runs the parent's main script in the child when it has no module spec (a console script
    such as ``a2perf`` or ``pytest``): the child would import the CLI and click, or a test runner, for
    nothing, since what it runs (:func:`contained_main`) and its job never refer to ``__main__``.
    (``python -m`` has a spec, which spawn already leaves alone.)
    """
    main = sys.modules.get("__main__")
    main_file = main.__dict__.pop("__file__", None) if main is not None and main.__spec__ is None else None
    try:
        yield
    finally:
        if main_file is not None:
            main.__file__ = main_file


def contained_main(jobs: Any, go: Any, placed: Any, group: str | None, harness_pid: int) -> None:
    """The root process of a phase: joins its cgroup, does its imports, waits for its job, runs the phase.

    While it waits for its job it has no descendants and dies with the harness (``PR_SET_PDEATHSIG``).
    """
    os.setsid()
    become_child_subreaper()
    while not placed.wait(0.5):  # until the harness has tried to move this process into the group
        if os.getppid() != harness_pid:
            os._exit(1)
    in_group = group is not None and os.getpid() in cgroup_pids(Path(group))
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != harness_pid:  # the harness died before the signal was set
        os._exit(1)
    from a2perf_core.runner.child import child_main, exit_now, hold_output, prepare_imports

    held = hold_output()
    prepare_imports()
    try:
        jobs.send(PREPARED)
        job = jobs.recv()
    except (EOFError, OSError):  # the harness ended this process's phase before it began
        os._exit(0)
    jobs.close()
    if not in_group:  # the guard thread ends the tree first; the signal would end only this process
        set_parent_death_signal(0)
        threading.Thread(target=_end_with_harness, args=(harness_pid,), name="a2perf-guard", daemon=True).start()
        if os.getppid() != harness_pid:
            _end_tree_and_exit()
    try:
        child_main(job, go, held)
        code = 0
    except SystemExit as exc:  # the phase failed (its error is recorded), or the participant called sys.exit
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    finally:
        end_descendants(os.getpid())
    exit_now(code)


def _end_with_harness(harness_pid: int) -> None:
    while os.getppid() == harness_pid:
        time.sleep(0.1)
    _end_tree_and_exit()


def _end_tree_and_exit() -> None:
    end_descendants(os.getpid())
    os._exit(1)


def _close_watchdog(watchdog: Any) -> None:
    """Closing the pipe makes the watchdog kill and remove the phase's cgroup."""
    try:
        watchdog.stdin.close()
    except OSError:
        pass


class ChildProcess:
    """One participant process: started ahead of its phase and held back, contained, given its job,
    released, watched, and ended with its tree.

    :meth:`prestart` spawns the process into the phase's cgroup; it imports what every phase needs
    and then blocks (no CPU) until :meth:`start` sends its job. The runner prestarts every phase's
    process when a run begins, so their start-ups overlap the harness's own, and waits until each
    is blocked before it releases any phase. A process whose phase never runs is ended by
    :meth:`end_tree`, like any other.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self._job: Any = None
        self._context = multiprocessing.get_context("spawn")
        self._go = self._context.Event()
        self._jobs: Any = None
        self._prepared = False
        self._process: Any = None
        self._reader = ProcessTreeReader()
        self._seen: dict[int, psutil.Process] = {}
        self._group: PhaseCgroup | None = None
        self._clock: PhaseCpuClock | None = None
        self.containment = SUBREAPER

    @property
    def _span_file(self) -> Path | None:
        return None if self._job is None else span_path(self._job["run_dir"], self.label)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def prestart(self, python: str | None = None) -> int:
        """Spawn the root process held back in its phase cgroup (where one can be made); return its pid.

        ``python``: the interpreter of the submission's ``--isolate`` environment (None: the harness's own)."""
        from a2perf_core.runner.isolate import participant_interpreter
        from a2perf_core.watchdog import start_watchdog

        group = PhaseCgroup.create(self.label) if requested_containment() == CGROUP else None
        if group is not None:
            watchdog = start_watchdog(cgroup=group.path)
            weakref.finalize(self, _close_watchdog, watchdog)
        self._placed = placed = self._context.Event()  # kept: the child unpickles it later
        self._jobs, child_end = self._context.Pipe()
        self._process = self._context.Process(
            target=contained_main,
            args=(child_end, self._go, placed, None if group is None else os.fspath(group.path), os.getpid()),
            name=f"a2perf-{self.label}",
        )
        with main_script_withheld(), participant_interpreter(self._context, python):
            self._process.start()
        child_end.close()
        pid = self._process.pid
        assert pid is not None
        if group is not None and group.add(pid):  # before the root runs any code of ours
            self._group, self.containment = group, CGROUP
        placed.set()
        return pid

    def wait_prepared(self, timeout_s: float) -> bool:
        """Whether the process has done its imports and blocks waiting for its job (or has ended),
        waiting up to ``timeout_s`` for it."""
        if not self._prepared and self._jobs is not None and self._jobs.poll(timeout_s):
            try:
                self._jobs.recv()
            except (EOFError, OSError):  # it ended: nothing of it runs any more
                pass
            self._prepared = True
        return self._prepared

    def start(self, job: Any) -> int:
        """Give the process (prestarted now if it was not) its job; it sets up and waits to be released."""
        if self._process is None:
            self.prestart(getattr(job, "python", None))
        self._job = job
        self._span_file.unlink(missing_ok=True)  # an earlier attempt's marks are not this one's
        try:
            self._jobs.send(job)
        except OSError:  # it has ended; release_and_wait reports how
            pass
        pid = self.pid
        assert pid is not None
        self._clock = PhaseCpuClock(pid, self._reader)  # from now: earlier phases' reaped processes are not this one's
        return pid

    def tree(self) -> list[int]:
        """The phase's live processes (remembered, to end them later)."""
        if self.pid is None:
            return []
        members = self._reader.tree_pids(self.pid)
        for pid in members:
            if pid not in self._seen:
                try:
                    self._seen[pid] = psutil.Process(pid)
                except psutil.Error:
                    pass
        return members

    def tree_rss_mib(self) -> float:
        if self.pid is None:
            return 0.0
        return sum(m.rss for m in self._reader.snapshot(self.pid)) / MIB

    def release_and_wait(
        self,
        timeout_s: float | None = None,
        max_memory_mib: float | None = None,
        tick: Callable[[float], None] | None = None,
        poll_s: float = 0.1,
    ) -> PhaseOutcome:
        """Let the child run; end it on timeout or memory limit; always end everything it started."""
        start = time.perf_counter()
        released = time.monotonic()
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
                    self.tree()
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
            self.end_tree()
            raise
        finally:
            exited = time.monotonic()
            self.end_tree()
        window = ParticipantSpan.read(self._span_file).window(released, exited) if self._span_file else None
        wall = 0.0 if window is None else window[1] - window[0]
        exitcode = self._process.exitcode
        if reason is None and exitcode != 0:
            reason = describe_exit(exitcode)
        cpu = None if self._clock is None else self._clock.seconds()
        return PhaseOutcome(reason is None, exitcode, reason, wall, peak, self.containment, cpu)

    def end_tree(self) -> None:
        """SIGKILL every process of the phase (its cgroup, or the tree under the root, then the root); reap it."""
        pid = self.pid
        if pid is None:
            return
        self.tree()
        if self._group is not None:
            self._group.kill()
        else:
            end_descendants(pid, reader=self._reader)
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for member in self._seen.values():
            try:
                member.kill()
            except psutil.Error:
                pass
        wait_gone(list(self._seen), reader=self._reader)  # zombies count as ended: their reaper may be init
        self._process.join(5)
        if self._jobs is not None:
            self._jobs.close()
            self._jobs = None
