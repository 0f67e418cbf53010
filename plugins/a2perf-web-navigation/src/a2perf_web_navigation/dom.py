"""The generated sites without a browser: the page script's semantics over a parsed model of the HTML.

:class:`DomSite` is the static part of one design: its elements in document order (parsed from the
same HTML the browser gets) and the measured boxes of :mod:`a2perf_web_navigation.layout`.
:class:`DomPage` is one episode on it and answers ``build`` / ``act`` / ``visit`` with the same
state the page script (``site/site.js``) returns: per visible element its five strings, eight
features and typeable flag, and ``changed``, ``done``, ``raw``, ``phi``, ``page``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

import attrs
import numpy as np

from a2perf_web_navigation.designs import WebsiteDesign
from a2perf_web_navigation.layout import NAVBAR_OPEN, shipped_layout
from a2perf_web_navigation.primitives import CHECK, DUMMY_FIELD, EXIT, NEXT, RADIO, SELECT, SUBMIT, TOGGLE, TYPE

TYPEABLE = frozenset((TYPE, SELECT, CHECK, RADIO))
_VOID = frozenset(("input", "br", "img", "hr", "meta", "link"))
#: HTML's valid floating-point number, what an ``<input type=number>`` keeps (anything else becomes "")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_JS_DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


@attrs.frozen
class Element:
    """One element as the page script sees it."""

    tag: str  #: ``tagOf``: lower-case tag, ``input_<type>`` for inputs
    own: str  #: its text when it has no child element
    placeholder: str
    css: str
    kind: str  #: ``data-a``
    field: str  #: ``data-f``
    name: str = ""
    value: str = ""  #: the ``value`` attribute (radios)
    options: tuple[str, ...] = ()  #: option values of a select
    menu: bool = False  #: the navbar's collapsible ``ul.navbar-nav``
    #: what holds the element's value: "check" (checkbox, radio), "text", "number", "select" or ""
    control: str = attrs.field(init=False)

    @control.default
    def _control(self) -> str:
        if self.tag in ("input_checkbox", "input_radio"):
            return "check"
        if self.tag == "input_number":
            return "number"
        if self.tag.startswith("input_") or self.tag == "textarea":
            return "text"
        return "select" if self.tag == "select" else ""

    def sanitize(self, text: str) -> str:
        """The value the element keeps when ``text`` is typed or chosen: a number input drops what
        is not a number, a select what is not an option, a text control its line breaks."""
        if self.control == "number":
            return text if _NUMBER.fullmatch(text) else ""
        if self.control == "select":
            return text if text in self.options else ""
        if self.control == "text":
            return text.replace("\r", "").replace("\n", "")
        return text


class _Parser(HTMLParser):
    """Elements in document order, each with its text (for ``ownText``) and child count."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[dict[str, Any]] = []
        self.stack: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs_list}
        record = {"tag": tag, "attrs": attributes, "text": [], "children": 0, "options": []}
        if self.stack:
            self.stack[-1]["children"] += 1
        if tag == "option":
            for open_record in reversed(self.stack):
                if open_record["tag"] == "select":
                    open_record["options"].append(attributes.get("value", ""))
                    break
        self.found.append(record)
        if tag not in _VOID:
            self.stack.append(record)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        for record in self.stack:
            record["text"].append(data)


def parse_elements(html: str) -> list[Element]:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    out = []
    for r in parser.found:
        a = r["attrs"]
        tag = f"input_{(a.get('type') or 'text').lower()}" if r["tag"] == "input" else r["tag"]
        own = "".join(r["text"]).strip() if r["children"] == 0 else ""
        out.append(
            Element(
                tag=tag,
                own=own,
                placeholder=a.get("placeholder", ""),
                css=a.get("class", ""),
                kind=a.get("data-a", ""),
                field=a.get("data-f", ""),
                name=a.get("name", ""),
                value=a.get("value", ""),
                options=tuple(r["options"]),
                menu="navbar-nav" in a.get("class", "").split(),
            )
        )
    return out


@attrs.frozen
class Box:
    """One top-level box of a page: its elements ``[start, stop)`` in the site's element list."""

    key: str
    start: int
    stop: int
    navbar: bool


@attrs.frozen(eq=False)
class PageLayout:
    """The visible elements of one page in one menu state, with everything that does not change."""

    elements: np.ndarray  #: (n,) element ids in observation order
    #: the layout part of the page script's change signature (tag, own text and pixel rectangle)
    signature: tuple[tuple[Any, ...], ...]
    #: the five strings per element, flat, with the value slots empty
    text: list[str]
    #: (position, element id, control) of the elements that show a value
    value_slots: tuple[tuple[int, int, str], ...]
    #: (n, 8) float32 features with the focus, tampered and new columns zero
    features: np.ndarray
    typeable: np.ndarray  #: (n,) int8
    position: dict[int, int]  #: element id -> its row


def js_string(value: Any) -> str:
    """JavaScript's ``String(value)`` for the profile's values (str, bool)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _js_number(text: str) -> float:
    """JavaScript's ``ToNumber`` of a string (decimal, hexadecimal, Infinity; else NaN)."""
    s = text.strip(" \t\n\r\v\f\u00a0\ufeff")
    if not s:
        return 0.0
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", s):
        return float(int(s, 16))
    if s in ("Infinity", "+Infinity", "-Infinity"):
        return float(s.replace("Infinity", "inf"))
    return float(s) if _JS_DECIMAL.fullmatch(s) else float("nan")


def loosely_true(value: Any) -> bool:
    """JavaScript's ``value == true`` for a profile value (None, bool or str)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    return _js_number(str(value)) == 1.0


def loosely_equal(text: str, value: Any) -> bool:
    """JavaScript's ``text == value`` for a string ``text`` and a profile value."""
    if value is None:
        return False
    if isinstance(value, bool):
        return _js_number(text) == (1.0 if value else 0.0)
    return text == str(value)


class DomSite:
    """One design's elements and boxes, shared by all its episodes."""

    def __init__(self, design: WebsiteDesign) -> None:
        layout = shipped_layout()
        self._shared = layout["shared"]
        self._boxes_table = layout["boxes"]
        root = Element("div", "", "", "wn-site", "", "")
        self.elements: list[Element] = [root]
        self.page_elements: list[int] = []
        self.pages: list[tuple[Box, ...]] = []
        for boxes in design.boxes():
            self.page_elements.append(len(self.elements))
            self.elements.append(Element("div", "", "", "wn-page", "", ""))
            page_boxes = []
            for key, html in boxes:
                parsed = parse_elements(html)
                rects = self._boxes_table[key]["rects"]
                if len(parsed) != len(rects):
                    raise RuntimeError(f"box {key!r}: {len(parsed)} elements but {len(rects)} measured")
                start = len(self.elements)
                self.elements.extend(parsed)
                page_boxes.append(Box(key, start, len(self.elements), key == "navbar"))
            self.pages.append(tuple(page_boxes))
        #: per element the index of its box on its page (-1 for the site and page elements)
        self.box_of: list[int] = [-1] * len(self.elements)
        for boxes in self.pages:
            for b, box in enumerate(boxes):
                for g in range(box.start, box.stop):
                    self.box_of[g] = b
        #: first element per field and the radios of each group, as the page script's queries find them
        self.field_element: dict[str, int] = {}
        self.groups: dict[str, list[int]] = {}
        for g, el in enumerate(self.elements):
            if el.field and el.field not in self.field_element:
                self.field_element[el.field] = g
            if el.tag == "input_radio":
                self.groups.setdefault(el.name, []).append(g)
        self._layouts: dict[tuple[int, tuple[int, ...]], PageLayout] = {}

    def layout(self, page: int, open_menus: tuple[int, ...]) -> PageLayout:
        """The page's layout with the navbars of box indices ``open_menus`` shown open."""
        key = (page, open_menus)
        found = self._layouts.get(key)
        if found is None:
            found = self._layouts[key] = self._compute_layout(page, open_menus)
        return found

    def _compute_layout(self, page: int, open_menus: tuple[int, ...]) -> PageLayout:
        shared, table = self._shared, self._boxes_table
        pad, pad_left = shared["padding_top"], shared["padding_left"]
        placed: list[tuple[Box, list, float, float]] = []
        y = margin = 0.0
        x = pad_left
        in_run = False
        page_top = None
        for b, box in enumerate(self.pages[page]):
            measured = table[NAVBAR_OPEN if box.navbar and b in open_menus else box.key]
            if measured["inline"]:
                if not in_run:
                    y += margin
                    margin, x, in_run = 0.0, pad_left, True
                    line_y = y
                    y += shared["line_height"]
                top = line_y + shared["line_top"]
                placed.append((box, measured["rects"], x, top))
                x += measured["width"]
            else:
                in_run = False
                top = y + max(margin, measured["margin_top"])
                placed.append((box, measured["rects"], pad_left, top))
                y = top + measured["height"]
                margin = measured["margin_bottom"]
            if page_top is None:
                page_top = top - (shared["line_top"] if measured["inline"] else 0.0)
        assert page_top is not None
        width = shared["site_width"]
        height = 2 * pad + y + margin
        rects: list[tuple[int, tuple[float, float, float, float]]] = [
            (0, (0.0, 0.0, width, height)),
            (self.page_elements[page], (pad_left, pad + page_top, shared["content_width"], y - page_top)),
        ]
        for box, box_rects, left, top in placed:
            for offset, rect in enumerate(box_rects):
                if rect is not None:
                    rl, rt, rw, rh = rect
                    rects.append((box.start + offset, (left + rl, pad + top + rt, rw, rh)))
        els = self.elements
        features = np.zeros((len(rects), 8), np.float32)
        features[:, 4:] = [(r[0] / width, r[1] / height, r[2] / width, r[3] / height) for _, r in rects]
        features[:, 3] = [els[g].tag == "div" for g, _ in rects]
        np.clip(features, 0.0, 1.0, out=features)  # as the env clips the browser's
        return PageLayout(
            elements=np.array([g for g, _ in rects], np.int64),
            signature=tuple((els[g].tag, els[g].own, *r) for g, r in rects),
            text=[t for g, _ in rects for t in (els[g].tag, "", els[g].own, els[g].placeholder, els[g].css)],
            value_slots=tuple((i, g, els[g].control) for i, (g, _) in enumerate(rects) if els[g].control),
            features=features,
            typeable=np.array([els[g].kind in TYPEABLE for g, _ in rects], np.int8),
            position={g: i for i, (g, _) in enumerate(rects)},
        )


@functools.lru_cache(maxsize=4096)
def dom_site(design: WebsiteDesign) -> DomSite:
    return DomSite(design)


class DomPage:
    """One episode on a :class:`DomSite`: the page script's state and its three calls."""

    def __init__(self, site: DomSite, profile: Mapping[str, Any]) -> None:
        self.site = site
        self.profile = dict(profile)
        self.fields = [k for k in self.profile if k != DUMMY_FIELD]
        n = len(site.elements)
        self.values = [el.options[0] if el.options else "" for el in site.elements]
        self.checked = [False] * n
        self.tampered = np.zeros(n, bool)
        self.touched: set[str] = set()
        self.focused = -1
        self.page = 0
        self.open_menus: tuple[int, ...] = ()
        self.done = False
        self.raw = 0
        #: the last observation's layout and which elements it showed (the page script's ``seen``)
        self.layout: PageLayout | None = None
        self.seen = np.zeros(n, bool)
        self.signature: Any = None
        self._layout_key: tuple[int, tuple[int, ...]] | None = None

    # --- the page script's calls -------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        return self._result(True)

    def act(self, index: int, value: Any, typing: bool) -> dict[str, Any]:
        if not 0 <= index < len(self.shown()) or self.done:
            return self._result(False)
        g = int(self.layout.elements[index])  # type: ignore[union-attr]
        el = self.site.elements[g]
        kind = el.kind
        if kind in (TYPE, SELECT):
            if typing:
                self._set_value(g, "" if value is None else js_string(value))
            self.focused = g
        elif kind == CHECK:
            self.checked[g] = value is True if typing else not self.checked[g]
            self.focused = g
        elif kind == RADIO:
            target = g
            if typing:
                target = -1
                for r in self.site.groups[el.name]:
                    if isinstance(value, str) and self.site.elements[r].value == value:
                        target = r
            if target >= 0:
                self._check_radio(target)
            self.focused = g
        else:
            self._press(kind, g)
            self.focused = -1
        self._mark(g, kind)
        return self._result(self.done)

    def visit(self, index: int, value: Any) -> dict[str, Any]:
        if not 0 <= index < len(self.shown()) or self.done:
            return self._result(False)
        g = int(self.layout.elements[index])  # type: ignore[union-attr]
        el = self.site.elements[g]
        kind = el.kind
        if kind in (TYPE, SELECT):
            self._set_value(g, "" if value is None else js_string(value))
            self.focused = g
        elif kind == RADIO:
            for r in self.site.groups[el.name]:
                if loosely_equal(self.site.elements[r].value, value):
                    self._check_radio(r)
            self.focused = g
        elif kind == CHECK:
            if loosely_true(value):
                self.checked[g] = not self.checked[g]
            self.focused = g
        else:
            self._press(kind, g)
            self.focused = -1
        self._mark(g, kind)
        return self._result(self.done)

    def describe(self) -> list[list[Any]]:
        """Per visible element ``[data-a, data-f, tampered]`` (the page script's ``describe``)."""
        els = self.site.elements
        return [[els[g].kind, els[g].field, int(self.tampered[g])] for g in self.shown()]

    def shown(self) -> np.ndarray:
        """Element ids of the last observation, in order."""
        return self.layout.elements if self.layout is not None else np.zeros(0, np.int64)

    # --- internals ---------------------------------------------------------------------------

    def _set_value(self, g: int, text: str) -> None:
        self.values[g] = self.site.elements[g].sanitize(text)

    def _check_radio(self, g: int) -> None:
        for r in self.site.groups[self.site.elements[g].name]:
            self.checked[r] = False
        self.checked[g] = True

    def _mark(self, g: int, kind: str) -> None:
        if kind in TYPEABLE:
            self.tampered[g] = True
            field = self.site.elements[g].field
            if field:
                self.touched.add(field)

    def _press(self, kind: str, g: int) -> None:
        if kind == NEXT:
            self.page += 1
            self.open_menus = ()
        elif kind == SUBMIT:
            self.done = True
            self.raw = 1 if self._count_correct(False) == len(self.fields) else -1
        elif kind == EXIT:
            self.done = True
            self.raw = -1
        elif kind == TOGGLE:
            box = self.site.box_of[g]
            menus = set(self.open_menus)
            menus.symmetric_difference_update({box})
            self.open_menus = tuple(sorted(menus))

    def _field_correct(self, key: str, require_touched: bool) -> bool:
        if require_touched and key not in self.touched:
            return False
        want = self.profile[key]
        g = self.site.field_element.get(key)
        if g is None:
            return False
        el = self.site.elements[g]
        if el.tag == "input_checkbox":
            return self.checked[g] is want
        if el.tag == "input_radio":
            for r in self.site.groups[el.name]:
                if self.checked[r]:
                    return self.site.elements[r].value == want
            return False
        return self.values[g] == want

    def _count_correct(self, require_touched: bool) -> int:
        return sum(1 for key in self.fields if self._field_correct(key, require_touched))

    def _value_of(self, g: int, control: str) -> str:
        if control == "check":
            return "True" if self.checked[g] else "False"
        return self.values[g]

    def _result(self, changed: bool) -> PageState:
        key = (self.page, self.open_menus)
        layout = self.layout if key == self._layout_key else self.site.layout(*key)
        self._layout_key = key
        elements = layout.elements
        values = [
            ("True" if self.checked[g] else "False") if control == "check" else self.values[g]
            for _, g, control in layout.value_slots
        ]
        tampered = self.tampered[elements]
        signature = (layout.signature, values, tampered.tobytes())
        is_changed = changed or signature != self.signature
        self.signature = signature
        if layout is self.layout:
            new = None
        else:
            new = ~self.seen[elements]
            self.seen[:] = False
            self.seen[elements] = True
            self.layout = layout
        focus = layout.position.get(self.focused, -1)
        n = len(self.fields)
        state = PageState(
            changed=is_changed,
            done=self.done,
            raw=self.raw,
            phi=self._count_correct(True) / n if n else 0,
            page=self.page,
            typeable=layout.typeable,
        )
        state.observed = (layout, values, tampered, new, focus)
        return state


class PageState(dict):
    """The page state of ``site.js``; ``text`` and ``features`` are assembled on first read from
    what the observation saw (``observed``), which the vectorised env reads directly instead."""

    #: (layout, values of its value slots, tampered per row, new per row or None for none, focused row or -1)
    observed: tuple[PageLayout, list[str], np.ndarray, np.ndarray | None, int]

    def __missing__(self, key: str) -> Any:
        layout, values, tampered, new, focus = self.observed
        if key == "text":
            text = layout.text.copy()
            for (i, _, _), value in zip(layout.value_slots, values, strict=True):
                text[5 * i + 1] = value
            self["text"] = text
            return text
        if key == "features":
            features = layout.features.copy()
            features[:, 1] = tampered
            if new is not None:
                features[:, 2] = new
            if focus >= 0:
                features[focus, 0] = 1
            self["features"] = flat = features.reshape(-1)
            return flat
        raise KeyError(key)
