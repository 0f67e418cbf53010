"""Empirical difficulty: the random agent over ``action_masks()`` succeeds less often on each harder level.

One seed is not enough (with seed 1 levels 2 and 3 came out inverted), so the rates pool four seeds."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_web_navigation.policies import random_agent_success

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEEDS = (0, 1, 2, 3)


@pytest.mark.parametrize("layout", ["a2perf", "masked"])
def test_random_agent_success_decreases_from_level_1_to_3(layout):
    rates = [
        float(np.mean([random_agent_success(level, episodes=50, seed=s, action_layout=layout)[0] for s in SEEDS]))
        for level in (1, 2, 3)
    ]
    assert rates[0] > rates[1] > rates[2], rates
