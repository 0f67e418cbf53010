"""Empirical difficulty: the random agent over ``action_masks()`` succeeds less often on each harder level.

One seed is not enough (per seed, neighbouring levels can tie or invert), so the rates pool four
seeds. The masked layout is used: in A2Perf's layout a uniformly random action is almost always a
click, and the agent succeeds at every level too rarely (0.5-2 %) to rank them (README).

The 600 episodes are played on the ``dom`` backend, which the differential test proves equal to the
browser (same observations, rewards and done flags): a few seconds instead of two minutes of Chromium."""

from __future__ import annotations

import numpy as np
from a2perf_web_navigation.policies import random_agent_success

SEEDS = (0, 1, 2, 3)


def test_random_agent_success_decreases_from_level_1_to_3():
    rates = [
        float(
            np.mean(
                [
                    random_agent_success(level, episodes=50, seed=s, action_layout="masked", backend="dom")[0]
                    for s in SEEDS
                ]
            )
        )
        for level in (1, 2, 3)
    ]
    assert rates[0] > rates[1] > rates[2], rates
