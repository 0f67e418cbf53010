"""Replaying a saved macro placement through the env, one macro per step.

The env places its hard macros in its own order at grid-cell centres, so each macro goes to the
legal cell whose centre is nearest (Euclidean) to its saved centre; an off-grid position snaps
to that cell, and a macro whose cell is taken goes to the nearest one still legal. A saved
placement holds what the policy needs besides the observation (each macro's target by graph
position, as ``obs["current_node"]`` names it, and the grid geometry), so it also works where
``load_policy`` gets only a stand-in of the env (``--untrusted``). It is keyed by task id and
design; on another design (a generalization task) the policy places that design greedily.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np

from a2perf_circuit_training.env import CircuitPlacementEnv
from a2perf_circuit_training.errors import CircuitTrainingError


def design_key(env: CircuitPlacementEnv) -> str:
    """Identifies a design: its source, node and net counts and canvas."""
    n, p = env.netlist, env.parameters
    return f"{n.source} nodes={n.num_nodes} nets={n.num_nets} canvas={p.width:.6g}x{p.height:.6g}"


def placement_record(
    env: CircuitPlacementEnv, centres: dict[str, tuple[float, float]], task_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    """What a policy needs to replay ``centres`` (macro name -> centre) on ``env``'s design."""
    p = env.parameters
    names = env.netlist.names
    targets = {str(int(env.graph.position[m])): list(centres[names[m]]) for m in env.macro_order}
    return {
        "task": task_id, "design": design_key(env),
        "grid": {"size": env.observation_config.max_grid_size, "columns": p.columns, "rows": p.rows,
                 "cell_width": p.cell_width, "cell_height": p.cell_height},
        "targets": targets, "macros": {k: list(v) for k, v in centres.items()}, **extra,
    }  # fmt: skip


def save_placement(path: str | Path, record: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(record, indent=1))


def load_placement(path: str | Path) -> dict[str, Any]:
    try:
        record = json.loads(Path(path).read_text())
        if not {"task", "design", "grid", "targets"} <= set(record):
            raise KeyError("task, design, grid or targets")
        return record
    except FileNotFoundError:
        raise CircuitTrainingError(f"no saved placement at {path}: run the train phase first") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CircuitTrainingError(f"{path} is not a saved placement ({exc})") from None


class PlacementPolicy:
    """Sends the macro ``obs["current_node"]`` names to the legal cell nearest its target."""

    def __init__(self, record: dict[str, Any]) -> None:
        grid = record["grid"]
        size, rows, columns = int(grid["size"]), int(grid["rows"]), int(grid["columns"])
        actions = np.arange(size * size)
        row = actions // size - (size - rows) // 2
        col = actions % size - (size - columns) // 2
        self.cell_x = (col + 0.5) * float(grid["cell_width"])
        self.cell_y = (row + 0.5) * float(grid["cell_height"])
        self.targets = {int(k): (float(x), float(y)) for k, (x, y) in record["targets"].items()}

    @classmethod
    def for_env(cls, env: Any, record: dict[str, Any] | None, task_id: str | None = None) -> PlacementPolicy:
        """The saved placement when it is of ``env``'s design, else the greedy placement of that design.

        ``env`` is the env itself or a stand-in with no internals; then the task id decides, and a
        task other than the saved one is made here to be placed greedily."""
        unwrapped = getattr(env, "unwrapped", env)
        if isinstance(unwrapped, CircuitPlacementEnv):
            if record is not None and record["design"] == design_key(unwrapped):
                return cls(record)
        elif record is not None and record["task"] == task_id:
            return cls(record)
        else:
            if task_id is None:
                raise CircuitTrainingError("the env is a stand-in and no task id is known")
            from a2perf_core.envs import make

            unwrapped = make(task_id).unwrapped
        from a2perf_circuit_training.greedy import greedy_place

        return cls(placement_record(unwrapped, greedy_place(copy.deepcopy(unwrapped)).centres, task_id))

    def action(self, observation: dict[str, np.ndarray]) -> int:
        position = int(np.asarray(observation["current_node"]).reshape(-1)[0])
        legal = np.flatnonzero(np.asarray(observation["mask"]).reshape(-1))
        if len(legal) == 0:
            raise CircuitTrainingError("no legal action in the observation's mask")
        x, y = self.targets[position]
        distance = (self.cell_x[legal] - x) ** 2 + (self.cell_y[legal] - y) ** 2
        return int(legal[np.argmin(distance)])


def replay(env: Any, policy: PlacementPolicy) -> tuple[float, dict]:
    """One episode of ``policy`` on ``env`` (a recorded env counts it); returns the last reward and info."""
    observation, _ = env.reset()
    while True:
        observation, reward, terminated, truncated, info = env.step(policy.action(observation))
        if terminated or truncated:
            return float(reward), info
