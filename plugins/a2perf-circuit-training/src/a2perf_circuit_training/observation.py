"""A2Perf's observation: features of the macro graph padded to fixed maxima.

A2Perf's ``ObservationExtractor`` (with ``ObservationConfig``'s maxima 3500 nodes, 42000 edges,
128 x 128 grid) gives every design the same observation space, so one policy network serves the
training netlist and the generalization netlists. The graph nodes are the macros (hard and soft)
in node-index order (``plc.get_macro_indices()``), then one node per grid cell that holds ports,
in ascending cell index; a cluster sits at the cell centre, or on the canvas edge or corner when
the cell touches the boundary (``_get_clustered_port_locations``). Edges join macros with macros
and macros with port clusters; weights are driver-sink pin pairs merged per pair of objects.
"""

from __future__ import annotations

import attrs
import gin
import numpy as np
from gymnasium import spaces

from a2perf_circuit_training.cost import MAX_GRID_SIZE, CostParameters
from a2perf_circuit_training.errors import CircuitTrainingError
from a2perf_circuit_training.netlist import Netlist

HARD_MACRO, SOFT_MACRO, PORT_CLUSTER = 1, 2, 3
EPSILON = 1e-6  # ObservationExtractor.EPSILON, added to the mean edge weight

DYNAMIC_KEYS = ("locations_x", "locations_y", "is_node_placed", "current_node", "fake_net_heatmap", "mask")
STATIC_KEYS = (
    "normalized_num_edges",
    "normalized_num_hard_macros",
    "normalized_num_soft_macros",
    "normalized_num_port_clusters",
    "total_horizontal_routes_k",
    "total_vertical_routes_k",
    "total_macro_horizontal_routes_k",
    "total_macro_vertical_routes_k",
    "grid_cols",
    "grid_rows",
    "canvas_width",
    "canvas_height",
    "sparse_adj_i",
    "sparse_adj_j",
    "sparse_adj_weight",
    "edge_counts",
    "macros_w",
    "macros_h",
    "node_types",
)


def _check_positive(instance: object, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise CircuitTrainingError(f"{attribute.name} must be at least 1, got {value}")


@gin.configurable
@attrs.frozen
class ObservationConfig:
    """The padding maxima; A2Perf's defaults. Larger maxima fit larger designs but change the space."""

    max_num_nodes: int = attrs.field(default=3500, converter=int, validator=_check_positive)
    max_num_edges: int = attrs.field(default=42000, converter=int, validator=_check_positive)
    max_grid_size: int = attrs.field(default=MAX_GRID_SIZE, converter=int, validator=_check_positive)

    def __attrs_post_init__(self) -> None:
        if self.max_grid_size > MAX_GRID_SIZE:
            raise CircuitTrainingError(f"max_grid_size must be at most {MAX_GRID_SIZE}, got {self.max_grid_size}")

    def observation_space(self, *, all_features: bool = False, netlist_index: int = 0) -> spaces.Dict:
        """A2Perf's ``dynamic_observation_space``, or its full ``observation_space`` with ``all_features``.

        ``netlist_index``'s upper bound is the env's index (A2Perf's is 0, the default index).
        """
        nodes, edges, cells = self.max_num_nodes, self.max_num_edges, self.max_grid_size**2
        unit = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        routes = spaces.Box(0.0, 1000.0, shape=(1,), dtype=np.float32)
        entries: dict[str, spaces.Space] = {
            "is_node_placed": spaces.Box(0, 1, shape=(nodes,), dtype=np.int32),
            "locations_x": spaces.Box(0.0, 1.0, shape=(nodes,), dtype=np.float32),
            "locations_y": spaces.Box(0.0, 1.0, shape=(nodes,), dtype=np.float32),
            "current_node": spaces.Box(0, nodes - 1, shape=(1,), dtype=np.int32),
            "fake_net_heatmap": spaces.Box(0.0, 1.0, shape=(cells,), dtype=np.float32),
            "mask": spaces.Box(0, 1, shape=(cells,), dtype=np.int32),
            "netlist_index": spaces.Box(0, max(0, int(netlist_index)), shape=(1,), dtype=np.int32),
        }
        if all_features:
            entries.update(
                {
                    "normalized_num_edges": unit,
                    "normalized_num_hard_macros": unit,
                    "normalized_num_soft_macros": unit,
                    "normalized_num_port_clusters": unit,
                    "total_horizontal_routes_k": routes,
                    "total_vertical_routes_k": routes,
                    "total_macro_horizontal_routes_k": routes,
                    "total_macro_vertical_routes_k": routes,
                    "grid_cols": unit,
                    "grid_rows": unit,
                    "canvas_width": unit,
                    "canvas_height": unit,
                    "sparse_adj_i": spaces.Box(0, nodes - 1, shape=(edges,), dtype=np.int32),
                    "sparse_adj_j": spaces.Box(0, nodes - 1, shape=(edges,), dtype=np.int32),
                    "sparse_adj_weight": spaces.Box(0.0, 1000.0, shape=(edges,), dtype=np.float32),
                    "edge_counts": spaces.Box(0, edges - 1, shape=(nodes,), dtype=np.int32),
                    "macros_w": spaces.Box(0.0, 1.0, shape=(nodes,), dtype=np.float32),
                    "macros_h": spaces.Box(0.0, 1.0, shape=(nodes,), dtype=np.float32),
                    "node_types": spaces.Box(0, 3, shape=(nodes,), dtype=np.int32),
                }
            )
        return spaces.Dict(entries)


def clustered_port_location(cell: int, parameters: CostParameters) -> tuple[float, float]:
    """Where A2Perf puts the port cluster of a grid cell: its centre, pushed onto the canvas edge
    (or corner) when the cell is on the boundary."""
    p = parameters
    col, row = cell % p.columns, cell // p.columns
    x = 0.0 if col == 0 else p.width if col == p.columns - 1 else (col + 0.5) * p.cell_width
    y = 0.0 if row == 0 else p.height if row == p.rows - 1 else (row + 0.5) * p.cell_height
    return x, y


@attrs.frozen(eq=False)
class MacroGraph:
    """The nodes and edges A2Perf's observation describes, unpadded."""

    macros: np.ndarray  # node indices of the macros, ascending: graph positions 0 .. len - 1
    cluster_cells: np.ndarray  # grid cell of each port cluster, ascending
    position: np.ndarray  # graph position of every netlist node; -1 for pins, cells, ports
    node_types: np.ndarray  # (nodes,) HARD_MACRO / SOFT_MACRO / PORT_CLUSTER
    cluster_xy: np.ndarray  # (clusters, 2) microns
    adj_i: np.ndarray  # upper-triangle edges (i < j), ordered by (i, j)
    adj_j: np.ndarray
    adj_weight: np.ndarray  # summed pin-pair weights, not normalised

    @property
    def num_nodes(self) -> int:
        return len(self.node_types)


def macro_graph(
    netlist: Netlist,
    parameters: CostParameters,
    x: np.ndarray,
    y: np.ndarray,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> MacroGraph:
    """Macros in index order, port clusters by grid cell (positions clamped onto the grid), and the
    macro-macro and macro-cluster adjacency from ``edges`` (``placer.connection_edges``)."""
    p = parameters
    macros = np.sort(netlist.macros)
    ports = netlist.ports
    col = np.clip(np.floor(x[ports] / p.cell_width), 0, p.columns - 1).astype(np.int64)
    row = np.clip(np.floor(y[ports] / p.cell_height), 0, p.rows - 1).astype(np.int64)
    cells, port_cluster = np.unique(row * p.columns + col, return_inverse=True)
    position = np.full(netlist.num_nodes, -1, dtype=np.int64)
    position[macros] = np.arange(len(macros))
    position[ports] = len(macros) + port_cluster
    count = len(macros) + len(cells)
    node_types = np.full(count, PORT_CLUSTER, dtype=np.int32)
    node_types[: len(macros)] = np.where(netlist.is_soft[macros], SOFT_MACRO, HARD_MACRO)
    cluster_xy = np.array([clustered_port_location(int(c), p) for c in cells], dtype=np.float64).reshape(-1, 2)

    a, b, w = edges
    ga, gb = position[a], position[b]
    # ports connect to macros only in the adjacency: no cluster-cluster edges, no self loops
    keep = (ga >= 0) & (gb >= 0) & (ga != gb) & ((ga < len(macros)) | (gb < len(macros)))
    lo, hi = np.minimum(ga[keep], gb[keep]), np.maximum(ga[keep], gb[keep])
    pairs, inverse = np.unique(lo * count + hi, return_inverse=True)
    weight = np.bincount(inverse, w[keep], minlength=len(pairs))
    adj_i, adj_j = np.divmod(pairs, max(1, count))
    return MacroGraph(
        macros=macros,
        cluster_cells=cells,
        position=position,
        node_types=node_types,
        cluster_xy=cluster_xy,
        adj_i=adj_i,
        adj_j=adj_j,
        adj_weight=weight,
    )


def check_fits(graph: MacroGraph, parameters: CostParameters, config: ObservationConfig, source: str) -> None:
    """A design larger than the padding maxima is a user error, not a truncated observation."""
    p = parameters
    problems = []
    if graph.num_nodes > config.max_num_nodes:
        problems.append(
            f"{graph.num_nodes} graph nodes ({len(graph.macros)} macros + {len(graph.cluster_cells)} port clusters) "
            f"> max_num_nodes={config.max_num_nodes}"
        )
    if len(graph.adj_weight) > config.max_num_edges:
        problems.append(f"{len(graph.adj_weight)} edges > max_num_edges={config.max_num_edges}")
    if max(p.columns, p.rows) > config.max_grid_size:
        problems.append(f"a {p.columns} x {p.rows} grid > max_grid_size={config.max_grid_size}")
    if problems:
        raise CircuitTrainingError(
            f"netlist {source} does not fit the observation: {'; '.join(problems)} (raise the maxima as env keywords)"
        )


def _pad(values: np.ndarray, size: int, dtype: type) -> np.ndarray:
    padded = np.zeros(size, dtype=dtype)
    padded[: len(values)] = values
    return padded


def static_features(
    graph: MacroGraph,
    netlist: Netlist,
    parameters: CostParameters,
    config: ObservationConfig,
    netlist_index: int,
) -> dict[str, np.ndarray]:
    """A2Perf's static features (``_extract_static_features``), padded; only with ``output_all_features``."""
    p = parameters
    nodes, edges = config.max_num_nodes, config.max_num_edges
    half_perimeter = p.width + p.height
    hard = graph.node_types == HARD_MACRO
    widths = np.zeros(graph.num_nodes)
    heights = np.zeros(graph.num_nodes)
    widths[: len(graph.macros)] = np.where(hard[: len(graph.macros)], netlist.width[graph.macros], 0.0)
    heights[: len(graph.macros)] = np.where(hard[: len(graph.macros)], netlist.height[graph.macros], 0.0)
    edge_counts = np.bincount(graph.adj_i, minlength=nodes) + np.bincount(graph.adj_j, minlength=nodes)
    mean_weight = float(graph.adj_weight.mean()) if len(graph.adj_weight) else 0.0

    def one(value: float) -> np.ndarray:
        return np.array([value], dtype=np.float32)

    return {
        "normalized_num_edges": one(graph.adj_weight.sum() / edges),
        "normalized_num_hard_macros": one(np.sum(graph.node_types == HARD_MACRO) / nodes),
        "normalized_num_soft_macros": one(np.sum(graph.node_types == SOFT_MACRO) / nodes),
        "normalized_num_port_clusters": one(np.sum(graph.node_types == PORT_CLUSTER) / nodes),
        "total_horizontal_routes_k": one(p.h_routes_per_micron * p.height / 1000.0),
        "total_vertical_routes_k": one(p.v_routes_per_micron * p.width / 1000.0),
        "total_macro_horizontal_routes_k": one(p.h_macro_allocation * p.height / 1000.0),
        # A2Perf uses the horizontal allocation here too
        "total_macro_vertical_routes_k": one(p.h_macro_allocation * p.width / 1000.0),
        "grid_cols": one(p.columns / config.max_grid_size),
        "grid_rows": one(p.rows / config.max_grid_size),
        "canvas_width": one(p.width / half_perimeter),
        "canvas_height": one(p.height / half_perimeter),
        "sparse_adj_i": _pad(graph.adj_i, edges, np.int32),
        "sparse_adj_j": _pad(graph.adj_j, edges, np.int32),
        "sparse_adj_weight": _pad(graph.adj_weight / (mean_weight + EPSILON), edges, np.float32),
        "edge_counts": edge_counts.astype(np.int32),
        "macros_w": _pad(widths / half_perimeter, nodes, np.float32),
        "macros_h": _pad(heights / half_perimeter, nodes, np.float32),
        "node_types": _pad(graph.node_types, nodes, np.int32),
    }
