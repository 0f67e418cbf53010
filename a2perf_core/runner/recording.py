"""Training curves recorded without the participant's cooperation.

Inside a run the runner sets ``A2PERF_TRAIN_LOG`` in the participant's process; every env made
through the task registry is then wrapped in :class:`EpisodeRecorder`, which appends one row per
episode: the global env step, the episode's return and length, wall time, and whether the episode
finished (``finished`` 0: cut off when the env was closed, reset early or the process ended, so its
return is not an episode's return).

The global step counts the steps of every participant process of the phase (subprocess vector
envs): each process adds its own steps to its slot of a small shared file beside the log
(:class:`SharedStepCounter`), and a row's global step is the sum of the slots.

Envs made for evaluation (``participant.make_env(evaluation=True)``, or any env made inside
:func:`evaluation_envs`) write their episodes to ``eval_log.csv`` instead, with the training step
at which they ended, and do not advance the global step.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import mmap
import os
import struct
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym

from a2perf_core.metrics import EVAL_LOG

HEADER = "global_step,episode_return,episode_length,wall_time_s,finished\n"
_lock = threading.Lock()
_start = time.monotonic()
_evaluation = threading.local()
_open_recorders: weakref.WeakSet[EpisodeRecorder] = weakref.WeakSet()


@contextlib.contextmanager
def evaluation_envs() -> Iterator[None]:
    """Envs made inside this block (in this thread) are evaluation envs: not in the training curve."""
    previous = getattr(_evaluation, "active", False)
    _evaluation.active = True
    try:
        yield
    finally:
        _evaluation.active = previous


class SharedStepCounter:
    """Env steps of all processes of one phase. The file holds ``SLOTS`` unsigned 64-bit counters:
    slot 0 is the number of slots taken, each process adds to its own slot (no lock per step), and
    the total is the sum. A forked process takes a slot of its own on its first step."""

    SLOTS = 4096
    _FORMAT = "<Q"

    def __init__(self, path: str) -> None:
        self.path = path
        self._pid: int | None = None
        self._map: mmap.mmap | None = None
        self._offset = 0
        self._count = 0
        self._adding = threading.Lock()

    def _claim(self) -> mmap.mmap:
        import fcntl

        size = self.SLOTS * 8
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)
            shared = mmap.mmap(fd, size)
            taken = struct.unpack_from(self._FORMAT, shared, 0)[0]
            slot = 1 + taken % (self.SLOTS - 1)
            struct.pack_into(self._FORMAT, shared, 0, taken + 1)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        self._map, self._pid, self._offset, self._count = shared, os.getpid(), slot * 8, 0
        struct.pack_into(self._FORMAT, shared, self._offset, 0)
        return shared

    def add(self, steps: int = 1) -> None:
        with self._adding:  # envs stepped from several threads of one process share its slot
            shared = self._map if self._pid == os.getpid() and self._map is not None else self._claim()
            self._count += steps
            struct.pack_into(self._FORMAT, shared, self._offset, self._count)

    def total(self) -> int:
        """Steps of every process so far (this one's included)."""
        if self._pid != os.getpid() or self._map is None:
            if not os.path.exists(self.path):
                return 0
            self._claim()
        assert self._map is not None
        taken = min(struct.unpack_from(self._FORMAT, self._map, 0)[0], self.SLOTS - 1)
        return sum(struct.unpack_from(f"<{taken}Q", self._map, 8))


class _ProcessStepCounter:
    """Fallback where a shared file cannot be used: this process's steps only."""

    def __init__(self) -> None:
        self._count = 0

    def add(self, steps: int = 1) -> None:
        self._count += steps

    def total(self) -> int:
        return self._count


_counters: dict[str, SharedStepCounter | _ProcessStepCounter] = {}


def step_counter(log_path: str) -> SharedStepCounter | _ProcessStepCounter:
    """The phase's step counter for a training log. The file is keyed by the session id: the
    harness starts each phase in a session of its own, which every participant process shares."""
    with _lock:
        counter = _counters.get(log_path)
        if counter is None:
            try:
                import fcntl  # noqa: F401  (POSIX only)

                name = f".{os.path.basename(log_path)}.steps-{os.getsid(0)}"
                counter = SharedStepCounter(os.path.join(os.path.dirname(log_path) or ".", name))
            except (ImportError, AttributeError, OSError):
                counter = _ProcessStepCounter()
            _counters[log_path] = counter
        return counter


class EpisodeRecorder(gym.Wrapper):
    """Appends each episode to a CSV: ``finished`` 1 when it terminated or was truncated, 0 when it
    was cut off (closed, reset early, or the process ended)."""

    def __init__(self, env: gym.Env, log_path: str | os.PathLike[str], evaluation: bool | None = None) -> None:
        super().__init__(env)
        train_log = os.fspath(log_path)
        self.evaluation = getattr(_evaluation, "active", False) if evaluation is None else evaluation
        self._log_path = os.path.join(os.path.dirname(train_log), EVAL_LOG) if self.evaluation else train_log
        self._steps = step_counter(train_log)
        self._return = 0.0
        self._length = 0
        _open_recorders.add(self)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._finish(finished=False)
        return super().reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = super().step(action)
        if not self.evaluation:
            self._steps.add()
        self._return += float(reward)
        self._length += 1
        if terminated or truncated:
            self._finish(finished=True)
        return observation, reward, terminated, truncated, info

    def close(self) -> None:
        self._finish(finished=False)
        _open_recorders.discard(self)
        super().close()

    def _finish(self, finished: bool) -> None:
        if self._length == 0:
            return

        def row() -> str:  # under the log's lock: rows of all workers are written in step order
            return (
                f"{self._steps.total()},{self._return!r},{self._length},"
                f"{time.monotonic() - _start:.6f},{int(finished)}\n"
            )

        with _lock:
            append_row(self._log_path, HEADER, row)
        self._return, self._length = 0.0, 0


def append_row(path: str, header: str, row: Callable[[], str]) -> None:
    """Append the CSV row ``row()`` makes, writing the header first into an empty file. Several
    processes (vector env workers) append to one log: an exclusive lock makes the check, the row's
    making (it may read shared counters) and the writes one step."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            if os.fstat(f.fileno()).st_size == 0:
                f.write(header)
            f.write(row())
            f.flush()
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@atexit.register
def _record_cut_off_episodes() -> None:
    """The process ends with episodes under way: they are recorded as not finished."""
    for recorder in list(_open_recorders):
        with contextlib.suppress(Exception):
            recorder._finish(finished=False)


def log_scalar(name: str, value: float, step: int | None = None) -> None:
    """Let a participant record an extra training scalar (no-op outside a run), into the folder of the
    phase attempt's records (the run directory for a process started without one)."""
    from a2perf_core.runner.records import RECORDS_DIR_ENV

    records_dir = os.environ.get(RECORDS_DIR_ENV) or os.environ.get("A2PERF_RUN_DIR")
    if not records_dir:
        return
    path = os.path.join(records_dir, "train_scalars.csv")
    row = f"{name},{float(value)!r},{'' if step is None else int(step)},{time.monotonic() - _start:.6f}\n"
    with _lock:
        append_row(path, "name,value,step,wall_time_s\n", lambda: row)
