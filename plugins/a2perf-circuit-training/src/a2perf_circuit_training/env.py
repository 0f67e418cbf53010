"""The macro-placement environment: one hard macro per step on a grid, scored by the proxy cost.

Follows A2Perf's ``CircuitEnv``: hard macros in descending area order, equal areas in descending
node index (A2Perf sorts ascending by area and reverses the list), ``Discrete(128 * 128)`` actions
over the grid embedded in a 128 x 128 canvas, the macro centre at the chosen cell's centre,
reward 0 until the last macro and then ``-proxy_cost`` after a force-directed placement of the
soft macros and standard cells. The observation is A2Perf's, padded to fixed maxima so that every
design shares one space (``observation.py``).

Legality (the mask): the macro lies inside the canvas, keeps ``macro_spacing`` microns from every
placed hard macro (overlaps and gaps are compared with a tolerance of ``overlap_threshold``
microns) and does not overlap a blockage. Google's binary does not publish its mask rule.
"""

from __future__ import annotations

import functools
import hashlib
import os
import weakref
from pathlib import Path
from typing import Any

import gin
import gymnasium as gym
import numpy as np
from gymnasium import spaces

from a2perf_circuit_training.cost import (
    DEFAULT_MACRO_SPACING,
    DEFAULT_OVERLAP_THRESHOLD,
    CostParameters,
    PlacementCost,
    ProxyWeights,
)
from a2perf_circuit_training.errors import CircuitTrainingError, InfeasibleActionError
from a2perf_circuit_training.netlist import MACRO, STDCELL, Netlist, read_netlist
from a2perf_circuit_training.observation import (
    ObservationConfig,
    check_fits,
    macro_graph,
    static_features,
)
from a2perf_circuit_training.placer import ForceDirectedSchedule, connection_edges, force_directed_place
from a2perf_circuit_training.plc import Placement, apply_placement, format_plc, read_plc

NOT_COMPUTED = -1.0

# A2Perf's env runs this mixed-size pass (hard macros movable too) before it extracts features, so
# the observed location of a node not yet placed is where this pass put it.
INITIAL_LOCATION_SCHEDULE = ForceDirectedSchedule(
    steps=(100, 100, 100),
    attraction=(100.0, 1e-3, 1e-5),
    repulsion=(0.0, 1e5, 1e6),
    move_fraction=(0.01, 0.02, 0.02),
)

_INITIAL_LOCATIONS: dict[int, tuple[weakref.ref, dict[bytes, tuple[np.ndarray, np.ndarray]]]] = {}


def initial_locations(
    netlist: Netlist,
    x: np.ndarray,
    y: np.ndarray,
    movable: np.ndarray,
    canvas: tuple[float, float],
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """The mixed-size pass, computed once per netlist object and starting state (it takes seconds on
    ariane133, and generalization runs make many envs of one netlist; ``load_netlist`` shares it)."""
    digest = hashlib.sha1(b"".join(np.ascontiguousarray(a).tobytes() for a in (x, y, movable, canvas))).digest()
    entry = _INITIAL_LOCATIONS.get(id(netlist))
    if entry is None or entry[0]() is not netlist:
        for key in [key for key, (ref, _) in _INITIAL_LOCATIONS.items() if ref() is None]:
            del _INITIAL_LOCATIONS[key]
        entry = (weakref.ref(netlist), {})
        _INITIAL_LOCATIONS[id(netlist)] = entry
    results = entry[1]
    if digest not in results:
        results[digest] = force_directed_place(netlist, x, y, movable, canvas, INITIAL_LOCATION_SCHEDULE, edges)
    return results[digest]


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
        reset_on_infeasible: bool = True,
        macro_spacing: float = DEFAULT_MACRO_SPACING,
        overlap_threshold: float = DEFAULT_OVERLAP_THRESHOLD,
        weights: ProxyWeights | None = None,
        schedule: ForceDirectedSchedule | None = None,
        netlist_index: int = 0,
        output_plc: str | os.PathLike | None = None,
        render_congestion: bool = False,
        output_all_features: bool = False,
        max_num_nodes: int | None = None,
        max_num_edges: int | None = None,
        max_grid_size: int | None = None,
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
        self.reset_on_infeasible = bool(reset_on_infeasible)
        self.macro_spacing = float(macro_spacing)
        self.overlap_threshold = float(overlap_threshold)
        self.weights = weights if weights is not None else ProxyWeights()
        self.schedule = schedule
        self.netlist_index = int(netlist_index)
        self.output_plc = output_plc
        self.render_congestion = render_congestion
        self.output_all_features = bool(output_all_features)
        # keywords left out keep ObservationConfig's defaults, or its gin bindings (as in A2Perf)
        maxima = {"max_num_nodes": max_num_nodes, "max_num_edges": max_num_edges, "max_grid_size": max_grid_size}
        self.observation_config = ObservationConfig(**{k: v for k, v in maxima.items() if v is not None})
        grid = self.observation_config.max_grid_size

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
        self.graph = macro_graph(n, p, self._x0, self._y0, self._edges)
        check_fits(self.graph, p, self.observation_config, n.source)
        self._cell_x = (np.arange(p.columns) + 0.5) * p.cell_width
        self._cell_y = (np.arange(p.rows) + 0.5) * p.cell_height
        self._grid = grid
        self._row_pad = (grid - p.rows) // 2
        self._col_pad = (grid - p.columns) // 2
        self._build_initial_features()

        self._legal = np.zeros(grid * grid, dtype=np.int8)
        self.action_space = LegalActionSpace(grid * grid, self._legal)
        self.observation_space = self.observation_config.observation_space(
            all_features=self.output_all_features, netlist_index=self.netlist_index
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

    def _build_initial_features(self) -> None:
        """Padded features at reset, as A2Perf's extractor computes them once per env."""
        n, p, g = self.netlist, self.parameters, self.graph
        nodes = self.observation_config.max_num_nodes
        movable = np.flatnonzero(((n.kind == MACRO) | (n.kind == STDCELL)) & ~self._fixed)
        x, y = initial_locations(n, self._x0, self._y0, movable, (p.width, p.height), self._edges)
        self.initial_x, self.initial_y = x, y  # read by the baselines: where unplaced nodes sit
        half_perimeter = p.width + p.height
        locations = np.zeros((2, nodes), dtype=np.float32)
        macros = g.macros
        locations[0, : len(macros)] = x[macros] / half_perimeter
        locations[1, : len(macros)] = y[macros] / half_perimeter
        locations[0, len(macros) : g.num_nodes] = g.cluster_xy[:, 0] / half_perimeter
        locations[1, len(macros) : g.num_nodes] = g.cluster_xy[:, 1] / half_perimeter
        placed = np.zeros(nodes, dtype=np.int32)
        placed[: len(macros)] = self._fixed[macros]
        placed[len(macros) : g.num_nodes] = 1
        self._initial_locations = locations
        self._initial_placed = placed
        self._static = (
            static_features(g, n, p, self.observation_config, self.netlist_index) if self.output_all_features else {}
        )
        self._fake_net_heatmap = np.zeros(self._grid * self._grid, dtype=np.float32)

    # --- episode -----------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self.x = self._x0.copy()
        self.y = self._y0.copy()
        self.orientation = self._orientation0.copy()
        self._step_index = 0
        self._placed = np.zeros(self.netlist.num_nodes, dtype=bool)
        self._placed[self._fixed] = True
        self._obstacles = list(self._fixed_hard)
        self._locations = self._initial_locations.copy()
        self._obs_placed = self._initial_placed.copy()
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
        return action // self._grid - self._row_pad, action % self._grid - self._col_pad

    def cell_to_action(self, row: int, column: int) -> int:
        """The action that puts the current macro's centre on grid cell (row, column)."""
        return (row + self._row_pad) * self._grid + column + self._col_pad

    def step(self, action: Any) -> tuple[dict, float, bool, bool, dict]:
        if self._step_index >= len(self.macro_order):
            raise CircuitTrainingError("the episode is over; call reset()")
        try:
            action = int(np.asarray(action).item())
        except (TypeError, ValueError):
            raise InfeasibleActionError(f"action must be one integer, got {action!r}") from None
        if not 0 <= action < self._grid * self._grid:
            raise InfeasibleActionError(f"action {action} is outside Discrete({self._grid * self._grid})")
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
        position = self.graph.position[node]
        half_perimeter = self.parameters.width + self.parameters.height
        self._locations[0, position] = self.x[node] / half_perimeter
        self._locations[1, position] = self.y[node] / half_perimeter
        self._obs_placed[position] = 1
        self._step_index += 1
        if self._step_index == len(self.macro_order):
            cost = self._final_cost()
            self._set_mask(np.zeros(self._grid * self._grid, dtype=np.int8))
            return self._observation(), -cost["proxy"], True, False, self._info()
        self._set_mask(self._mask_for(self.current_node))
        if not self._mask.any():
            info = self._info(infeasible=True)
            if not self.reset_on_infeasible:
                return self._observation(), self.infeasible_reward, True, False, info
            # A2Perf: the env resets itself and returns the fresh observation, terminated and truncated
            self._reset_state()
            info["action_mask"] = self.action_masks()
            return self._observation(), self.infeasible_reward, True, True, info
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
        """Legal actions for ``node`` given the macros placed so far, as a flat int8 array over the padded grid."""
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
        mask = np.zeros((self._grid, self._grid), dtype=np.int8)
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
        """A2Perf's dynamic features (and its static ones with ``output_all_features``); fresh arrays."""
        done = self._step_index >= len(self.macro_order)
        current = 0 if done else int(self.graph.position[self.current_node])
        observation = {
            "locations_x": self._locations[0].copy(),
            "locations_y": self._locations[1].copy(),
            "is_node_placed": self._obs_placed.copy(),
            "current_node": np.array([current], dtype=np.int32),
            "fake_net_heatmap": self._fake_net_heatmap.copy(),
            "mask": self._mask.astype(np.int32),
            "netlist_index": np.array([self.netlist_index], dtype=np.int32),
        }
        for key, value in self._static.items():
            observation[key] = value.copy()
        return observation

    def action_masks(self) -> np.ndarray:
        """The legal actions of the current macro as a bool array (what sb3-contrib's MaskablePPO calls)."""
        return self._mask.astype(bool)

    def _info(self, infeasible: bool = False) -> dict[str, Any]:
        costs = self._last_cost or {}
        return {
            "action_mask": self._mask.astype(bool),
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
