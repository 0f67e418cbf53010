"""Designs, difficulty, levels, generator, vocabulary and registration: no browser needed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from a2perf_web_navigation import plugin
from a2perf_web_navigation.designs import (
    GENERATOR_SYMBOLS,
    MAX_WEBSITES,
    WebsiteDesign,
    generate_designs,
    level_of,
    page_difficulty,
    random_design,
    website_difficulty,
)
from a2perf_web_navigation.env import draw_profile, optimal_return
from a2perf_web_navigation.errors import DesignError
from a2perf_web_navigation.primitives import ACTIVE, PASSIVE, PRIMITIVES
from a2perf_web_navigation.vocabulary import derive_tokens, encode, shipped_tokens, token_ids, tokenize


def test_forty_primitives_24_active_16_passive():
    assert len(PRIMITIVES) == 40
    assert len(ACTIVE) == 24 and len(PASSIVE) == 16
    assert len(GENERATOR_SYMBOLS) == 42  # 40 primitives + stop + page break
    assert len({PRIMITIVES[n].field for n in ACTIVE}) == 24


def test_page_difficulty_by_hand():
    # username (19, active) + password (13, active) + navbar (10, passive):
    # p = 1/2! * (1 - 10/42) = 0.380952...; difficulty = -log(p + 1e-8)
    p = 0.5 * (1 - 10 / 42)
    assert page_difficulty(["username", "password", "navbar"]) == pytest.approx(-math.log(p + 1e-8), rel=1e-12)
    assert page_difficulty(["city"]) == pytest.approx(-math.log(1 + 1e-8))
    assert page_difficulty([]) == 0.0
    # only passive primitives: p = 0, the floor 1e-8
    assert page_difficulty(["navbar"]) == pytest.approx(-math.log(1e-8))


def test_website_difficulty_sums_pages_and_levels_bin_probability():
    design = WebsiteDesign.from_dict(
        {"number_of_pages": 2, "action": ["city", "username", "password", "navbar"], "action_page": [0, 1, 1, 1]}
    )
    expected = -math.log(1 + 1e-8) - math.log(0.5 * (1 - 10 / 42) + 1e-8)
    assert website_difficulty(design) == pytest.approx(expected)
    assert design.level == 2  # exp(-d) = 0.381 in [0.25, 0.5)
    # A2Perf's bins: [0.75, 1] dropped, level 1 [0.5, 0.75), level 2 [0.25, 0.5), level 3 [0, 0.25)
    assert WebsiteDesign.from_dict({"action": ["city"], "action_page": [0]}).level is None
    assert WebsiteDesign.from_dict({"action": ["city", "zipcode"], "action_page": [0, 0]}).level == 1
    assert WebsiteDesign.from_dict({"action": ["city", "zipcode", "cccvv"], "action_page": [0, 0, 0]}).level == 3
    assert level_of(0.75) is None and level_of(0.5) == 1 and level_of(0.25) == 2 and level_of(0.0) == 3
    assert level_of(0.7499) == 1 and level_of(0.4999) == 2 and level_of(0.2499) == 3


def test_difficulty_and_level_match_values_recorded_from_a2perf():
    """tests/data/a2perf_difficulty.json was recorded by running A2Perf's own ``generate_website``
    (seeds 1234..21233, its generator's defaults), ``Website.difficulty`` and
    ``split_websites_into_difficulty_levels`` with its default bins [0, .25, .5, .75] in a scratch
    copy of Farama-Foundation/a2perf-web-nav; all level-1, level-2 and dropped websites and the
    first 150 level-3 ones are kept (null level: dropped)."""
    data = json.loads((Path(__file__).parent / "data" / "a2perf_difficulty.json").read_text())
    assert list(GENERATOR_SYMBOLS) == data["generator_symbols"]
    rows = data["websites"]
    assert {r["level"] for r in rows} == {1, 2, 3, None}
    # duplicates on a page change the difficulty: A2Perf counts the raw primitive list
    assert any(len(set(p)) < len(p) for r in rows for p in WebsiteDesign.from_dict(r["design"]).raw_pages)
    for row in rows:
        design = WebsiteDesign.from_dict(row["design"])
        assert design.difficulty == pytest.approx(row["difficulty"], rel=1e-12, abs=1e-12), row
        assert design.level == row["level"], row


def test_difficulty_counts_duplicate_primitives_on_a_page():
    # city twice and navbar: p = 1/2! * (1 - 10/34); deduplicated it would be 1 * (1 - 10/22)
    design = WebsiteDesign.from_dict({"action": ["city", "city", "navbar"], "action_page": [0, 0, 0]})
    assert design.difficulty == pytest.approx(-math.log(0.5 * (1 - 10 / 34) + 1e-8))
    assert design.pages == (("city", "navbar"),)


def test_from_dict_keeps_the_raw_list_renders_deduplicated_and_drops_trailing_pages():
    design = WebsiteDesign.from_dict(
        {"number_of_pages": 4, "action": ["city", "city", "navbar"], "action_page": [0, 0, 2]}
    )
    assert design.pages == (("city",), (), ("navbar",))
    assert design.raw_pages == (("city", "city"), (), ("navbar",))
    assert design.to_dict() == {"number_of_pages": 3, "action": ["city", "city", "navbar"], "action_page": [0, 0, 2]}


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"action": ["citty"], "action_page": [0]}, "unknown primitives"),
        ({"action": ["city"], "action_page": [0, 1]}, "1 actions but 2"),
        ({"action": ["city"]}, "action_page"),
    ],
)
def test_bad_designs_are_clear_errors(bad, message):
    with pytest.raises(DesignError, match=message):
        WebsiteDesign.from_dict(bad)


def test_html_chains_pages_with_next_and_submit():
    design = WebsiteDesign.from_dict(
        {"action": ["city", "submit", "next_checkout", "zipcode"], "action_page": [0, 0, 2, 2]}
    )
    html = design.html()
    # page 0: designed submit on an early page does nothing; a "Click" next is created
    assert '<button type="button" class="btn btn-primary" id="actionable_submit_p0">Place Order</button>' in html
    assert 'id="actionable_next_p0" data-a="next">Click</button>' in html
    # empty interior page 1 holds only a created next; the last page's designed next does nothing
    assert 'id="actionable_next_p1" data-a="next">Click</button>' in html
    assert 'id="actionable_next_p2">Checkout</button>' in html
    assert 'id="actionable_submit_p2" data-a="submit">Click</button>' in html  # A2Perf's text
    assert html.count('class="wn-page"') == 3 and html.count('style="display:none"') == 2


def test_active_primitive_repeated_on_a_later_page_is_rendered_once():
    design = WebsiteDesign.from_dict({"action": ["city", "city"], "action_page": [0, 1]})
    assert design.html().count('data-f="city"') == 1
    assert design.fields == ("city",)


def test_generator_is_seeded_and_levels_hold():
    a = generate_designs(2, 5, np.random.default_rng(7))
    b = generate_designs(2, 5, np.random.default_rng(7))
    assert a == b
    assert all(d.level == 2 and d.fields for d in a)
    with pytest.raises(DesignError, match="difficulty must be one of"):
        generate_designs(4, 1, np.random.default_rng(0))


def test_generator_draws_a_level_directly_up_to_a2perf_pool_size():
    # 1000 level-1 designs (1.4 % of the generator's designs) in one call; they are distinct, as
    # A2Perf's de-duplicated pool chosen without replacement
    designs = generate_designs(1, MAX_WEBSITES, np.random.default_rng(0))
    assert len(designs) == MAX_WEBSITES and all(d.level == 1 for d in designs)
    assert len({tuple(map(tuple, d.raw_pages)) for d in designs}) >= 0.95 * MAX_WEBSITES
    with pytest.raises(DesignError, match="between 1 and 1000"):
        generate_designs(1, MAX_WEBSITES + 1, np.random.default_rng(0))


def test_level_3_keeps_a2perf_designs_without_fields():
    # A2Perf's level 3 includes websites of passive primitives only (p = 0): about 1.6 % of them
    designs = generate_designs(3, 1000, np.random.default_rng(1))
    without_fields = sum(not d.fields for d in designs)
    assert 3 <= without_fields <= 50


def test_generator_page_count_is_geometric_with_half():
    rng = np.random.default_rng(0)
    designs = [random_design(rng) for _ in range(3000)]
    # a page break and a stop are equally likely, so the pages count is geometric with mean 2
    # (trailing empty pages dropped lowers it slightly)
    mean_pages = np.mean([len(d.pages) for d in designs])
    assert 1.8 < mean_pages < 2.1


def test_profile_fixed_and_seeded_values():
    design = WebsiteDesign.from_dict(
        {"action": ["password", "username", "city", "state", "rememberme"], "action_page": [0] * 5}
    )
    profile = draw_profile(design, np.random.default_rng(0))
    assert list(profile) == ["_dummy", "city", "password", "rememberme", "state", "username"]
    assert profile["password"] == "pass" and profile["username"] == "john@email.com"
    assert profile["city"] == "Mountain View" and profile["state"] in ("CA", "NY")
    assert profile["rememberme"] in (True, False)
    assert draw_profile(design, np.random.default_rng(0)) == profile


def test_optimal_return_formula():
    # 3 fields on 2 pages: 3 fills of (1/3 - 0.05), 1 next click (-0.05), submit +1
    design = WebsiteDesign.from_dict({"action": ["city", "zipcode", "state"], "action_page": [0, 0, 1]})
    assert optimal_return(design) == pytest.approx(3 * (1 / 3 - 0.05) - 0.05 + 1)


def test_optimal_return_skips_already_correct_checkboxes_above_20_fields():
    design = WebsiteDesign.from_dict({"action": list(ACTIVE), "action_page": [0] * len(ACTIVE)})
    profile = {"_dummy": None, **dict.fromkeys(design.fields, "x"), "rememberme": False, "stayloggedin": False}
    # 24 fields: a fill earns 1/24 - 0.05 < 0, so the two unchecked-and-False checkboxes are left alone
    assert optimal_return(design, profile) == pytest.approx(1 + 22 / 24 - 0.05 * 22)  # 0.8167
    assert optimal_return(design, profile) > optimal_return(design) == pytest.approx(0.80)
    # below 20 fields every fill pays, so nothing is skipped
    small = WebsiteDesign.from_dict({"action": ["city", "rememberme"], "action_page": [0, 0]})
    assert optimal_return(small, {"_dummy": None, "city": "x", "rememberme": False}) == optimal_return(small)


def test_tokenizer_matches_a2perf_rules():
    assert tokenize("Forgot user name.") == ["forgot", "user", "name"]
    assert tokenize("San Francisco Airport (SFO)") == ["san", "francisco", "airport", "(", "sfo", ")"]
    assert tokenize("name_first") == ["name_first"]
    assert tokenize("None") == [] and tokenize("") == []


def test_vocabulary_is_shipped_fixed_and_matches_the_websites():
    assert list(shipped_tokens()) == derive_tokens()
    ids = token_ids()
    assert ids["NULL"] == 0 and ids["OOV"] == 1
    assert encode("zzz unknownword city", 10) == (1, 1, ids["city"])
    assert encode("Mountain View city", 2) == (ids["mountain"], ids["view"])


def test_plugin_registers_tasks_and_assets(a2perf_plugins):
    plugins = a2perf_plugins(plugin)
    tasks = plugins.registry.tasks
    for level in (1, 2, 3):
        task = tasks[f"WebNavigation-Difficulty-{level:02d}-v0"].spec
        assert task.generalization and task.kwargs["difficulty"] == level and task.data == ()
        assert task.kwargs["action_layout"] == "a2perf" and task.kwargs["terminate_on_truncation"]
        corrected = tasks[f"WebNavigation-Difficulty-{level:02d}-v1"].spec
        assert corrected.kwargs["action_layout"] == "masked" and not corrected.kwargs["terminate_on_truncation"]
    assert "WebNavigation-v0" in tasks and "WebNavigation-v1" in tasks
    assets = plugins.registry.data_assets
    assert assets["web-navigation-designs-02"].spec.path == "web_navigation/designs/02.json"


def test_each_version_generalizes_over_its_own_tasks(a2perf_plugins):
    """A -v1 policy acts in the masked layout: its generalization phase runs the -v1 levels, and a -v0
    run keeps the -v0 levels (the tasks marked ``generalization``)."""
    import gin

    from a2perf_core.runner.run import generalization_set
    from a2perf_core.settings import RunSettings, apply_gin

    tasks = a2perf_plugins(plugin).registry.tasks
    levels = (1, 2, 3)
    for task_id in ("WebNavigation-Difficulty-02-v1", "WebNavigation-v1"):
        gin.clear_config()
        settings = RunSettings(task_id=task_id, submission="x")
        apply_gin(settings, [tasks[task_id].spec.gin_files["generalization"]], [])
        assert settings.generalization_tasks == tuple(f"WebNavigation-Difficulty-{n:02d}-v1" for n in levels)
    gin.clear_config()
    settings = RunSettings(task_id="WebNavigation-Difficulty-02-v0", submission="x")
    apply_gin(settings, [tasks["WebNavigation-Difficulty-02-v0"].spec.gin_files["generalization"]], [])
    assert settings.generalization_tasks is None
    assert generalization_set("WebNavigation-Difficulty-02-v0") == [
        f"WebNavigation-Difficulty-{n:02d}-v0" for n in levels
    ]
    gin.clear_config()


def test_a2perf_generalization_tasks_stay_distinct_in_compat(a2perf_plugins):
    pytest.importorskip("a2perf.constants", reason="needs a2perf-compat")
    from a2perf.constants import GENERALIZATION_TASKS

    tasks = a2perf_plugins(plugin).registry.tasks
    for websites in (1, 5, 10):
        task = tasks[GENERALIZATION_TASKS[f"difficulty_level_1_num_websites_{websites}"]].spec
        assert task.kwargs["num_websites"] == websites and task.kwargs["difficulty"] == 1
        assert task.kwargs["action_layout"] == "a2perf"


def test_original_designs_load_and_show_the_upstream_label_defect(a2perf_plugins):
    from a2perf_web_navigation.env import original_designs

    from a2perf_core.data import verify
    from a2perf_core.testing_data import data_file

    plugins = a2perf_plugins(plugin)
    path = data_file("web-navigation-designs-01")
    verify(plugins.registry.data_assets["web-navigation-designs-01"].spec, path)
    designs = original_designs(1)
    assert len(designs) == len(json.loads(path.read_text()))
    level_3 = np.mean([d.level == 3 for d in designs])
    assert level_3 > 0.9  # labelled "level 1", but almost all are level 3


def test_plugin_module_imports_only_core_api():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(plugin))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "collections", "a2perf_core"}


def test_gin_files_exist_and_set_only_known_run_settings():
    from importlib import resources

    from a2perf_core.settings import GIN_DEFAULTS

    for phase, reference in plugin.GIN_FILES.items():
        package, _, relative = reference.partition(":")
        text = resources.files(package).joinpath(relative).read_text()
        bindings = [line.split("=")[0].strip() for line in text.splitlines() if line and not line.startswith("#")]
        assert bindings, phase
        for binding in bindings:
            scope, _, name = binding.partition(".")
            assert scope == "RunSettings" and name in GIN_DEFAULTS, binding


def test_missing_browser_is_one_clear_error(monkeypatch):
    from a2perf_web_navigation.browser import find_browser

    from a2perf_core.errors import A2PerfError

    monkeypatch.setenv("A2PERF_CHROME", "/nonexistent/chromium")
    with pytest.raises(A2PerfError, match="apt-get install chromium chromium-driver.*A2PERF_CHROMEDRIVER"):
        find_browser()
    with pytest.raises(A2PerfError, match="not found: Chromium"):
        from a2perf_web_navigation.env import WebNavigationEnv

        WebNavigationEnv(difficulty=1, num_websites=1)
    monkeypatch.delenv("A2PERF_CHROME")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("A2PERF_CHROMEDRIVER", raising=False)
    with pytest.raises(A2PerfError, match="Chromium .*; chromedriver"):
        find_browser()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "give difficulty=1, 2 or 3"),
        ({"difficulty": 4}, "difficulty must be one of"),
        ({"difficulty": 1.7}, "difficulty must be the integer 1, 2 or 3, got 1.7"),
        ({"difficulty": "1"}, "difficulty must be the integer 1, 2 or 3, got '1'"),
        ({"difficulty": True}, "difficulty must be the integer"),
        ({"difficulty": 1, "num_websites": 2000}, "between 1 and 1000"),
        ({"difficulty": 1, "num_websites": 2.5}, "num_websites must be an integer"),
        ({"difficulty": 1, "action_layout": "flat"}, "action_layout must be one of"),
        ({"designs": "a2perf"}, "designs must be 'generated'"),
        ({"designs": "a2perf-original"}, "needs difficulty"),
        ({"designs": []}, "empty list"),
        ({"difficulty": 1, "num_websites": 0}, "at least 1"),
        ({"difficulty": 1, "render_mode": "human"}, "render_mode"),
    ],
)
def test_env_options_are_checked_before_any_browser_starts(kwargs, message):
    from a2perf_web_navigation.env import WebNavigationEnv

    with pytest.raises(DesignError, match=message):
        WebNavigationEnv(**kwargs)


def test_token_table_pads_and_grows():
    from a2perf_web_navigation.vocabulary import TokenTable

    table = TokenTable(3)
    texts = ["", "Mountain View city zip", *(f"w{i}" for i in range(600))]
    ids = table.encode_many(texts)
    ids_map = token_ids()
    assert ids.shape == (602, 3)
    assert ids[0].tolist() == [0, 0, 0]
    assert ids[1].tolist() == [ids_map["mountain"], ids_map["view"], ids_map["city"]]
    assert ids[2].tolist() == [1, 0, 0]  # unknown word: OOV then padding
    assert (table.encode_many(texts) == ids).all()
