"""Website designs: the A2Perf format, the difficulty metric, the random generator and the levels.

A design is ``{"number_of_pages": N, "action": [primitive names], "action_page": [page per name]}``.
:class:`WebsiteDesign` is its normalised form: duplicate (primitive, page) pairs dropped, the number
of pages taken from the highest page used (trailing empty pages dropped, interior ones kept).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence

import attrs
import numpy as np

from a2perf_web_navigation.errors import DesignError
from a2perf_web_navigation.primitives import PRIMITIVES, navigation_button, render_primitive

#: the generator's symbols: A2Perf's 41 concepts (the no-op ``#none#`` first) plus the page break
STOP, NEXT_PAGE = "#none#", "#next_page#"
GENERATOR_SYMBOLS: tuple[str, ...] = (STOP, *sorted(PRIMITIVES), NEXT_PAGE)

#: lower bounds of exp(-difficulty) for levels 1, 2, 3 (A2Perf's bins [.75, 1], [.5, .75), [.25, .5))
LEVEL_BOUNDS: Mapping[int, tuple[float, float]] = {1: (0.75, math.inf), 2: (0.5, 0.75), 3: (0.25, 0.5)}

CREATED_NEXT_TEXT = "Click"
CREATED_SUBMIT_TEXT = "Submit"


@attrs.frozen
class WebsiteDesign:
    """A normalised design: the primitive names on each page, in design order."""

    pages: tuple[tuple[str, ...], ...] = attrs.field(converter=lambda ps: tuple(tuple(p) for p in ps))

    @classmethod
    def from_dict(cls, design: Mapping[str, object]) -> WebsiteDesign:
        """Validate an A2Perf design dict; unknown primitive names are an error naming them."""
        try:
            names = list(design["action"])  # type: ignore[call-overload]
            pages = [int(p) for p in design["action_page"]]  # type: ignore[union-attr]
        except (KeyError, TypeError, ValueError) as exc:
            raise DesignError(f"a design needs 'action' and 'action_page' lists of equal length: {exc}") from None
        if len(names) != len(pages):
            raise DesignError(f"a design has {len(names)} actions but {len(pages)} action pages")
        unknown = sorted({n for n in names if n not in PRIMITIVES})
        if unknown:
            raise DesignError(f"unknown primitives {unknown}; known: {sorted(PRIMITIVES)}")
        if any(p < 0 for p in pages):
            raise DesignError("action_page values must be >= 0")
        number_of_pages = max(pages, default=0) + 1
        content: list[list[str]] = [[] for _ in range(number_of_pages)]
        for name, page in zip(names, pages, strict=True):
            if name not in content[page]:
                content[page].append(name)
        return cls(content)

    def to_dict(self) -> dict[str, object]:
        actions = [(name, i) for i, page in enumerate(self.pages) for name in page]
        return {
            "number_of_pages": len(self.pages),
            "action": [a for a, _ in actions],
            "action_page": [p for _, p in actions],
        }

    @property
    def fields(self) -> tuple[str, ...]:
        """Profile keys of the active primitives, first occurrence only, in design order."""
        seen: dict[str, None] = {}
        for page in self.pages:
            for name in page:
                p = PRIMITIVES[name]
                if p.active:
                    seen.setdefault(p.field, None)
        return tuple(seen)

    @property
    def difficulty(self) -> float:
        return website_difficulty(self)

    @property
    def level(self) -> int | None:
        """The level 1..3 the design belongs to, or None when it is harder than level 3."""
        return level_of(math.exp(-self.difficulty))

    def html(self) -> str:
        """The whole site: every page, page 0 shown, chained by next buttons and a final submit.

        An active primitive used on several pages is rendered only where it first appears: the
        profile has one value per field, so later copies could only be traps."""
        last = len(self.pages) - 1
        shown: set[str] = set()
        out = []
        for i, page in enumerate(self.pages):
            parts = []
            has_next = has_submit = False
            for name in page:
                p = PRIMITIVES[name]
                if p.active:
                    if p.field in shown:
                        continue
                    shown.add(p.field)
                connected = (p.widget == "next" and i < last) or (p.widget == "submit" and i == last)
                has_next |= connected and p.widget == "next"
                has_submit |= connected and p.widget == "submit"
                parts.append(render_primitive(name, i, connected))
            if i < last and not has_next:
                parts.append(navigation_button("next", CREATED_NEXT_TEXT, i, True))
            if i == last and not has_submit:
                parts.append(navigation_button("submit", CREATED_SUBMIT_TEXT, i, True))
            hidden = "" if i == 0 else ' style="display:none"'
            out.append(f'<div class="wn-page" data-page="{i}"{hidden}>{"".join(parts)}</div>')
        return "".join(out)


def page_difficulty(names: Sequence[str]) -> float:
    """``-log(p + 1e-8)`` with ``p = (1/|active|!) (1 - dom(passive)/dom(all))``; an empty page is 0.

    ``p`` is A2Perf's estimate of the chance that a random agent fills the page in the right order
    without clicking a distractor."""
    total = sum(PRIMITIVES[n].num_dom_elements for n in names)
    if total == 0:
        return 0.0
    active = sum(1 for n in names if PRIMITIVES[n].active)
    passive_dom = sum(PRIMITIVES[n].num_dom_elements for n in names if not PRIMITIVES[n].active)
    p = (1.0 / math.factorial(active)) * (1.0 - passive_dom / total)
    return -math.log(p + 1e-8)


def website_difficulty(design: WebsiteDesign) -> float:
    """The sum of the page difficulties (A2Perf's ``Website`` difficulty)."""
    return sum(page_difficulty(page) for page in design.pages)


def level_of(probability: float) -> int | None:
    """Level of a design whose ``exp(-difficulty)`` is ``probability``; None below level 3."""
    for level, (low, high) in LEVEL_BOUNDS.items():
        if low <= probability < high:
            return level
    return None


def random_design(rng: np.random.Generator) -> WebsiteDesign:
    """One design from A2Perf's generator: uniform draws over primitives, a page break and a stop."""
    names: list[str] = []
    pages: list[int] = []
    page = 0
    n = len(GENERATOR_SYMBOLS)
    while True:
        symbol = GENERATOR_SYMBOLS[int(rng.integers(n))]
        if symbol == STOP:
            break
        if symbol == NEXT_PAGE:
            page += 1
            continue
        names.append(symbol)
        pages.append(page)
    return WebsiteDesign.from_dict({"action": names, "action_page": pages})


def generate_designs(
    level: int, count: int, rng: np.random.Generator, max_draws: int = 2_000_000
) -> list[WebsiteDesign]:
    """``count`` designs of ``level``: the generator's distribution conditioned on the level's bin
    and on having at least one profile field (rejection sampling)."""
    if level not in LEVEL_BOUNDS:
        raise DesignError(f"difficulty must be one of {sorted(LEVEL_BOUNDS)}, got {level!r}")
    out: list[WebsiteDesign] = []
    for _ in range(max_draws):
        design = random_design(rng)
        if design.fields and design.level == level:
            out.append(design)
            if len(out) == count:
                return out
    raise DesignError(f"could not draw {count} level-{level} designs in {max_draws} tries")


def load_designs(records: Iterable[Mapping[str, object]]) -> list[WebsiteDesign]:
    return [WebsiteDesign.from_dict(r) for r in records]


def read_design_file(path: str) -> list[WebsiteDesign]:
    """Designs from an A2Perf JSON file (a list of design dicts)."""
    with open(path) as f:
        return load_designs(json.load(f))
