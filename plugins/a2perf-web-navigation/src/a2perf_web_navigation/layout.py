"""Element geometry of the generated sites without a browser: each primitive measured once in Chromium.

A page's children stack in one block formatting context of fixed width, so the layout of a whole
page follows from each primitive's own box: its collapsed top and bottom margins, its height and
the rectangles of its descendants relative to it. Next and submit buttons are inline blocks: a run
of adjacent buttons sits on one line, each after the previous one's width. The numbers are measured
in Chromium by :func:`measure_layout` and shipped as ``site/layout.json``; a browser test checks
the shipped file against a fresh measurement (a Chromium with other fonts measures other widths:
regenerate the file with ``python -m a2perf_web_navigation.layout``).
"""

from __future__ import annotations

import functools
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from a2perf_web_navigation.designs import CREATED_NEXT, CREATED_NEXT_TEXT, CREATED_SUBMIT, CREATED_SUBMIT_TEXT
from a2perf_web_navigation.primitives import PRIMITIVES, navigation_button, render_primitive

LAYOUT_FILE = "layout.json"
#: the navbar with its collapsed menu shown (after a click on the toggler)
NAVBAR_OPEN = "navbar:open"

_MEASURE = """
const site = document.getElementById("site");
site.innerHTML = '<div class="wn-page">' + arguments[0] + "</div>";
const page = site.firstElementChild, root = page.firstElementChild;
if (arguments[1]) root.querySelector(".navbar-nav").style.display = "";
const s = site.getBoundingClientRect(), b = root.getBoundingClientRect();
const pad = parseFloat(getComputedStyle(site).paddingTop), padLeft = parseFloat(getComputedStyle(site).paddingLeft);
const rects = [root, ...root.querySelectorAll("*")].map(function (el) {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 ? [r.left - b.left, r.top - b.top, r.width, r.height] : null;
});
return JSON.stringify({
  inline: getComputedStyle(root).display.startsWith("inline"),
  site_width: s.width, site_height: s.height, padding_top: pad, padding_left: padLeft,
  content_width: page.getBoundingClientRect().width,
  left: b.left - s.left, top: b.top - s.top, width: b.width, height: b.height, rects: rects,
});
"""


def layout_sources() -> dict[str, tuple[str, bool]]:
    """Every box a page can hold: key -> (HTML, navbar menu shown)."""
    sources = {name: (render_primitive(name, 0, True), False) for name in PRIMITIVES}
    sources[NAVBAR_OPEN] = (render_primitive("navbar", 0, True), True)
    sources[CREATED_NEXT] = (navigation_button("next", CREATED_NEXT_TEXT, 0, True), False)
    sources[CREATED_SUBMIT] = (navigation_button("submit", CREATED_SUBMIT_TEXT, 0, True), False)
    return sources


def measure_layout(browser: Any) -> dict[str, Any]:
    """The layout table from a :class:`~a2perf_web_navigation.browser.Chromium` showing the site shell.

    Per block box: ``margin_top`` and ``margin_bottom`` (collapsed, as seen by its siblings),
    ``height`` and ``rects`` (``[left, top, width, height]`` of the box and each descendant in
    document order relative to the box, None where the element has no area). Per inline box (a
    button): ``width`` and ``rects``. Shared: the site's width and padding, the content width and
    the line height and top offset of a run of buttons."""
    boxes: dict[str, dict[str, Any]] = {}
    shared: dict[str, float] = {}
    for key, (html, open_menu) in layout_sources().items():
        m = json.loads(browser.run(_MEASURE, html, open_menu))
        pad, pad_left = m["padding_top"], m["padding_left"]
        shared.update(site_width=m["site_width"], padding_top=pad, padding_left=pad_left)
        shared["content_width"] = m["content_width"]
        if m["left"] != pad_left:
            raise RuntimeError(f"{key}: a box starts at x={m['left']}, not at the site's padding {pad_left}")
        if m["inline"]:
            shared["line_height"] = m["site_height"] - 2 * pad
            shared["line_top"] = m["top"] - pad
            boxes[key] = {"inline": True, "width": m["width"], "rects": m["rects"]}
        else:
            top = m["top"] - pad
            bottom = m["site_height"] - 2 * pad - top - m["height"]
            box = {"inline": False, "margin_top": top, "margin_bottom": bottom, "height": m["height"]}
            boxes[key] = {**box, "rects": m["rects"]}
    widest = sum(b["width"] for b in boxes.values() if b["inline"])
    if widest > shared["content_width"]:
        raise RuntimeError(f"all buttons in a row ({widest} px) would wrap; the layout model has one line per run")
    return {"shared": shared, "boxes": boxes}


@functools.lru_cache(maxsize=1)
def shipped_layout() -> dict[str, Any]:
    text = resources.files("a2perf_web_navigation").joinpath("site", LAYOUT_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def main(argv: list[str] | None = None) -> int:
    """Measure the layout in the local Chromium and write it to the package's ``site/layout.json``."""
    from a2perf_web_navigation.browser import Chromium

    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path(__file__).with_name("site") / LAYOUT_FILE
    browser = Chromium()
    try:
        table = measure_layout(browser)
    finally:
        browser.close()
    target.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(table['boxes'])} boxes to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
