"""The environment in a real headless Chromium: primitives, rewards, seeding, the checker."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_web_navigation import plugin
from a2perf_web_navigation.designs import WebsiteDesign, generate_designs
from a2perf_web_navigation.env import WebNavigationEnv, optimal_return
from a2perf_web_navigation.policies import optimal_action, random_masked_action
from a2perf_web_navigation.primitives import ACTIVE, PASSIVE, PRIMITIVES

pytestmark = pytest.mark.browser

ALL_ACTIVE = WebsiteDesign.from_dict({"action": list(ACTIVE), "action_page": [0] * len(ACTIVE)})
ALL_PASSIVE = WebsiteDesign.from_dict({"action": ["city", *PASSIVE], "action_page": [0] * (len(PASSIVE) + 1)})
THREE_PAGES = WebsiteDesign.from_dict(
    {"action": ["username", "next_login_page", "header", "state", "cc", "submit"], "action_page": [0, 0, 1, 1, 2, 2]}
)
LEVELS = {level: generate_designs(level, 4, np.random.default_rng(level)) for level in (1, 2, 3)}
#: one two-page design per passive primitive: city and the primitive on page 0, zipcode on page 1
EACH_PASSIVE = {
    name: WebsiteDesign.from_dict({"action": ["city", name, "zipcode"], "action_page": [0, 0, 1]}) for name in PASSIVE
}
DESIGNS = [
    ALL_ACTIVE,
    ALL_PASSIVE,
    THREE_PAGES,
    *(d for level in (1, 2, 3) for d in LEVELS[level]),
    *EACH_PASSIVE.values(),
]
TYPED = {"text": "input_text", "password": "input_password", "number": "input_number", "select": "select"}


@pytest.fixture(scope="module")
def env():
    environment = WebNavigationEnv(designs=DESIGNS, num_websites=len(DESIGNS), seed=5, render_mode="rgb_array")
    yield environment
    environment.close()


def described(env):
    return env.browser.run("return window.__wn.describe();")


def element_of(env, field: str, kind: str | None = None) -> int:
    return next(i for i, (a, f, _) in enumerate(described(env)) if f == field and (kind is None or a == kind))


def tokens_to_text(obs, element: int, attribute: int) -> list[int]:
    row = obs["dom_elements"][element, attribute]
    return [int(t) for t in row[obs["dom_attribute_mask"][element, attribute] > 0]]


def test_every_active_primitive_renders_and_counts(env):
    from a2perf_web_navigation.vocabulary import encode

    obs, _ = env.reset(options={"website": 0})
    profile = env.profile
    slots = list(profile)
    n = len(slots) - 1
    assert n == 24
    for name in ACTIVE:
        p = PRIMITIVES[name]
        e = element_of(env, p.field)
        if p.widget in TYPED:
            assert tokens_to_text(obs, e, 0) == list(encode(TYPED[p.widget], 10))
        obs, reward, terminated, truncated, info = env.step(slots.index(p.field) * env.E + e)
        assert reward == pytest.approx(1 / n - 0.05), name
        assert not terminated and not truncated
        if p.widget in ("text", "password", "number", "select"):
            assert tokens_to_text(obs, e, 1) == list(encode(str(profile[p.field]), 10)), name
        assert obs["dom_features"][e, 1] == 1.0  # tampered
    assert info["potential"] == pytest.approx(1.0)
    submit = next(i for i, (a, _, _) in enumerate(described(env)) if a == "submit")
    obs, reward, terminated, truncated, info = env.step(submit)
    assert (reward, terminated, truncated, info["success"]) == (1.0, True, False, True)


def test_placeholders_are_observed(env):
    from a2perf_web_navigation.vocabulary import encode

    obs, _ = env.reset(options={"website": 0})
    e = element_of(env, "username")
    assert tokens_to_text(obs, e, 3) == list(encode("Username", 10))


def test_wrong_value_and_repeat_are_penalised_and_submit_fails(env):
    obs, _ = env.reset(options={"website": 2})
    slots = list(env.profile)
    e = element_of(env, "username")
    # typing the state's value into the username box: changes the DOM, earns nothing
    obs, reward, *_ = env.step(slots.index("state") * env.E + e)
    assert reward == pytest.approx(-0.05)
    obs, reward, *_ = env.step(slots.index("state") * env.E + e)  # the same again changes nothing
    assert reward == pytest.approx(-0.55)
    nxt = next(i for i, (a, _, _) in enumerate(described(env)) if a == "next")
    env.step(nxt)
    nxt = next(i for i, (a, _, _) in enumerate(described(env)) if a == "next")
    env.step(nxt)
    submit = next(i for i, (a, _, _) in enumerate(described(env)) if a == "submit")
    obs, reward, terminated, _, info = env.step(submit)
    assert (reward, terminated, info["success"]) == (-1.0, True, False)


def test_invalid_actions_are_no_ops_that_never_compound(env):
    obs, _ = env.reset(options={"website": 2})
    n = int(obs["dom_elements_mask"].sum())
    for _ in range(3):
        obs2, reward, terminated, truncated, _ = env.step(n)  # element index past the list
        assert reward == pytest.approx(-0.55) and not terminated
    empty_slot = len(env.profile) * env.E  # a profile slot past the profile
    _, reward, *_ = env.step(empty_slot)
    assert reward == pytest.approx(-0.55)
    np.testing.assert_array_equal(obs2["dom_elements"], obs["dom_elements"])


def test_every_distractor_link_ends_the_episode_with_minus_one(env):
    obs, _ = env.reset(options={"website": 1})
    links = [i for i, (a, _, _) in enumerate(described(env)) if a == "exit"]
    assert len(links) == 6 + 7 + 8 + 1 + 4 + 1 + 1 + 3  # navbar carousel deck deal footer forgot x2 cart
    for e in links[::5]:
        env.reset(options={"website": 1})
        _, reward, terminated, truncated, info = env.step(e)
        assert (reward, terminated, truncated, info["raw_reward"]) == (-1.0, True, False, -1.0)


PASSIVE_BEHAVIOUR = {
    **dict.fromkeys(
        ["navbar", "carousel", "deck", "dealmedia", "footer1", "forgotusername", "forgotpassowrd", "cart"], "exit"
    ),
    **dict.fromkeys(["header", "header_login", "header_select_items", "inpgroup1", "submit"], "nothing"),
    **dict.fromkeys(["next_login_page", "next_login", "next_checkout"], "next"),
}


@pytest.mark.parametrize("name", PASSIVE)
def test_every_passive_primitive_renders_and_responds(env, name):
    """Each element the primitive adds is clicked once in a fresh episode: distractor links end the
    episode with -1, a designed next button on page 0 moves to page 1, the rest do nothing."""
    obs, _ = env.reset(options={"website": DESIGNS.index(EACH_PASSIVE[name])})
    n = int(obs["dom_elements_mask"].sum())
    kinds = [a for a, _, _ in described(env)]
    # the page: site root, page, city's group, label, input, the primitive's elements, a created
    # next button unless the primitive is one
    own = [e for e in range(5, n) if not (kinds[e] == "next" and PASSIVE_BEHAVIOUR[name] != "next")]
    assert own, name
    behaviour = PASSIVE_BEHAVIOUR[name]
    for e in own:
        env.reset(options={"website": DESIGNS.index(EACH_PASSIVE[name])})
        _, reward, terminated, truncated, info = env.step(e)
        kind = kinds[e]
        if kind == "exit":
            assert behaviour == "exit"
            assert (reward, terminated, info["raw_reward"]) == (-1.0, True, -1.0)
        elif kind == "next":
            assert behaviour == "next" and not terminated
            assert {f for _, f, _ in described(env) if f} == {"postal_code"}
        else:
            assert not terminated and reward == pytest.approx(-0.55 if kind != "type" else -0.05)
    assert (behaviour == "exit") == any(kinds[e] == "exit" for e in own)


def test_static_elements_cost_the_cyclic_penalty_and_search_box_earns_nothing(env):
    from a2perf_web_navigation.vocabulary import encode

    obs, _ = env.reset(options={"website": 1})
    header = next(
        i for i in range(int(obs["dom_elements_mask"].sum())) if tokens_to_text(obs, i, 0) == list(encode("h5", 10))
    )
    _, reward, *_ = env.step(header)
    assert reward == pytest.approx(-0.55)
    search = next(
        i for i in range(int(obs["dom_elements_mask"].sum())) if tokens_to_text(obs, i, 3) == list(encode("Search", 10))
    )
    _, reward, *_ = env.step(list(env.profile).index("city") * env.E + search)
    assert reward == pytest.approx(-0.05)


def test_pages_are_chained_and_only_the_current_page_is_visible(env):
    obs, _ = env.reset(options={"website": 2})
    assert {f for _, f, _ in described(env) if f} == {"username"}
    nxt = next(i for i, (a, _, _) in enumerate(described(env)) if a == "next")
    obs, reward, *_ = env.step(nxt)
    assert reward == pytest.approx(-0.05)
    assert {f for _, f, _ in described(env) if f} == {"state"}
    assert obs["dom_features"][:, 2].sum() > 0  # the new page's elements are new


@pytest.mark.parametrize("level", [1, 2, 3])
def test_optimal_policy_reaches_the_analytic_maximum(env, level):
    for k in range(len(LEVELS[level])):
        index = DESIGNS.index(LEVELS[level][k])
        env.reset(options={"website": index})
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, info = env.step(optimal_action(env))
            total += reward
            done = terminated or truncated
        assert info["success"] and terminated
        assert total == pytest.approx(optimal_return(env.design))


def test_optimal_policy_solves_the_largest_profile_within_the_step_limit(env):
    env.reset(options={"website": 0})
    total, done = 0.0, False
    while not done:
        _, reward, terminated, truncated, info = env.step(optimal_action(env))
        total += reward
        done = terminated or truncated
    assert info["steps"] == 25 and terminated and not truncated
    assert total == pytest.approx(optimal_return(ALL_ACTIVE)) == pytest.approx(2 - 0.05 * 24)


def test_truncated_only_at_the_step_limit(env):
    obs, _ = env.reset(options={"website": 2})
    invalid = int(obs["dom_elements_mask"].sum())
    for step in range(1, 26):
        _, _, terminated, truncated, _ = env.step(invalid)
        assert not terminated and truncated == (step == 25)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(invalid)


def test_action_mask_allows_clicks_everywhere_and_typing_into_fields(env):
    obs, _ = env.reset(options={"website": 2})
    mask = obs["action_mask"].reshape(env.F, env.E)
    n = int(obs["dom_elements_mask"].sum())
    assert mask[0, :n].all() and not mask[0, n:].any()
    e = element_of(env, "username")
    fields = len(env.profile)
    assert mask[1:fields, e].all() and not mask[fields:, e].any()
    assert mask[1:].sum() == (fields - 1) * 1  # one typeable element on page 0


def test_render_is_an_rgb_screenshot(env):
    env.reset(options={"website": 2})
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.shape[0] > 100 and frame.std() > 0


def _rollout(env, seed, episodes=2):
    rng = np.random.default_rng(seed)
    frames = []
    obs, _ = env.reset()
    for _ in range(episodes):
        done = False
        frames.append(obs)
        while not done:
            obs, _, terminated, truncated, _ = env.step(random_masked_action(obs, rng))
            frames.append(obs)
            done = terminated or truncated
        obs, _ = env.reset()
    return frames


def test_same_seed_same_observation_sequence(a2perf_plugins):
    from a2perf_core.envs import make

    a2perf_plugins(plugin)
    first = make("WebNavigation-Difficulty-02-v0", seed=11, num_websites=3)
    second = make("WebNavigation-Difficulty-02-v0", seed=11, num_websites=3)
    try:
        a, b = _rollout(first, 0), _rollout(second, 0)
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            for key in x:
                np.testing.assert_array_equal(x[key], y[key], err_msg=key)
        assert first.unwrapped.website_index == second.unwrapped.website_index
    finally:
        first.close()
        second.close()


def test_check_env_passes(a2perf_plugins):
    from gymnasium.utils.env_checker import check_env

    from a2perf_core.envs import make

    a2perf_plugins(plugin)
    env = make("WebNavigation-Difficulty-01-v0", num_websites=2)
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()
