"""The web navigation environment: fill a generated website's form from a profile and submit it.

One browser per env, one page load per env; each reset rebuilds the site in place and each valid
step is one browser round trip that acts and returns the new DOM and reward state. An action on an
element index past the observed elements (or on an empty profile slot) is a no-op that costs the
step penalty and never touches the browser.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from a2perf_web_navigation.designs import LEVEL_BOUNDS, WebsiteDesign, generate_designs, read_design_file
from a2perf_web_navigation.errors import DesignError
from a2perf_web_navigation.primitives import DUMMY_FIELD, FIXED_VALUES, RANDOM_VALUES
from a2perf_web_navigation.vocabulary import TokenTable, encode, vocabulary_size

ORIGINAL = "a2perf-original"
#: the page returns its state as one JSON string: WebDriver serialises a string much faster than nested arrays
_BUILD = "return JSON.stringify(window.__wn.build(arguments[0], arguments[1], arguments[2]));"
_ACT = "return JSON.stringify(window.__wn.act(arguments[0], arguments[1], arguments[2]));"


def original_designs(difficulty: int) -> list[WebsiteDesign]:
    """A2Perf's own design file for ``difficulty`` (a data asset; see ``a2perf data fetch``)."""
    from a2perf_core.data import asset_path

    if difficulty not in LEVEL_BOUNDS:
        raise DesignError(f"difficulty must be one of {sorted(LEVEL_BOUNDS)}, got {difficulty!r}")
    return read_design_file(str(asset_path(f"web-navigation-designs-{difficulty:02d}")))


def draw_profile(design: WebsiteDesign, rng: np.random.Generator) -> dict[str, str | bool | None]:
    """The profile of one episode: sorted keys, ``_dummy`` first, random fields drawn from ``rng``."""
    profile: dict[str, str | bool | None] = {DUMMY_FIELD: None}
    for key in sorted(design.fields):
        if key in RANDOM_VALUES:
            choices = RANDOM_VALUES[key]
            profile[key] = choices[int(rng.integers(len(choices)))]
        else:
            profile[key] = FIXED_VALUES[key]
    return profile


def optimal_return(design: WebsiteDesign, timestep_penalty: float = 0.05) -> float:
    """The best achievable return: fill every field once, click through the pages, submit.

    Every fill earns ``1/K - penalty``, every next click ``-penalty``, the submit ``+1`` (the
    episode-ending step carries no step penalty)."""
    k = len(design.fields)
    return 1.0 + (1.0 if k else 0.0) - timestep_penalty * (k + len(design.pages) - 1)


class WebNavigationEnv(gym.Env):
    """Compositional web navigation (gMiniWoB / CoDE) in a real headless Chromium."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        difficulty: int | None = None,
        designs: str | Sequence[Mapping[str, Any] | WebsiteDesign] | None = None,
        num_websites: int = 10,
        seed: int | None = 0,
        render_mode: str | None = None,
        number_of_dom_elements: int = 250,
        number_of_fields: int = 25,
        dom_attribute_sequence_length: int = 10,
        profile_length: int = 10,
        step_limit: int = 25,
        timestep_penalty: float = 0.05,
        cyclic_action_penalty: float = 0.5,
        window_size: tuple[int, int] = (600, 800),
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise DesignError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if num_websites < 1:
            raise DesignError("num_websites must be at least 1")
        self.render_mode = render_mode
        self.E, self.F = int(number_of_dom_elements), int(number_of_fields)
        self.L, self.P = int(dom_attribute_sequence_length), int(profile_length)
        self.step_limit = int(step_limit)
        self.timestep_penalty = float(timestep_penalty)
        self.cyclic_action_penalty = float(cyclic_action_penalty)
        self.window_size = window_size
        site_rng = np.random.default_rng(seed)
        self.websites = self._choose_websites(difficulty, designs, num_websites, site_rng)
        too_long = [i for i, d in enumerate(self.websites) if len(d.fields) + 1 > self.F]
        if too_long:
            raise DesignError(f"designs {too_long} have more fields than number_of_fields={self.F}")
        from a2perf_web_navigation.browser import find_browser

        find_browser()  # a missing browser is reported at make(), not at the first reset
        self._np_random, _ = seeding.np_random(seed)
        self._html = [d.html() for d in self.websites]
        self._sent: set[int] = set()
        self._browser: Any = None
        self._tokens = TokenTable(self.L)

        vocab = vocabulary_size()
        E, F, L, P = self.E, self.F, self.L, self.P
        self.observation_space = spaces.Dict(
            {
                "dom_elements": spaces.Box(0, vocab - 1, (E, 5, L), np.int32),
                "dom_attribute_mask": spaces.Box(0, 1, (E, 5, L), np.float32),
                "dom_elements_mask": spaces.Box(0, 1, (E,), np.float32),
                "dom_features": spaces.Box(0, 1, (E, 8), np.float32),
                "profile_key": spaces.Box(0, vocab - 1, (F, P), np.int32),
                "profile_value": spaces.Box(0, vocab - 1, (F, P), np.int32),
                "profile_key_mask": spaces.Box(0, 1, (F, P), np.float32),
                "profile_value_mask": spaces.Box(0, 1, (F, P), np.float32),
                "dom_profile_joint_mask": spaces.Box(0, 1, (F, E), np.float32),
                "time_step": spaces.Box(0, 1, (1,), np.float32),
                "action_mask": spaces.MultiBinary(F * E),
            }
        )
        self.action_space = spaces.Discrete(F * E)
        self._reset_episode_state()

    # --- websites ------------------------------------------------------------------------------

    @staticmethod
    def _choose_websites(
        difficulty: int | None, designs: Any, num_websites: int, rng: np.random.Generator
    ) -> list[WebsiteDesign]:
        if designs is None or designs == "generated":
            if difficulty is None:
                raise DesignError("give difficulty=1, 2 or 3, or designs='a2perf-original' or a list of designs")
            return generate_designs(int(difficulty), num_websites, rng)
        if isinstance(designs, str):
            if designs != ORIGINAL:
                raise DesignError(
                    f"designs must be 'generated', {ORIGINAL!r} or a list of design dicts, got {designs!r}"
                )
            if difficulty is None:
                raise DesignError(f"designs={ORIGINAL!r} needs difficulty=1, 2 or 3")
            pool = original_designs(int(difficulty))
        else:
            pool = [d if isinstance(d, WebsiteDesign) else WebsiteDesign.from_dict(d) for d in designs]
            if not pool:
                raise DesignError("designs is an empty list")
            if num_websites >= len(pool):
                return pool
        if num_websites > len(pool):
            raise DesignError(f"num_websites={num_websites} but only {len(pool)} designs are available")
        picked = rng.choice(len(pool), size=num_websites, replace=False)
        return [pool[int(i)] for i in picked]

    # --- gym API -------------------------------------------------------------------------------

    def _reset_episode_state(self) -> None:
        self._steps = 0
        self._done = True
        #: the page's last reply: per visible element 5 strings, 8 features and a typeable flag
        self._state: dict[str, Any] = {"text": [], "features": [], "typeable": []}
        self._profile: dict[str, Any] = {}
        self._profile_values: list[Any] = []
        self._phi = 0.0
        self._profile_arrays: dict[str, np.ndarray] = {}
        self.website_index = -1

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Start an episode on a website drawn from the env's set; ``options={"website": i}`` picks
        website ``i`` instead (the profile is still drawn from the seeded generator)."""
        super().reset(seed=seed)
        rng = self.np_random
        drawn = int(rng.integers(len(self.websites)))
        chosen = (options or {}).get("website")
        if chosen is not None and not 0 <= int(chosen) < len(self.websites):
            raise DesignError(f"options['website']={chosen} but the env has {len(self.websites)} websites")
        self.website_index = drawn if chosen is None else int(chosen)
        design = self.websites[self.website_index]
        self._profile = draw_profile(design, rng)
        self._profile_values = list(self._profile.values())
        self._profile_arrays = self._encode_profile()
        browser = self._ensure_browser()
        index = self.website_index
        html = None if index in self._sent else self._html[index]
        state = json.loads(browser.run(_BUILD, index, html, self._profile))
        self._sent.add(index)
        self._steps = 0
        self._done = False
        self._state = state
        self._phi = float(state["phi"])
        return self._observation(new=True), self._info(raw=0.0)

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        if self._done:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        action = int(action)
        if not 0 <= action < self.F * self.E:
            raise ValueError(f"action {action} is outside Discrete({self.F * self.E})")
        field, element = divmod(action, self.E)
        self._steps += 1
        valid = element < len(self._state["typeable"]) and field < len(self._profile_values)
        if valid:
            value = self._profile_values[field]
            state = json.loads(self._browser.run(_ACT, element, value, field > 0))
            self._state = state
            phi, raw, done, changed = float(state["phi"]), float(state["raw"]), bool(state["done"]), state["changed"]
        else:
            phi, raw, done, changed = self._phi, 0.0, False, False
        reward = raw + phi - self._phi
        if not done:
            reward -= self.timestep_penalty + (0.0 if changed else self.cyclic_action_penalty)
        self._phi = phi
        truncated = not done and self._steps >= self.step_limit
        self._done = done or truncated
        observation = self._observation(new=valid)
        return observation, float(reward), done, truncated, self._info(raw=raw)

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        from PIL import Image

        png = self._ensure_browser().screenshot_png()
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None
            self._sent.clear()
        super().close()

    # --- internals -----------------------------------------------------------------------------

    def _ensure_browser(self) -> Any:
        if self._browser is None:
            from a2perf_web_navigation.browser import Chromium

            self._browser = Chromium(window_size=self.window_size)
        return self._browser

    @property
    def browser(self) -> Any:
        """The env's :class:`~a2perf_web_navigation.browser.Chromium` (started on first reset)."""
        return self._browser

    @property
    def profile(self) -> dict[str, Any]:
        """This episode's profile, keys in slot order (slot 0 is ``_dummy``)."""
        return dict(self._profile)

    @property
    def design(self) -> WebsiteDesign:
        return self.websites[self.website_index]

    def _encode_profile(self) -> dict[str, np.ndarray]:
        F, P = self.F, self.P
        key = np.zeros((F, P), np.int32)
        value = np.zeros((F, P), np.int32)
        key_mask = np.zeros((F, P), np.float32)
        value_mask = np.zeros((F, P), np.float32)
        for i, (k, v) in enumerate(list(self._profile.items())[:F]):
            kt, vt = encode(k, P), encode(str(v), P)
            key[i, : len(kt)] = kt
            key_mask[i, : len(kt)] = 1
            value[i, : len(vt)] = vt
            value_mask[i, : len(vt)] = 1
        return {
            "profile_key": key,
            "profile_value": value,
            "profile_key_mask": key_mask,
            "profile_value_mask": value_mask,
        }

    def _observation(self, new: bool) -> dict[str, np.ndarray]:
        E, F, L = self.E, self.F, self.L
        state = self._state
        n = min(len(state["typeable"]), E)
        tokens = np.zeros((E, 5, L), np.int32)
        if n:
            tokens[:n] = self._tokens.encode_many(state["text"][: 5 * n]).reshape(n, 5, L)
        token_mask = (tokens != 0).astype(np.float32)
        features = np.zeros((E, 8), np.float32)
        if n:
            features[:n] = np.asarray(state["features"][: 8 * n], np.float32).reshape(n, 8)
            np.clip(features, 0.0, 1.0, out=features)
            if not new:
                features[:, 2] = 0.0
        element_mask = np.zeros(E, np.float32)
        element_mask[:n] = 1
        n_fields = min(len(self._profile_values), F)
        field_mask = np.zeros(F, np.float32)
        field_mask[:n_fields] = 1
        action_mask = np.zeros((F, E), np.int8)
        action_mask[0, :n] = 1
        typeable = np.zeros(E, np.int8)
        typeable[:n] = state["typeable"][:n]
        action_mask[1:n_fields] = typeable
        return {
            "dom_elements": tokens,
            "dom_attribute_mask": token_mask,
            "dom_elements_mask": element_mask,
            "dom_features": features,
            **{k: v.copy() for k, v in self._profile_arrays.items()},
            "dom_profile_joint_mask": np.outer(field_mask, element_mask).astype(np.float32),
            "time_step": np.asarray([min(self._steps / self.step_limit, 1.0)], np.float32),
            "action_mask": action_mask.reshape(-1),
        }

    def _info(self, raw: float) -> dict[str, Any]:
        return {
            "website": self.website_index,
            "potential": self._phi,
            "raw_reward": raw,
            "success": raw > 0,
            "steps": self._steps,
        }
