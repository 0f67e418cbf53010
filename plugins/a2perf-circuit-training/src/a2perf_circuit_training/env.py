"""The macro-placement environment: one hard macro per step on a grid, scored by the proxy cost.

Follows A2Perf's ``CircuitEnv``: hard macros in descending area order, equal areas in descending
node index (A2Perf sorts ascending by area and reverses the list), ``Discrete(128 * 128)`` actions
over the grid embedded in a 128 x 128 canvas, the macro centre at the chosen cell's centre,
reward 0 until the last macro and then ``-proxy_cost`` after a force-directed placement of the
soft macros and standard cells.

Legality (the mask): the macro lies inside the canvas, keeps ``macro_spacing`` microns from every
placed hard macro (overlaps and gaps are compared with a tolerance of ``overlap_threshold``
microns) and does not overlap a blockage. Google's binary does not publish its mask rule.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import gin
import gymnasium as gym
import numpy as np
from gymnasium import spaces

from a2perf_circuit_training.cost import (
    DEFAULT_MACRO_SPACING,
    DEFAULT_OVERLAP_THRESHOLD,
    MAX_GRID_SIZE,
    CostParameters,
    PlacementCost,
    ProxyWeights,
)
from a2perf_circuit_training.errors import CircuitTrainingError, InfeasibleActionError
from a2perf_circuit_training.netlist import MACRO, STDCELL, Netlist, read_netlist
from a2perf_circuit_training.placer import ForceDirectedSchedule, connection_edges, force_directed_place
from a2perf_circuit_training.plc import Placement, apply_placement, format_plc, read_plc

HARD_MACRO, SOFT_MACRO, PORT_CLUSTER = 1, 2, 3
NOT_COMPUTED = -1.0


@functools.lru_cache(maxsize=8)
def _cached_netlist(path: str, mtime_ns: int) -> Netlist:
    return read_netlist(path)


def load_netlist(path: str | Path) -> Netlist:
    """Parse once per process per file version (generalization runs make many envs)."""
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise CircuitTrainingError(f"netlist {path} does not exist") from None
    return _cached_netlist(str(path), stamp)


def _asset(name: str) -> Path:
    from a2perf_core.data import asset_path

    return asset_path(name)


def make_circuit_env(**kwargs: Any) -> CircuitPlacementEnv:
    """Entry point of the registered tasks."""
    return CircuitPlacementEnv(**kwargs)


class LegalActionSpace(spaces.Discrete):
    """``Discrete(128*128)`` whose ``sample()`` without a mask draws a legal action.

    Generic tools (Gymnasium's ``check_env``, random agents) then exercise the env without
    stepping into the error that an illegal action raises.
    """

    def __init__(self, n: int, legal: np.ndarray, seed: int | None = None) -> None:
        super().__init__(n, seed=seed)
        self.legal = legal  # the env updates this array in place

    def sample(self, mask: np.ndarray | None = None, probability: np.ndarray | None = None) -> np.int64:
        if mask is None and probability is None and self.legal.any():
            mask = self.legal
        return super().sample(mask=mask, probability=probability)


@gin.configurable(denylist=["netlist", "netlist_asset", "plc_asset", "netlist_file", "plc_file", "synthetic"])
class CircuitPlacementEnv(gym.Env):
    """Place the hard macros of one netlist, one per step."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        *,
        netlist: Netlist | None = None,
        netlist_asset: str | None = None,
        plc_asset: str | None = None,
        netlist_file: str | os.PathLike | None = None,
        plc_file: str | os.PathLike | None = None,
        synthetic: dict[str, int] | None = None,
        placement: Placement | None = None,
        render_mode: str | None = None,
        infeasible_reward: float = -1.0,
        macro_spacing: float = DEFAULT_MACRO_SPACING,
        overlap_threshold: float = DEFAULT_OVERLAP_THRESHOLD,
        weights: ProxyWeights | None = None,
        schedule: ForceDirectedSchedule | None = None,
        netlist_index: int = 0,
        output_plc: str | os.PathLike | None = None,
        render_congestion: bool = False,
        **cost_overrides: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise CircuitTrainingError(f"render_mode {render_mode!r} is not supported; use 'rgb_array' or None")
        self.render_mode = render_mode
        self.netlist = self._load(netlist, netlist_asset, netlist_file, synthetic)
        if placement is None and (plc_asset or plc_file):
            placement = read_plc(_asset(plc_asset) if plc_asset else plc_file)  # type: ignore[arg-type]
        self.placement = placement
        self.parameters = CostParameters.resolve(self.netlist, placement, use_plc_routing=False, **cost_overrides)
        p = self.parameters
        self.infeasible_reward = float(infeasible_reward)
        self.macro_spacing = float(macro_spacing)
        self.overlap_threshold = float(overlap_threshold)
        self.weights = weights if weights is not None else ProxyWeights()
        self.schedule = schedule
        self.netlist_index = int(netlist_index)
        self.output_plc = output_plc
        self.render_congestion = render_congestion

        n = self.netlist
        self._x0 = n.x.copy()
        self._y0 = n.y.copy()
        self._orientation0 = n.orientation.copy()
        fixed = np.zeros(n.num_nodes, dtype=bool)
        if placement is not None:
            fixed = apply_placement(n, placement, self._x0, self._y0, self._orientation0)
        self._fixed = fixed
        hard = n.hard_macros
        area = n.width[hard] * n.height[hard]
        movable_hard = ~fixed[hard]
        order = np.lexsort((-hard, -area))  # A2Perf: sorted(hard, key=area)[::-1]
        self.macro_order = hard[order][movable_hard[order]]
        self._fixed_hard = hard[fixed[hard]]
        if len(self.macro_order) == 0:
            raise CircuitTrainingError(f"netlist {n.source} has no movable hard macro to place")
        self._soft_and_cells = np.flatnonzero(((n.kind == MACRO) & n.is_soft) | (n.kind == STDCELL))
        self._edges = connection_edges(n)
        self._build_graph()
        self._cell_x = (np.arange(p.columns) + 0.5) * p.cell_width
        self._cell_y = (np.arange(p.rows) + 0.5) * p.cell_height
        self._row_pad = (MAX_GRID_SIZE - p.rows) // 2
        self._col_pad = (MAX_GRID_SIZE - p.columns) // 2

        count = len(self.graph_nodes)
        edges = len(self.edge_weight)
        self._legal = np.zeros(MAX_GRID_SIZE * MAX_GRID_SIZE, dtype=np.int8)
        self.action_space = LegalActionSpace(MAX_GRID_SIZE * MAX_GRID_SIZE, self._legal)
        self.observation_space = spaces.Dict(
            {
                "current_node": spaces.Box(0, count - 1, shape=(1,), dtype=np.int32),
                "locations_x": spaces.Box(0.0, 1.0, shape=(count,), dtype=np.float32),
                "locations_y": spaces.Box(0.0, 1.0, shape=(count,), dtype=np.float32),
                "is_node_placed": spaces.MultiBinary(count),
                "mask": spaces.MultiBinary(MAX_GRID_SIZE * MAX_GRID_SIZE),
                "netlist_index": spaces.Box(0, np.iinfo(np.int32).max, shape=(1,), dtype=np.int32),
                "node_types": spaces.Box(0, 3, shape=(count,), dtype=np.int8),
                "node_sizes": spaces.Box(0.0, 1.0, shape=(count, 2), dtype=np.float32),
                "edge_index": spaces.Box(0, count - 1, shape=(edges, 2), dtype=np.int32),
                "edge_weight": spaces.Box(
                    0.0, max(1.0, float(self.edge_weight.max())), shape=(edges,), dtype=np.float32
                ),
            }
        )
        self._reset_state()

    # --- construction ------------------------------------------------------------------------

    @staticmethod
    def _load(
        netlist: Netlist | None,
        netlist_asset: str | None,
        netlist_file: str | os.PathLike | None,
        synthetic: dict[str, int] | None,
    ) -> Netlist:
        given = [v is not None for v in (netlist, netlist_asset, netlist_file, synthetic)]
        if sum(given) != 1:
            raise CircuitTrainingError("give exactly one of netlist, netlist_asset, netlist_file or synthetic")
        if netlist is not None:
            return netlist
        if synthetic is not None:
            from a2perf_circuit_training.synthetic import synthetic_netlist

            return synthetic_netlist(**synthetic)
        return load_netlist(_asset(netlist_asset) if netlist_asset else netlist_file)  # type: ignore[arg-type]

    def _build_graph(self) -> None:
        """Static features: hard macros, soft macros, then port clusters (ports bucketed by grid cell)."""
        n, p = self.netlist, self.parameters
        hard, soft, ports = n.hard_macros, n.soft_macros, n.ports
        col = np.clip(np.floor(self._x0[ports] / p.cell_width), 0, p.columns - 1).astype(np.int64)
        row = np.clip(np.floor(self._y0[ports] / p.cell_height), 0, p.rows - 1).astype(np.int64)
        clusters, port_cluster = np.unique(row * p.columns + col, return_inverse=True)
        self.graph_nodes = np.concatenate([hard, soft])
        self._num_macros = len(self.graph_nodes)
        graph_of_node = np.full(n.num_nodes, -1, dtype=np.int64)
        graph_of_node[self.graph_nodes] = np.arange(self._num_macros)
        graph_of_node[ports] = self._num_macros + port_cluster
        self._graph_of_node = graph_of_node
        count = self._num_macros + len(clusters)
        self.graph_nodes = np.concatenate([self.graph_nodes, np.full(len(clusters), -1)])
        self._cluster_members = port_cluster
        self._ports = ports
        self.node_types = np.concatenate(
            [np.full(len(hard), HARD_MACRO), np.full(len(soft), SOFT_MACRO), np.full(len(clusters), PORT_CLUSTER)]
        ).astype(np.int8)
        scale = p.width + p.height
        sizes = np.zeros((count, 2), dtype=np.float32)
        sizes[: len(hard), 0] = n.width[hard] / scale
        sizes[: len(hard), 1] = n.height[hard] / scale
        self.node_sizes = np.clip(sizes, 0.0, 1.0)
        a, b, w = self._edges
        ga, gb = graph_of_node[a], graph_of_node[b]
        keep = (ga >= 0) & (gb >= 0) & (ga != gb)
        lo, hi = np.minimum(ga[keep], gb[keep]), np.maximum(ga[keep], gb[keep])
        pairs, inverse = np.unique(lo * count + hi, return_inverse=True)
        weight = np.bincount(inverse, w[keep], minlength=len(pairs))
        if len(pairs) == 0:  # keep a fixed, non-empty shape
            pairs, weight = np.zeros(1, dtype=np.int64), np.zeros(1)
        else:
            weight = weight / weight.mean()
        self.edge_index = np.stack(np.divmod(pairs, count), axis=1).astype(np.int32)
        self.edge_weight = weight.astype(np.float32)
        self._port_cluster_xy = np.zeros((len(clusters), 2))
        if len(clusters):
            members = np.bincount(port_cluster, minlength=len(clusters))
            self._port_cluster_xy[:, 0] = np.bincount(port_cluster, self._x0[ports]) / members
            self._port_cluster_xy[:, 1] = np.bincount(port_cluster, self._y0[ports]) / members

    # --- episode -----------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self.x = self._x0.copy()
        self.y = self._y0.copy()
        self.orientation = self._orientation0.copy()
        self._step_index = 0
        self._placed = np.zeros(self.netlist.num_nodes, dtype=bool)
        self._placed[self._fixed] = True
        self._obstacles = list(self._fixed_hard)
        first = self._mask_for(self.macro_order[0])
        if not first.any():  # every episode would end before its first action
            node = int(self.macro_order[0])
            p = self.parameters
            raise CircuitTrainingError(
                f"the first macro to place, {self.netlist.names[node]!r} ({self.netlist.width[node]:g} x "
                f"{self.netlist.height[node]:g} um), has no legal cell on the {p.columns} x {p.rows} grid of the "
                f"{p.width:g} x {p.height:g} um canvas (canvas, blockages and fixed macros)"
            )
        self._set_mask(first)
        self._last_cost: dict[str, float] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self._reset_state()
        return self._observation(), self._info()

    @property
    def current_node(self) -> int:
        """Node index of the macro the next action places (the last one once the episode is over)."""
        return int(self.macro_order[min(self._step_index, len(self.macro_order) - 1)])

    def action_to_cell(self, action: int) -> tuple[int, int]:
        """(row, column) of the grid cell an action names; may lie outside the grid."""
        return action // MAX_GRID_SIZE - self._row_pad, action % MAX_GRID_SIZE - self._col_pad

    def cell_to_action(self, row: int, column: int) -> int:
        return (row + self._row_pad) * MAX_GRID_SIZE + column + self._col_pad

    def step(self, action: Any) -> tuple[dict, float, bool, bool, dict]:
        if self._step_index >= len(self.macro_order):
            raise CircuitTrainingError("the episode is over; call reset()")
        try:
            action = int(np.asarray(action).item())
        except (TypeError, ValueError):
            raise InfeasibleActionError(f"action must be one integer, got {action!r}") from None
        if not 0 <= action < MAX_GRID_SIZE * MAX_GRID_SIZE:
            raise InfeasibleActionError(f"action {action} is outside Discrete({MAX_GRID_SIZE * MAX_GRID_SIZE})")
        node = self.current_node
        if not self._mask[action]:
            row, col = self.action_to_cell(action)
            inside = 0 <= row < self.parameters.rows and 0 <= col < self.parameters.columns
            where = "overlap, spacing, canvas or blockage" if inside else "outside the grid"
            raise InfeasibleActionError(
                f"action {action} (grid row {row}, column {col}) is not legal for macro "
                f"{self.netlist.names[node]!r}: {where}; "
                "choose an action whose obs['mask'] entry is 1"
            )
        row, col = self.action_to_cell(action)
        self.x[node] = self._cell_x[col]
        self.y[node] = self._cell_y[row]
        self._placed[node] = True
        self._obstacles.append(node)
        self._step_index += 1
        if self._step_index == len(self.macro_order):
            cost = self._final_cost()
            self._set_mask(np.zeros(MAX_GRID_SIZE * MAX_GRID_SIZE, dtype=np.int8))
            return self._observation(), -cost["proxy"], True, False, self._info()
        self._set_mask(self._mask_for(self.current_node))
        if not self._mask.any():
            return self._observation(), self.infeasible_reward, True, False, self._info(infeasible=True)
        return self._observation(), 0.0, False, False, self._info()

    def _sizes(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Width and height as placed: swapped for orientations turned by 90 degrees (E, FE, W, FW)."""
        w, h = self.netlist.width[nodes], self.netlist.height[nodes]
        turned = self.orientation[nodes] >= 4
        return np.where(turned, h, w), np.where(turned, w, h)

    def _set_mask(self, mask: np.ndarray) -> None:
        self._mask = mask
        self._legal[:] = mask

    def _mask_for(self, node: int) -> np.ndarray:
        """Legal actions for ``node`` given the macros placed so far, as a flat 128*128 int8 array."""
        p = self.parameters
        tol = self.overlap_threshold
        half_w, half_h = self._sizes(np.array([node]))
        half_w, half_h = half_w[0] / 2, half_h[0] / 2
        cx, cy = self._cell_x, self._cell_y
        col_ok = (cx - half_w >= -tol) & (cx + half_w <= p.width + tol)
        row_ok = (cy - half_h >= -tol) & (cy + half_h <= p.height + tol)
        legal = np.outer(row_ok, col_ok)
        obstacles = np.asarray(self._obstacles, dtype=np.int64)
        if len(obstacles):
            gap = self.macro_spacing - tol
            widths, heights = self._sizes(obstacles)
            reach_x = half_w + widths / 2 + gap
            reach_y = half_h + heights / 2 + gap
            near_x = np.abs(cx[None, :] - self.x[obstacles][:, None]) < reach_x[:, None]
            near_y = np.abs(cy[None, :] - self.y[obstacles][:, None]) < reach_y[:, None]
            legal &= ~np.any(near_y[:, :, None] & near_x[:, None, :], axis=0)
        for blockage in p.blockages:
            near_x = (cx + half_w > blockage.x0 + tol) & (cx - half_w < blockage.x1 - tol)
            near_y = (cy + half_h > blockage.y0 + tol) & (cy - half_h < blockage.y1 - tol)
            legal &= ~np.outer(near_y, near_x)
        mask = np.zeros((MAX_GRID_SIZE, MAX_GRID_SIZE), dtype=np.int8)
        mask[self._row_pad : self._row_pad + p.rows, self._col_pad : self._col_pad + p.columns] = legal
        return mask.ravel()

    def _final_cost(self) -> dict[str, float]:
        n = self.netlist
        movable = self._soft_and_cells[~self._fixed[self._soft_and_cells]]
        x, y = force_directed_place(
            n, self.x, self.y, movable, (self.parameters.width, self.parameters.height), self.schedule, self._edges
        )
        self.x, self.y = x, y
        self._placed[movable] = True
        cost = PlacementCost(n, self.parameters, x=x, y=y, orientation=self.orientation, weights=self.weights)
        report = cost.report()
        self._final_placement_cost = cost
        self._last_cost = {
            "wirelength": report.wirelength_cost,
            "wirelength_um": report.wirelength,
            "density": report.density_cost,
            "congestion": report.congestion_cost,
            "proxy": report.proxy_cost,
        }
        if self.output_plc:
            Path(self.output_plc).write_text(self.placement_text())
        return self._last_cost

    def placement_text(self) -> str:
        """The current placement as a ``.plc`` file (hard macros fixed once placed)."""
        p = self.parameters
        header: dict[str, object] = {}
        if self._last_cost is not None:
            header = {
                "Wirelength": f"{self._last_cost['wirelength_um']:.3f}",
                "Wirelength cost": f"{self._last_cost['wirelength']:.6f}",
                "Congestion cost": f"{self._last_cost['congestion']:.6f}",
                "Density cost": f"{self._last_cost['density']:.6f}",
            }
        return format_plc(
            self.netlist, self.x, self.y, self.orientation, self._placed | self._fixed,
            columns=p.columns, rows=p.rows, width=p.width, height=p.height, header=header, blockages=p.blockages,
        )  # fmt: skip

    def _observation(self) -> dict[str, np.ndarray]:
        count = len(self.graph_nodes)
        scale = self.parameters.width + self.parameters.height
        xs = np.empty(count)
        ys = np.empty(count)
        macros = self.graph_nodes[: self._num_macros]
        xs[: self._num_macros] = self.x[macros]
        ys[: self._num_macros] = self.y[macros]
        xs[self._num_macros :] = self._port_cluster_xy[:, 0]
        ys[self._num_macros :] = self._port_cluster_xy[:, 1]
        placed = np.ones(count, dtype=np.int8)
        placed[: self._num_macros] = self._placed[macros]
        current = self._graph_of_node[self.current_node]
        return {
            "current_node": np.array([current], dtype=np.int32),
            "locations_x": np.clip(xs / scale, 0.0, 1.0).astype(np.float32),
            "locations_y": np.clip(ys / scale, 0.0, 1.0).astype(np.float32),
            "is_node_placed": placed,
            "mask": self._mask.copy(),
            "netlist_index": np.array([self.netlist_index], dtype=np.int32),
            # static features, computed once; copied so that callers may keep or modify them
            "node_types": self.node_types.copy(),
            "node_sizes": self.node_sizes.copy(),
            "edge_index": self.edge_index.copy(),
            "edge_weight": self.edge_weight.copy(),
        }

    def _info(self, infeasible: bool = False) -> dict[str, Any]:
        costs = self._last_cost or {}
        return {
            "action_mask": self._mask.copy(),
            "wirelength": costs.get("wirelength", NOT_COMPUTED),
            "density": costs.get("density", NOT_COMPUTED),
            "congestion": costs.get("congestion", NOT_COMPUTED),
            "proxy": costs.get("proxy", NOT_COMPUTED),
            "infeasible": infeasible,
            "macros_placed": self._step_index,
        }

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            return None
        from a2perf_circuit_training.render import render_placement

        congestion = None
        if self.render_congestion:
            cost = PlacementCost(self.netlist, self.parameters, x=self.x, y=self.y, orientation=self.orientation)
            h, v = cost.congestion_grids()
            congestion = np.maximum(h, v)
        return render_placement(
            self.netlist, self.parameters, self.x, self.y, self._placed, self.current_node, congestion=congestion
        )
