"""The rule-based agent (``ProfileMatchingPolicy``): it fills the control whose label, placeholder or
type matches a profile key, leaves distractor inputs alone, and solves most level-1 websites."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_web_navigation import plugin
from a2perf_web_navigation.env import WebNavigationEnv
from a2perf_web_navigation.policies import ProfileMatchingPolicy, random_masked_action
from a2perf_web_navigation.vocabulary import encode

E, F, L = 12, 6, 10


def observation(elements: list[tuple[str, str, str, str]], profile: list[tuple[str, str]], step: int = 0) -> dict:
    """An observation of the env's layout: elements as (tag, own text, placeholder, classes), profile
    as (key, value) after ``_dummy``; ``step`` > 0 for a step after the reset."""
    tokens = np.zeros((E, 5, L), np.int32)
    for e, (tag, text, placeholder, classes) in enumerate(elements):
        for k, string in enumerate((tag, "", text, placeholder, classes)):
            ids = encode(string, L)
            tokens[e, k, : len(ids)] = ids
    key = np.zeros((F, L), np.int32)
    value = np.zeros((F, L), np.int32)
    for slot, (k, v) in enumerate([("_dummy", "None"), *profile]):
        key[slot, : len(encode(k, L))] = encode(k, L)
        value[slot, : len(encode(v, L))] = encode(v, L)
    element_mask = np.zeros(E, np.float32)
    element_mask[: len(elements)] = 1
    return {
        "dom_elements": tokens,
        "dom_elements_mask": element_mask,
        "dom_features": np.zeros((E, 8), np.float32),
        "profile_key": key,
        "profile_value": value,
        "profile_key_mask": (key != 0).astype(np.float32),
        "time_step": np.array([step / 25], np.float32),
    }


PAGE = [
    ("div", "", "", "wn-site"),
    ("div", "", "", "input-group"),
    ("input_text", "", "Promo code", "form-control"),
    ("label", "ZIP Code", "", "form-label"),
    ("input_text", "", "", "form-control"),
    ("input_radio", "", "", "form-check-input"),
    ("label", "Economy", "", "form-check-label"),
    ("input_radio", "", "", "form-check-input"),
    ("label", "First", "", "form-check-label"),
    ("button", "Click", "", "btn btn-primary"),
]


def test_fills_the_matching_controls_in_page_order_then_submits():
    # slots: 1 cabin, 2 cvv (on a later page: nothing here may take it), 3 postal code
    profile = [("cabin", "First"), ("credit_card_verification_code", "123"), ("postal_code", "95123")]
    policy = ProfileMatchingPolicy()
    first = policy(observation(PAGE, profile))
    assert divmod(first, E) == (3, 4)  # the ZIP code input, not the promo code box before it
    second = policy(observation(PAGE, profile, step=1))
    assert divmod(second, E) == (1, 7)  # the radio labelled with the profile's cabin
    # cvv is unseen, but this page has no next button: the submit button (slot 0 clicks)
    assert divmod(policy(observation(PAGE, profile, step=2)), E) == (0, 9)


def test_prefers_next_while_keys_are_unseen_and_tries_another_button_when_a_click_does_nothing():
    page = [
        ("label", "Full Name", "", "form-label"),
        ("input_text", "", "", "form-control"),
        ("button", "Place Order", "", "btn btn-primary"),
        ("button", "Click", "", "btn btn-outline-primary"),
    ]
    policy = ProfileMatchingPolicy()
    profile = [("name_full", "John Wick"), ("city", "Mountain View")]
    assert divmod(policy(observation(page, profile)), E) == (1, 1)
    assert divmod(policy(observation(page, profile, step=1)), E) == (0, 3)  # city is unseen: next
    # the page did not change: that button does nothing here, so the other one
    assert divmod(policy(observation(page, profile, step=2)), E) == (0, 2)


def test_a_new_episode_forgets_what_was_filled():
    page = [("label", "City", "", "form-label"), ("input_text", "", "", "form-control")]
    policy = ProfileMatchingPolicy()
    assert policy(observation(page, [("city", "Mountain View")])) == 1 * E + 1
    assert policy(observation(page, [("city", "Mountain View")])) == 1 * E + 1


def play(env: WebNavigationEnv, act, website: int) -> bool:
    observation, _ = env.reset(options={"website": website})
    while True:
        observation, _, terminated, truncated, info = env.step(act(observation))
        if terminated or truncated:
            return bool(info["success"])


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("layout", ["masked", "a2perf"])
def test_solves_most_generated_level_1_websites(layout, capsys):
    """10 generated level-1 websites, one episode each; the masked random agent plays the same ones.
    Measured here: the agent solves 10 of 10 in both layouts (and 30 of 30 level-1, 30 of 30 level-2
    websites); the random agent 0.10 (masked layout) and 0.00 (A2Perf's) on these 10."""
    env = WebNavigationEnv(difficulty=1, num_websites=10, seed=0, action_layout=layout)
    rng = np.random.default_rng(0)
    try:
        agent = ProfileMatchingPolicy()
        solved = [play(env, agent, w) for w in range(10)]
        random = [play(env, lambda _: random_masked_action(env.action_masks(), rng), w) for w in range(10)]
    finally:
        env.close()
    with capsys.disabled():
        print(
            f"\nlevel 1 ({layout} layout), 10 websites: rule-based {np.mean(solved):.2f}, random {np.mean(random):.2f}"
        )
    assert np.mean(solved) > 0.5
    assert np.mean(solved) > np.mean(random)


@pytest.mark.browser
@pytest.mark.slow
def test_solves_most_of_a2perfs_own_level_1_designs(a2perf_plugins, capsys):
    """A2Perf's design file 01 holds only a few designs that are level 1 by A2Perf's own metric (the
    README: its labels sit on the wrong designs); the agent plays each once, the masked random agent
    too. Measured here: the agent 7 of 7, the random agent 1 of 7."""
    from a2perf_web_navigation.env import original_designs

    from a2perf_core.testing_data import data_file

    a2perf_plugins(plugin)
    data_file("web-navigation-designs-01")
    level_1 = [d for d in original_designs(1) if d.level == 1]
    assert level_1
    env = WebNavigationEnv(designs=level_1, num_websites=len(level_1), seed=0, action_layout="masked")
    rng = np.random.default_rng(0)
    try:
        agent = ProfileMatchingPolicy()
        solved = [play(env, agent, w) for w in range(len(level_1))]
        random = [play(env, lambda _: random_masked_action(env.action_masks(), rng), w) for w in range(len(level_1))]
    finally:
        env.close()
    with capsys.disabled():
        print(
            f"\nA2Perf's {len(level_1)} level-1 designs: rule-based {np.mean(solved):.2f}, random {np.mean(random):.2f}"
        )
    assert np.mean(solved) > 0.5
    assert np.mean(solved) > np.mean(random)
