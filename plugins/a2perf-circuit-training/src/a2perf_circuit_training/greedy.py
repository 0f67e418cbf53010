"""Greedy macro placement: each hard macro, in the env's order, at the legal cell of least added wirelength.

The wirelength counted is the weighted half-perimeter of the nets of the macro being placed, with
every other node where it is at that moment: placed hard macros on their cells, fixed macros and
ports where the plc has them, and the nodes not placed yet (hard macros, soft macros, standard
cells) where the env's initial mixed-size force-directed pass put them (the locations its
observation shows). A net's half-perimeter splits into an x part that depends only on the
column and a y part that depends only on the row, so one macro costs two small (nets x columns)
and (nets x rows) arrays. Ties go to the lowest action index. Legality is the env's mask.
"""

from __future__ import annotations

import attrs
import numpy as np

from a2perf_circuit_training.env import CircuitPlacementEnv
from a2perf_circuit_training.errors import CircuitTrainingError
from a2perf_circuit_training.netlist import Netlist, pin_positions


class NetsOfNodes:
    """For each node, the nets touching it or one of its pins (pin slots grouped by owning node)."""

    def __init__(self, netlist: Netlist) -> None:
        self.netlist = netlist
        owner = netlist.net_pins.copy()
        pinned = netlist.parent[owner] >= 0
        owner[pinned] = netlist.parent[owner[pinned]]
        self.owner = owner
        self.net_of_slot = np.repeat(np.arange(netlist.num_nets), np.diff(netlist.net_ptr))
        self._order = np.argsort(owner, kind="stable")
        self._ptr = np.searchsorted(owner[self._order], np.arange(netlist.num_nodes + 1))

    def nets(self, node: int) -> np.ndarray:
        return np.unique(self.net_of_slot[self._order[self._ptr[node] : self._ptr[node + 1]]])

    def slots(self, nets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slot, local net number) of every pin slot of ``nets``."""
        ptr = self.netlist.net_ptr
        sizes = ptr[nets + 1] - ptr[nets]
        local = np.repeat(np.arange(len(nets)), sizes)
        start = np.repeat(ptr[nets], sizes)
        first = np.repeat(np.cumsum(sizes) - sizes, sizes)
        return start + np.arange(len(local)) - first, local


def added_wirelength(
    nets_of_nodes: NetsOfNodes,
    node: int,
    px: np.ndarray,
    py: np.ndarray,
    node_x: float,
    node_y: float,
    columns_x: np.ndarray,
    rows_y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted half-perimeter of ``node``'s nets with its centre at each column x (first array, x
    part) and each row y (second array, y part); the total for cell (r, c) is ``y[r] + x[c]``.
    ``px``, ``py`` are the current pin positions, the node's own taken relative to ``node_x``, ``node_y``."""
    netlist = nets_of_nodes.netlist
    nets = nets_of_nodes.nets(node)
    if len(nets) == 0:
        return np.zeros(len(columns_x)), np.zeros(len(rows_y))
    slots, local = nets_of_nodes.slots(nets)
    pins = netlist.net_pins[slots]
    own = nets_of_nodes.owner[slots] == node
    weight = netlist.net_weight[nets]
    parts = []
    for position, centre, candidates in ((px, node_x, columns_x), (py, node_y, rows_y)):
        values = position[pins]
        others_low = np.full(len(nets), np.inf)
        others_high = np.full(len(nets), -np.inf)
        np.minimum.at(others_low, local[~own], values[~own])
        np.maximum.at(others_high, local[~own], values[~own])
        own_low = np.full(len(nets), np.inf)
        own_high = np.full(len(nets), -np.inf)
        np.minimum.at(own_low, local[own], values[own] - centre)
        np.maximum.at(own_high, local[own], values[own] - centre)
        high = np.maximum(others_high[:, None], candidates[None, :] + own_high[:, None])
        low = np.minimum(others_low[:, None], candidates[None, :] + own_low[:, None])
        parts.append(weight @ (high - low))
    return parts[0], parts[1]


@attrs.frozen
class GreedyPlacement:
    """The actions of a greedy episode, the env's final report of it and each macro's centre by name."""

    actions: tuple[int, ...]
    reward: float
    info: dict
    centres: dict[str, tuple[float, float]]


def greedy_place(env: CircuitPlacementEnv) -> GreedyPlacement:
    """Play one greedy episode on ``env`` (it is reset and stepped: pass a copy of a recorded env)."""
    env.reset()
    netlist, p = env.netlist, env.parameters
    x, y = env.initial_x.copy(), env.initial_y.copy()
    px, py = pin_positions(netlist, x, y, env.orientation)
    nets_of_nodes = NetsOfNodes(netlist)
    columns_x = (np.arange(p.columns) + 0.5) * p.cell_width
    rows_y = (np.arange(p.rows) + 0.5) * p.cell_height
    grid = env.observation_config.max_grid_size
    row_pad, col_pad = (grid - p.rows) // 2, (grid - p.columns) // 2
    own_pins = {}
    actions = []
    while True:
        node = env.current_node
        cost_x, cost_y = added_wirelength(nets_of_nodes, node, px, py, x[node], y[node], columns_x, rows_y)
        mask = env.action_masks().reshape(grid, grid)[row_pad : row_pad + p.rows, col_pad : col_pad + p.columns]
        total = np.where(mask, cost_y[:, None] + cost_x[None, :], np.inf)
        row, col = np.unravel_index(int(np.argmin(total)), total.shape)
        action = env.cell_to_action(int(row), int(col))
        actions.append(action)
        _, reward, terminated, truncated, info = env.step(action)
        if info["infeasible"]:
            raise CircuitTrainingError(
                f"greedy placement of {netlist.source}: no legal cell left after {len(actions)} macros"
            )
        # move the node and its pins to the cell centre
        if node not in own_pins:
            own_pins[node] = np.concatenate([[node], np.flatnonzero(netlist.parent == node)])
        moved = own_pins[node]
        px[moved] += columns_x[col] - x[node]
        py[moved] += rows_y[row] - y[node]
        x[node], y[node] = columns_x[col], rows_y[row]
        if terminated or truncated:
            centres = {netlist.names[m]: (float(env.x[m]), float(env.y[m])) for m in env.macro_order}
            return GreedyPlacement(actions=tuple(actions), reward=float(reward), info=dict(info), centres=centres)
