"""Simulated annealing over hard-macro positions on the incremental proxy cost.

Moves, drawn with the probabilities of :class:`AnnealingSchedule`:

- swap: two macros exchange centres;
- shift: one macro moves by one grid cell left, right, up or down;
- move: one macro goes to a uniformly random centre inside the canvas (off the grid);
- flip: one macro is mirrored about its x or y axis (N <-> FN, N <-> FS, ...; its size is unchanged).

A move is legal when each moved macro lies inside the canvas, keeps ``macro_spacing`` microns
from every other hard macro and overlaps no blockage (the env's mask rule, off the grid). A legal
move changing the proxy cost by ``delta`` is accepted when ``delta <= 0`` or with probability
``exp(-delta / T)``; otherwise it is undone. The temperature falls geometrically from
``start_temperature`` to ``end_temperature`` over the move budget:
``T_k = T_0 (T_end / T_0) ** (k / moves)``. Soft macros, standard cells and ports stay where the
cost has them. The best state seen is returned, so the result is never worse than the start. A
run is deterministic for a seed and a move budget; a time limit stops it earlier.
"""

from __future__ import annotations

import math
import time

import attrs
import numpy as np

from a2perf_circuit_training.cost import DEFAULT_MACRO_SPACING, DEFAULT_OVERLAP_THRESHOLD, PlacementCost
from a2perf_circuit_training.env import CircuitPlacementEnv
from a2perf_circuit_training.errors import CircuitTrainingError
from a2perf_circuit_training.greedy import GreedyPlacement, greedy_place

MOVES = ("swap", "shift", "move", "flip")


@attrs.frozen
class AnnealingSchedule:
    """Temperatures (in units of proxy cost) and the probability of each kind of move."""

    start_temperature: float = 5e-3
    end_temperature: float = 1e-5
    swap: float = 0.3
    shift: float = 0.35
    move: float = 0.25
    flip: float = 0.1

    def probabilities(self) -> np.ndarray:
        weights = np.array([self.swap, self.shift, self.move, self.flip], dtype=np.float64)
        if (weights < 0).any() or weights.sum() <= 0:
            raise CircuitTrainingError(f"move probabilities must be >= 0 and not all 0, got {weights.tolist()}")
        if not 0 < self.end_temperature <= self.start_temperature:
            raise CircuitTrainingError("temperatures must satisfy 0 < end_temperature <= start_temperature")
        return weights / weights.sum()


@attrs.frozen
class AnnealingResult:
    """The best placement found (full node arrays) and counts of the run."""

    x: np.ndarray
    y: np.ndarray
    orientation: np.ndarray
    start_cost: float
    best_cost: float
    moves: int
    accepted: int
    seconds: float


class MacroLegality:
    """The env's legality rule for hard macros at arbitrary centres."""

    def __init__(
        self,
        cost: PlacementCost,
        macro_spacing: float = DEFAULT_MACRO_SPACING,
        overlap_threshold: float = DEFAULT_OVERLAP_THRESHOLD,
    ) -> None:
        self.cost = cost
        self.hard = cost.netlist.hard_macros
        self.position_of = {int(node): k for k, node in enumerate(self.hard)}
        self.width = cost.netlist.width[self.hard]
        self.height = cost.netlist.height[self.hard]
        self.gap = macro_spacing - overlap_threshold
        self.tol = overlap_threshold

    def fits_after(self, changes: list[tuple[int, float, float, int]]) -> bool:
        """Whether every macro of ``changes`` (node, x, y, orientation) fits once all have moved."""
        saved = [(node, self.cost.x[node], self.cost.y[node]) for node, *_ in changes]
        for node, x, y, _ in changes:
            self.cost.x[node], self.cost.y[node] = x, y
        legal = all(self.fits(self.position_of[node], x, y) for node, x, y, _ in changes)
        for node, x, y in saved:
            self.cost.x[node], self.cost.y[node] = x, y
        return legal

    def fits(self, position: int, x: float, y: float) -> bool:
        """Whether hard macro ``self.hard[position]`` may sit at (x, y), the others where they are."""
        p = self.cost.parameters
        turned = self.cost.orientation[self.hard] >= 4
        w = np.where(turned, self.height, self.width)
        h = np.where(turned, self.width, self.height)
        half_w, half_h = w[position] / 2, h[position] / 2
        tol = self.tol
        if x - half_w < -tol or x + half_w > p.width + tol or y - half_h < -tol or y + half_h > p.height + tol:
            return False
        for b in p.blockages:
            if (
                x + half_w > b.x0 + tol
                and x - half_w < b.x1 - tol
                and y + half_h > b.y0 + tol
                and y - half_h < b.y1 - tol
            ):
                return False
        near = (np.abs(self.cost.x[self.hard] - x) < half_w + w / 2 + self.gap) & (
            np.abs(self.cost.y[self.hard] - y) < half_h + h / 2 + self.gap
        )
        near[position] = False
        return not near.any()


def anneal(
    cost: PlacementCost,
    *,
    moves: int,
    seed: int = 0,
    schedule: AnnealingSchedule | None = None,
    time_limit: float | None = None,
    macro_spacing: float = DEFAULT_MACRO_SPACING,
    overlap_threshold: float = DEFAULT_OVERLAP_THRESHOLD,
    movable: np.ndarray | None = None,
) -> AnnealingResult:
    """Anneal the hard macros of ``cost`` (moved in place; the result holds the best state seen).

    ``movable``: node indices of the hard macros that may move (default: all hard macros)."""
    schedule = schedule or AnnealingSchedule()
    probabilities = schedule.probabilities()
    if moves < 0:
        raise CircuitTrainingError(f"the move budget must be >= 0, got {moves}")
    legality = MacroLegality(cost, macro_spacing, overlap_threshold)
    hard = legality.hard
    movable = hard if movable is None else np.asarray(movable, dtype=np.int64)
    if len(movable) == 0:
        raise CircuitTrainingError("no hard macro to anneal")
    rng = np.random.default_rng(seed)
    p = cost.parameters
    current = cost.proxy_cost()
    start = best = current
    best_state = (cost.x[hard].copy(), cost.y[hard].copy(), cost.orientation[hard].copy())
    ratio = schedule.end_temperature / schedule.start_temperature
    accepted = 0
    began = time.perf_counter()
    done = 0
    for k in range(moves):
        if time_limit is not None and k % 16 == 0 and time.perf_counter() - began > time_limit:
            break
        done = k + 1
        temperature = schedule.start_temperature * ratio ** (k / max(1, moves))
        kind = MOVES[int(rng.choice(4, p=probabilities))]
        a = int(movable[rng.integers(len(movable))])
        changes: list[tuple[int, float, float, int]] = []  # (node, x, y, orientation) to apply
        if kind == "swap":
            b = int(movable[rng.integers(len(movable))])
            if a == b:
                continue
            changes = [(a, cost.x[b], cost.y[b], -1), (b, cost.x[a], cost.y[a], -1)]
        elif kind == "shift":
            dx, dy = ((p.cell_width, 0.0), (-p.cell_width, 0.0), (0.0, p.cell_height), (0.0, -p.cell_height))[
                rng.integers(4)
            ]
            changes = [(a, cost.x[a] + dx, cost.y[a] + dy, -1)]
        elif kind == "move":
            changes = [(a, rng.uniform(0, p.width), rng.uniform(0, p.height), -1)]
        else:
            changes = [(a, cost.x[a], cost.y[a], int(cost.orientation[a]) ^ (1 if rng.integers(2) else 3))]
        if kind != "flip" and not legality.fits_after(changes):
            continue
        undo = [(node, float(cost.x[node]), float(cost.y[node]), int(cost.orientation[node])) for node, *_ in changes]
        for node, nx, ny, code in changes:
            cost.move_node(node, float(nx), float(ny), None if code < 0 else code)
        candidate = cost.proxy_cost()
        delta = candidate - current
        if delta <= 0 or rng.random() < math.exp(-delta / temperature):
            current = candidate
            accepted += 1
            if current < best:
                best = current
                best_state = (cost.x[hard].copy(), cost.y[hard].copy(), cost.orientation[hard].copy())
        else:
            for node, ox, oy, code in reversed(undo):
                cost.move_node(node, ox, oy, code)
    seconds = time.perf_counter() - began
    x, y, orientation = cost.x.copy(), cost.y.copy(), cost.orientation.copy()
    x[hard], y[hard], orientation[hard] = best_state
    return AnnealingResult(
        x=x, y=y, orientation=orientation, start_cost=start, best_cost=best, moves=done, accepted=accepted,
        seconds=seconds,
    )  # fmt: skip


def anneal_env(
    env: CircuitPlacementEnv,
    *,
    moves: int,
    seed: int = 0,
    schedule: AnnealingSchedule | None = None,
    time_limit: float | None = None,
) -> tuple[GreedyPlacement, AnnealingResult]:
    """Greedy placement of ``env``'s design, then annealing from it on the env's cost (its
    parameters and weights), soft macros and cells where the greedy episode's final stage put them.

    ``env`` is stepped (pass a copy of a recorded env). Flip moves are off by default here: the
    env has no orientation action, so a replay could not keep them."""
    greedy = greedy_place(env)
    cost = PlacementCost(
        env.netlist, env.parameters, x=env.x, y=env.y, orientation=env.orientation, weights=env.weights
    )
    result = anneal(
        cost,
        moves=moves,
        seed=seed,
        schedule=schedule or AnnealingSchedule(flip=0.0),
        time_limit=time_limit,
        macro_spacing=env.macro_spacing,
        overlap_threshold=env.overlap_threshold,
        movable=env.macro_order,
    )
    return greedy, result
