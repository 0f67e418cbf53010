"""Replaying a saved macro placement through the env, one macro per step.

The env places its hard macros in its own order at grid-cell centres, so each macro goes to the
legal cell whose centre is nearest (Euclidean) to its saved centre; an off-grid position snaps
to that cell, and a macro whose cell is taken goes to the nearest one still legal. Placements are
saved as JSON by macro name, so a policy can tell whether a saved placement is of its env's design.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np

from a2perf_circuit_training.env import CircuitPlacementEnv
from a2perf_circuit_training.errors import CircuitTrainingError


def design_key(env: Any) -> str:
    """Identifies a design: its source, node and net counts and canvas."""
    unwrapped: CircuitPlacementEnv = env.unwrapped
    n, p = unwrapped.netlist, unwrapped.parameters
    return f"{n.source} nodes={n.num_nodes} nets={n.num_nets} canvas={p.width:.6g}x{p.height:.6g}"


def save_placement(path: str | Path, env: Any, centres: dict[str, tuple[float, float]], **extra: Any) -> None:
    data = {"design": design_key(env), "macros": {k: list(v) for k, v in centres.items()}, **extra}
    Path(path).write_text(json.dumps(data, indent=1))


def load_placement(path: str | Path, env: Any) -> dict[str, tuple[float, float]]:
    """The saved centres by macro name; empty when they are of another design than ``env``'s."""
    try:
        data = json.loads(Path(path).read_text())
        if data["design"] != design_key(env):
            return {}
        return {str(name): (float(x), float(y)) for name, (x, y) in data["macros"].items()}
    except FileNotFoundError:
        raise CircuitTrainingError(f"no saved placement at {path}: run the train phase first") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CircuitTrainingError(f"{path} is not a saved placement ({exc})") from None


def action_centres(env: CircuitPlacementEnv) -> tuple[np.ndarray, np.ndarray]:
    """Centre (x, y) in microns of the cell every action names (also for actions off the grid)."""
    p = env.parameters
    actions = np.arange(env.action_space.n)
    row, col = env.action_to_cell(actions)  # type: ignore[arg-type]
    return (col + 0.5) * p.cell_width, (row + 0.5) * p.cell_height


class PlacementPolicy:
    """Plays saved macro centres; a design the placement does not cover is placed greedily instead."""

    def __init__(self, env: Any, centres: dict[str, tuple[float, float]]) -> None:
        unwrapped: CircuitPlacementEnv = env.unwrapped
        names = unwrapped.netlist.names
        if not all(names[m] in centres for m in unwrapped.macro_order):
            from a2perf_circuit_training.greedy import greedy_place

            centres = greedy_place(copy.deepcopy(unwrapped)).centres
        self.macros = unwrapped.graph.macros
        self.targets = {int(m): centres[names[m]] for m in unwrapped.macro_order}
        self.cell_x, self.cell_y = action_centres(unwrapped)

    def action(self, observation: dict[str, np.ndarray]) -> int:
        node = int(self.macros[int(np.asarray(observation["current_node"]).reshape(-1)[0])])
        legal = np.flatnonzero(np.asarray(observation["mask"]).reshape(-1))
        if len(legal) == 0:
            raise CircuitTrainingError("no legal action in the observation's mask")
        x, y = self.targets[node]
        distance = (self.cell_x[legal] - x) ** 2 + (self.cell_y[legal] - y) ** 2
        return int(legal[np.argmin(distance)])


def replay(env: Any, policy: PlacementPolicy) -> tuple[float, dict]:
    """One episode of ``policy`` on ``env`` (a recorded env counts it); returns the last reward and info."""
    observation, _ = env.reset()
    while True:
        observation, reward, terminated, truncated, info = env.step(policy.action(observation))
        if terminated or truncated:
            return float(reward), info
