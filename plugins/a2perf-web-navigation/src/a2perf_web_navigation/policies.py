"""Reference policies: a scripted oracle that reaches the optimal return, and the masked random agent.

The oracle reads the page's own bookkeeping (which element holds which profile field), which an
agent never observes; it exists to prove the task is solvable with the analytic maximum return.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def optimal_action(env: Any) -> int:
    """The next action of an optimal policy: fill each pending field of the current page once (skipping,
    above 20 fields, those already right: see :func:`~a2perf_web_navigation.env.fields_worth_filling`),
    then press the page's connected next or submit button. The same action ids work in both layouts:
    slot ``s`` on element ``e`` is ``s * E + e``, and slot 0 clicks."""
    from a2perf_web_navigation.env import fields_worth_filling

    env = env.unwrapped
    described = env.describe()
    slots = {key: i for i, key in enumerate(env.profile)}
    wanted = set(fields_worth_filling(env.profile, env.timestep_penalty))
    touched = {field for _, field, tampered in described if field and tampered}
    for e, (_, field, _) in enumerate(described):
        if field in wanted and field not in touched:
            return slots[field] * env.E + e
    for e, (kind, _, _) in enumerate(described):
        if kind in ("next", "submit"):
            return e
    raise RuntimeError("the page has no connected next or submit button")


def random_masked_action(mask: np.ndarray, rng: np.random.Generator) -> int:
    """A uniform draw over the actions ``mask`` allows (``env.action_masks()``, or the masked layout's
    observed ``mask``)."""
    return int(rng.choice(np.flatnonzero(mask)))


def random_agent_success(
    level: int, episodes: int, seed: int = 0, num_websites: int = 100, action_layout: str = "a2perf"
) -> tuple[float, float]:
    """(success rate, mean return) of :func:`random_masked_action` over ``env.action_masks()`` on
    ``episodes`` episodes of ``num_websites`` generated level-``level`` websites: the empirical
    difficulty of a level."""
    from a2perf_web_navigation.env import WebNavigationEnv

    env = WebNavigationEnv(difficulty=level, num_websites=num_websites, seed=seed, action_layout=action_layout)
    rng = np.random.default_rng(seed)
    successes, returns = 0, []
    try:
        for _ in range(episodes):
            env.reset()
            total, done = 0.0, False
            while not done:
                _, reward, terminated, truncated, info = env.step(random_masked_action(env.action_masks(), rng))
                total += reward
                done = terminated or truncated
            successes += bool(info["success"])
            returns.append(total)
    finally:
        env.close()
    return successes / episodes, float(np.mean(returns))
