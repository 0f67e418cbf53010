"""Inference: command the reference pose one step ahead, with no feedback on the body.

:class:`a2perf_quadruped_locomotion.policies.ReferenceTrackingPolicy` inverts the env's action
filter, so its copy of the filter must start from each episode's first observation. ``infer_once``
is not told when an episode starts; it sees it in the observation instead: from the second step on,
the newest last-action reading is exactly the standing pose plus the action this policy returned,
and a reset observation does not show it.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class OpenLoopTracker:
    """Reference tracking that restarts its filter copy whenever a new episode begins."""

    def __init__(self) -> None:
        from a2perf_quadruped_locomotion import laikago
        from a2perf_quadruped_locomotion.env import LAST_ACTION
        from a2perf_quadruped_locomotion.policies import ReferenceTrackingPolicy

        self._tracking = ReferenceTrackingPolicy()
        self._newest_action = slice(LAST_ACTION.start, LAST_ACTION.start + laikago.NUM_MOTORS)
        self._standing = laikago.STANDING_POSE_SDK
        self._expected: np.ndarray | None = None

    def episode_started(self, observation: np.ndarray) -> bool:
        if self._expected is None:
            return True
        return not np.allclose(observation[self._newest_action], self._expected, rtol=0.0, atol=1e-4)

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        if self.episode_started(observation):
            self._tracking.reset(observation)
        action = self._tracking(observation)
        self._expected = self._standing + action.astype(float)
        return action


def load_policy(env: Any, **load_kwargs: Any) -> OpenLoopTracker:
    return OpenLoopTracker()


def preprocess_observation(observation: Any) -> np.ndarray:
    return np.asarray(observation, dtype=np.float32)


def infer_once(policy: OpenLoopTracker, observation: np.ndarray) -> np.ndarray:
    return policy(observation)
