"""Where the env's pages live: a real Chromium (``"browser"``, the reference) or the in-process model
of :mod:`a2perf_web_navigation.dom` (``"dom"``).

A backend answers three calls with the page state of ``site/site.js`` (per visible element five
strings, eight features and a typeable flag; ``changed``, ``done``, ``raw``, ``phi``, ``page``):
``build`` shows website ``index`` with a profile, ``act`` is the masked layout's action and
``visit`` A2Perf's. The episode logic (rewards, penalties, observations) stays in the env.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from a2perf_web_navigation.designs import WebsiteDesign

BACKENDS = ("browser", "dom")
#: the page returns its state as one JSON string: WebDriver serialises a string much faster than nested arrays
_BUILD = "return JSON.stringify(window.__wn.build(arguments[0], arguments[1], arguments[2]));"
_ACT = "return JSON.stringify(window.__wn.act(arguments[0], arguments[1], arguments[2]));"
_VISIT = "return JSON.stringify(window.__wn.visit(arguments[0], arguments[1]));"


class BrowserBackend:
    """One headless Chromium, started at the first ``build``; one round trip per call. A ``browser``
    given here (a :class:`~a2perf_web_navigation.browser.Chromium` showing the site shell) is used
    instead and left open by :meth:`close` (tests share one across many websites)."""

    def __init__(
        self, websites: Sequence[WebsiteDesign], window_size: tuple[int, int] = (600, 800), browser: Any = None
    ) -> None:
        from a2perf_web_navigation.browser import find_browser

        find_browser()  # a missing browser is reported at make(), not at the first reset
        self._html = [d.html() for d in websites]
        self._sent: set[int] = set()
        self.window_size = window_size
        self.browser: Any = browser
        self._owns_browser = browser is None

    def _ensure_browser(self) -> Any:
        if self.browser is None:
            from a2perf_web_navigation.browser import Chromium

            self.browser = Chromium(window_size=self.window_size)
        return self.browser

    def build(self, index: int, profile: Mapping[str, Any]) -> dict[str, Any]:
        html = None if index in self._sent else self._html[index]
        state = json.loads(self._ensure_browser().run(_BUILD, index, html, dict(profile)))
        self._sent.add(index)
        return state

    def act(self, element: int, value: Any, typing: bool) -> dict[str, Any]:
        return json.loads(self.browser.run(_ACT, element, value, typing))

    def visit(self, element: int, value: Any) -> dict[str, Any]:
        return json.loads(self.browser.run(_VISIT, element, value))

    def describe(self) -> list[list[Any]]:
        return self.browser.run("return window.__wn.describe();")

    def screenshot_png(self) -> bytes:
        return self._ensure_browser().screenshot_png()

    def close(self) -> None:
        if self.browser is not None and self._owns_browser:
            self.browser.close()
        self.browser = None
        self._sent.clear()


class DomBackend:
    """The pages modelled in this process: no browser, geometry from the shipped layout table."""

    def __init__(self, websites: Sequence[WebsiteDesign]) -> None:
        from a2perf_web_navigation.dom import dom_site

        self._sites = [dom_site(d) for d in websites]
        self.page: Any = None
        self.browser = None

    def build(self, index: int, profile: Mapping[str, Any]) -> dict[str, Any]:
        from a2perf_web_navigation.dom import DomPage

        self.page = DomPage(self._sites[index], profile)
        return self.page.build()

    def act(self, element: int, value: Any, typing: bool) -> dict[str, Any]:
        return self.page.act(element, value, typing)

    def visit(self, element: int, value: Any) -> dict[str, Any]:
        return self.page.visit(element, value)

    def describe(self) -> list[list[Any]]:
        return self.page.describe()

    def close(self) -> None:
        self.page = None
