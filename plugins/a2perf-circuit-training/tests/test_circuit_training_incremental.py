"""Moving one node updates the cost from its nets only; the result equals a full recomputation."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_circuit_training.cost import CostParameters, PlacementCost
from a2perf_circuit_training.errors import CircuitTrainingError
from a2perf_circuit_training.netlist import MACRO, MACRO_PIN
from a2perf_circuit_training.synthetic import synthetic_netlist
from hypothesis import given, settings
from hypothesis import strategies as st

NETLIST = synthetic_netlist(num_macros=6, num_stdcells=10, num_ports=5, seed=7, pins_per_macro=4)
SIDE = NETLIST.canvas[0]
MOVABLE = np.flatnonzero(NETLIST.kind != MACRO_PIN)

moves = st.lists(
    st.tuples(
        st.sampled_from(MOVABLE.tolist()),
        st.floats(-0.2 * SIDE, 1.2 * SIDE),  # off-canvas positions included
        st.floats(-0.2 * SIDE, 1.2 * SIDE),
        st.integers(0, 7),
    ),
    min_size=1,
    max_size=12,
)


def costs(cost: PlacementCost) -> np.ndarray:
    r = cost.report()
    return np.array([r.wirelength, r.wirelength_cost, r.density_cost, r.congestion_cost, r.proxy_cost])


@settings(max_examples=40, deadline=None)
@given(moves=moves, columns=st.integers(1, 9), rows=st.integers(1, 9), smoothing=st.integers(0, 3))
def test_incremental_equals_full_recomputation(moves, columns, rows, smoothing):
    params = CostParameters(width=SIDE, height=SIDE, columns=columns, rows=rows, smoothing=smoothing)
    incremental = PlacementCost(NETLIST, params)
    for node, x, y, orientation in moves:
        turn = orientation if NETLIST.kind[node] == MACRO else None
        incremental.move_node(node, x, y, turn)
    full = PlacementCost(NETLIST, params, x=incremental.x, y=incremental.y, orientation=incremental.orientation)
    np.testing.assert_allclose(costs(incremental), costs(full), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(incremental.density_grid(), full.density_grid(), rtol=1e-9, atol=1e-12)


def test_moving_a_macro_back_restores_the_cost_and_pins_are_refused():
    params = CostParameters(width=SIDE, height=SIDE, columns=8, rows=8)
    cost = PlacementCost(NETLIST, params)
    before = costs(cost)
    macro = int(NETLIST.hard_macros[0])
    x, y = cost.x[macro], cost.y[macro]
    cost.move_node(macro, SIDE * 0.9, SIDE * 0.1)
    assert not np.allclose(costs(cost), before)
    cost.move_node(macro, x, y)
    np.testing.assert_allclose(costs(cost), before, rtol=1e-12)
    with pytest.raises(CircuitTrainingError, match="macro pin"):
        cost.move_node(macro + 1, 0.0, 0.0)


def test_distinct_cells_in_small_table_groups_give_the_same_cost(monkeypatch):
    # the (net, cell) table that finds distinct cells is split into groups of nets when it would
    # exceed DEDUPE_TABLE_LIMIT entries; the groups must not change any number
    import a2perf_circuit_training.cost as cost_module

    netlist = synthetic_netlist(num_macros=30, num_stdcells=60, num_ports=12, seed=3, pins_per_macro=6)
    side = netlist.canvas[0]
    params = CostParameters(width=side, height=side, columns=7, rows=5, smoothing=1)
    whole = PlacementCost(netlist, params)
    monkeypatch.setattr(cost_module, "DEDUPE_TABLE_LIMIT", 3 * 7 * 5)
    grouped = PlacementCost(netlist, params)
    assert len(grouped._groups) > 3
    np.testing.assert_array_equal(grouped.congestion_grids()[0], whole.congestion_grids()[0])
    np.testing.assert_array_equal(grouped.congestion_grids()[1], whole.congestion_grids()[1])
    assert grouped.report() == whole.report()


def test_route_demand_without_the_key_histogram_is_the_same(monkeypatch):
    # small grids count routes per (row, column, column) key first; large grids add segment
    # ends directly: both must give the same grids, for full and incremental evaluation
    import a2perf_circuit_training.cost as cost_module

    netlist = synthetic_netlist(num_macros=30, num_stdcells=60, num_ports=12, seed=5, pins_per_macro=6)
    side = netlist.canvas[0]
    params = CostParameters(width=side, height=side, columns=6, rows=9, smoothing=2)
    costs_by_path = []
    for limit in (cost_module.ROUTE_HISTOGRAM_LIMIT, 0):
        monkeypatch.setattr(cost_module, "ROUTE_HISTOGRAM_LIMIT", limit)
        cost = PlacementCost(netlist, params)
        assert cost._route_histogram == (limit != 0)
        cost.move_node(int(netlist.hard_macros[0]), side * 0.3, side * 0.8, 5)
        costs_by_path.append(cost)
    for grid_a, grid_b in zip(costs_by_path[0].congestion_grids(), costs_by_path[1].congestion_grids(), strict=True):
        np.testing.assert_allclose(grid_a, grid_b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(costs(costs_by_path[0]), costs(costs_by_path[1]), rtol=1e-12)
