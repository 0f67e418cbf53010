"""Netlist and placement-file parsing: counts on the real designs, orientations, errors with lines."""

from __future__ import annotations

import numpy as np
import pytest
from a2perf_circuit_training.errors import NetlistFormatError
from a2perf_circuit_training.netlist import MACRO, ORIENTATION_CODE, parse_netlist, pin_positions, read_netlist
from a2perf_circuit_training.plc import format_plc, parse_plc


def node(name: str, kind: str, inputs: tuple[str, ...] = (), **attrs: object) -> str:
    lines = [f'node {{\n  name: "{name}"']
    lines += [f'  input: "{target}"' for target in inputs]
    attrs["type"] = kind
    for key, value in attrs.items():
        shown = f'placeholder: "{value}"' if isinstance(value, str) else f"f: {value}"
        lines.append(f'  attr {{\n    key: "{key}"\n    value {{\n      {shown}\n    }}\n  }}')
    return "\n".join(lines) + "\n}\n"


def test_toy_design_counts_and_canvas(circuit_file):
    netlist = read_netlist(circuit_file("toy_macro_stdcell/netlist.pb.txt"))
    assert netlist.summary() == {
        "nodes": 30, "hard_macros": 2, "soft_macros": 0, "hard_macro_pins": 4, "soft_macro_pins": 0,
        "ports": 12, "stdcells": 12, "nets": 20,
    }  # fmt: skip
    assert netlist.canvas == (200.0, 100.0)


def test_ariane133_counts_match_source_notes(circuit_file):
    netlist = read_netlist(circuit_file("ariane133_ng45/netlist.pb.txt"))
    summary = netlist.summary()
    assert (summary["hard_macros"], summary["soft_macros"], summary["ports"]) == (133, 782, 495)
    assert (summary["hard_macro_pins"], summary["soft_macro_pins"], summary["nodes"]) == (7847, 10630, 19887)
    assert netlist.num_nets == 12422
    assert netlist.net_weight.sum() == 22584
    assert netlist.metadata == {"soft_macro_area_bloating_ratio": 2.0}


def test_lowercase_macro_without_grp_prefix_is_hard(circuit_file):
    netlist = read_netlist(circuit_file("macro_tiles_10x10/netlist.pb.txt"))
    assert len(netlist.hard_macros) == 100 and len(netlist.soft_macros) == 0
    clustered = read_netlist(circuit_file("sample_clustered/netlist.pb.txt"))
    assert [clustered.names[i] for i in clustered.soft_macros] == ["Grp_2"]


@pytest.mark.parametrize(
    ("orientation", "expected"),
    [("N", (3, 1)), ("FN", (-3, 1)), ("S", (-3, -1)), ("FS", (3, -1)),
     ("E", (1, -3)), ("FE", (-1, -3)), ("W", (-1, 3)), ("FW", (1, 3))],
)  # fmt: skip
def test_pin_offset_follows_orientation(orientation, expected):
    text = node("M", "MACRO", width=10, height=10, x=50, y=60, orientation=orientation)
    text += node("M/p", "MACRO_PIN", macro_name="M", x_offset=3, y_offset=1)
    netlist = parse_netlist(text)
    px, py = pin_positions(netlist, netlist.x, netlist.y, netlist.orientation)
    assert (px[1] - 50, py[1] - 60) == expected
    assert netlist.orientation[0] == ORIENTATION_CODE[orientation]


def test_nets_are_driver_then_fanout_and_metadata_is_not_indexed():
    text = "# FP bbox: {0.0 0.0} {30.0 20.0}\n"
    text += 'node {\n  name: "__metadata__"\n}\n'
    text += node("a", "PORT", ("b", "c"), x=0, y=0, side="left")
    text += node("b", "STDCELL", ("c",), width=1, height=1, x=5, y=5, weight=2)
    text += node("c", "STDCELL", width=1, height=1, x=9, y=9)
    netlist = parse_netlist(text)
    assert netlist.names == ["a", "b", "c"]
    assert netlist.canvas == (30.0, 20.0)
    assert netlist.net_ptr.tolist() == [0, 3, 5]
    assert netlist.net_pins.tolist() == [0, 1, 2, 1, 2]
    assert netlist.net_weight.tolist() == [1.0, 2.0]
    assert netlist.side == {0: "LEFT"}


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (node("a", "PORT", x=0, y=0) + 'node {\n  name: "b"\n  attr {\n    key: "x"\n    value {\n      f: oops\n', 27,
         "must be a number"),
        (node("a", "PORT", x=0, y=0) + 'node {\n  name: "b"\n  colour: "red"\n}\n', 24, "expected 'input', 'attr'"),
        (node("a", "PORT", ("zz",), x=0, y=0), 1, "'zz', which is not a node"),
        (node("a", "PORT", x=0, y=0) + node("a", "PORT", x=0, y=0), 22, "duplicate node name"),
        (node("a", "GATE", x=0, y=0), 1, "unknown type"),
        (node("p", "MACRO_PIN", macro_name="nope"), 1, "not a macro"),
        (node("a", "PORT") + "garbage\n", 10, "expected 'node {'"),
        (node("a", "PORT") + 'node {\n  name: "b"\n', 11, "end of file"),
        ("# comment\n# FP bbox: {0.0 0.0} {2x0.0 100.0}\n" + node("a", "PORT"), 2, "bad canvas"),
    ],
)  # fmt: skip
def test_malformed_netlist_reports_line(text, line, fragment):
    with pytest.raises(NetlistFormatError) as info:
        parse_netlist(text, source="bad.pb.txt")
    assert info.value.line == line, str(info.value)
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"bad.pb.txt:{line}: ")


def test_plc_header_body_and_round_trip(circuit_file):
    netlist = read_netlist(circuit_file("ariane133_ng45/netlist.pb.txt"))
    plc = parse_plc((circuit_file("ariane133_ng45/legalized.plc")).read_text())
    assert (plc.columns, plc.rows, plc.width, plc.height) == (24, 21, 1433.406, 1433.406)
    assert plc.routes_per_micron == (57.031, 56.818)
    assert plc.macro_routing_allocation == (39.583, 30.303)
    assert plc.smoothing == 0
    assert plc.recorded_costs["wirelength"] == 4763106.815
    assert len(plc.locations) == 133 + 782 + 495
    x, y, o = netlist.x.copy(), netlist.y.copy(), netlist.orientation.copy()
    for index, (nx, ny, _, _) in plc.locations.items():
        x[index], y[index] = nx, ny
    fixed = np.zeros(netlist.num_nodes, dtype=bool)
    text = format_plc(netlist, x, y, o, fixed, columns=24, rows=21, width=1433.406, height=1433.406)
    again = parse_plc(text)
    assert again.locations.keys() == plc.locations.keys()
    assert all(again.locations[i][:2] == plc.locations[i][:2] for i in plc.locations)
    hard = [i for i in plc.locations if netlist.kind[i] == MACRO and not netlist.is_soft[i]]
    assert all(again.locations[i][2] == o[i] for i in hard)
    assert sum(again.locations[i][3] for i in again.locations) == 0


def test_plc_blockage_and_bad_line():
    plc = parse_plc("# Columns : 2  Rows : 2\n# Blockage : 0 0 10 10 1.0\n3 1.5 2.5 N 1\n")
    assert plc.blockages[0].x1 == 10 and plc.locations == {3: (1.5, 2.5, 0, True)}
    with pytest.raises(NetlistFormatError, match=r"x\.plc:3: bad placement line"):
        parse_plc("# c\n0 1 2 - 0\n1 one 2 - 0\n", source="x.plc")


def test_written_netlist_parses_back_to_the_same_design():
    from a2perf_circuit_training.cost import CostParameters, PlacementCost
    from a2perf_circuit_training.netlist import format_netlist
    from a2perf_circuit_training.synthetic import synthetic_netlist

    original = synthetic_netlist(num_macros=5, num_stdcells=7, num_ports=4, seed=3)
    original.orientation[0] = ORIENTATION_CODE["FS"]
    original.weight[original.net_pins[0]] = 3.0
    again = parse_netlist(format_netlist(original))
    assert again.names == original.names and again.canvas == original.canvas and again.grid == original.grid
    for field in ("kind", "x", "y", "width", "height", "x_offset", "y_offset", "orientation", "weight", "parent",
                  "net_ptr", "net_pins"):  # fmt: skip
        assert np.array_equal(getattr(again, field), getattr(original, field)), field
    params = CostParameters(width=original.canvas[0], height=original.canvas[1], columns=6, rows=6)
    assert PlacementCost(again, params).report() == PlacementCost(original, params).report()


def test_corrupted_netlists_fail_only_with_format_errors(circuit_file):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    text = (circuit_file("toy_macro_stdcell/netlist.pb.txt")).read_text()

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(start=st.integers(0, len(text)), length=st.integers(0, 40), insert=st.text(max_size=8))
    def check(start: int, length: int, insert: str) -> None:
        corrupted = text[:start] + insert + text[start + length :]
        try:
            parse_netlist(corrupted, source="fuzz")
        except NetlistFormatError as error:
            assert error.line is None or 1 <= error.line <= corrupted.count("\n") + 1

    check()
