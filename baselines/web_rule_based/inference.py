"""Inference: :class:`a2perf_web_navigation.policies.ProfileMatchingPolicy`, which reads only the
observation: it matches each profile key to a control by the control's label, placeholder and input
type (a radio by its label being the key's value), fills the matched controls, then clicks next or
submit. It notices a new episode by the observation's ``time_step`` being 0.
"""

from __future__ import annotations

from typing import Any


def load_policy(env: Any, **load_kwargs: Any) -> Any:
    from a2perf_web_navigation.policies import ProfileMatchingPolicy

    return ProfileMatchingPolicy()


def preprocess_observation(observation: Any) -> Any:
    return observation


def infer_once(policy: Any, observation: Any) -> int:
    return policy(observation)
