"""An RGB picture of a placement: grid, optional congestion heat map, macros, cells and ports."""

from __future__ import annotations

import numpy as np

from a2perf_circuit_training.cost import CostParameters
from a2perf_circuit_training.netlist import MACRO, PORT, STDCELL, Netlist

BACKGROUND = (250, 250, 247)
GRID = (215, 215, 210)
HARD_PLACED = (52, 101, 164)
HARD_WAITING = (190, 190, 190)
CURRENT = (230, 140, 20)
SOFT = (115, 186, 120)
PORT_COLOUR = (200, 40, 40)


def render_placement(
    netlist: Netlist,
    parameters: CostParameters,
    x: np.ndarray,
    y: np.ndarray,
    placed: np.ndarray,
    current: int | None = None,
    *,
    congestion: np.ndarray | None = None,
    size: int = 512,
) -> np.ndarray:
    """``size`` pixels on the longer canvas side; y grows upwards as on a chip."""
    from PIL import Image, ImageDraw

    p = parameters
    scale = size / max(p.width, p.height)
    width_px, height_px = max(1, round(p.width * scale)), max(1, round(p.height * scale))
    image = Image.new("RGB", (width_px, height_px), BACKGROUND)
    draw = ImageDraw.Draw(image, "RGBA")

    def box(cx: float, cy: float, w: float, h: float) -> tuple[float, float, float, float]:
        return (
            (cx - w / 2) * scale,
            height_px - (cy + h / 2) * scale,
            (cx + w / 2) * scale,
            height_px - (cy - h / 2) * scale,
        )

    if congestion is not None:
        peak = float(congestion.max()) or 1.0
        for row in range(p.rows):
            for col in range(p.columns):
                level = min(1.0, float(congestion[row, col]) / peak)
                if level > 0:
                    cx, cy = (col + 0.5) * p.cell_width, (row + 0.5) * p.cell_height
                    draw.rectangle(box(cx, cy, p.cell_width, p.cell_height), fill=(230, 60, 30, int(150 * level)))
    for col in range(p.columns + 1):
        draw.line([(col * p.cell_width * scale, 0), (col * p.cell_width * scale, height_px)], fill=GRID)
    for row in range(p.rows + 1):
        draw.line([(0, height_px - row * p.cell_height * scale), (width_px, height_px - row * p.cell_height * scale)],
                  fill=GRID)  # fmt: skip
    soft = np.flatnonzero(((netlist.kind == MACRO) & netlist.is_soft) | (netlist.kind == STDCELL))
    for node in soft[placed[soft]]:
        draw.rectangle(box(x[node], y[node], netlist.width[node], netlist.height[node]), fill=SOFT + (160,))
    for node in netlist.hard_macros:
        colour = CURRENT if node == current and not placed[node] else HARD_PLACED if placed[node] else HARD_WAITING
        if not placed[node] and node != current:
            continue
        draw.rectangle(box(x[node], y[node], netlist.width[node], netlist.height[node]), fill=colour + (220,),
                       outline=(20, 20, 20))  # fmt: skip
    radius = max(1.5, size / 200)
    for node in np.flatnonzero(netlist.kind == PORT):
        px, py = x[node] * scale, height_px - y[node] * scale
        draw.ellipse((px - radius, py - radius, px + radius, py + radius), fill=PORT_COLOUR)
    return np.asarray(image, dtype=np.uint8)
