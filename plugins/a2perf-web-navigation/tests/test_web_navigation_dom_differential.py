"""The dom backend equals the browser backend: same observations, rewards, flags and infos, step by step.

Random designs (any primitives on any pages), generated designs of all three levels and A2Perf's own
design files, both action layouts, short episodes whose actions are random over ``action_masks()``,
now and then any action of the space, and now and then the oracle's (so that later pages and
successful submits are reached). One Chromium serves every example. Geometry (the last four
``dom_features`` columns) is compared within :data:`GEOMETRY_TOLERANCE`; everything else exactly.
Every example plays :data:`EPISODES` episodes: 100 + 3 * 25 + 3 * 10 examples, 1025 episodes.
"""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_web_navigation.backends import BrowserBackend
from a2perf_web_navigation.designs import WebsiteDesign, generate_designs
from a2perf_web_navigation.env import WebNavigationEnv, original_designs
from a2perf_web_navigation.policies import optimal_action
from a2perf_web_navigation.primitives import PRIMITIVES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: normalised units (fractions of the site's width or height): well below a thousandth of a pixel
GEOMETRY_TOLERANCE = 1e-6
EPISODES = 5
STEP_LIMIT = 5
EXAMPLES = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

designs_strategy = st.lists(
    st.lists(st.tuples(st.sampled_from(sorted(PRIMITIVES)), st.integers(0, 3)), min_size=0, max_size=24).map(
        lambda pairs: WebsiteDesign.from_dict({"action": [n for n, _ in pairs], "action_page": [p for _, p in pairs]})
    ),
    min_size=1,
    max_size=3,
)


@pytest.fixture(scope="module")
def chromium():
    from a2perf_web_navigation.browser import Chromium

    browser = Chromium()
    yield browser
    browser.close()


def assert_same_observation(browser_obs: dict, dom_obs: dict, where: str) -> None:
    assert browser_obs.keys() == dom_obs.keys(), where
    for key, expected in browser_obs.items():
        got = dom_obs[key]
        assert got.dtype == expected.dtype and got.shape == expected.shape, (where, key)
        if key == "dom_features":
            assert np.array_equal(got[:, :4], expected[:, :4]), (where, key)
            np.testing.assert_allclose(got[:, 4:], expected[:, 4:], rtol=0, atol=GEOMETRY_TOLERANCE, err_msg=where)
        else:
            assert np.array_equal(got, expected), (where, key)


def play_in_lockstep(chromium, designs: list[WebsiteDesign], layout: str, seed: int) -> int:
    """Play :data:`EPISODES` episodes on both backends with the same actions; returns the steps taken."""
    kwargs = dict(designs=designs, num_websites=len(designs), seed=seed, action_layout=layout, step_limit=STEP_LIMIT)
    reference = WebNavigationEnv(**kwargs)
    reference._backend = BrowserBackend(reference.websites, browser=chromium)
    model = WebNavigationEnv(**kwargs, backend="dom")
    rng = np.random.default_rng(seed)
    steps = 0
    for episode in range(EPISODES):
        options = {"website": episode % len(designs)}
        (obs_b, info_b), (obs_d, info_d) = reference.reset(options=options), model.reset(options=options)
        assert_same_observation(obs_b, obs_d, f"reset {episode}")
        assert info_b == info_d
        done = False
        while not done:
            mask = reference.action_masks()
            assert np.array_equal(mask, model.action_masks())
            draw = rng.random()
            if draw < 0.1:
                action = int(rng.integers(reference.action_space.n))
            elif draw < 0.35:
                action = optimal_action(reference)
            else:
                action = int(rng.choice(np.flatnonzero(mask)))
            out_b, out_d = reference.step(action), model.step(action)
            where = f"episode {episode} step {steps} action {action}"
            assert_same_observation(out_b[0], out_d[0], where)
            assert out_b[1:] == out_d[1:], where  # reward, terminated, truncated, info
            done = out_b[2] or out_b[3]
            steps += 1
    reference.close()
    model.close()
    return steps


@settings(EXAMPLES, max_examples=100)
@given(designs=designs_strategy, layout=st.sampled_from(["a2perf", "masked"]), seed=st.integers(0, 2**16))
def test_dom_equals_browser_on_random_designs(chromium, designs, layout, seed):
    assert play_in_lockstep(chromium, designs, layout, seed) >= EPISODES


@pytest.mark.parametrize("level", [1, 2, 3])
@EXAMPLES
@given(layout=st.sampled_from(["a2perf", "masked"]), seed=st.integers(0, 2**16))
def test_dom_equals_browser_on_generated_levels(chromium, level, layout, seed):
    designs = generate_designs(level, 3, np.random.default_rng(seed))
    assert play_in_lockstep(chromium, designs, layout, seed) >= EPISODES


@pytest.fixture(scope="module")
def a2perf_designs():
    from a2perf_core.testing_data import data_file

    for level in (1, 2, 3):
        data_file(f"web-navigation-designs-{level:02d}")  # skips (fails in CI) when not fetched
    return {level: original_designs(level) for level in (1, 2, 3)}


@pytest.mark.parametrize("level", [1, 2, 3])
@settings(EXAMPLES, max_examples=10)
@given(layout=st.sampled_from(["a2perf", "masked"]), seed=st.integers(0, 2**16), data=st.data())
def test_dom_equals_browser_on_a2perf_designs(chromium, a2perf_designs, level, layout, seed, data):
    pool = a2perf_designs[level]
    picked = data.draw(st.lists(st.integers(0, len(pool) - 1), min_size=2, max_size=2, unique=True))
    assert play_in_lockstep(chromium, [pool[i] for i in picked], layout, seed) >= EPISODES
