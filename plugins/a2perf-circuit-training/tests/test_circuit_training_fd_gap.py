"""Our end-of-episode force-directed placer against MacroPlacement's open one, on the same input.

``data/macroplacement_fd_ariane133.json`` holds the soft-macro positions MacroPlacement's C++
placer wrote for ariane133's ``legalized.plc`` hard macros and the costs of both placements (its
``recorded`` key says how). The README's force-directed row states the gap.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from a2perf_circuit_training.cost import CostParameters, PlacementCost, ProxyWeights
from a2perf_circuit_training.netlist import MACRO, STDCELL, read_netlist
from a2perf_circuit_training.placer import force_directed_place
from a2perf_circuit_training.plc import apply_placement, read_plc

DATA = json.loads((Path(__file__).parent / "data" / "macroplacement_fd_ariane133.json").read_text())
README = Path(__file__).parents[1] / "README.md"
COMPONENTS = ("wirelength", "density", "congestion", "proxy")


def readme_line(start: str) -> str:
    lines = [line for line in README.read_text().splitlines() if line.startswith(start)]
    assert lines, f"no README line starting with {start!r}"
    return lines[0]


def test_readme_states_the_gap_to_macroplacement() -> None:
    costs = DATA["costs"]["plc_header_routing"]
    theirs, ours = costs["macroplacement_cpp_fd"], costs["ours"]
    row = readme_line("| standard-cell and soft-macro placement at the end |")
    pairs = [f"{name} {theirs[name]:.3f} vs {ours[name]:.3f}" for name in COMPONENTS]
    assert ", ".join(pairs).replace(" vs ", " vs ours ", 1) in row
    assert f"(ours {(ours['proxy'] / theirs['proxy'] - 1) * 100:.1f} % higher; plc header routing)" in row
    for key, conditions in (
        ("plc_header_routing", "plc header routing, smoothing 0"),
        ("env_defaults", "env defaults"),
    ):
        before, after = DATA["costs"][key]["legalized.plc"], DATA["costs"][key]["macroplacement_cpp_fd"]
        cells = ", ".join(f"{name} {before[name]:.3f} -> {after[name]:.3f}" for name in COMPONENTS)
        assert readme_line(
            f"| ariane133, {conditions} | Google's soft macros in `legalized.plc` -> MacroPlacement's"
        ).endswith(f"| {cells} |")


@pytest.mark.slow
def test_both_placements_scored_on_the_same_input(circuit_data) -> None:
    design = circuit_data / "ariane133_ng45"
    netlist = read_netlist(design / "netlist.pb.txt")
    legalized = read_plc(design / "legalized.plc")
    parameters = CostParameters.resolve(netlist, legalized, use_plc_routing=True)
    x, y, orientation = netlist.x.copy(), netlist.y.copy(), netlist.orientation.copy()
    apply_placement(netlist, legalized, x, y, orientation)
    soft = np.flatnonzero((netlist.kind == MACRO) & netlist.is_soft)
    positions = DATA["soft_macro_positions"]
    assert sorted(int(i) for i in positions) == soft.tolist()
    theirs_x, theirs_y = x.copy(), y.copy()
    for index, (px, py) in positions.items():
        theirs_x[int(index)], theirs_y[int(index)] = px, py
    movable = np.flatnonzero(((netlist.kind == MACRO) & netlist.is_soft) | (netlist.kind == STDCELL))
    ours_x, ours_y = force_directed_place(netlist, x, y, movable, (parameters.width, parameters.height))
    expected = DATA["costs"]["plc_header_routing"]
    for label, (px, py) in {"macroplacement_cpp_fd": (theirs_x, theirs_y), "ours": (ours_x, ours_y)}.items():
        report = PlacementCost(
            netlist, parameters, x=px, y=py, orientation=orientation, weights=ProxyWeights()
        ).report()
        measured = (report.wirelength_cost, report.density_cost, report.congestion_cost, report.proxy_cost)
        assert measured == pytest.approx(tuple(expected[label][name] for name in COMPONENTS), rel=1e-6), label
