"""Reference policies: a scripted oracle that reaches the optimal return, and the masked random agent.

The oracle reads the page's own bookkeeping (which element holds which profile field), which an
agent never observes; it exists to prove the task is solvable with the analytic maximum return.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def optimal_action(env: Any) -> int:
    """The next action of an optimal policy: fill each pending field of the current page once (skipping,
    above 20 fields, those already right: see :func:`~a2perf_web_navigation.env.fields_worth_filling`),
    then press the page's connected next or submit button. The same action ids work in both layouts:
    slot ``s`` on element ``e`` is ``s * E + e``, and slot 0 clicks."""
    from a2perf_web_navigation.env import fields_worth_filling

    env = env.unwrapped
    described = env.describe()
    slots = {key: i for i, key in enumerate(env.profile)}
    wanted = set(fields_worth_filling(env.profile, env.timestep_penalty))
    touched = {field for _, field, tampered in described if field and tampered}
    for e, (_, field, _) in enumerate(described):
        if field in wanted and field not in touched:
            return slots[field] * env.E + e
    for e, (kind, _, _) in enumerate(described):
        if kind in ("next", "submit"):
            return e
    raise RuntimeError("the page has no connected next or submit button")


def random_masked_action(mask: np.ndarray, rng: np.random.Generator) -> int:
    """A uniform draw over the actions ``mask`` allows (``env.action_masks()``, or the masked layout's
    observed ``mask``)."""
    return int(rng.choice(np.flatnonzero(mask)))


def random_agent_success(
    level: int,
    episodes: int,
    seed: int = 0,
    num_websites: int = 100,
    action_layout: str = "a2perf",
    backend: str = "browser",
) -> tuple[float, float]:
    """(success rate, mean return) of :func:`random_masked_action` over ``env.action_masks()`` on
    ``episodes`` episodes of ``num_websites`` generated level-``level`` websites: the empirical
    difficulty of a level."""
    from a2perf_web_navigation.env import WebNavigationEnv

    env = WebNavigationEnv(
        difficulty=level, num_websites=num_websites, seed=seed, action_layout=action_layout, backend=backend
    )
    rng = np.random.default_rng(seed)
    successes, returns = 0, []
    try:
        for _ in range(episodes):
            env.reset()
            total, done = 0.0, False
            while not done:
                _, reward, terminated, truncated, info = env.step(random_masked_action(env.action_masks(), rng))
                total += reward
                done = terminated or truncated
            successes += bool(info["success"])
            returns.append(total)
    finally:
        env.close()
    return successes / episodes, float(np.mean(returns))


#: what a control shows for a profile key when its label shares no word with the key: the words (or,
#: for a ``<select>``, the tag) that stand for the key on the primitives' pages
KEY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "address_line2": ("apartment", "suite"),
    "postal_code": ("zip",),
    "credit_card_verification_code": ("cvv",),
    "credit_card_type": ("payment",),
    "departureairport": ("from",),
    "destinationairport": ("to",),
    "departuredate": ("depart",),
    "destinationdate": ("return",),
    "numberofpeople": ("passengers",),
    "state": ("select",),
}
#: words of the distractor inputs (the search box, the cart's promo code): a control showing one is never filled
DISTRACTOR_WORDS = frozenset({"search", "promo"})
#: the word an input type stands for, so that ``<input type="password">`` matches the key ``password``
TYPE_WORDS = {"input_password": "password", "select": "select"}
TEXT_CONTROLS = ("input_text", "input_password", "input_number", "input_email", "select")
TOGGLE_CONTROLS = ("input_checkbox", "input_radio")
#: a match on the profile value (a radio's label is one of its choices) beats any match on words
VALUE_MATCH = 2.0
#: a label spelling the key without spaces (``Remember me`` for ``rememberme``)
JOINED_MATCH = 1.5


class ProfileMatchingPolicy:
    """A rule-based web navigation agent that reads only the observation.

    Each form control is described by the words around it: its placeholder, its type, the label
    before a text input or ``<select>`` (after a checkbox or radio) and a radio group's title. A
    profile key matches the control whose words overlap its own (the key split at ``_``, plus
    :data:`KEY_SYNONYMS`) the most, or whose radio label is the key's profile value; the best pairs are
    taken greedily, one control per key. The agent fills every matched control it has not filled yet,
    then clicks a button: a next button while profile keys are still unseen, else a submit button,
    and another one when a click changed nothing. Action ids are ``slot * E + element`` in both
    layouts, slot 0 (``_dummy``) clicking. Call it once per step, on the episode's observations in order.
    """

    def __init__(self) -> None:
        from a2perf_web_navigation.vocabulary import token_ids

        self._words = {i: token for token, i in token_ids().items()}
        self._words[0] = ""
        self._filled: set[int] = set()
        self._useless: set[int] = set()
        self._clicked: tuple[int, bytes] | None = None

    def _text(self, tokens: np.ndarray) -> list[str]:
        return [self._words.get(int(t), "") for t in tokens if t]

    def _word_list(self, tokens: np.ndarray) -> list[str]:
        """The tokens that are words (punctuation left out)."""
        return [w for w in self._text(tokens) if w.isalnum() or "_" in w]

    def __call__(self, observation: dict[str, np.ndarray]) -> int:
        elements = observation["dom_elements"]
        n = int(np.asarray(observation["dom_elements_mask"]).sum())
        page = elements[:n].tobytes()
        if float(np.asarray(observation["time_step"]).reshape(-1)[0]) == 0.0:
            self._filled, self._useless, self._clicked = set(), set(), None
        if self._clicked is not None:
            element, before = self._clicked
            if before == page:
                self._useless.add(element)
            else:
                self._useless = set()
            self._clicked = None
        E = elements.shape[0]
        strings = [
            [self._text(elements[e, k]) if k == 4 else self._word_list(elements[e, k]) for k in range(5)]
            for e in range(n)
        ]
        tampered = np.asarray(observation["dom_features"])[:n, 1] > 0
        profile = self._profile(observation)
        matched = self._match(strings, profile)
        for element, slot in sorted(matched.items()):
            if slot not in self._filled and not tampered[element]:
                self._filled.add(slot)
                return slot * E + element
        unseen = set(profile) - self._filled - set(matched.values())
        button = self._button(strings, more_pages=bool(unseen))
        if button is None:
            return 0
        self._clicked = (button, page)
        return button

    def _profile(self, observation: dict[str, np.ndarray]) -> dict[int, tuple[str, list[str]]]:
        """slot -> (key, value words) of every profile field but ``_dummy``."""
        present = np.asarray(observation["profile_key_mask"]).any(axis=1)
        profile = {}
        for slot in np.flatnonzero(present):
            key = "".join(self._text(observation["profile_key"][slot]))
            if slot and key:
                profile[int(slot)] = (key, self._word_list(observation["profile_value"][slot]))
        return profile

    def _match(self, strings: list[list[list[str]]], profile: dict[int, tuple[str, list[str]]]) -> dict[int, int]:
        """control element -> profile slot, the best-scoring pairs first."""
        scored = []
        for element, (tag, _, _, _, _) in enumerate(strings):
            kind = "".join(tag)
            if kind not in TEXT_CONTROLS + TOGGLE_CONTROLS:
                continue
            words, label = self._describe(strings, element, kind)
            if words & DISTRACTOR_WORDS:
                continue
            for slot, (key, value) in profile.items():
                score = self._score(key, value, words, label, kind)
                if score > 0:
                    scored.append((-score, element, slot))
        matched: dict[int, int] = {}
        for _, element, slot in sorted(scored):
            if element not in matched and slot not in matched.values():
                matched[element] = slot
        return matched

    @staticmethod
    def _describe(strings: list[list[list[str]]], element: int, kind: str) -> tuple[set[str], list[str]]:
        """(every word describing the control, its own label's words)."""
        placeholder = strings[element][3]
        words = set(placeholder)
        if kind in TYPE_WORDS:
            words.add(TYPE_WORDS[kind])
        label: list[str] = []
        if kind in TEXT_CONTROLS and element > 0 and "".join(strings[element - 1][0]) == "label":
            label = strings[element - 1][2]
        if kind in TOGGLE_CONTROLS and element + 1 < len(strings) and "".join(strings[element + 1][0]) == "label":
            label = strings[element + 1][2]
        if kind == "input_radio":
            for before in range(element - 1, -1, -1):
                tag = "".join(strings[before][0])
                if tag == "h6":
                    words.update(strings[before][2])
                    break
                if tag not in ("div", "label", "input_radio"):
                    break
        words.update(label)
        return words, label or placeholder

    @staticmethod
    def _score(key: str, value: list[str], words: set[str], label: list[str], kind: str) -> float:
        if kind == "input_radio":
            return VALUE_MATCH if value and value == label else 0.0
        if label and "".join(label) == key.replace("_", ""):
            return JOINED_MATCH
        key_words = set(key.split("_")) | set(KEY_SYNONYMS.get(key, ()))
        common = key_words & words
        return len(common) / len(key_words | words) if common else 0.0

    def _button(self, strings: list[list[list[str]]], more_pages: bool) -> int | None:
        """The button to click: next buttons first while fields are unseen, submit buttons first after;
        buttons that did nothing on this page are left out."""
        nexts, submits = [], []
        for element, (tag, _, _, _, css) in enumerate(strings):
            if "".join(tag) != "button" or element in self._useless:
                continue
            classes = "".join(css)
            if "btn-outline-primary" in classes:
                nexts.append(element)
            elif "btn-primary" in classes:
                submits.append(element)
        ordered = nexts + submits if more_pages else submits + nexts
        return ordered[0] if ordered else None
