"""The environment in a real headless Chromium: primitives, rewards, seeding, the checker."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_web_navigation import plugin
from a2perf_web_navigation.designs import WebsiteDesign, generate_designs
from a2perf_web_navigation.env import WebNavigationEnv, optimal_return
from a2perf_web_navigation.policies import optimal_action, random_masked_action
from a2perf_web_navigation.primitives import ACTIVE, PASSIVE, PRIMITIVES
from a2perf_web_navigation.vocabulary import encode

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
    """The masked layout (the -v1 tasks): our action semantics."""
    environment = WebNavigationEnv(
        designs=DESIGNS,
        num_websites=len(DESIGNS),
        seed=5,
        render_mode="rgb_array",
        action_layout="masked",
        terminate_on_truncation=False,
    )
    yield environment
    environment.close()


@pytest.fixture(scope="module")
def a2perf_env():
    """A2Perf's layout (the -v0 tasks)."""
    environment = WebNavigationEnv(designs=DESIGNS, num_websites=len(DESIGNS), seed=5)
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
    assert len(links) == 7 + 8 + 1 + 4 + 1 + 1 + 3  # carousel deck deal footer forgot x2 cart; navbar collapsed
    for e in links[::5]:
        env.reset(options={"website": 1})
        _, reward, terminated, truncated, info = env.step(e)
        assert (reward, terminated, truncated, info["raw_reward"]) == (-1.0, True, False, -1.0)


PASSIVE_BEHAVIOUR = {
    **dict.fromkeys(["carousel", "deck", "dealmedia", "footer1", "forgotusername", "forgotpassowrd", "cart"], "exit"),
    "navbar": "toggle",
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
        elif kind == "toggle":
            assert behaviour == "toggle" and not terminated and reward == pytest.approx(-0.05)
        else:
            assert not terminated and reward == pytest.approx(-0.55 if kind != "type" else -0.05)
    assert (behaviour == "exit") == any(kinds[e] == "exit" for e in own)


@pytest.mark.parametrize("layout", ["masked", "a2perf"])
def test_navbar_menu_is_collapsed_behind_the_toggler_as_in_a2perf(env, a2perf_env, layout):
    env = env if layout == "masked" else a2perf_env
    website = DESIGNS.index(EACH_PASSIVE["navbar"])
    obs, _ = env.reset(options={"website": website})
    kinds = [a for a, _, _ in described(env)]
    assert "exit" not in kinds  # the five menu links are hidden
    brand = next(i for i in range(len(kinds)) if tokens_to_text(obs, i, 2) == list(encode("GShopping", 10)))
    _, reward, terminated, *_ = env.step(brand)  # the brand link does nothing
    assert not terminated and reward == pytest.approx(-0.55)
    obs, reward, terminated, *_ = env.step(kinds.index("toggle"))
    assert not terminated and reward == pytest.approx(-0.05)
    kinds = [a for a, _, _ in described(env)]
    assert kinds.count("exit") == 5
    _, reward, terminated, *_ = env.step(kinds.index("exit"))
    assert (reward, terminated) == (-1.0, True)


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
        assert total == pytest.approx(optimal_return(env.design, env.profile))


@pytest.mark.parametrize("layout", ["masked", "a2perf"])
def test_optimal_policy_solves_the_largest_profile_within_the_step_limit(env, a2perf_env, layout):
    env = env if layout == "masked" else a2perf_env
    best = {}
    for _ in range(6):  # profiles with and without False checkboxes
        env.reset(options={"website": 0})
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, info = env.step(optimal_action(env))
            total += reward
            done = terminated or truncated
        skipped = sum(v is False for v in env.profile.values())
        assert info["success"] and terminated and not truncated and info["steps"] == 25 - skipped
        # 24 fields: each fill earns 1/24 - 0.05 < 0, so leaving already-right checkboxes alone pays
        assert total == pytest.approx(optimal_return(ALL_ACTIVE, env.profile))
        assert total == pytest.approx(1 + (24 - skipped) / 24 - 0.05 * (24 - skipped))
        best[skipped] = total
    assert len(best) > 1 and best[max(best)] > best[min(best)]


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
    assert "action_mask" not in obs and obs["mask"].dtype == np.int8
    np.testing.assert_array_equal(env.action_masks(), obs["mask"].astype(bool))
    assert env.action_masks().dtype == bool
    mask = obs["mask"].reshape(env.F, env.E)
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
    action_masks = env.get_wrapper_attr("action_masks")  # reachable through gym.make's wrappers
    for _ in range(episodes):
        done = False
        frames.append(obs)
        while not done:
            obs, _, terminated, truncated, _ = env.step(random_masked_action(action_masks(), rng))
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
    for task in ("WebNavigation-Difficulty-01-v0", "WebNavigation-Difficulty-01-v1"):
        env = make(task, num_websites=2)
        try:
            check_env(env.unwrapped, skip_render_check=True)
        finally:
            env.close()


# --- A2Perf's layout (-v0) ---------------------------------------------------------------------

#: A2Perf's GMiniWoB ``_convert_to_action_tuple`` run on its own source (extracted from
#: gwob/CoDE/web_environment.py at 9451529 and called with this profile, E = 250): action ->
#: (element, value); A2Perf turns both 'None' and None into JS null
A2PERF_PROFILE = ["None", "Mountain View", "pass", "True", "NY", "john@email.com"]
A2PERF_DECODED = [
    [0, 0, "None"],
    [3, 3, "None"],
    [249, 249, "None"],
    [250, 0, "Mountain View"],
    [253, 3, "Mountain View"],
    [1257, 7, "john@email.com"],
    [1499, 249, "john@email.com"],
    [1500, 0, None],
    [1507, 7, None],
    [6249, 249, None],
    [6250, 0, None],
    [12499, 249, None],
]


def test_a2perf_decoding_matches_values_recorded_from_a2perf():
    from a2perf_web_navigation.env import decode_a2perf_action

    ours = [None, "Mountain View", "pass", True, "NY", "john@email.com"]
    for action, element, value in A2PERF_DECODED:
        expected = {"None": None, "True": True}.get(value, value)
        assert decode_a2perf_action(action, ours, 250) == (element, expected), action


def field_value(env, field):
    return env.browser.run(f"return document.querySelector('[data-f=\"{field}\"]').value;")


def checked(env, field):
    return env.browser.run(f"return document.querySelector('[data-f=\"{field}\"]').checked;")


def test_a2perf_action_space_and_masks(a2perf_env):
    env = a2perf_env
    assert env.action_space.n == 12500
    obs, _ = env.reset(options={"website": 2})
    assert "mask" not in obs and "action_mask" not in obs
    mask = env.action_masks()
    n = int(obs["dom_elements_mask"].sum())
    assert mask.dtype == bool and mask.shape == (12500,)
    grid = mask.reshape(50, 250)
    assert grid[:, :n].all() and not grid[:, n:].any()
    assert obs["dom_features"][:, 2].sum() == 0  # nothing is "new" at reset, as in A2Perf


def test_a2perf_field_semantics(a2perf_env):
    env = a2perf_env
    env.reset(options={"website": 0})
    slots = list(env.profile)
    past_profile = len(slots)  # a field index past the profile: value None
    city = element_of(env, "city")
    env.step(slots.index("city") * env.E + city)
    assert field_value(env, "city") == "Mountain View"
    env.step(0 * env.E + city)  # field 0 (_dummy) visits with None: clears the field
    assert field_value(env, "city") == ""
    env.step(slots.index("city") * env.E + city)
    _, reward, *_ = env.step(past_profile * env.E + city)  # past the profile: also None, also clears
    assert field_value(env, "city") == "" and reward == pytest.approx(-1 / 24 - 0.05)
    box = element_of(env, "rememberme")
    env.step(slots.index("rememberme") * env.E + box)
    assert checked(env, "rememberme") is env.profile["rememberme"]
    # the value True clicks (toggles) the checkbox, any other value leaves it alone
    before = checked(env, "rememberme")
    env.step(slots.index("stayloggedin") * env.E + box)
    toggles = env.profile["stayloggedin"] is True
    assert checked(env, "rememberme") is (not before if toggles else before)
    env.step(slots.index("city") * env.E + box)  # a string value: no click
    assert checked(env, "rememberme") is (not before if toggles else before)
    radio = element_of(env, "cabin")
    env.step(0 * env.E + radio)  # None matches no radio: nothing is checked
    assert env.browser.run("return document.querySelectorAll('input[data-f=\"cabin\"]:checked').length;") == 0


def test_a2perf_buttons_and_links_are_clicked_with_any_field(a2perf_env):
    env = a2perf_env
    obs, _ = env.reset(options={"website": 2})
    nxt = next(i for i, (a, _, _) in enumerate(described(env)) if a == "next")
    slots = list(env.profile)
    _, reward, terminated, *_ = env.step(49 * env.E + nxt)  # field 49, far past the profile
    assert reward == pytest.approx(-0.05) and not terminated
    assert {f for _, f, _ in described(env) if f} == {"state"}
    env.reset(options={"website": 1})
    link = next(i for i, (a, _, _) in enumerate(described(env)) if a == "exit")
    _, reward, terminated, *_ = env.step(slots.index("username") * env.E + link)
    assert (reward, terminated) == (-1.0, True)


def test_a2perf_invalid_actions_compound_and_truncation_terminates(a2perf_env):
    env = a2perf_env
    obs, _ = env.reset(options={"website": 2})
    n = int(obs["dom_elements_mask"].sum())
    rewards = []
    for step in range(1, 26):
        _, reward, terminated, truncated, _ = env.step(n)  # element index past the list
        rewards.append(reward)
        # A2Perf: terminated = done or truncated
        assert terminated == truncated == (step == 25)
    # A2Perf keeps the previous reward on an invalid index and subtracts the penalties again
    assert rewards[:3] == pytest.approx([-0.55, -1.10, -1.65])
    assert rewards[-1] == pytest.approx(-0.55 * 25)


@pytest.mark.parametrize("bad", [1.5, "3", True, np.float64(2.0), np.array([1, 2])])
def test_non_integer_actions_are_one_line_errors(a2perf_env, bad):
    from a2perf_web_navigation.errors import ActionError

    a2perf_env.reset(options={"website": 2})
    with pytest.raises(ActionError, match="action must be an integer"):
        a2perf_env.step(bad)
    a2perf_env.step(np.int64(0))  # numpy integers, as sampled from the space, are fine
    a2perf_env.step(np.array(0))


def test_step_after_close_is_a_clear_error():
    from a2perf_web_navigation.errors import EpisodeError

    environment = WebNavigationEnv(designs=[THREE_PAGES], num_websites=1)
    environment.reset()
    environment.close()
    with pytest.raises(EpisodeError, match="closed env"):
        environment.step(0)
    with pytest.raises(EpisodeError, match="closed env"):
        environment.reset()


def test_action_masks_reach_through_gym_make_wrappers(a2perf_plugins):
    from a2perf_core.envs import make

    a2perf_plugins(plugin)
    for task, n in (("WebNavigation-Difficulty-01-v0", 12500), ("WebNavigation-Difficulty-01-v1", 6250)):
        env = make(task, num_websites=1)
        try:
            env.reset(seed=0)
            mask = env.get_wrapper_attr("action_masks")()
            assert mask.dtype == bool and mask.shape == (n,) and mask.any()
            assert env.action_space.n == n
        finally:
            env.close()
