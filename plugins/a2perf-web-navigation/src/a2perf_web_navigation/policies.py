"""Reference policies: a scripted oracle that reaches the optimal return, and the masked random agent.

The oracle reads the page's own bookkeeping (which element holds which profile field), which an
agent never observes; it exists to prove the task is solvable with the analytic maximum return.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def optimal_action(env: Any) -> int:
    """The next action of an optimal policy: fill each pending field of the current page once, then
    press the page's connected next or submit button."""
    env = env.unwrapped
    described = env.browser.run("return window.__wn.describe();")
    slots = {key: i for i, key in enumerate(env.profile)}
    touched = {field for _, field, tampered in described if field and tampered}
    for e, (_, field, _) in enumerate(described):
        if field and field not in touched:
            return slots[field] * env.E + e
    for e, (kind, _, _) in enumerate(described):
        if kind in ("next", "submit"):
            return e
    raise RuntimeError("the page has no connected next or submit button")


def random_masked_action(observation: dict[str, np.ndarray], rng: np.random.Generator) -> int:
    """A uniform draw over the actions the observation's ``action_mask`` allows."""
    allowed = np.flatnonzero(observation["action_mask"])
    return int(rng.choice(allowed))
