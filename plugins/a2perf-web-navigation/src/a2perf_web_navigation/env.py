"""The web navigation environment: fill a generated website's form from a profile and submit it.

With ``backend="browser"`` (the default and the reference): one browser per env, one page load
per env; each reset rebuilds the site in place and each valid step is one browser round trip that
acts and returns the new DOM and reward state. With ``backend="dom"`` the same page state comes
from an in-process model (:mod:`a2perf_web_navigation.dom`), proven equal by a differential test.
An action on an element index past the observed elements is a no-op that never touches the backend.

Two action layouts: ``"a2perf"`` (A2Perf's ``Discrete(E*2*F)`` and its visit semantics, the
``-v0`` tasks) and ``"masked"`` (``Discrete(F*E)``, field 0 clicks, an observed ``mask``; the ``-v1``
tasks). Either way :meth:`WebNavigationEnv.action_masks` gives the actions that can do something.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from a2perf_web_navigation.backends import BACKENDS, BrowserBackend, DomBackend
from a2perf_web_navigation.designs import (
    LEVEL_BOUNDS,
    WebsiteDesign,
    generate_designs,
    read_design_file,
)
from a2perf_web_navigation.errors import ActionError, DesignError, EpisodeError
from a2perf_web_navigation.primitives import DUMMY_FIELD, FIXED_VALUES, RANDOM_VALUES
from a2perf_web_navigation.vocabulary import TokenTable, encode, vocabulary_size

ORIGINAL = "a2perf-original"
ACTION_LAYOUTS = ("a2perf", "masked")
#: A2Perf's ``number_of_action_types``: its action space is E * 2 * F although only F fields exist
A2PERF_ACTION_TYPES = 2


def _integer(name: str, value: Any) -> int:
    """``value`` as an int, refusing bools, floats and strings (which ``int()`` would silently coerce)."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item() if np.issubdtype(value.dtype, np.integer) else value
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ActionError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    return int(value)


def decode_a2perf_action(action: int, profile_values: Sequence[Any], number_of_dom_elements: int) -> tuple[int, Any]:
    """A2Perf's decoding (GMiniWoB ``_convert_to_action_tuple``): element ``a % E`` and the value of
    profile slot ``a // E``, or None past the profile (slot 0, ``_dummy``, is None too): None clicks."""
    field, element = divmod(action, number_of_dom_elements)
    return element, profile_values[field] if field < len(profile_values) else None


def _level(difficulty: Any) -> int:
    if isinstance(difficulty, bool | np.bool_) or not isinstance(difficulty, int | np.integer):
        raise DesignError(f"difficulty must be the integer 1, 2 or 3, got {difficulty!r} ({type(difficulty).__name__})")
    if int(difficulty) not in LEVEL_BOUNDS:
        raise DesignError(f"difficulty must be one of {sorted(LEVEL_BOUNDS)}, got {difficulty!r}")
    return int(difficulty)


def original_designs(difficulty: int) -> list[WebsiteDesign]:
    """A2Perf's own design file for ``difficulty`` (a data asset; see ``a2perf data fetch``)."""
    from a2perf_core.data import asset_path

    level = _level(difficulty)
    return read_design_file(str(asset_path(f"web-navigation-designs-{level:02d}")))


@functools.lru_cache(maxsize=4096)
def _profile_fields(design: WebsiteDesign) -> tuple[tuple[str, tuple[str | bool, ...] | None], ...]:
    """Per profile key of ``design`` (sorted) its random choices, or None for a fixed value."""
    return tuple((key, RANDOM_VALUES.get(key)) for key in sorted(design.fields))


def draw_profile(design: WebsiteDesign, rng: np.random.Generator) -> dict[str, str | bool | None]:
    """The profile of one episode: sorted keys, ``_dummy`` first, random fields drawn from ``rng``."""
    profile: dict[str, str | bool | None] = {DUMMY_FIELD: None}
    for key, choices in _profile_fields(design):
        profile[key] = FIXED_VALUES[key] if choices is None else choices[int(rng.integers(len(choices)))]
    return profile


def correct_at_start(profile: Mapping[str, Any]) -> list[str]:
    """The fields already right on a fresh page: checkboxes whose profile value is False."""
    return [key for key, value in profile.items() if value is False]


def fields_worth_filling(profile: Mapping[str, Any], timestep_penalty: float = 0.05) -> list[str]:
    """The fields an optimal policy acts on: all of them, except, when a fill earns less than the step
    penalty (``1/K < penalty``, more than 20 fields), those already right at the start."""
    fields = [key for key in profile if key != DUMMY_FIELD]
    if fields and 1.0 / len(fields) < timestep_penalty:
        skip = set(correct_at_start(profile))
        return [key for key in fields if key not in skip]
    return fields


def optimal_return(
    design: WebsiteDesign, profile: Mapping[str, Any] | None = None, timestep_penalty: float = 0.05
) -> float:
    """The best achievable return: fill the fields worth filling once each, click through the pages, submit.

    Every fill earns ``1/K - penalty``, every next click ``-penalty``, the submit ``+1`` (the
    episode-ending step carries no step penalty). With more than 20 fields a fill earns less than it
    costs, so fields already right (unchecked checkboxes whose value is False) are better skipped:
    that needs the episode's ``profile``; without it every field is counted as filled."""
    k = len(design.fields)
    m = k if profile is None else len(fields_worth_filling(profile, timestep_penalty))
    return 1.0 + (m / k if k else 0.0) - timestep_penalty * (m + len(design.pages) - 1)


class WebNavigationEnv(gym.Env):
    """Compositional web navigation (gMiniWoB / CoDE) in a real headless Chromium or its in-process model."""

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
        action_layout: str = "a2perf",
        terminate_on_truncation: bool = True,
        backend: str = "browser",
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise DesignError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if backend not in BACKENDS:
            raise DesignError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "dom" and render_mode is not None:
            raise DesignError("render_mode='rgb_array' needs backend='browser' (the dom backend draws no pixels)")
        if action_layout not in ACTION_LAYOUTS:
            raise DesignError(f"action_layout must be one of {ACTION_LAYOUTS}, got {action_layout!r}")
        if isinstance(num_websites, bool) or not isinstance(num_websites, int | np.integer):
            raise DesignError(f"num_websites must be an integer, got {num_websites!r}")
        if num_websites < 1:
            raise DesignError("num_websites must be at least 1")
        if difficulty is not None:
            difficulty = _level(difficulty)
        self.action_layout = action_layout
        self.terminate_on_truncation = bool(terminate_on_truncation)
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
        self.backend = backend
        self._backend: BrowserBackend | DomBackend = (
            BrowserBackend(self.websites, window_size) if backend == "browser" else DomBackend(self.websites)
        )
        self._np_random, _ = seeding.np_random(seed)
        self._closed = False
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
            }
        )
        if action_layout == "masked":
            self.observation_space["mask"] = spaces.MultiBinary(F * E)
            self.action_space = spaces.Discrete(F * E)
        else:
            self.action_space = spaces.Discrete(E * A2PERF_ACTION_TYPES * F)
        self._reset_episode_state()

    # --- websites ------------------------------------------------------------------------------

    @staticmethod
    def _choose_websites(
        difficulty: int | None, designs: Any, num_websites: int, rng: np.random.Generator
    ) -> list[WebsiteDesign]:
        if designs is None or designs == "generated":
            if difficulty is None:
                raise DesignError("give difficulty=1, 2 or 3, or designs='a2perf-original' or a list of designs")
            return generate_designs(difficulty, num_websites, rng)
        if isinstance(designs, str):
            if designs != ORIGINAL:
                raise DesignError(
                    f"designs must be 'generated', {ORIGINAL!r} or a list of design dicts, got {designs!r}"
                )
            if difficulty is None:
                raise DesignError(f"designs={ORIGINAL!r} needs difficulty=1, 2 or 3")
            pool = original_designs(difficulty)
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
        self._last_reward = 0.0
        self._profile_arrays: dict[str, np.ndarray] = {}
        self.website_index = -1

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Start an episode on a website drawn from the env's set; ``options={"website": i}`` picks
        website ``i`` instead (the profile is still drawn from the seeded generator)."""
        self.start_episode(seed=seed, options=options)
        # as in A2Perf, "new" compares with the previous observation, and at reset there is none
        return self._observation(new=False), self._info(raw=0.0)

    def start_episode(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """:meth:`reset` without building the observation (the vectorised dom env writes its own)."""
        self.website_index, self._profile = self.draw_episode(seed=seed, options=options)
        self._profile_values = list(self._profile.values())
        self._profile_arrays = self._encode_profile()
        state = self._backend.build(self.website_index, self._profile)
        self._steps = 0
        self._done = False
        self._state = state
        self._phi = float(state["phi"])
        self._last_reward = 0.0

    def draw_episode(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, str | bool | None]]:
        """The next episode's website index and profile from the env's generator, changing nothing
        else (the vectorised dom env keeps the episode state itself)."""
        if self._closed:
            raise EpisodeError("reset() on a closed env; make a new one")
        super().reset(seed=seed)
        rng = self.np_random
        drawn = int(rng.integers(len(self.websites)))
        chosen = (options or {}).get("website")
        if chosen is not None and not 0 <= int(chosen) < len(self.websites):
            raise DesignError(f"options['website']={chosen} but the env has {len(self.websites)} websites")
        index = drawn if chosen is None else int(chosen)
        return index, draw_profile(self.websites[index], rng)

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        """One action. In the ``"a2perf"`` layout, A2Perf's: field ``a // E`` (0..2F-1), element
        ``a % E``; the field's profile value, or None past the profile, is visited on the element.
        In the ``"masked"`` layout: field ``a // E`` (0..F-1), field 0 clicks."""
        valid, reward, terminated, truncated, raw = self.transition(action)
        return self._observation(new=valid), reward, terminated, truncated, self._info(raw=raw)

    def transition(self, action: int) -> tuple[bool, float, bool, bool, float]:
        """:meth:`step` without building the observation: (whether the action reached the page,
        reward, terminated, truncated, raw reward)."""
        if self._closed:
            raise EpisodeError("step() on a closed env; make a new one")
        if self._done:
            raise EpisodeError("step() called on a finished episode; call reset() first")
        action = _integer("action", action)
        if not 0 <= action < self.action_space.n:
            raise ActionError(f"action {action} is outside Discrete({self.action_space.n})")
        field, element = divmod(action, self.E)
        self._steps += 1
        in_list = element < len(self._state["typeable"])
        if self.action_layout == "a2perf":
            valid = in_list
        else:
            valid = in_list and field < len(self._profile_values)
        if valid:
            if self.action_layout == "a2perf":
                state = self._backend.visit(*decode_a2perf_action(action, self._profile_values, self.E))
            else:
                state = self._backend.act(element, self._profile_values[field], field > 0)
            self._state = state
            phi, raw, done, changed = float(state["phi"]), float(state["raw"]), bool(state["done"]), state["changed"]
            reward = raw + phi - self._phi
        elif self.action_layout == "a2perf":
            # A2Perf's invalid-index path keeps the previous step's reward and subtracts the penalties again
            phi, raw, done, changed = self._phi, 0.0, False, False
            reward = self._last_reward
        else:
            phi, raw, done, changed = self._phi, 0.0, False, False
            reward = 0.0
        if not done:
            reward -= self.timestep_penalty + (0.0 if changed else self.cyclic_action_penalty)
        self._phi = phi
        self._last_reward = reward
        truncated = not done and self._steps >= self.step_limit
        self._done = done or truncated
        terminated = done or (truncated and self.terminate_on_truncation)
        return valid, float(reward), terminated, truncated, raw

    def action_masks(self) -> np.ndarray:
        """The actions that can do something now, as bools over the action space (for maskable
        learners such as sb3-contrib's MaskablePPO): in the ``"a2perf"`` layout every field on a
        visible element, in the ``"masked"`` layout the observed ``mask``."""
        n = min(len(self._state["typeable"]), self.E)
        if self.action_layout == "masked":
            return self._action_mask().reshape(-1).astype(bool)
        mask = np.zeros((A2PERF_ACTION_TYPES * self.F, self.E), bool)
        mask[:, :n] = True
        return mask.reshape(-1)

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        from PIL import Image

        png = self._backend.screenshot_png()  # type: ignore[union-attr]
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))

    def close(self) -> None:
        self._closed = True
        self._backend.close()
        super().close()

    # --- internals -----------------------------------------------------------------------------

    @property
    def browser(self) -> Any:
        """The env's :class:`~a2perf_web_navigation.browser.Chromium` (started on first reset; None on ``dom``)."""
        return self._backend.browser

    def describe(self) -> list[list[Any]]:
        """Per observed element ``[data-a, data-f, tampered]``: what acting on it does (for tests)."""
        return self._backend.describe()

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
        observation = {
            "dom_elements": tokens,
            "dom_attribute_mask": token_mask,
            "dom_elements_mask": element_mask,
            "dom_features": features,
            **{k: v.copy() for k, v in self._profile_arrays.items()},
            "dom_profile_joint_mask": np.outer(field_mask, element_mask).astype(np.float32),
            "time_step": np.asarray([min(self._steps / self.step_limit, 1.0)], np.float32),
        }
        if self.action_layout == "masked":
            observation["mask"] = self._action_mask().reshape(-1)
        return observation

    def _action_mask(self) -> np.ndarray:
        """The masked layout's (F, E) int8 mask: field 0 clicks any element, the other profile fields
        go into form controls."""
        E, F = self.E, self.F
        n = min(len(self._state["typeable"]), E)
        n_fields = min(len(self._profile_values), F)
        mask = np.zeros((F, E), np.int8)
        mask[0, :n] = 1
        typeable = np.zeros(E, np.int8)
        typeable[:n] = self._state["typeable"][:n]
        mask[1:n_fields] = typeable
        return mask

    def _info(self, raw: float) -> dict[str, Any]:
        return {
            "website": self.website_index,
            "potential": self._phi,
            "raw_reward": raw,
            "success": raw > 0,
            "steps": self._steps,
        }
