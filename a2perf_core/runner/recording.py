"""Training curves recorded without the participant's cooperation.

Inside a run the runner sets ``A2PERF_TRAIN_LOG`` in the participant's process; every env made
through the task registry is then wrapped in :class:`EpisodeRecorder`, which appends one row per
finished episode: the process-wide env step count, the episode's return and length, and wall time.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import gymnasium as gym

HEADER = "global_step,episode_return,episode_length,wall_time_s\n"
_lock = threading.Lock()
_global_steps = 0
_start = time.monotonic()


class EpisodeRecorder(gym.Wrapper):
    """Appends each finished episode (terminated, truncated, or abandoned by a reset) to a CSV."""

    def __init__(self, env: gym.Env, log_path: str | os.PathLike[str]) -> None:
        super().__init__(env)
        self._log_path = os.fspath(log_path)
        self._return = 0.0
        self._length = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._finish()
        return super().reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        global _global_steps
        observation, reward, terminated, truncated, info = super().step(action)
        with _lock:
            _global_steps += 1
        self._return += float(reward)
        self._length += 1
        if terminated or truncated:
            self._finish()
        return observation, reward, terminated, truncated, info

    def close(self) -> None:
        self._finish()
        super().close()

    def _finish(self) -> None:
        if self._length == 0:
            return
        with _lock:
            row = f"{_global_steps},{self._return!r},{self._length},{time.monotonic() - _start:.6f}\n"
            new = not os.path.exists(self._log_path) or os.path.getsize(self._log_path) == 0
            with open(self._log_path, "a") as f:
                if new:
                    f.write(HEADER)
                f.write(row)
        self._return, self._length = 0.0, 0


def log_scalar(name: str, value: float, step: int | None = None) -> None:
    """Let a participant record an extra training scalar (no-op outside a run)."""
    run_dir = os.environ.get("A2PERF_RUN_DIR")
    if not run_dir:
        return
    path = os.path.join(run_dir, "train_scalars.csv")
    with _lock:
        new = not os.path.exists(path)
        with open(path, "a") as f:
            if new:
                f.write("name,value,step,wall_time_s\n")
            f.write(f"{name},{float(value)!r},{'' if step is None else int(step)},{time.monotonic() - _start:.6f}\n")
