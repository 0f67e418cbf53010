"""Website designs: the A2Perf format, the difficulty metric, the random generator and the levels.

A design is ``{"number_of_pages": N, "action": [primitive names], "action_page": [page per name]}``.
:class:`WebsiteDesign` keeps the primitive list as given (A2Perf computes difficulty on it,
duplicates included); the number of pages is taken from the highest page used (trailing empty pages
dropped, interior ones kept). Rendering drops duplicate (primitive, page) pairs, as A2Perf does.
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

#: [low, high) of exp(-difficulty) for levels 1, 2, 3: A2Perf's ``np.digitize(p, [0, .25, .5, .75])``
#: bins, easiest first, with the easiest bin [0.75, 1] dropped (``split_websites_into_difficulty_levels``)
LEVEL_BOUNDS: Mapping[int, tuple[float, float]] = {1: (0.5, 0.75), 2: (0.25, 0.5), 3: (0.0, 0.25)}
#: designs per level in A2Perf's design files, the most an env can choose without replacement
MAX_WEBSITES = 1000

CREATED_NEXT_TEXT = "Click"
CREATED_SUBMIT_TEXT = "Click"  # A2Perf creates both with its button default text
#: layout keys of the buttons created for a page whose design has no connected next or submit button
CREATED_NEXT, CREATED_SUBMIT = "#created-next", "#created-submit"


@attrs.frozen
class WebsiteDesign:
    """A design: the primitive names on each page, in design order, duplicates kept."""

    raw_pages: tuple[tuple[str, ...], ...] = attrs.field(converter=lambda ps: tuple(tuple(p) for p in ps))

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
            content[page].append(name)
        return cls(content)

    @property
    def pages(self) -> tuple[tuple[str, ...], ...]:
        """The pages as rendered: duplicate (primitive, page) pairs dropped, first occurrence kept."""
        return tuple(tuple(dict.fromkeys(page)) for page in self.raw_pages)

    def to_dict(self) -> dict[str, object]:
        actions = [(name, i) for i, page in enumerate(self.raw_pages) for name in page]
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
        """The level 1..3 the design belongs to, or None when it is easier than level 1 (A2Perf drops those)."""
        return level_of(math.exp(-self.difficulty))

    def html(self) -> str:
        """The whole site: every page, page 0 shown, chained by next buttons and a final submit."""
        out = []
        for i, boxes in enumerate(self.boxes()):
            hidden = "" if i == 0 else ' style="display:none"'
            out.append(f'<div class="wn-page" data-page="{i}"{hidden}>{"".join(html for _, html in boxes)}</div>')
        return "".join(out)

    def boxes(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        """Per page, the top-level boxes in order as (layout key, HTML): the primitive's name, or
        :data:`CREATED_NEXT` / :data:`CREATED_SUBMIT` for a button the design lacks.

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
                parts.append((name, render_primitive(name, i, connected)))
            if i < last and not has_next:
                parts.append((CREATED_NEXT, navigation_button("next", CREATED_NEXT_TEXT, i, True)))
            if i == last and not has_submit:
                parts.append((CREATED_SUBMIT, navigation_button("submit", CREATED_SUBMIT_TEXT, i, True)))
            out.append(tuple(parts))
        return tuple(out)


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
    """The sum of the page difficulties on the raw primitive lists (A2Perf's ``Website`` difficulty)."""
    return sum(page_difficulty(page) for page in design.raw_pages)


def level_of(probability: float) -> int | None:
    """Level of a design whose ``exp(-difficulty)`` is ``probability``; None in A2Perf's dropped bin [0.75, 1]."""
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


_SYMBOL_ACTIVE = np.array([s in PRIMITIVES and PRIMITIVES[s].active for s in GENERATOR_SYMBOLS], np.int64)
_SYMBOL_DOM = np.array([PRIMITIVES[s].num_dom_elements if s in PRIMITIVES else 0 for s in GENERATOR_SYMBOLS])
_STOP_ID, _NEXT_ID = GENERATOR_SYMBOLS.index(STOP), GENERATOR_SYMBOLS.index(NEXT_PAGE)
#: k! as floats up to 170! (beyond, 1/k! is far below the 1e-8 floor)
_FACTORIAL = np.array([math.factorial(k) for k in range(171)], np.float64)


def _difficulties(symbols: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The difficulty of each design in ``symbols`` (a stream of symbol ids, each design ending at a
    stop whose positions are ``stops``), computed for all designs at once."""
    design = np.concatenate(([0], np.cumsum(symbols == _STOP_ID)[:-1]))
    page = np.cumsum(symbols == _NEXT_ID)
    page -= np.concatenate(([0], page[stops]))[design]
    key = design.astype(np.int64) << 20 | page  # non-decreasing: designs in order, pages in order
    change = np.concatenate(([True], key[1:] != key[:-1]))
    keys, key_of = key[change], np.cumsum(change) - 1
    active = np.bincount(key_of, weights=_SYMBOL_ACTIVE[symbols]).astype(np.int64)
    total = np.bincount(key_of, weights=_SYMBOL_DOM[symbols])
    passive = np.bincount(key_of, weights=_SYMBOL_DOM[symbols] * (1 - _SYMBOL_ACTIVE[symbols]))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (1.0 / _FACTORIAL[np.minimum(active, len(_FACTORIAL) - 1)]) * (1.0 - passive / total)
        per_page = np.where(total > 0, -np.log(p + 1e-8), 0.0)
    return np.bincount(keys >> 20, weights=per_page, minlength=len(stops))


def generate_designs(level: int, count: int, rng: np.random.Generator, chunk: int = 1 << 16) -> list[WebsiteDesign]:
    """``count`` distinct designs of ``level``: A2Perf's generator conditioned on the level's bin.

    A2Perf keeps the unique generated designs of each bin and an env picks from them without
    replacement, so the designs of one env are distinct. The generator is run on blocks of symbols
    and the difficulty of a whole block is computed at once (about 1.5 % of designs fall in level 1
    or 2, so drawing them one by one is slow)."""
    if level not in LEVEL_BOUNDS:
        raise DesignError(f"difficulty must be one of {sorted(LEVEL_BOUNDS)}, got {level!r}")
    if not 1 <= count <= MAX_WEBSITES:
        raise DesignError(f"num_websites must be between 1 and {MAX_WEBSITES} (A2Perf's designs per level): {count}")
    low, high = LEVEL_BOUNDS[level]
    out: dict[tuple[int, ...], WebsiteDesign] = {}
    carry = np.zeros(0, np.int64)
    while len(out) < count:
        symbols = np.concatenate((carry, rng.integers(len(GENERATOR_SYMBOLS), size=chunk)))
        stops = np.flatnonzero(symbols == _STOP_ID)
        if not len(stops):
            carry = symbols
            continue
        carry = symbols[stops[-1] + 1 :]
        symbols = symbols[: stops[-1] + 1]
        probabilities = np.exp(-_difficulties(symbols, stops))
        starts = np.concatenate(([0], stops[:-1] + 1))
        for i in np.flatnonzero((probabilities >= low) & (probabilities < high)):
            key = tuple(symbols[starts[i] : stops[i]].tolist())
            if key not in out:
                out[key] = _design_of(key)
                if len(out) == count:
                    break
    return list(out.values())


def _design_of(symbols: tuple[int, ...]) -> WebsiteDesign:
    pages: list[list[str]] = [[]]
    for s in symbols:
        if s == _NEXT_ID:
            pages.append([])
        else:
            pages[-1].append(GENERATOR_SYMBOLS[s])
    while len(pages) > 1 and not pages[-1]:
        pages.pop()
    return WebsiteDesign(pages)


def load_designs(records: Iterable[Mapping[str, object]]) -> list[WebsiteDesign]:
    return [WebsiteDesign.from_dict(r) for r in records]


def read_design_file(path: str) -> list[WebsiteDesign]:
    """Designs from an A2Perf JSON file (a list of design dicts)."""
    with open(path) as f:
        return load_designs(json.load(f))
