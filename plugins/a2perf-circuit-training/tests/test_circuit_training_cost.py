"""The proxy cost against Google's published numbers and hand-computed small cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from a2perf_circuit_training.cost import CostParameters, PlacementCost, ProxyWeights, evaluate
from a2perf_circuit_training.netlist import parse_netlist, read_netlist
from a2perf_circuit_training.plc import read_plc

from .test_circuit_training_parsing import node


@pytest.fixture(scope="module")
def ariane133(circuit_file):
    return read_netlist(circuit_file("ariane133_ng45/netlist.pb.txt"))


def test_ariane133_legalized_matches_google(ariane133, circuit_file):
    plc = read_plc(circuit_file("ariane133_ng45/legalized.plc"))
    cost, report = evaluate(ariane133, plc)
    p = cost.parameters
    assert (p.columns, p.rows, p.smoothing) == (24, 21, 0)
    assert (p.h_routes_per_micron, p.v_routes_per_micron) == (57.031, 56.818)
    assert (p.h_macro_allocation, p.v_macro_allocation) == (39.583, 30.303)
    # reference_values.json: Google's header 0.0736 / 0.4988 / 0.7259, MacroPlacement's exact values below
    assert report.wirelength_cost == pytest.approx(0.073568224, rel=1e-6)
    assert report.density_cost == pytest.approx(0.498817906, rel=1e-6)
    assert report.congestion_cost == pytest.approx(0.725914890, rel=1e-6)
    assert report.wirelength == pytest.approx(4763106.815, rel=1e-6)
    assert report.proxy_cost == pytest.approx(0.935343575, rel=1e-6)
    assert round(report.congestion_cost, 4) == plc.recorded_costs["congestion_cost"]
    assert round(report.density_cost, 4) == plc.recorded_costs["density_cost"]


def test_ariane133_initial_with_macros_off_canvas_does_not_crash(ariane133, circuit_file):
    _, report = evaluate(ariane133, read_plc(circuit_file("ariane133_ng45/initial.plc")))
    assert report.wirelength == pytest.approx(3219213.9982, rel=1e-9)
    assert report.density_cost == pytest.approx(0.606734846, rel=1e-6)
    # documented rule: off-canvas pins are clamped into the edge cells (MacroPlacement with clamping)
    assert report.congestion_cost == pytest.approx(0.715673449, rel=1e-6)


def test_macro_tiles_netlist_only_matches_google(circuit_file):
    netlist = read_netlist(circuit_file("macro_tiles_10x10/netlist.pb.txt"))
    cost, report = evaluate(netlist)
    assert cost.parameters.width == pytest.approx(math.sqrt(250000 / 0.6))
    assert (cost.parameters.columns, cost.parameters.rows) == (10, 10)
    assert report.wirelength == 5400
    assert report.wirelength_cost == pytest.approx(0.007745966692414834, rel=1e-12)
    assert report.density_cost == pytest.approx(0.3570806661517036, rel=1e-12)


def ports_netlist(points: list[tuple[float, float]]) -> str:
    """One net driven by the first port with the others as sinks."""
    names = [f"p{i}" for i in range(len(points))]
    text = node(names[0], "PORT", tuple(names[1:]), x=points[0][0], y=points[0][1])
    for name, (x, y) in zip(names[1:], points[1:], strict=False):
        text += node(name, "PORT", x=x, y=y)
    return text


def routes(points: list[tuple[float, float]], smoothing: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """H and V congestion on a 5x5 grid of 10x10 cells with one route per micron (capacity 10)."""
    params = CostParameters(width=50, height=50, columns=5, rows=5, h_routes_per_micron=1, v_routes_per_micron=1,
                            smoothing=smoothing)  # fmt: skip
    h, v = PlacementCost(parse_netlist(ports_netlist(points)), params).congestion_grids()
    return np.rint(h * 10).astype(int), np.rint(v * 10).astype(int)


def cells(grid: np.ndarray) -> set[tuple[int, int]]:
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(grid), strict=False)}


def test_two_cell_net_goes_along_source_row_then_sink_column():
    h, v = routes([(5, 5), (35, 25)])  # source (row 0, col 0), sink (row 2, col 3)
    assert cells(h) == {(0, 0), (0, 1), (0, 2)}
    assert cells(v) == {(0, 3), (1, 3)}


def test_three_cell_staircase():
    h, v = routes([(5, 5), (25, 25), (45, 45)])  # (c,r) = (0,0) (2,2) (4,4): r2 strictly between
    assert cells(h) == {(0, 0), (0, 1), (2, 2), (2, 3)}
    assert cells(v) == {(0, 2), (1, 2), (2, 4), (3, 4)}


def test_three_cell_corner_when_two_share_the_last_column():
    h, v = routes([(5, 5), (35, 25), (35, 45)])  # (0,0) (3,2) (3,4)
    assert cells(h) == {(0, 0), (0, 1), (0, 2)}
    assert cells(v) == {(0, 3), (1, 3), (2, 3), (3, 3)}


def test_three_cell_flat_when_last_two_share_a_row():
    h, v = routes([(5, 35), (25, 5), (45, 5)])  # sorted by col: (0,3) (2,0) (4,0)
    assert cells(h) == {(3, 0), (3, 1), (0, 2), (0, 3)}
    assert cells(v) == {(0, 2), (1, 2), (2, 2)}


def test_three_cell_tee():
    h, v = routes([(5, 25), (25, 5), (45, 45)])  # (0,2) (2,0) (4,4): r2 not between -> T by rows
    # by row: (c,r) = (2,0) (0,2) (4,4): H on row 2 over cols [0,4), V col 2 rows [0,2), V col 4 rows [2,4)
    assert cells(h) == {(2, 0), (2, 1), (2, 2), (2, 3)}
    assert cells(v) == {(0, 2), (1, 2), (2, 4), (3, 4)}


def test_star_for_more_than_three_cells_and_duplicates_merge():
    h, v = routes([(5, 5), (15, 5), (5, 15), (25, 25), (26, 26)])  # 4 distinct cells
    assert h[0].tolist() == [2, 1, 0, 0, 0]  # to (1,0) and to (2,2) along row 0
    assert v[:, 2].tolist() == [1, 1, 0, 0, 0] and v[0, 0] == 1


def test_smoothing_spreads_v_along_rows_and_h_along_columns():
    # one V unit in cell (0,0); its clipped window is columns [0,1] -> 1/2 each
    params = CostParameters(width=50, height=50, columns=5, rows=5, h_routes_per_micron=1, v_routes_per_micron=1,
                            smoothing=1)  # fmt: skip
    _, v = PlacementCost(parse_netlist(ports_netlist([(5, 5), (5, 15)])), params).congestion_grids()
    assert v[0, :3].tolist() == pytest.approx([0.05, 0.05, 0.0])


def test_macro_blockage_drops_top_row_and_right_column_when_partial():
    text = node("M", "MACRO", width=13, height=13, x=11.5, y=11.5)  # covers [5,18]^2: 2x2 cells, partial
    params = CostParameters(width=50, height=50, columns=5, rows=5, h_routes_per_micron=1, v_routes_per_micron=1,
                            h_macro_allocation=2, v_macro_allocation=4, smoothing=0)  # fmt: skip
    h, v = PlacementCost(parse_netlist(text), params).congestion_grids()
    # V: x_overlap (5 then 8) * 4 / 10 in row 0 only (top row 1 dropped)
    assert v[:2, :2] == pytest.approx(np.array([[2.0, 3.2], [0.0, 0.0]]))
    # H: y_overlap (5 then 8) * 2 / 10 in column 0 only (right column 1 dropped)
    assert h[:2, :2] == pytest.approx(np.array([[1.0, 0.0], [1.6, 0.0]]))
    assert v.sum() == pytest.approx(5.2) and h.sum() == pytest.approx(2.6)


def test_density_top_ten_percent_and_weights_are_configurable():
    text = node("M", "MACRO", width=10, height=10, x=5, y=5) + node("S", "STDCELL", width=10, height=5, x=15, y=2.5)
    params = CostParameters(width=50, height=50, columns=5, rows=5)
    cost = PlacementCost(parse_netlist(text), params, weights=ProxyWeights(0.0, 2.0, 0.0))
    # 25 cells -> k = 2: cells 1.0 and 0.5 -> 0.5 * 0.75
    assert cost.density_cost() == pytest.approx(0.375)
    assert cost.proxy_cost() == pytest.approx(0.75)


@pytest.mark.slow
def test_force_directed_effect_script_starts_from_the_pinned_legalized_costs(circuit_data):
    """The README's force-directed row comes from docs/force_directed_effect.py: its "before" must be
    the reference cost of legalized.plc, and its "after" the same hard macros with our placer."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).parents[1] / "docs" / "force_directed_effect.py"
    spec = importlib.util.spec_from_file_location("force_directed_effect", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    effect = module.force_directed_effect(circuit_data / "ariane133_ng45", use_plc_routing=True)
    before, after = effect["legalized.plc"], effect["after our FD"]
    assert before["proxy"] == pytest.approx(0.935343575, rel=1e-6)
    assert before["density"] == pytest.approx(0.498817906, rel=1e-6)
    assert after["proxy"] != pytest.approx(before["proxy"], rel=1e-3)
    assert after["density"] > before["density"]
    rows = module.table_rows(circuit_data / "ariane133_ng45")
    assert rows[0].startswith("| ariane133, plc header routing") and f"proxy 0.935 -> {after['proxy']:.3f}" in rows[0]
