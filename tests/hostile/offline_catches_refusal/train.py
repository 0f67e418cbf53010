"""Tries ``gymnasium.make`` and swallows whatever it raises."""

import gymnasium as gym

from a2perf_core import participant


def train():
    try:
        gym.make(participant.task_id())
    except Exception:
        pass
