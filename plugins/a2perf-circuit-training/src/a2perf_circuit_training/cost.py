"""The Circuit Training proxy cost (wirelength, density, congestion), exact and vectorised.

The numbers are those of Google's placement-cost binary as reverse-engineered by TILOS
MacroPlacement; the code is ours and works on whole arrays. Everything that depends on the
netlist only is built once per :class:`PlacementCost`: nets are padded into a few (pins x nets)
buckets flattened into one entry array, so a full evaluation is a fixed sequence of long numpy
operations: half-perimeters as reductions along the short axis, distinct cells per net from pin
comparisons (small nets) or a (net, cell) table, every route (star, and three-cell routes as
two-cell routes) counted per (row, column, column) key with one ``bincount``, and density and
macro blockage from the (node, grid cell) pairs of the macros. Moving one node updates the cost
from the nets that touch it (:meth:`PlacementCost.move_node`).

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
#: Circuit Training's largest grid (``max_grid_size``): bounds every grid, the env's action canvas too
MAX_GRID_SIZE = 128
DEFAULT_H_ROUTES_PER_MICRON = 70.33
DEFAULT_V_ROUTES_PER_MICRON = 74.51
DEFAULT_MACRO_ROUTING_ALLOCATION = 51.79
DEFAULT_SMOOTHING = 5
DEFAULT_OVERLAP_THRESHOLD = 4e-3
DEFAULT_MACRO_SPACING = 0.1
#: most entries of the (net, grid cell) table that finds the distinct cells of nets; larger
#: designs are processed in groups of nets that fit
DEDUPE_TABLE_LIMIT = 1 << 23
#: largest rows x columns x max(rows, columns) for which routes are counted per (row, column,
#: column) key before they are spread on the grid
ROUTE_HISTOGRAM_LIMIT = 1 << 16
#: nets of up to this many pins find their distinct cells by comparing pins pairwise
COMPARE_WIDTH = 4


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
        if not (0 < self.width < math.inf and 0 < self.height < math.inf):
            raise CircuitTrainingError(f"canvas must have a positive, finite size, got {self.width} x {self.height}")
        if not (1 <= self.columns <= MAX_GRID_SIZE and 1 <= self.rows <= MAX_GRID_SIZE):
            raise CircuitTrainingError(
                f"grid must have 1 to {MAX_GRID_SIZE} columns and rows, got {self.columns} x {self.rows}"
            )
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
        known = {field.name for field in attrs.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise CircuitTrainingError(f"unknown cost parameter(s) {unknown}; known: {sorted(known)}")
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


def cell_index(value: np.ndarray, size: float, count: int) -> np.ndarray:
    """Grid index of each coordinate, clamped to the grid (the off-canvas rule)."""
    # np.minimum(np.maximum(...)) is np.clip without its wrapper's overhead on short arrays
    return np.minimum(np.maximum(np.floor(value / size), 0), count - 1).astype(np.int64)


def top_k_mean(values: np.ndarray, k: int) -> float:
    if k >= values.size:
        return float(values.sum()) / values.size
    return float(np.partition(values, values.size - k)[values.size - k :].sum()) / k


def _window_matrix(count: int, radius: int) -> np.ndarray:
    """``M[i, j] = 1/n_i`` when ``|i - j| <= radius``: spreading value i evenly over its clipped window."""
    index = np.arange(count)
    inside = np.abs(index[:, None] - index[None, :]) <= radius
    return inside / inside.sum(axis=1, keepdims=True)


def bucket_widths(sizes: np.ndarray, piece_cost: int = 1000) -> list[int]:
    """Bucket widths (ascending, at least 2) for nets of ``sizes`` pins that minimise the padded
    entry count plus ``piece_cost`` per bucket: each bucket costs a fixed number of numpy calls,
    each entry a fixed number of element operations. Dynamic programming over distinct sizes."""
    counts = np.bincount(np.maximum(sizes, 2), minlength=3)
    distinct = np.flatnonzero(counts).tolist()
    if not distinct:
        return [2]
    nets_before = np.concatenate([[0], np.cumsum(counts[distinct])]).tolist()
    best = [0.0] + [math.inf] * len(distinct)
    cut = [0] * (len(distinct) + 1)
    for k in range(1, len(distinct) + 1):
        for j in range(k):
            cost = best[j] + distinct[k - 1] * (nets_before[k] - nets_before[j]) + piece_cost
            if cost < best[k]:
                best[k], cut[k] = cost, j
    widths = []
    k = len(distinct)
    while k > 0:
        widths.append(distinct[k - 1])
        k = cut[k]
    return widths[::-1]


def net_buckets(netlist: Netlist) -> list[tuple[np.ndarray, np.ndarray]]:
    """Nets grouped by padded size: (net ids, width x nets pin matrix) with the driver in row 0.

    Rows are padded by repeating the driver, which changes neither a bounding box nor a set of
    cells, so per-net reductions become plain reductions along axis 0 of a few dense matrices.
    """
    sizes = np.diff(netlist.net_ptr)
    widths = bucket_widths(sizes)
    buckets = []
    lower = 0
    for width in widths:
        nets = np.flatnonzero((sizes > lower) & (sizes <= width))
        lower = width
        if len(nets) == 0:
            continue
        column = np.arange(width)[None, :]
        slot = netlist.net_ptr[nets][:, None] + column
        slot = np.where(column < sizes[nets][:, None], slot, netlist.net_ptr[nets][:, None])
        buckets.append((nets, np.ascontiguousarray(netlist.net_pins[slot].T)))
    return buckets


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
        self._cell_sizes = np.array([[self._cell_w], [self._cell_h]])
        self._cell_last = np.array([[p.columns - 1.0], [p.rows - 1.0]])
        self._smooth_radius = int(math.floor(p.smoothing))
        self._smooth_columns = _window_matrix(p.columns, self._smooth_radius)
        self._smooth_rows = _window_matrix(p.rows, self._smooth_radius).T
        kind = netlist.kind
        area_nodes = np.flatnonzero((kind == MACRO) | (kind == STDCELL))
        area_is_hard = (kind[area_nodes] == MACRO) & ~netlist.is_soft[area_nodes]
        # hard macros first: their (node, cell) pairs are then a prefix of all pairs
        self._area_nodes = np.concatenate([area_nodes[area_is_hard], area_nodes[~area_is_hard]])
        self._area_hard_count = int(area_is_hard.sum())
        self._area_index = np.arange(len(self._area_nodes))
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
        self._all_pins = np.flatnonzero(netlist.parent >= 0)
        self._all_pin_parents = netlist.parent[self._all_pins]
        self._build_layout()
        self.recompute()

    # --- full evaluation ---------------------------------------------------------------------

    def recompute(self) -> None:
        """Recompute every cached quantity from the current positions."""
        self._pins_stale = True  # node-indexed pin positions are rebuilt only if a move needs them
        self._recompute_nets()
        self._recompute_area()

    def _recompute_area(self) -> None:
        """Density area and hard-macro blockage from every (node, grid cell) pair of the macros
        and standard cells, the x and y axes stacked as rows of (2 x nodes) arrays."""
        p = self.parameters
        C, R = p.columns, p.rows
        nodes, hard = self._area_nodes, self._area_hard_count
        bounds = np.empty((2, 2, len(nodes)))  # [low, high] x [x, y] x nodes
        center = bounds[1]
        np.take(self.x, nodes, out=center[0], mode="clip")
        np.take(self.y, nodes, out=center[1], mode="clip")
        half = self._area_half_sizes()
        np.subtract(center, half, out=bounds[0])
        center += half
        sizes = self._cell_sizes  # (2 x 1): cell width, cell height
        grid = bounds / sizes
        np.floor(grid, out=grid)
        np.maximum(grid, 0.0, out=grid)
        np.minimum(grid, self._cell_last, out=grid)
        first, last = grid.astype(np.int64)
        span = last - first + 1
        per_node = span[0] * span[1]
        owner = np.repeat(self._area_index, per_node)
        start = np.cumsum(per_node) - per_node
        offset = np.arange(len(owner)) - np.take(start, owner, mode="clip")
        row_step, col_step = np.divmod(offset, np.take(span[0], owner, mode="clip"))
        # per pair, gathered one contiguous row at a time (numpy's fast path): cell column and row,
        # and the node's low and high x and y
        col_row = np.empty((2, len(owner)), dtype=np.int64)
        low_high = np.empty((2, 2, len(owner)))
        for axis in (0, 1):
            np.take(first[axis], owner, out=col_row[axis], mode="clip")
            np.take(bounds[0, axis], owner, out=low_high[0, axis], mode="clip")
            np.take(bounds[1, axis], owner, out=low_high[1, axis], mode="clip")
        col_row[0] += col_step
        col_row[1] += row_step
        # overlap of each pair's rectangle with its cell along x (row 0) and y (row 1)
        overlap = np.minimum(low_high[1], (col_row + 1) * sizes)
        overlap -= np.maximum(low_high[0], col_row * sizes)
        np.maximum(overlap, 0.0, out=overlap)
        cell = col_row[1] * C
        cell += col_row[0]
        self._density_area = np.bincount(cell, overlap[0] * overlap[1], R * C).reshape(R, C)
        pairs = int(start[hard]) if hard < len(nodes) else len(owner)  # hard macros come first
        if pairs == 0:
            self._macro_h, self._macro_v = np.zeros((R, C)), np.zeros((R, C))
            return
        # a multi-row (column) macro partly covering its first or last row (column) adds no V (H)
        # in its last row (column)
        low, high, first, last = bounds[0, :, :hard], bounds[1, :, :hard], first[:, :hard], last[:, :hard]
        cover_first = np.minimum(high, (first + 1) * sizes) - np.maximum(low, first * sizes)
        cover_last = np.minimum(high, (last + 1) * sizes) - np.maximum(low, last * sizes)
        tol = 1e-5
        partial = (last > first) & ((np.abs(cover_first - sizes) > tol) | (np.abs(cover_last - sizes) > tol))
        owner, col_row, overlap, cell = owner[:pairs], col_row[:, :pairs], overlap[:, :pairs], cell[:pairs]
        # row 0: last column (H), row 1: last row (V)
        drop = np.stack([np.take(partial[0], owner, mode="clip"), np.take(partial[1], owner, mode="clip")])
        drop &= col_row == np.stack([np.take(last[0], owner, mode="clip"), np.take(last[1], owner, mode="clip")])
        overlap[0, drop[1]] = 0.0
        overlap[1, drop[0]] = 0.0
        overlap[0] *= p.v_macro_allocation
        overlap[1] *= p.h_macro_allocation
        self._macro_v = np.bincount(cell, overlap[0], R * C).reshape(R, C)
        self._macro_h = np.bincount(cell, overlap[1], R * C).reshape(R, C)

    def _build_layout(self) -> None:
        """Netlist-only index arrays of the full evaluation, built once.

        Every net is one column of a (width x nets) matrix of its bucket (:func:`net_buckets`,
        driver in row 0, padded by repeating the driver); buckets are split into pieces of at most
        ``max_nets`` nets and all pieces are flattened, row-major, into one "entry" array. A piece
        is then a contiguous block whose reshape gives per-net reductions along axis 0, while
        per-entry work (positions, cells, distinct cells) runs as single long operations.
        """
        netlist, p = self.netlist, self.parameters
        cells = p.columns * p.rows
        max_nets = max(1, DEDUPE_TABLE_LIMIT // cells)
        pieces: list[tuple[int, int, int, int]] = []  # (first entry, width, nets, first net)
        groups: list[tuple[int, int]] = []  # entry ranges whose nets fit one dedupe table
        node_parts, net_parts, row_parts, src_parts, local_parts, order_parts = [], [], [], [], [], []
        entry = net = 0
        group_entry = group_net = 0
        table_nets = 1  # most nets of one group
        for nets, pins in net_buckets(netlist):
            width = len(pins)
            for lo in range(0, len(nets), max_nets):
                part = pins[:, lo : lo + max_nets]
                n = part.shape[1]
                if width <= COMPARE_WIDTH:  # distinct cells of small nets come from comparisons
                    group_entry, group_net = entry + width * n, net + n
                elif net + n - group_net > max_nets:
                    groups.append((group_entry, entry))
                    table_nets = max(table_nets, net - group_net)
                    group_entry, group_net = entry, net
                pieces.append((entry, width, n, net))
                node_parts.append(part.ravel())
                column = np.tile(np.arange(n), width)
                net_parts.append(net + column)
                row_parts.append(np.repeat(np.arange(width), n))
                src_parts.append(entry + column)
                local_parts.append((net - group_net + column) * cells)
                order_parts.append(nets[lo : lo + max_nets])
                entry += width * n
                net += n
        groups.append((group_entry, entry))
        table_nets = max(table_nets, net - group_net, 1)

        def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate([*parts, np.zeros(0, dtype=dtype)]).astype(dtype)

        node = joined(node_parts, np.int64)
        self._pieces = pieces
        self._groups = groups
        self._net_order = joined(order_parts, np.int64)  # bucket position -> net id
        self._entry_node = node
        owner = node.copy()
        pinned = netlist.parent[owner] >= 0
        owner[pinned] = netlist.parent[owner[pinned]]
        self._entry_owner = owner
        self._owner_order = np.argsort(owner, kind="stable")
        # the nodes whose positions place the entries, and where each one's entries start in owner order
        self._owners, self._owner_starts = np.unique(owner[self._owner_order], return_index=True)
        self._entry_net = joined(net_parts, np.int64)
        row_dtype = np.uint8 if max((w for _, w, _, _ in pieces), default=1) <= 255 else np.int32
        self._entry_row = joined(row_parts, row_dtype)
        self._entry_src = joined(src_parts, np.int64)
        self._entry_key = joined(local_parts, np.int64)
        self._entry_weight = self._net_weight[self._net_order][self._entry_net]
        self._dedupe_table = np.zeros(table_nets * cells, dtype=row_dtype)
        self._net_scratch = np.zeros(max(net, 1), dtype=np.int64)
        self._hpwl_bucket = np.empty(net)
        # work arrays of the full evaluation, reused (fresh large arrays cost page faults)
        self._xy = np.empty((2, entry))
        # grid columns, rows and cells fit in 32 bits (less memory traffic); index arrays stay 64-bit
        self._col_row = np.empty((2, entry), dtype=np.int32)
        self._cell = np.empty(entry, dtype=np.int32)
        self._keep = np.empty(entry, dtype=bool)
        self._three_flags = np.zeros(entry, dtype=bool)
        self._star_flags = np.empty(entry, dtype=bool)
        self._table_key = np.empty(entry, dtype=np.int64)
        # bincount input of the route keys: at most one route per entry (a three-cell net has
        # three routes and at least three entries), two keys per route
        self._route_index = np.empty(2 * entry, dtype=np.int64)
        self._route_weights = np.empty(2 * entry)
        self._hpwl = np.zeros(self.netlist.num_nets)
        # per piece, views of those buffers: (width, 2 x width x nets positions, half-perimeters,
        # cells, distinct flags, three-cell flags)
        self._piece_views = []
        for first, width, n, net in pieces:
            span = slice(first, first + width * n)
            self._piece_views.append((
                width,
                self._xy[:, span].reshape(2, width, n),
                self._hpwl_bucket[net : net + n],
                self._cell[span].reshape(width, n),
                self._keep[span].reshape(width, n),
                self._three_flags[span].reshape(width, n),
            ))  # fmt: skip
        self._build_route_histogram()

    def _entry_offsets(self) -> np.ndarray:
        """(2 x entries) oriented pin offsets of the entries, cached until an orientation changes."""
        key = self.orientation.tobytes()
        if key != getattr(self, "_entry_offsets_key", None):
            zeros = np.zeros_like(self.x)
            dx, dy = pin_positions(self.netlist, zeros, zeros, self.orientation)
            self._entry_dxy = np.stack([dx[self._entry_node], dy[self._entry_node]])
            self._entry_offsets_key = key
            if self._entry_dxy.size:  # (2 x owners) smallest and largest offsets of each owner's entries
                by_owner = self._entry_dxy[:, self._owner_order]
                self._offset_low = np.minimum.reduceat(by_owner, self._owner_starts, axis=1)
                self._offset_high = np.maximum.reduceat(by_owner, self._owner_starts, axis=1)
        return self._entry_dxy

    def _entries_inside(self, x_scale: float, y_scale: float) -> bool:
        """Whether every entry's scaled position is in [0, columns) x [0, rows), from each owner's
        position and its extreme pin offsets only (a sufficient test: rounding is monotonic, so
        fl(x + dx) <= fl(x + max dx), and likewise for minima and the scaling)."""
        p = self.parameters
        x, y = np.take(self.x, self._owners, mode="clip"), np.take(self.y, self._owners, mode="clip")
        low, high = self._offset_low, self._offset_high
        return bool(
            (x + low[0]).min() >= 0.0
            and (y + low[1]).min() >= 0.0
            and (x + high[0]).max() * x_scale < p.columns
            and (y + high[1]).max() * y_scale < p.rows
        )

    def _recompute_nets(self) -> None:
        """Half-perimeters and routing demand of every net, from the entry layout."""
        p = self.parameters
        C, R = p.columns, p.rows
        xy = self._xy
        # mode="clip" on valid indices gives the same values and spares the buffered copy of `out`
        # that numpy makes in the default mode
        np.take(self.x, self._entry_owner, out=xy[0], mode="clip")
        np.take(self.y, self._entry_owner, out=xy[1], mode="clip")
        xy += self._entry_offsets()
        hpwl = self._hpwl_bucket
        views = self._piece_views
        for width, block, hpwl_out, *_ in views:
            if width == 2:
                span = np.abs(block[:, 0] - block[:, 1])
            else:
                span = block.max(axis=1)
                span -= block.min(axis=1)
            np.add(span[0], span[1], out=hpwl_out)
        self._hpwl[self._net_order] = hpwl
        # grid cells of the entries: clipping before truncation equals clamping after it; when no
        # pin is off the canvas (checked on the extremes, scaling is monotonic) scaling and
        # truncation are one operation per axis
        col_row = self._col_row
        x_scale, y_scale = 1.0 / self._cell_w, 1.0 / self._cell_h
        if (
            xy.size == 0
            or self._entries_inside(x_scale, y_scale)
            or (xy.min() >= 0.0 and xy[0].max() * x_scale < C and xy[1].max() * y_scale < R)
        ):
            np.multiply(xy[0], x_scale, out=col_row[0], casting="unsafe")
            np.multiply(xy[1], y_scale, out=col_row[1], casting="unsafe")
        else:
            xy[0] *= x_scale
            xy[1] *= y_scale
            np.minimum(np.maximum(xy[0], 0.0, out=xy[0]), C - 1, out=xy[0])
            np.minimum(np.maximum(xy[1], 0.0, out=xy[1]), R - 1, out=xy[1])
            np.copyto(col_row, xy, casting="unsafe")  # truncation
        col, row = col_row[0], col_row[1]
        cell = np.multiply(row, C, out=self._cell)
        cell += col
        # sinks: entries whose cell is not the driver's (row 0 of each piece) nor an earlier pin's
        keep = self._keep
        for width, _, _, cells, distinct, _ in views:
            np.not_equal(cells, cells[0], out=distinct)
            if width <= COMPARE_WIDTH:
                for i in range(2, width):
                    for j in range(1, i):
                        distinct[i] &= cells[i] != cells[j]
        # larger nets: all entries write their row (distinct within a net) at their (net, cell) key;
        # numpy keeps one of the values written to a key, so exactly one entry per key reads its own
        # row back (which one does not matter: all have the same cell)
        table, rows_of = self._dedupe_table, self._entry_row
        for lo, hi in self._groups:
            key = np.add(self._entry_key[lo:hi], cell[lo:hi], out=self._table_key[lo:hi])
            table[key] = rows_of[lo:hi]
            keep[lo:hi] &= np.take(table, key, mode="clip") == rows_of[lo:hi]
        # sinks of nets with exactly two sinks (three cells) take the three-cell routes; the flags of
        # two-pin nets stay False
        is_three = self._three_flags
        for width, _, _, _, distinct, three_flags in views:
            if width > 2:
                np.logical_and(distinct, distinct.sum(axis=0) == 2, out=three_flags)
        star = np.flatnonzero(np.greater(keep, is_three, out=self._star_flags))
        three = np.flatnonzero(is_three)
        src = self._entry_src
        # np.take (valid indices, mode="clip") is a faster gather than fancy indexing
        star_src = np.take(src, star, mode="clip")
        star_weight = np.take(self._entry_weight, star, mode="clip")
        star_row, star_col = np.take(row, star, mode="clip"), np.take(col, star, mode="clip")
        if self._route_histogram:  # (source cell, source row, sink cell, sink col, weight)
            star_part = (np.take(cell, star_src, mode="clip"), np.take(row, star_src, mode="clip"),
                         np.take(cell, star, mode="clip"), star_col, star_weight)  # fmt: skip
            pieces = []
        else:
            star_part = None
            pieces = [(np.take(row, star_src, mode="clip"), np.take(col, star_src, mode="clip"), star_row,
                       star_col, star_weight)]  # fmt: skip
        if len(three):
            # two sinks per net: one wins a scatter by net, the other is found by losing it
            scratch, three_net = self._net_scratch, np.take(self._entry_net, three, mode="clip")
            scratch[three_net] = three
            second = three[np.take(scratch, three_net, mode="clip") != three]
            first = np.take(scratch, np.take(self._entry_net, second, mode="clip"), mode="clip")
            ends = np.empty((3, len(second)), dtype=np.int64)
            np.take(src, second, out=ends[0], mode="clip")
            ends[1] = first
            ends[2] = second
            pieces.append(
                self._three_cell_pieces(
                    np.take(row, ends, mode="clip"),
                    np.take(col, ends, mode="clip"),
                    np.take(self._entry_weight, second, mode="clip"),
                )
            )
        self._route_h, self._route_v = self._route_demand(pieces, histogram=self._route_histogram, star=star_part)

    @property
    def px(self) -> np.ndarray:
        """x of every node, pins at their macro's centre plus the oriented offset."""
        self._ensure_pins()
        return self._px

    @property
    def py(self) -> np.ndarray:
        self._ensure_pins()
        return self._py

    def _ensure_pins(self) -> None:
        if self._pins_stale:
            self._px, self._py = self._pin_positions()
            self._pins_stale = False

    def _pin_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Like :func:`~a2perf_circuit_training.netlist.pin_positions`, with the oriented pin offsets
        cached until an orientation changes (macros move far more often than they flip)."""
        key = self.orientation.tobytes()
        if key != getattr(self, "_offsets_key", None):
            pins = self._all_pins
            px, py = pin_positions(self.netlist, np.zeros_like(self.x), np.zeros_like(self.y), self.orientation)
            self._pin_dx, self._pin_dy = px[pins], py[pins]
            self._offsets_key = key
        pins, parents = self._all_pins, self._all_pin_parents
        px = self.x.copy()
        py = self.y.copy()
        px[pins] = self.x[parents] + self._pin_dx
        py[pins] = self.y[parents] + self._pin_dy
        return px, py

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
        return (np.maximum.reduceat(px, starts) - np.minimum.reduceat(px, starts)) + (
            np.maximum.reduceat(py, starts) - np.minimum.reduceat(py, starts)
        )

    def _routes(self, nets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unnormalised, unsmoothed H and V routing demand of ``nets`` on the grid (rows x columns)."""
        p = self.parameters
        C, R = p.columns, p.rows
        if len(nets) == 0:
            return np.zeros((R, C)), np.zeros((R, C))
        slots, local, starts = self._slots(nets)
        pins = self.netlist.net_pins[slots]
        cell = self._node_cells(pins)
        weight = self._net_weight[nets]
        source_cell = cell[starts]
        keys = np.sort(local * (C * R) + cell)
        unique = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
        net, cell = np.divmod(unique, C * R)
        cells_per_net = np.bincount(net, minlength=len(nets))
        star = ((cells_per_net[net] == 2) | (cells_per_net[net] > 3)) & (cell != source_cell[net])
        source_r, source_c = np.divmod(source_cell[net[star]], C)
        sink_r, sink_c = np.divmod(cell[star], C)
        pieces = [(source_r, source_c, sink_r, sink_c, weight[net[star]])]
        three = np.flatnonzero(cells_per_net == 3)
        if len(three):
            first = np.searchsorted(net, three)
            rows3, cols3 = np.divmod(cell[first + np.arange(3)[:, None]], C)
            pieces.append(self._three_cell_pieces(rows3, cols3, weight[three]))
        return self._route_demand(pieces)

    def _node_cells(self, nodes: np.ndarray | None = None) -> np.ndarray:
        """Grid cell (row * columns + column) of the nodes' positions (all nodes by default), clamped."""
        p = self.parameters
        px = self.px if nodes is None else self.px[nodes]
        py = self.py if nodes is None else self.py[nodes]
        # truncation equals floor for x >= 0, and negative positions clamp to 0 either way
        col = np.clip((px * (1.0 / self._cell_w)).astype(np.int64), 0, p.columns - 1)
        row = np.clip((py * (1.0 / self._cell_h)).astype(np.int64), 0, p.rows - 1)
        return row * p.columns + col

    def _three_cell_pieces(self, rows: np.ndarray, cols: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, ...]:
        """Routes of nets with exactly three distinct cells (``rows`` and ``cols`` are 3 x nets, the
        cells in any order) as three two-cell routes each: (source row, source col, sink row, sink
        col, weight), each 3 x nets.

        With the cells ordered by (col, row), the staircase, corner and flat routes are exactly the
        chain 1 -> 2 -> 3 of two-cell routes (the corner's V segments [r1, r2) and [r2, r3) join on
        their shared column), and the third route gets weight 0. The T route (H along the median
        row over all columns, V from there to the first and last cell by (row, col)) is the three
        two-cell routes from (median row, median column) to each cell: the median column's route
        has no H, the median row's no V, and the other two H parts meet at the median column.
        """
        R = self.parameters.rows
        key = cols * R + rows
        ordered = np.empty_like(key)
        key.min(axis=0, out=ordered[0])
        key.max(axis=0, out=ordered[2])
        np.subtract(key.sum(axis=0), ordered[0] + ordered[2], out=ordered[1])
        sorted_c, sorted_r = np.divmod(ordered, R)
        (c1, c2, c3), (r1, r2, r3) = sorted_c, sorted_r
        c12 = c1 < c2
        staircase = c12 & (c2 < c3) & ((r2 - r1) * (r3 - r2) > 0)
        corner = c12 & (c2 == c3) & (r1 < r2)  # c2 == c3 puts r2 < r3
        tee = ~(staircase | corner | (r2 == r3))
        median_r = np.maximum(np.minimum(r1, r2), np.minimum(np.maximum(r1, r2), r3))
        src_r = np.empty_like(sorted_r)
        src_r[:2] = np.where(tee, median_r, sorted_r[:2])
        src_r[2] = median_r
        src_c = np.empty_like(sorted_c)
        src_c[1:] = c2
        src_c[0] = np.where(tee, c2, c1)
        sink = [1, 2, 0]
        w = np.empty((3, len(weight)))
        w[:2] = weight
        np.multiply(weight, tee, out=w[2])
        return src_r, src_c, sorted_r[sink], sorted_c[sink], w

    def _build_route_histogram(self) -> None:
        """Grids of up to ``ROUTE_HISTOGRAM_LIMIT`` (row, column, column) triples count routes per
        H key (source row, source col, sink col) and V key (source row, sink row, sink col) first,
        then spread the totals with 0/1 segment matrices: ``seg_h[(sc, c), j]`` is 1 when column j
        is in [min(sc, c), max(sc, c)), ``seg_v[i, (sr, r)]`` likewise for rows."""
        R, C = self.parameters.rows, self.parameters.columns
        self._route_histogram = R * C * max(R, C) <= ROUTE_HISTOGRAM_LIMIT
        if not self._route_histogram:
            return

        def segments(count: int) -> np.ndarray:  # (count * count) x count
            a, b = np.divmod(np.arange(count * count), count)
            j = np.arange(count)
            low, high = np.minimum(a, b)[:, None], np.maximum(a, b)[:, None]
            return ((low <= j) & (j < high)).astype(np.float64)

        self._seg_h = segments(C)
        self._seg_v = np.ascontiguousarray(segments(R).T)
        # products of at most 2**18 multiply-adds stay on one OpenBLAS thread (its threads stall
        # on a busy machine): H in chunks of source rows, V in chunks of grid rows
        self._h_chunk = max(1, (1 << 18) // (C * C * C))
        self._v_chunk = max(1, (1 << 18) // (R * R * C))

    def _route_demand(
        self,
        parts: list[tuple[np.ndarray, ...]],
        histogram: bool = False,
        star: tuple[np.ndarray, ...] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Grid demand (rows x columns, H and V) of two-cell routes given as parts of (source row,
        source col, sink row, sink col, weight) arrays: H along the source row over columns
        [min, max) of the two, V along the sink column over rows [min, max).

        Both difference arrays (H by rows of C + 1, then V by R + 1 rows of C) come from one
        ``bincount``. With ``histogram`` (the full evaluation on small grids) the routes are
        instead counted per H and V key (one ``bincount`` into reused buffers) and the totals
        spread over their segments by two small matrix products; ``star`` then gives more routes as
        (source cell, source row, sink cell, sink col, weight)."""
        R, C = self.parameters.rows, self.parameters.columns
        h_size = R * (C + 1)
        size = h_size + (R + 1) * C
        total = sum(part[4].size for part in parts) + (0 if star is None else star[4].size)
        per_route = 2 if histogram else 4
        if histogram:  # at most one route per entry: the reused buffers are large enough
            index, weights = self._route_index[: 2 * total], self._route_weights[: 2 * total]
        else:
            index, weights = np.empty(per_route * total, dtype=np.int64), np.empty(per_route * total)
        start = 0
        if star is not None:  # H key = source cell * C + sink col, V key = source row * R * C + sink cell
            src_cell, src_r, sink_cell, sink_c, w = star
            start = n = w.size
            h_key, v_key = index[:n], index[total : total + n]
            np.multiply(src_cell, C, out=h_key)
            h_key += sink_c
            np.multiply(src_r, R * C, out=v_key)
            v_key += sink_cell
            v_key += R * C * C
            weights[:n] = w
            weights[total : total + n] = w
        for src_r, src_c, sink_r, sink_c, w in parts:
            n = w.size
            src_r, src_c, sink_r, sink_c, w = (a.reshape(-1) for a in (src_r, src_c, sink_r, sink_c, w))
            slots = [slice(start + k * total, start + k * total + n) for k in range(per_route)]
            start += n
            if histogram:  # H key (source row, source col, sink col), V key (source row, sink row, sink col)
                h_key, v_key = index[slots[0]], index[slots[1]]
                np.multiply(src_r, C, out=h_key)
                h_key += src_c
                h_key *= C
                h_key += sink_c
                np.multiply(src_r, R, out=v_key)
                v_key += sink_r
                v_key *= C
                v_key += sink_c
                v_key += R * C * C
                weights[slots[0]] = w
                weights[slots[1]] = w
                continue
            h_low, h_high, v_low, v_high = (index[slot] for slot in slots)
            h_start = src_r * (C + 1)
            np.minimum(src_c, sink_c, out=h_low)
            h_low += h_start
            np.maximum(src_c, sink_c, out=h_high)
            h_high += h_start
            v_start = sink_c + h_size
            np.minimum(src_r, sink_r, out=v_low)
            v_low *= C
            v_low += v_start
            np.maximum(src_r, sink_r, out=v_high)
            v_high *= C
            v_high += v_start
            weights[slots[0]] = w
            np.negative(w, out=weights[slots[1]])
            weights[slots[2]] = w
            np.negative(w, out=weights[slots[3]])
        if histogram:
            # each key's total spread over its segment
            totals = np.bincount(index, weights, R * C * C + R * R * C)
            h = totals[: R * C * C].reshape(R, C * C)  # [source row, (source col, sink col)]
            v = totals[R * C * C :].reshape(R * R, C)  # [(source row, sink row), sink col]
            route_h, route_v = np.empty((R, C)), np.empty((R, C))
            for lo in range(0, R, self._h_chunk):
                np.matmul(h[lo : lo + self._h_chunk], self._seg_h, out=route_h[lo : lo + self._h_chunk])
            for lo in range(0, R, self._v_chunk):
                np.matmul(self._seg_v[lo : lo + self._v_chunk], v, out=route_v[lo : lo + self._v_chunk])
            return route_h, route_v
        diff = np.bincount(index, weights, size)
        route_h = np.cumsum(diff[:h_size].reshape(R, C + 1), axis=1)[:, :C]
        route_v = np.cumsum(diff[h_size:].reshape(R + 1, C), axis=0)[:R, :]
        return route_h, route_v

    def _area_half_sizes(self) -> np.ndarray:
        """:meth:`_half_sizes` of the macros and standard cells (2 x nodes), cached until an
        orientation changes."""
        key = self.orientation.tobytes()
        if key != getattr(self, "_area_half_key", None):
            self._area_half = np.stack(self._half_sizes(self._area_nodes))
            self._area_half_key = key
        return self._area_half

    def _half_sizes(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Half width and height, swapped for macros turned by 90 degrees (E, FE, W, FW)."""
        w, h = self.netlist.width[nodes], self.netlist.height[nodes]
        turned = self.orientation[nodes] >= 4
        return np.where(turned, h, w) / 2, np.where(turned, w, h) / 2

    # --- costs -------------------------------------------------------------------------------

    def wirelength(self) -> float:
        """Σ over nets of driver weight x half-perimeter wirelength, in microns."""
        return float(np.sum(self._net_weight * self._hpwl))  # not BLAS: its threads stall on a busy machine

    def wirelength_cost(self, wirelength: float | None = None) -> float:
        p = self.parameters
        if self._net_count == 0:
            return 0.0
        return (self.wirelength() if wirelength is None else wirelength) / ((p.width + p.height) * self._net_count)

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
        if self._smooth_radius == 0:  # the window matrices are identities: products change nothing
            route_v, route_h = self._route_v, self._route_h
        else:
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
        wirelength = self.wirelength()
        wl, density, congestion = self.wirelength_cost(wirelength), self.density_cost(), self.congestion_cost()
        return CostReport(
            wirelength=wirelength,
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
        old_h, old_v = self._routes(nets)
        self._route_h -= old_h
        self._route_v -= old_v
        if has_area:
            self._add_rectangle(node, -1.0, is_hard)
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
            self._add_rectangle(node, 1.0, is_hard)

    def _add_rectangle(self, node: int, sign: float, is_hard: bool) -> None:
        """Add (sign 1) or remove (-1) one node's density and, for a hard macro, its blockage;
        the same rules as :meth:`_recompute_area`, on the few cells it reaches."""
        p = self.parameters
        gw, gh = self._cell_w, self._cell_h
        half_w, half_h = (float(v[0]) for v in self._half_sizes(np.array([node])))
        xl, xh = float(self.x[node]) - half_w, float(self.x[node]) + half_w
        yl, yh = float(self.y[node]) - half_h, float(self.y[node]) + half_h

        def index(value: float, size: float, count: int) -> int:
            return min(max(math.floor(value / size), 0), count - 1)

        c0, c1 = index(xl, gw, p.columns), index(xh, gw, p.columns)
        r0, r1 = index(yl, gh, p.rows), index(yh, gh, p.rows)
        cols = np.arange(c0, c1 + 1)
        rows = np.arange(r0, r1 + 1)
        cover_x = np.minimum(xh, (cols + 1) * gw) - np.maximum(xl, cols * gw)
        cover_y = np.minimum(yh, (rows + 1) * gh) - np.maximum(yl, rows * gh)
        ox = np.clip(cover_x, 0, None)
        oy = np.clip(cover_y, 0, None)
        self._density_area[r0 : r1 + 1, c0 : c1 + 1] += sign * np.outer(oy, ox)
        if not is_hard:
            return
        tol = 1e-5
        keep_rows = np.ones(len(rows))
        if r1 > r0 and (abs(cover_y[0] - gh) > tol or abs(cover_y[-1] - gh) > tol):
            keep_rows[-1] = 0.0
        keep_cols = np.ones(len(cols))
        if c1 > c0 and (abs(cover_x[0] - gw) > tol or abs(cover_x[-1] - gw) > tol):
            keep_cols[-1] = 0.0
        self._macro_v[r0 : r1 + 1, c0 : c1 + 1] += (sign * p.v_macro_allocation) * np.outer(keep_rows, ox)
        self._macro_h[r0 : r1 + 1, c0 : c1 + 1] += (sign * p.h_macro_allocation) * np.outer(oy, keep_cols)

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
