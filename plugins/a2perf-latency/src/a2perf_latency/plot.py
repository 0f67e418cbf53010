"""The latency plot as a small hand-written SVG: histogram and empirical CDF, percentiles marked.

Written as text with numpy only, so the run's analysis never imports a plotting library (matplotlib's
import alone took longer than the whole analysis). Each drawn datum carries its number as an attribute
(``data-count`` on a bar, ``data-ms`` on a percentile line), so the figure can be checked against the
samples it was drawn from.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from a2perf_latency.percentiles import NS_PER_MS

if TYPE_CHECKING:
    from a2perf_latency.percentiles import LatencySummary

WIDTH, HEIGHT = 1000, 400
#: the plotting area of each panel: left edge, top, width, height
PANELS = ((70, 40, 400, 300), (570, 40, 400, 300))
TICKS = 5
BLUE, RED, GREY = "#1f77b4", "#d62728", "#444444"


def _scale(lo: float, hi: float, start: float, length: float) -> tuple[float, float]:
    """``(offset, factor)`` mapping ``[lo, hi]`` onto ``[start, start + length]`` (a point range is widened)."""
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    factor = length / (hi - lo)
    return start - lo * factor, factor


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 11, extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-family="sans-serif" fill="{GREY}"{extra}>{escape(text)}</text>'
    )


def _axes(panel: tuple[int, int, int, int], x_range: tuple[float, float], y_range: tuple[float, float]) -> list[str]:
    """The frame of a panel with ``TICKS`` labelled ticks on each axis."""
    left, top, width, height = panel
    parts = [f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="{GREY}"/>']
    for i in range(TICKS):
        fraction = i / (TICKS - 1)
        x, y = left + fraction * width, top + height - fraction * height
        x_value = x_range[0] + fraction * (x_range[1] - x_range[0])
        y_value = y_range[0] + fraction * (y_range[1] - y_range[0])
        parts.append(f'<line x1="{x:.1f}" y1="{top + height}" x2="{x:.1f}" y2="{top + height + 4}" stroke="{GREY}"/>')
        parts.append(_text(x, top + height + 17, f"{x_value:.3g}"))
        parts.append(f'<line x1="{left - 4}" y1="{y:.1f}" x2="{left}" y2="{y:.1f}" stroke="{GREY}"/>')
        parts.append(_text(left - 7, y + 4, f"{y_value:.3g}", anchor="end"))
    return parts


def latency_svg(latencies_ns: np.ndarray, summary: LatencySummary, bins: int = 60) -> str:
    """The SVG text of the figure: left, a histogram of per-call latency (ms, ``bins`` bins); right, the
    empirical CDF (a step at each sorted sample); in both, a dotted line at each of ``summary``'s percentiles."""
    ms = np.sort(np.asarray(latencies_ns, dtype=float) / NS_PER_MS)
    counts, edges = np.histogram(ms, bins=bins)
    x_lo, x_hi = float(edges[0]), float(edges[-1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
    ]
    (h_left, h_top, h_width, h_height), (c_left, c_top, c_width, c_height) = PANELS
    top_count = float(counts.max()) if counts.size else 1.0
    hx0, hxf = _scale(x_lo, x_hi, h_left, h_width)
    hy0, hyf = _scale(0.0, top_count, h_top + h_height, -h_height)
    parts += _axes(PANELS[0], (x_lo, x_hi), (0.0, top_count))
    for count, lo, hi in zip(counts, edges[:-1], edges[1:], strict=True):
        if count:
            x, y = hx0 + lo * hxf, hy0 + count * hyf
            parts.append(
                f'<rect class="bar" data-count="{int(count)}" x="{x:.2f}" y="{y:.2f}" '
                f'width="{max((hi - lo) * hxf, 0.5):.2f}" height="{h_top + h_height - y:.2f}" fill="{BLUE}"/>'
            )
    parts.append(_text(h_left + h_width / 2, h_top - 12, f"infer_once latency, n = {summary.count}", size=13))
    parts.append(_text(h_left + h_width / 2, h_top + h_height + 36, "latency (ms)"))
    parts.append(_text(20, h_top + h_height / 2, "calls", extra=f' transform="rotate(-90 20 {h_top + h_height / 2})"'))

    cx0, cxf = _scale(x_lo, x_hi, c_left, c_width)
    cy0, cyf = _scale(0.0, 1.0, c_top + c_height, -c_height)
    parts += _axes(PANELS[1], (x_lo, x_hi), (0.0, 1.0))
    steps = [f"M{cx0 + ms[0] * cxf:.2f},{cy0:.2f}"] if ms.size else []
    for i, value in enumerate(ms):
        steps.append(f"H{cx0 + value * cxf:.2f}V{cy0 + (i + 1) / ms.size * cyf:.2f}")
    if steps:
        parts.append(f'<path class="cdf" d="{"".join(steps)}" fill="none" stroke="{BLUE}"/>')
    parts.append(_text(c_left + c_width / 2, c_top - 12, "empirical CDF", size=13))
    parts.append(_text(c_left + c_width / 2, c_top + c_height + 36, "latency (ms)"))
    middle = c_top + c_height / 2
    turned = f' transform="rotate(-90 {c_left - 50} {middle})"'
    parts.append(_text(c_left - 50, middle, "fraction of calls ≤ latency", extra=turned))

    for label, value in summary.percentiles_ms.items():
        for x0, xf, (_, top, _, height) in ((hx0, hxf, PANELS[0]), (cx0, cxf, PANELS[1])):
            x = x0 + value * xf
            parts.append(
                f'<line class="percentile" data-label={quoteattr(label)} data-ms="{value!r}" x1="{x:.2f}" '
                f'y1="{top}" x2="{x:.2f}" y2="{top + height}" stroke="{RED}" stroke-dasharray="2,3"/>'
            )
        x = cx0 + value * cxf
        y = c_top + c_height - 6
        turned = f' transform="rotate(-90 {x - 3:.2f} {y})"'
        parts.append(_text(x - 3, y, f"{label} {value:.3g} ms", anchor="start", size=9, extra=turned))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_latency_plot(path: Path, latencies_ns: np.ndarray, summary: LatencySummary, bins: int = 60) -> Path:
    """Write :func:`latency_svg` to ``path`` (written whole, then renamed: never a half figure)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(latency_svg(latencies_ns, summary, bins), encoding="utf-8")
    tmp.replace(path)
    return path
