"""The dom backend alone (no browser): hand-laid-out pages, JavaScript's comparisons, invariants over
random designs, determinism, the oracle's analytic return, and the vectorised env against
Gymnasium's SyncVectorEnv and against single dom envs. Its equality with Chromium is the differential test's job."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_web_navigation.designs import WebsiteDesign
from a2perf_web_navigation.dom import DomPage, DomSite, loosely_equal, loosely_true
from a2perf_web_navigation.env import WebNavigationEnv, optimal_return
from a2perf_web_navigation.errors import DesignError
from a2perf_web_navigation.layout import shipped_layout
from a2perf_web_navigation.policies import optimal_action
from a2perf_web_navigation.primitives import PRIMITIVES
from hypothesis import assume, given, settings
from hypothesis import strategies as st

BOXES = shipped_layout()["boxes"]


def design(*names: str, pages: list[int] | None = None) -> WebsiteDesign:
    return WebsiteDesign.from_dict({"action": list(names), "action_page": pages or [0] * len(names)})


def rects_px(site: DomSite, page: int = 0, open_menus: tuple[int, ...] = ()) -> list[tuple[str, float, float]]:
    """(tag, left px, top px) of the visible elements."""
    return [(sig[0], sig[2], sig[3]) for sig in site.layout(page, open_menus).signature]


def test_blocks_stack_with_collapsed_margins_and_buttons_share_a_line():
    """city (margins 0/8) then header (6/4): the gap is max(8, 6) = 8, not 14; next_login and
    submit are inline blocks on one line after the header's 4 px margin, the second after the
    first's width; the site is padding 12 + content + last margin (0 after a line) + 12 high."""
    site = DomSite(design("city", "header", "next_login_page", "submit"))
    city, header = BOXES["city"], BOXES["header"]
    header_top = 12 + city["height"] + max(city["margin_bottom"], header["margin_top"])
    assert header_top == 12 + city["height"] + 8
    line_top = header_top + header["height"] + header["margin_bottom"]
    found = rects_px(site)
    assert [tag for tag, _, _ in found[-3:]] == ["h5", "button", "button"]
    assert found[-3][1:] == (20, header_top)
    assert found[-2][1:] == (20, line_top)
    assert found[-1][1:] == (20 + BOXES["next_login_page"]["width"], line_top)
    assert site.layout(0, ()).signature[0] == ("div", "", 0.0, 0.0, 600, line_top + 36 + 12)


def test_first_margin_collapses_through_the_page_and_a_toggled_menu_shows_its_links():
    site = DomSite(design("header", "navbar"))
    page_rect = site.layout(0, ()).signature[1]
    assert page_rect[3] == 12 + BOXES["header"]["margin_top"]  # the page box starts below h5's margin
    closed, opened = site.layout(0, ()), site.layout(0, (1,))
    links = [sig for sig in opened.signature if sig[0] == "a" and sig[1] in PRIMITIVES["navbar"].items]
    assert len(links) == 5 and len(opened.elements) == len(closed.elements) + 11  # ul, 5 li, 5 a


def test_javascript_loose_comparisons():
    assert loosely_true(True) and loosely_true("1") and loosely_true(" 1 ") and loosely_true("1.0")
    assert not any(loosely_true(v) for v in (None, False, "2", "", "True", "true", "0x2"))
    assert loosely_true("0x1")
    assert loosely_equal("Economy", "Economy") and not loosely_equal("Economy", True)
    assert not loosely_equal("First", None) and loosely_equal("1", True) and loosely_equal("0", False)


def test_values_are_sanitised_as_the_browser_does():
    site = DomSite(design("numberofpeople", "state", "rememberme"))
    page = DomPage(site, {"_dummy": None, "numberofpeople": "2", "rememberme": True, "state": "NY"})
    page.build()
    kinds = [el[0] for el in page.describe()]
    number, select, check = kinds.index("type"), kinds.index("select"), kinds.index("check")
    for value, kept in (("john@email.com", ""), ("2042", "2042"), ("-1.5e3", "-1.5e3"), ("5.", ""), (True, "")):
        state = page.visit(number, value)
        assert state["text"][5 * number + 1] == kept, value
    assert page.visit(select, "TX")["text"][5 * select + 1] == ""
    assert page.visit(select, "NY")["text"][5 * select + 1] == "NY"
    assert page.visit(check, "1")["text"][5 * check + 1] == "True"  # "1" == true in JavaScript
    assert page.visit(check, "2")["text"][5 * check + 1] == "True"
    state = page.visit(number, "2")
    assert state["phi"] == pytest.approx(1.0) and not state["done"]


designs_strategy = st.lists(
    st.tuples(st.sampled_from(sorted(PRIMITIVES)), st.integers(0, 3)), min_size=0, max_size=20
).map(lambda pairs: design(*(n for n, _ in pairs), pages=[p for _, p in pairs]))


def play(env: WebNavigationEnv, seed: int, steps: int) -> list:
    rng = np.random.default_rng(seed)
    trace = []
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        assert env.observation_space.contains(obs)
        n = int(obs["dom_elements_mask"].sum())
        features = obs["dom_features"][:n]
        assert features[0, 4:].tolist() == [0, 0, 1, 1]  # the site's box is the reference
        assert np.all(features[:, 4] + features[:, 6] <= 1 + 1e-6)
        assert np.all(features[:, 5] + features[:, 7] <= 1 + 1e-6)
        assert obs["dom_elements_mask"][n:].sum() == 0 and np.all(obs["dom_elements"][n:] == 0)
        action = int(rng.choice(np.flatnonzero(env.action_masks())))
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append(
            (action, reward, terminated, truncated, obs["dom_elements"].tobytes(), obs["dom_features"].tobytes())
        )
        if terminated or truncated:
            obs, _ = env.reset()
    return trace


@settings(max_examples=25, deadline=None)
@given(designs=st.lists(designs_strategy, min_size=1, max_size=3), layout=st.sampled_from(["a2perf", "masked"]))
def test_random_designs_keep_the_invariants_and_replay_identically(designs, layout):
    kwargs = dict(designs=designs, num_websites=len(designs), seed=3, action_layout=layout, backend="dom")
    first, second = WebNavigationEnv(**kwargs), WebNavigationEnv(**kwargs)
    assert first.browser is None
    assert play(first, 3, 30) == play(second, 3, 30)


@settings(max_examples=20, deadline=None)
@given(chosen=designs_strategy, seed=st.integers(0, 1000))
def test_the_oracle_earns_the_analytic_optimal_return(chosen, seed):
    """Except where two consecutive pages look the same to the page script's change signature (tag,
    text, value, rectangle: a created next button, then a created submit button): the next click
    then counts as no change and costs the cyclic penalty, on both backends."""
    site = DomSite(chosen)
    looks = [site.layout(i, ()).signature[2:] for i in range(len(chosen.pages))]
    assume(all(a != b for a, b in zip(looks, looks[1:], strict=False)))
    env = WebNavigationEnv(designs=[chosen], seed=seed, action_layout="masked", backend="dom", step_limit=100)
    env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        _, reward, terminated, truncated, info = env.step(optimal_action(env))
        total, done = total + reward, terminated or truncated
    assert info["success"]
    assert total == pytest.approx(optimal_return(chosen, env.profile))


def test_dom_backend_options_are_checked():
    with pytest.raises(DesignError, match="backend must be one of"):
        WebNavigationEnv(difficulty=1, backend="jsdom")
    with pytest.raises(DesignError, match="needs backend='browser'"):
        WebNavigationEnv(difficulty=1, backend="dom", render_mode="rgb_array")


@pytest.mark.parametrize("layout", ["a2perf", "masked"])
def test_vector_env_equals_sync_vector_env_of_dom_envs(layout):
    from a2perf_web_navigation.vector import WebNavigationVectorEnv
    from gymnasium.vector import SyncVectorEnv

    kwargs = dict(difficulty=3, num_websites=4, action_layout=layout, step_limit=6)
    vector = WebNavigationVectorEnv(3, seed=7, **kwargs)
    reference = SyncVectorEnv([lambda i=i: WebNavigationEnv(**kwargs, seed=7 + i, backend="dom") for i in range(3)])
    (obs, info), (expected, expected_info) = vector.reset(seed=1), reference.reset(seed=1)
    rng = np.random.default_rng(0)
    for t in range(120):
        assert obs.keys() == expected.keys()
        for key in expected:
            assert np.array_equal(obs[key], expected[key]), (t, key)
            assert obs[key].dtype == expected[key].dtype
        for key in expected_info:
            assert np.array_equal(info[key], expected_info[key]), (t, key)
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in vector.action_masks()])
        obs, rewards, terminated, truncated, info = vector.step(actions)
        expected, *flags, expected_info = reference.step(actions)
        for got, want in zip((rewards, terminated, truncated), flags, strict=True):
            assert np.array_equal(got, want), t
    assert vector.observation_space.contains(obs)
    vector.close()
    reference.close()


def random_designs(rng: np.random.Generator, count: int) -> list[WebsiteDesign]:
    """Designs of any primitives on up to four pages (navbars, radios, duplicates and all)."""
    names = sorted(PRIMITIVES)
    return [
        design(*[names[k] for k in rng.integers(len(names), size=size)], pages=rng.integers(4, size=size).tolist())
        for size in rng.integers(0, 24, size=count)
    ]


@pytest.mark.parametrize(
    ("layout", "source", "elements"),
    [("a2perf", 1, 250), ("masked", 2, 250), ("a2perf", "random", 250), ("masked", "random", 250)]
    + [("a2perf", "random", 9), ("masked", 3, 9)],
)
def test_vector_env_equals_single_dom_envs_on_any_action(layout, source, elements):
    """Step by step against one :class:`WebNavigationEnv` per sub-env (the same next-step autoreset
    by hand): any action of the space (past the page, past the profile), allowed ones and the
    oracle's, so that radios, toggles, later pages, submits, exits and truncations all occur; 9
    elements cuts pages at E."""
    from a2perf_web_navigation.vector import WebNavigationVectorEnv

    rng = np.random.default_rng(5)
    kwargs = dict(num_websites=5, action_layout=layout, step_limit=8, number_of_dom_elements=elements)
    if source == "random":
        kwargs["designs"] = random_designs(rng, 12)
    else:
        kwargs["difficulty"] = source
    count = 6
    vector = WebNavigationVectorEnv(count, seed=3, copy=False, **kwargs)
    singles = [WebNavigationEnv(**kwargs, seed=3 + i, backend="dom") for i in range(count)]
    obs, info = vector.reset(seed=11)
    expected = [env.reset(seed=11 + i) for i, env in enumerate(singles)]
    pending = [False] * count
    ends = 0
    for t in range(300):
        for i, (want_obs, want_info) in enumerate(expected):
            for key, want in want_obs.items():
                assert np.array_equal(obs[key][i], want) and obs[key].dtype == want.dtype, (t, i, key)
            assert {key: info[key][i].item() for key in want_info} == want_info, (t, i)
        masks = vector.action_masks()
        actions = []
        for i, env in enumerate(singles):
            assert np.array_equal(masks[i], env.action_masks()), (t, i)
            draw = rng.random()
            if draw < 0.3:
                actions.append(int(rng.integers(env.action_space.n)))
            elif draw < 0.5 and not pending[i]:
                actions.append(optimal_action(env))
            else:
                actions.append(int(rng.choice(np.flatnonzero(masks[i]))))
        obs, rewards, terminated, truncated, info = vector.step(np.array(actions))
        for i, env in enumerate(singles):
            if pending[i]:
                expected[i] = env.reset()
                outcome = (0.0, False, False)
            else:
                want_obs, *outcome, want_info = env.step(actions[i])
                expected[i] = (want_obs, want_info)
            assert (rewards[i].item(), terminated[i].item(), truncated[i].item()) == tuple(outcome), (t, i)
            pending[i] = bool(terminated[i] or truncated[i])
            ends += pending[i]
    assert ends >= 30
    vector.close()


def test_vector_env_refuses_bad_actions():
    from a2perf_web_navigation.errors import ActionError, EpisodeError
    from a2perf_web_navigation.vector import WebNavigationVectorEnv

    vector = WebNavigationVectorEnv(2, difficulty=1, num_websites=2)
    with pytest.raises(EpisodeError, match="before reset"):
        vector.step(np.array([0, 0]))
    vector.reset(seed=0)
    with pytest.raises(ActionError, match="outside Discrete"):
        vector.step(np.array([0, vector.single_action_space.n]))
    with pytest.raises(ActionError, match="must be integers"):
        vector.step(np.array([0.0, 1.0]))
    with pytest.raises(DesignError, match="needs 2 actions"):
        vector.step(np.array([0]))


@pytest.mark.browser
def test_shipped_layout_is_what_chromium_measures():
    """``site/layout.json`` against a fresh measurement (regenerate it with
    ``python -m a2perf_web_navigation.layout`` after changing the site's HTML or CSS)."""
    from a2perf_web_navigation.browser import Chromium
    from a2perf_web_navigation.layout import measure_layout

    browser = Chromium()
    try:
        assert measure_layout(browser) == shipped_layout()
    finally:
        browser.close()
