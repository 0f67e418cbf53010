"""A deterministic force-directed placer for soft macros and standard cells.

After the agent has placed the hard macros, the remaining movable nodes are spread by springs
along nets (driver to each sink) and pushed apart where they overlap, as in Circuit Training's
``fd_placement_schedule``: three stages of 100 steps, attraction 100 / 1e-3 / 1e-5, repulsion
0 / 1e6 / 1e7, each step moving the node with the largest force by ``max(W, H) / 100`` and the
others proportionally; a move that would take a node off the canvas is cancelled. Hard macros and
ports never move. Google's own placer lives in its closed binary, so results differ from it.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import gin
import numpy as np
from a2perf_circuit_training.netlist import MACRO, Netlist


@gin.configurable
@attrs.frozen
class ForceDirectedSchedule:
    """Per-stage step counts and force constants."""

    steps: Sequence[int] = (100, 100, 100)
    attraction: Sequence[float] = (100.0, 1e-3, 1e-5)
    repulsion: Sequence[float] = (0.0, 1e6, 1e7)
    move_fraction: Sequence[float] = (0.01, 0.01, 0.01)  # of max(W, H) per step


def connection_edges(netlist: Netlist) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, weight): one edge per driver-sink pair between the objects owning the pins."""
    owner = netlist.net_pins.copy()
    pinned = netlist.parent[owner] >= 0
    owner[pinned] = netlist.parent[owner[pinned]]
    sizes = np.diff(netlist.net_ptr)
    driver_owner = np.repeat(owner[netlist.net_ptr[:-1]], sizes)
    weight = np.repeat(netlist.net_weight, sizes)
    sink_slot = np.ones(len(owner), dtype=bool)
    sink_slot[netlist.net_ptr[:-1]] = False
    a, b, w = driver_owner[sink_slot], owner[sink_slot], weight[sink_slot]
    keep = a != b
    return a[keep], b[keep], w[keep]


def force_directed_place(
    netlist: Netlist,
    x: np.ndarray,
    y: np.ndarray,
    movable: np.ndarray,
    canvas: tuple[float, float],
    schedule: ForceDirectedSchedule | None = None,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """New x, y with the ``movable`` nodes placed; other nodes keep their positions."""
    schedule = schedule or ForceDirectedSchedule()
    width, height = canvas
    x = x.astype(np.float64).copy()
    y = y.astype(np.float64).copy()
    movable = np.asarray(movable, dtype=np.int64)
    if len(movable) == 0:
        return x, y
    a, b, w = edges if edges is not None else connection_edges(netlist)
    # edges restricted to those that touch a movable node
    is_movable = np.zeros(netlist.num_nodes, dtype=bool)
    is_movable[movable] = True
    touching = is_movable[a] | is_movable[b]
    a, b, w = a[touching], b[touching], w[touching]
    local = np.full(netlist.num_nodes, -1, dtype=np.int64)
    local[movable] = np.arange(len(movable))
    bodies = np.flatnonzero((netlist.kind == MACRO) & ~netlist.is_soft & ~is_movable)  # fixed hard macros
    half_w = netlist.width[movable] / 2
    half_h = netlist.height[movable] / 2
    # pairwise reach (sum of half sizes) of each movable node with every movable node and obstacle
    others_hw = np.concatenate([half_w, netlist.width[bodies] / 2])
    others_hh = np.concatenate([half_h, netlist.height[bodies] / 2])
    reach_x = (half_w[:, None] + others_hw[None, :]).astype(np.float32)
    reach_y = (half_h[:, None] + others_hh[None, :]).astype(np.float32)
    np.fill_diagonal(reach_x[:, : len(movable)], 0.0)  # a node never repels itself

    # start from the canvas centre, spread on a small golden-angle spiral to break symmetry
    turn = np.arange(len(movable)) * (np.pi * (3 - np.sqrt(5)))
    radius = 0.01 * min(width, height) * np.sqrt(np.arange(len(movable)) / max(1, len(movable)))
    x[movable] = width / 2 + radius * np.cos(turn)
    y[movable] = height / 2 + radius * np.sin(turn)
    step_length = max(width, height)
    for steps, k_attract, k_repel, fraction in zip(
        schedule.steps, schedule.attraction, schedule.repulsion, schedule.move_fraction, strict=True
    ):
        max_move = fraction * step_length
        for _ in range(int(steps)):
            fx = np.zeros(len(movable))
            fy = np.zeros(len(movable))
            dx = x[b] - x[a]
            dy = y[b] - y[a]
            la, lb = local[a], local[b]
            ma, mb = la >= 0, lb >= 0
            fx += np.bincount(la[ma], k_attract * w[ma] * dx[ma], minlength=len(movable))
            fy += np.bincount(la[ma], k_attract * w[ma] * dy[ma], minlength=len(movable))
            fx -= np.bincount(lb[mb], k_attract * w[mb] * dx[mb], minlength=len(movable))
            fy -= np.bincount(lb[mb], k_attract * w[mb] * dy[mb], minlength=len(movable))
            if k_repel > 0:
                mx, my = x[movable], y[movable]
                others_x = np.concatenate([mx, x[bodies]]).astype(np.float32)
                others_y = np.concatenate([my, y[bodies]]).astype(np.float32)
                ddx = mx.astype(np.float32)[:, None] - others_x[None, :]
                overlap = np.abs(ddx) < reach_x
                i, j = np.nonzero(overlap)
                if len(i):
                    pdx = ddx[i, j].astype(np.float64)
                    pdy = my[i] - others_y[j]
                    close = np.abs(pdy) < reach_y[i, j]
                    i, pdx, pdy = i[close], pdx[close], pdy[close]
                    distance = np.hypot(pdx, pdy)
                    distance[distance == 0] = 1.0
                    push = k_repel / distance
                    fx += np.bincount(i, push * pdx, minlength=len(movable))
                    fy += np.bincount(i, push * pdy, minlength=len(movable))
            magnitude = np.hypot(fx, fy)
            largest = magnitude.max()
            if largest <= 0:
                break
            scale = max_move / largest
            nx = x[movable] + fx * scale
            ny = y[movable] + fy * scale
            inside = (nx - half_w >= 0) & (nx + half_w <= width) & (ny - half_h >= 0) & (ny + half_h <= height)
            x[movable] = np.where(inside, nx, x[movable])
            y[movable] = np.where(inside, ny, y[movable])
    return x, y
