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
    """(a, b, weight): driver-sink pairs between the objects owning the pins, parallel ones merged."""
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
    low, high, w = np.minimum(a, b)[keep], np.maximum(a, b)[keep], w[keep]
    # a spring is symmetric: merge parallel edges between the same two objects
    pairs, inverse = np.unique(low * netlist.num_nodes + high, return_inverse=True)
    a, b = np.divmod(pairs, max(1, netlist.num_nodes))
    return a, b, np.bincount(inverse, w, minlength=len(pairs))


def _overlapping_pairs(
    x: np.ndarray, y: np.ndarray, half_w: np.ndarray, half_h: np.ndarray, widest: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, x_i - x_j, y_i - y_j) for every ordered pair of distinct overlapping rectangles; a sweep
    over x-sorted centres finds the candidates."""
    count = len(x)
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    low = np.searchsorted(sorted_x, x - half_w - widest, side="left")
    high = np.searchsorted(sorted_x, x + half_w + widest, side="right")
    counts = high - low
    i = np.repeat(np.arange(count), counts)
    first = np.zeros(count, dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    j = order[low[i] + np.arange(len(i)) - first[i]]
    dx = x[i] - x[j]
    dy = y[i] - y[j]
    hit = (i != j) & (np.abs(dx) < half_w[i] + half_w[j]) & (np.abs(dy) < half_h[i] + half_h[j])
    return i[hit], dx[hit], dy[hit]


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
    body_half_w = netlist.width[bodies] / 2
    body_half_h = netlist.height[bodies] / 2
    widest = float(half_w.max())

    la, lb = local[a], local[b]
    spring_edge = np.concatenate([np.flatnonzero(la >= 0), np.flatnonzero(lb >= 0)])
    spring_node = np.concatenate([la[la >= 0], lb[lb >= 0]])
    # a spring pulls each end of an edge toward the other: + on its a end, - on its b end
    spring_sign = np.concatenate([np.ones(int(np.sum(la >= 0))), -np.ones(int(np.sum(lb >= 0)))])
    spring_a, spring_b, spring_weight = a[spring_edge], b[spring_edge], spring_sign * w[spring_edge]

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
        pull = k_attract * spring_weight
        for _ in range(int(steps)):
            # (a bincount over no springs is integer-typed: cast so that repulsion can be added)
            fx = np.bincount(spring_node, pull * (x[spring_b] - x[spring_a]), minlength=len(movable)).astype(
                np.float64, copy=False
            )
            fy = np.bincount(spring_node, pull * (y[spring_b] - y[spring_a]), minlength=len(movable)).astype(
                np.float64, copy=False
            )
            if k_repel > 0:
                mx, my = x[movable], y[movable]
                i, dx_pairs, dy_pairs = _overlapping_pairs(mx, my, half_w, half_h, widest)
                if len(bodies):  # few fixed hard macros: all pairs
                    ddx = mx[:, None] - x[bodies][None, :]
                    ddy = my[:, None] - y[bodies][None, :]
                    hit = (np.abs(ddx) < half_w[:, None] + body_half_w[None, :]) & (
                        np.abs(ddy) < half_h[:, None] + body_half_h[None, :]
                    )
                    bi, bj = np.nonzero(hit)
                    i = np.concatenate([i, bi])
                    dx_pairs = np.concatenate([dx_pairs, ddx[bi, bj]])
                    dy_pairs = np.concatenate([dy_pairs, ddy[bi, bj]])
                if len(i):
                    distance = np.hypot(dx_pairs, dy_pairs)
                    distance[distance == 0] = 1.0
                    push = k_repel / distance
                    fx += np.bincount(i, push * dx_pairs, minlength=len(movable))
                    fy += np.bincount(i, push * dy_pairs, minlength=len(movable))
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
