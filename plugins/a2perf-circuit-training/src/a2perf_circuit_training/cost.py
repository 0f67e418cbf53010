"""The Circuit Training proxy cost (wirelength, density, congestion), exact and vectorised.

The numbers are those of Google's placement-cost binary as reverse-engineered by TILOS
MacroPlacement; the code is ours and works on whole arrays: per-net half-perimeters with
``reduceat``, density as one matrix product of per-node overlap lengths, and congestion routes as
difference arrays accumulated with ``bincount``. Moving one node updates the cost from the nets
that touch it (:meth:`PlacementCost.move_node`).

Off-canvas rule: a pin outside the canvas is counted in the nearest edge cell of the grid (its
row and column are clamped), and the blockage of a hard macro counts only for the cells it overlaps
inside the canvas. Nothing raises for off-canvas nodes.
"""

from __future__ import annotations

import math

import attrs
import gin
import numpy as np
from a2perf_circuit_training.errors import CircuitTrainingError
from a2perf_circuit_training.netlist import MACRO, MACRO_PIN, STDCELL, Netlist, pin_positions
from a2perf_circuit_training.plc import Blockage, Placement, apply_placement

#: Google's environment defaults (``create_placement_cost``)
DEFAULT_H_ROUTES_PER_MICRON = 70.33
DEFAULT_V_ROUTES_PER_MICRON = 74.51
DEFAULT_MACRO_ROUTING_ALLOCATION = 51.79
DEFAULT_SMOOTHING = 5
DEFAULT_OVERLAP_THRESHOLD = 4e-3
DEFAULT_MACRO_SPACING = 0.1


@gin.configurable
@attrs.frozen
class ProxyWeights:
    """Weights of the proxy cost; Google's environment uses 1, 1 and 0.5."""

    wirelength: float = 1.0
    density: float = 1.0
    congestion: float = 0.5


@attrs.frozen
class CostParameters:
    """Canvas, grid and routing parameters of a cost evaluation."""

    width: float
    height: float
    columns: int
    rows: int
    h_routes_per_micron: float = DEFAULT_H_ROUTES_PER_MICRON
    v_routes_per_micron: float = DEFAULT_V_ROUTES_PER_MICRON
    h_macro_allocation: float = DEFAULT_MACRO_ROUTING_ALLOCATION
    v_macro_allocation: float = DEFAULT_MACRO_ROUTING_ALLOCATION
    smoothing: int = DEFAULT_SMOOTHING
    overlap_threshold: float = DEFAULT_OVERLAP_THRESHOLD
    blockages: tuple[Blockage, ...] = attrs.field(default=(), converter=tuple)

    def __attrs_post_init__(self) -> None:
        if not (self.width > 0 and self.height > 0):
            raise CircuitTrainingError(f"canvas must have a positive size, got {self.width} x {self.height}")
        if self.columns < 1 or self.rows < 1:
            raise CircuitTrainingError(f"grid must have at least one cell, got {self.columns} x {self.rows}")
        if min(self.h_routes_per_micron, self.v_routes_per_micron) <= 0:
            raise CircuitTrainingError("routes per micron must be positive")
        if self.smoothing < 0:
            raise CircuitTrainingError(f"smoothing range must be >= 0, got {self.smoothing}")

    @property
    def cell_width(self) -> float:
        return self.width / self.columns

    @property
    def cell_height(self) -> float:
        return self.height / self.rows

    @classmethod
    def resolve(
        cls,
        netlist: Netlist,
        plc: Placement | None = None,
        *,
        use_plc_routing: bool = False,
        **overrides: object,
    ) -> CostParameters:
        """Parameters from (lowest first) binary defaults, the netlist header, the plc header and
        ``overrides`` (entries that are ``None`` are ignored). The plc's routing, smoothing and
        overlap lines are used only with ``use_plc_routing`` (the environment ignores them, as
        Google's does; the ``cost`` command reads them)."""
        width, height = netlist.canvas or netlist.default_canvas()
        columns, rows = netlist.grid or (10, 10)
        values: dict[str, object] = {"width": width, "height": height, "columns": columns, "rows": rows}
        if plc is not None:
            if plc.width is not None and plc.height is not None:
                values["width"], values["height"] = plc.width, plc.height
            if plc.columns is not None and plc.rows is not None:
                values["columns"], values["rows"] = plc.columns, plc.rows
            values["blockages"] = tuple(plc.blockages)
            if use_plc_routing:
                if plc.routes_per_micron is not None:
                    values["h_routes_per_micron"], values["v_routes_per_micron"] = plc.routes_per_micron
                if plc.macro_routing_allocation is not None:
                    values["h_macro_allocation"], values["v_macro_allocation"] = plc.macro_routing_allocation
                if plc.smoothing is not None:
                    values["smoothing"] = int(plc.smoothing)
                if plc.overlap_threshold is not None:
                    values["overlap_threshold"] = plc.overlap_threshold
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]


@attrs.frozen
class CostReport:
    """Every number of one cost evaluation."""

    wirelength: float
    wirelength_cost: float
    density_cost: float
    congestion_cost: float
    proxy_cost: float
    weights: ProxyWeights

    def as_dict(self) -> dict[str, float]:
        return {
            "wirelength": self.wirelength,
            "wirelength_cost": self.wirelength_cost,
            "density_cost": self.density_cost,
            "congestion_cost": self.congestion_cost,
            "proxy_cost": self.proxy_cost,
        }


def interval_overlaps(low: np.ndarray, high: np.ndarray, size: float, count: int) -> np.ndarray:
    """Length of the overlap of each interval [low, high] with each of ``count`` cells of ``size``."""
    edges = np.arange(count + 1) * size
    return np.clip(np.minimum(high[:, None], edges[None, 1:]) - np.maximum(low[:, None], edges[None, :-1]), 0.0, None)


def cell_index(value: np.ndarray, size: float, count: int) -> np.ndarray:
    """Grid index of each coordinate, clamped to the grid (the off-canvas rule)."""
    return np.clip(np.floor(value / size), 0, count - 1).astype(np.int64)


def top_k_mean(values: np.ndarray, k: int) -> float:
    if k >= values.size:
        return float(values.mean())
    return float(np.partition(values, values.size - k)[values.size - k :].mean())


def _window_matrix(count: int, radius: int) -> np.ndarray:
    """``M[i, j] = 1/n_i`` when ``|i - j| <= radius``: spreading value i evenly over its clipped window."""
    index = np.arange(count)
    inside = np.abs(index[:, None] - index[None, :]) <= radius
    return inside / inside.sum(axis=1, keepdims=True)


class PlacementCost:
    """The proxy cost of a placement of ``netlist``, kept up to date under single-node moves."""

    def __init__(
        self,
        netlist: Netlist,
        parameters: CostParameters,
        *,
        x: np.ndarray | None = None,
        y: np.ndarray | None = None,
        orientation: np.ndarray | None = None,
        weights: ProxyWeights | None = None,
    ) -> None:
        self.netlist = netlist
        self.parameters = parameters
        self.weights = weights if weights is not None else ProxyWeights()
        self.x = np.array(netlist.x if x is None else x, dtype=np.float64)
        self.y = np.array(netlist.y if y is None else y, dtype=np.float64)
        self.orientation = np.array(netlist.orientation if orientation is None else orientation, dtype=np.int8)
        p = parameters
        self._cell_w = p.cell_width
        self._cell_h = p.cell_height
        self._smooth_columns = _window_matrix(p.columns, int(math.floor(p.smoothing)))
        self._smooth_rows = _window_matrix(p.rows, int(math.floor(p.smoothing))).T
        kind = netlist.kind
        self._area_nodes = np.flatnonzero((kind == MACRO) | (kind == STDCELL))
        self._hard_macros = netlist.hard_macros
        self._net_weight = netlist.net_weight.astype(np.float64)
        self._net_count = float(self._net_weight.sum())
        # node -> the nets it (or one of its pins) belongs to
        net_of_slot = np.repeat(np.arange(netlist.num_nets), np.diff(netlist.net_ptr))
        owner = netlist.net_pins.copy()
        pinned = netlist.parent[owner] >= 0
        owner[pinned] = netlist.parent[owner[pinned]]
        pairs = np.unique(owner * max(1, netlist.num_nets) + net_of_slot)
        pair_owner, pair_net = np.divmod(pairs, max(1, netlist.num_nets))
        self._owner_ptr = np.searchsorted(pair_owner, np.arange(netlist.num_nodes + 1))
        self._owner_nets = pair_net
        # node -> its pins
        pins = np.flatnonzero(netlist.parent >= 0)
        order = np.argsort(netlist.parent[pins], kind="stable")
        self._pins_by_parent = pins[order]
        self._pin_ptr = np.searchsorted(netlist.parent[pins][order], np.arange(netlist.num_nodes + 1))
        self.recompute()

    # --- full evaluation ---------------------------------------------------------------------

    def recompute(self) -> None:
        """Recompute every cached quantity from the current positions."""
        self.px, self.py = pin_positions(self.netlist, self.x, self.y, self.orientation)
        self._hpwl = self._net_hpwl(np.arange(self.netlist.num_nets))
        self._route_h, self._route_v = self._routes(np.arange(self.netlist.num_nets))
        self._density_area = self._overlap_area(self._area_nodes)
        self._macro_h, self._macro_v = self._macro_blockage(self._hard_macros)

    def _slots(self, nets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pin slots of ``nets``: (slot indices, position of the net in ``nets`` per slot, net starts)."""
        ptr = self.netlist.net_ptr
        starts = ptr[nets]
        lengths = ptr[nets + 1] - starts
        local_starts = np.zeros(len(nets), dtype=np.int64)
        np.cumsum(lengths[:-1], out=local_starts[1:])
        local = np.repeat(np.arange(len(nets)), lengths)
        slots = starts[local] + np.arange(int(lengths.sum())) - local_starts[local]
        return slots, local, local_starts

    def _net_hpwl(self, nets: np.ndarray) -> np.ndarray:
        if len(nets) == 0:
            return np.zeros(0)
        slots, _, starts = self._slots(nets)
        pins = self.netlist.net_pins[slots]
        px, py = self.px[pins], self.py[pins]
        return (
            np.maximum.reduceat(px, starts)
            - np.minimum.reduceat(px, starts)
            + np.maximum.reduceat(py, starts)
            - np.minimum.reduceat(py, starts)
        )

    def _routes(self, nets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unnormalised, unsmoothed H and V routing demand of ``nets`` on the grid (rows x columns)."""
        p = self.parameters
        C, R = p.columns, p.rows
        h_diff = np.zeros(R * (C + 1))  # row-major, one extra column
        v_diff = np.zeros((R + 1) * C)  # row-major, one extra row
        if len(nets) == 0:
            return np.zeros((R, C)), np.zeros((R, C))
        slots, local, starts = self._slots(nets)
        pins = self.netlist.net_pins[slots]
        col = cell_index(self.px[pins], self._cell_w, C)
        row = cell_index(self.py[pins], self._cell_h, R)
        weight = self._net_weight[nets]
        source_col = col[starts]
        source_row = row[starts]
        unique = np.unique(local * (C * R) + row * C + col)
        net, cell = np.divmod(unique, C * R)
        cell_row, cell_col = np.divmod(cell, C)
        cells_per_net = np.bincount(net, minlength=len(nets))

        h_segments: list[tuple[np.ndarray, ...]] = []  # (row, lo col, hi col, weight)
        v_segments: list[tuple[np.ndarray, ...]] = []  # (col, lo row, hi row, weight)

        # two cells, and more than three (a star of two-cell nets from the source)
        star = (cells_per_net[net] == 2) | (cells_per_net[net] > 3)
        star &= (cell_row != source_row[net]) | (cell_col != source_col[net])
        n, sink_r, sink_c = net[star], cell_row[star], cell_col[star]
        src_r, src_c, w = source_row[n], source_col[n], weight[n]
        h_segments.append((src_r, np.minimum(src_c, sink_c), np.maximum(src_c, sink_c), w))
        v_segments.append((sink_c, np.minimum(src_r, sink_r), np.maximum(src_r, sink_r), w))

        three = np.flatnonzero(cells_per_net == 3)
        if len(three):
            first = np.searchsorted(net, three)
            idx = first[:, None] + np.arange(3)[None, :]
            rows3, cols3 = cell_row[idx], cell_col[idx]
            w3 = weight[three]
            by_col = np.argsort(cols3 * R + rows3, axis=1)
            c = np.take_along_axis(cols3, by_col, axis=1)
            r = np.take_along_axis(rows3, by_col, axis=1)
            c1, c2, c3 = c.T
            r1, r2, r3 = r.T
            staircase = (c1 < c2) & (c2 < c3) & (np.minimum(r1, r3) < r2) & (r2 < np.maximum(r1, r3))
            corner = ~staircase & (c2 == c3) & (c1 < c2) & (r1 < np.minimum(r2, r3))
            flat = ~staircase & ~corner & (r2 == r3)
            tee = ~staircase & ~corner & ~flat
            m = staircase
            h_segments.append((r1[m], c1[m], c2[m], w3[m]))
            h_segments.append((r2[m], c2[m], c3[m], w3[m]))
            v_segments.append((c2[m], np.minimum(r1, r2)[m], np.maximum(r1, r2)[m], w3[m]))
            v_segments.append((c3[m], np.minimum(r2, r3)[m], np.maximum(r2, r3)[m], w3[m]))
            m = corner
            h_segments.append((r1[m], c1[m], c2[m], w3[m]))
            v_segments.append((c2[m], r1[m], np.maximum(r2, r3)[m], w3[m]))
            m = flat
            h_segments.append((r1[m], c1[m], c2[m], w3[m]))
            h_segments.append((r2[m], c2[m], c3[m], w3[m]))
            v_segments.append((c2[m], np.minimum(r1, r2)[m], np.maximum(r1, r2)[m], w3[m]))
            if tee.any():
                by_row = np.argsort(rows3[tee] * C + cols3[tee], axis=1)
                tr = np.take_along_axis(rows3[tee], by_row, axis=1)
                tc = np.take_along_axis(cols3[tee], by_row, axis=1)
                wt = w3[tee]
                h_segments.append((tr[:, 1], tc.min(axis=1), tc.max(axis=1), wt))
                v_segments.append((tc[:, 0], np.minimum(tr[:, 0], tr[:, 1]), np.maximum(tr[:, 0], tr[:, 1]), wt))
                v_segments.append((tc[:, 2], np.minimum(tr[:, 1], tr[:, 2]), np.maximum(tr[:, 1], tr[:, 2]), wt))

        fixed, low, high, w = (np.concatenate(parts) for parts in zip(*h_segments, strict=False))
        keep = high > low
        fixed, low, high, w = fixed[keep], low[keep], high[keep], w[keep]
        h_diff += np.bincount(fixed * (C + 1) + low, w, minlength=h_diff.size)
        h_diff -= np.bincount(fixed * (C + 1) + high, w, minlength=h_diff.size)
        fixed, low, high, w = (np.concatenate(parts) for parts in zip(*v_segments, strict=False))
        keep = high > low
        fixed, low, high, w = fixed[keep], low[keep], high[keep], w[keep]
        v_diff += np.bincount(low * C + fixed, w, minlength=v_diff.size)
        v_diff -= np.bincount(high * C + fixed, w, minlength=v_diff.size)
        route_h = np.cumsum(h_diff.reshape(R, C + 1), axis=1)[:, :C]
        route_v = np.cumsum(v_diff.reshape(R + 1, C), axis=0)[:R, :]
        return route_h, route_v

    def _overlap_area(self, nodes: np.ndarray) -> np.ndarray:
        """Σ over ``nodes`` of their rectangle's overlap area with each grid cell (rows x columns)."""
        p = self.parameters
        if len(nodes) == 0:
            return np.zeros((p.rows, p.columns))
        half_w, half_h = self._half_sizes(nodes)
        x, y = self.x[nodes], self.y[nodes]
        ox = interval_overlaps(x - half_w, x + half_w, self._cell_w, p.columns)
        oy = interval_overlaps(y - half_h, y + half_h, self._cell_h, p.rows)
        return oy.T @ ox

    def _half_sizes(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Half width and height, swapped for macros turned by 90 degrees (E, FE, W, FW)."""
        w, h = self.netlist.width[nodes], self.netlist.height[nodes]
        turned = self.orientation[nodes] >= 4
        return np.where(turned, h, w) / 2, np.where(turned, w, h) / 2

    def _macro_blockage(self, macros: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unnormalised H and V routing taken by hard macros (rows x columns)."""
        p = self.parameters
        C, R = p.columns, p.rows
        if len(macros) == 0:
            return np.zeros((R, C)), np.zeros((R, C))
        half_w, half_h = self._half_sizes(macros)
        x, y = self.x[macros], self.y[macros]
        xl, xh, yl, yh = x - half_w, x + half_w, y - half_h, y + half_h
        ox = interval_overlaps(xl, xh, self._cell_w, C)
        oy = interval_overlaps(yl, yh, self._cell_h, R)
        col_lo, col_hi = cell_index(xl, self._cell_w, C), cell_index(xh, self._cell_w, C)
        row_lo, row_hi = cell_index(yl, self._cell_h, R), cell_index(yh, self._cell_h, R)
        cols, rows = np.arange(C)[None, :], np.arange(R)[None, :]
        in_cols = (cols >= col_lo[:, None]) & (cols <= col_hi[:, None])
        in_rows = (rows >= row_lo[:, None]) & (rows <= row_hi[:, None])
        span = np.arange(len(macros))
        tolerance = 1e-5
        partial_rows = (row_hi > row_lo) & (
            (np.abs(oy[span, row_lo] - self._cell_h) > tolerance)
            | (np.abs(oy[span, row_hi] - self._cell_h) > tolerance)
        )
        partial_cols = (col_hi > col_lo) & (
            (np.abs(ox[span, col_lo] - self._cell_w) > tolerance)
            | (np.abs(ox[span, col_hi] - self._cell_w) > tolerance)
        )
        v_rows = in_rows.astype(np.float64)
        v_rows[span[partial_rows], row_hi[partial_rows]] = 0.0
        h_cols = in_cols.astype(np.float64)
        h_cols[span[partial_cols], col_hi[partial_cols]] = 0.0
        macro_v = v_rows.T @ (ox * in_cols) * p.v_macro_allocation
        macro_h = (oy * in_rows).T @ h_cols * p.h_macro_allocation
        return macro_h, macro_v

    # --- costs -------------------------------------------------------------------------------

    def wirelength(self) -> float:
        """Σ over nets of driver weight x half-perimeter wirelength, in microns."""
        return float(self._net_weight @ self._hpwl)

    def wirelength_cost(self) -> float:
        p = self.parameters
        if self._net_count == 0:
            return 0.0
        return self.wirelength() / ((p.width + p.height) * self._net_count)

    def density_grid(self) -> np.ndarray:
        return self._density_area / (self._cell_w * self._cell_h)

    def density_cost(self) -> float:
        p = self.parameters
        k = max(1, math.floor(0.1 * p.columns * p.rows))
        return 0.5 * top_k_mean(self.density_grid().ravel(), k)

    def congestion_grids(self) -> tuple[np.ndarray, np.ndarray]:
        """Normalised (H, V) congestion, smoothed net routing plus macro blockage."""
        p = self.parameters
        h_capacity = self._cell_h * p.h_routes_per_micron
        v_capacity = self._cell_w * p.v_routes_per_micron
        route_v = self._route_v @ self._smooth_columns
        route_h = self._smooth_rows @ self._route_h
        return (route_h + self._macro_h) / h_capacity, (route_v + self._macro_v) / v_capacity

    def congestion_cost(self) -> float:
        p = self.parameters
        h, v = self.congestion_grids()
        values = np.concatenate([v.ravel(), h.ravel()])
        k = math.floor(0.05 * 2 * p.columns * p.rows)
        return float(values.max()) if k == 0 else top_k_mean(values, k)

    def report(self) -> CostReport:
        w = self.weights
        wl, density, congestion = self.wirelength_cost(), self.density_cost(), self.congestion_cost()
        return CostReport(
            wirelength=self.wirelength(),
            wirelength_cost=wl,
            density_cost=density,
            congestion_cost=congestion,
            proxy_cost=w.wirelength * wl + w.density * density + w.congestion * congestion,
            weights=w,
        )

    def proxy_cost(self) -> float:
        return self.report().proxy_cost

    # --- incremental updates -----------------------------------------------------------------

    def move_node(self, node: int, x: float, y: float, orientation: int | None = None) -> None:
        """Move a macro, port or standard cell; only its nets and its own rectangle are recomputed."""
        kind = self.netlist.kind[node]
        if kind == MACRO_PIN:
            raise CircuitTrainingError(f"node {node} is a macro pin; move its macro {self.netlist.parent[node]}")
        nets = self._owner_nets[self._owner_ptr[node] : self._owner_ptr[node + 1]]
        has_area = kind in (MACRO, STDCELL)
        is_hard = kind == MACRO and not self.netlist.is_soft[node]
        one = np.array([node])
        old_h, old_v = self._routes(nets)
        self._route_h -= old_h
        self._route_v -= old_v
        if has_area:
            self._density_area -= self._overlap_area(one)
        if is_hard:
            mh, mv = self._macro_blockage(one)
            self._macro_h -= mh
            self._macro_v -= mv
        self.x[node] = x
        self.y[node] = y
        if orientation is not None:
            self.orientation[node] = orientation
        self._update_pins(node)
        new_h, new_v = self._routes(nets)
        self._route_h += new_h
        self._route_v += new_v
        self._hpwl[nets] = self._net_hpwl(nets)
        if has_area:
            self._density_area += self._overlap_area(one)
        if is_hard:
            mh, mv = self._macro_blockage(one)
            self._macro_h += mh
            self._macro_v += mv

    def _update_pins(self, node: int) -> None:
        from a2perf_circuit_training.netlist import ORIENTATION_MATRIX

        self.px[node] = self.x[node]
        self.py[node] = self.y[node]
        pins = self._pins_by_parent[self._pin_ptr[node] : self._pin_ptr[node + 1]]
        if len(pins):
            a, b, c, d = ORIENTATION_MATRIX[self.orientation[node]]
            dx, dy = self.netlist.x_offset[pins], self.netlist.y_offset[pins]
            self.px[pins] = self.x[node] + a * dx + b * dy
            self.py[pins] = self.y[node] + c * dx + d * dy


def evaluate(
    netlist: Netlist,
    plc: Placement | None = None,
    *,
    use_plc_routing: bool = True,
    weights: ProxyWeights | None = None,
    **overrides: object,
) -> tuple[PlacementCost, CostReport]:
    """Cost of ``netlist`` placed as in ``plc`` (or at its own coordinates)."""
    parameters = CostParameters.resolve(netlist, plc, use_plc_routing=use_plc_routing, **overrides)
    x, y, orientation = netlist.x.copy(), netlist.y.copy(), netlist.orientation.copy()
    if plc is not None:
        apply_placement(netlist, plc, x, y, orientation)
    cost = PlacementCost(netlist, parameters, x=x, y=y, orientation=orientation, weights=weights)
    return cost, cost.report()
