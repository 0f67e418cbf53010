"""Inference: the trained policy of the clip the task imitates, acting deterministically.

Peng et al. trained one PPO policy per clip (``a2perf data fetch quadruped-policy-dog-<clip>``); the
generalization phase makes a fresh process per task, so each task gets its own clip's policy. The
actor runs in NumPy (:class:`a2perf_quadruped_locomotion.policies.PretrainedImitationPolicy`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from a2perf_core import participant


def load_policy(env: Any, task_id: str | None = None, **load_kwargs: Any) -> Any:
    from a2perf_quadruped_locomotion.policies import pretrained_policy_for_task

    task = task_id or participant.task_id()
    if task is None:
        raise ValueError("no task: run through `a2perf run --task ...` or pass task_id")
    return pretrained_policy_for_task(task)


def preprocess_observation(observation: Any) -> np.ndarray:
    return np.asarray(observation, dtype=np.float32)


def infer_once(policy: Any, observation: np.ndarray) -> np.ndarray:
    return policy(observation)
