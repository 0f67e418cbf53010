"""The fixed token vocabulary: derived from the primitives' HTML and the profile, shipped as a file.

Ids are deterministic: ``NULL`` (padding) is 0, ``OOV`` (any unknown token) is 1, then the tokens
in sorted order. :func:`derive_tokens` recomputes the token set from the code; a test checks that
the shipped ``vocabulary.txt`` is exactly that set, so the file cannot drift from the websites.
"""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from importlib import resources

import numpy as np

NULL, OOV = "NULL", "OOV"
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """A2Perf's tokenizer: dots become spaces, lower case, words (``_`` included) and single symbols."""
    if not text or text == "None":
        return []
    return _TOKEN.findall(text.replace(".", " ").lower())


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.strings: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input":
            self.strings.append(f"input_{values.get('type') or 'text'}")
        else:
            self.strings.append(tag)
        for name in ("placeholder", "class", "value"):
            if values.get(name):
                self.strings.append(values[name] or "")

    def handle_data(self, data: str) -> None:
        self.strings.append(data)


def derive_tokens() -> list[str]:
    """Every token a generated website or a profile can show, sorted."""
    from a2perf_web_navigation.designs import CREATED_NEXT_TEXT, CREATED_SUBMIT_TEXT
    from a2perf_web_navigation.primitives import (
        DUMMY_FIELD,
        FIXED_VALUES,
        PRIMITIVES,
        RANDOM_VALUES,
        navigation_button,
        render_primitive,
    )

    collector = _TextCollector()
    for name in PRIMITIVES:
        for connected in (False, True):
            collector.feed(render_primitive(name, 0, connected))
    collector.feed(navigation_button("next", CREATED_NEXT_TEXT, 0, True))
    collector.feed(navigation_button("submit", CREATED_SUBMIT_TEXT, 0, True))
    collector.feed('<div id="site" class="wn-site"><div class="wn-page"></div></div>')
    strings = list(collector.strings)
    strings += [DUMMY_FIELD, "True", "False"]
    strings += [p.field for p in PRIMITIVES.values() if p.active]
    strings += list(FIXED_VALUES.values())
    strings += [str(v) for values in RANDOM_VALUES.values() for v in values]
    tokens = {t for s in strings for t in tokenize(s)}
    return sorted(tokens - {NULL, OOV})


@functools.lru_cache(maxsize=1)
def shipped_tokens() -> tuple[str, ...]:
    text = resources.files("a2perf_web_navigation").joinpath("vocabulary.txt").read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line)


@functools.lru_cache(maxsize=1)
def token_ids() -> dict[str, int]:
    """Token -> id: NULL 0, OOV 1, then the shipped tokens."""
    return {NULL: 0, OOV: 1, **{t: i + 2 for i, t in enumerate(shipped_tokens())}}


def vocabulary_size() -> int:
    return len(token_ids())


@functools.lru_cache(maxsize=65536)
def encode(text: str, length: int) -> tuple[int, ...]:
    """Token ids of ``text``, unknown tokens as OOV, cut at ``length`` (no padding)."""
    ids = token_ids()
    return tuple(ids.get(t, 1) for t in tokenize(text)[:length])


class TokenTable:
    """Padded token ids of every string seen so far, one row each, so that encoding a whole page
    is one dictionary lookup per string and one numpy gather (pages repeat their strings)."""

    def __init__(self, length: int) -> None:
        self.length = length
        self._rows: dict[str, int] = {"": 0}
        self._table = np.zeros((256, length), np.int32)

    def row(self, text: str) -> int:
        index = self._rows.get(text)
        if index is None:
            index = len(self._rows)
            if index == len(self._table):
                self._table = np.concatenate([self._table, np.zeros_like(self._table)])
            ids = encode(text, self.length)
            self._table[index, : len(ids)] = ids
            self._rows[text] = index
        return index

    @property
    def table(self) -> np.ndarray:
        """The padded rows, indexed by :meth:`row` (replaced when it grows: read it after ``row``)."""
        return self._table

    def encode_many(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), length)`` int32 ids, NULL-padded."""
        rows = self._rows
        indices = [rows[t] if t in rows else self.row(t) for t in texts]
        return self._table[indices]
