"""Inputs that used to be scored as plausible placements: each is now a one-line error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from a2perf_circuit_training.cost import evaluate
from a2perf_circuit_training.env import CircuitPlacementEnv
from a2perf_circuit_training.errors import CircuitTrainingError, NetlistFormatError
from a2perf_circuit_training.netlist import parse_netlist, read_netlist
from a2perf_circuit_training.plc import parse_plc, read_plc


def cost_cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from a2perf_core.cli import main; main()", "circuit", "cost", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_an_empty_netlist_or_a_plc_given_as_netlist_is_rejected(circuit_data, tmp_path):
    with pytest.raises(NetlistFormatError, match="no nodes"):
        parse_netlist("")
    with pytest.raises(NetlistFormatError, match="no nodes"):
        read_netlist(circuit_data / "simple_with_coords" / "initial.plc")  # header only: all comments
    with pytest.raises(NetlistFormatError):
        read_netlist(circuit_data / "ariane133_ng45" / "initial.plc")
    empty = tmp_path / "empty.pb.txt"
    empty.write_text("")
    assert_one_line_error(cost_cli("--netlist", str(empty)), "no nodes")


def truncated(path: Path, tmp_path: Path, keep_lines: int) -> Path:
    lines = path.read_text().splitlines(keepends=True)
    out = tmp_path / f"cut_{keep_lines}_{path.name}"
    out.write_text("".join(lines[:keep_lines]))
    return out


def test_a_truncated_plc_body_is_rejected(circuit_data, tmp_path):
    design = circuit_data / "ariane133_ng45"
    netlist = read_netlist(design / "netlist.pb.txt")
    full = (design / "legalized.plc").read_text().splitlines()
    cut = truncated(design / "legalized.plc", tmp_path, len(full) - 100)
    with pytest.raises(NetlistFormatError, match="truncated"):
        evaluate(netlist, read_plc(cut))
    # cut inside the last line: fewer fields than the lines before
    partial = tmp_path / "partial.plc"
    partial.write_text("\n".join(full[:-1]) + "\n" + " ".join(full[-1].split()[:3]) + "\n")
    with pytest.raises(NetlistFormatError, match="truncated"):
        read_plc(partial)
    assert_one_line_error(cost_cli("--netlist", str(design / "netlist.pb.txt"), "--plc", str(cut)), "truncated")


def test_a_plc_whose_header_lost_its_grid_is_rejected(circuit_data, tmp_path):
    design = circuit_data / "ariane133_ng45"
    netlist = read_netlist(design / "netlist.pb.txt")
    text = (design / "legalized.plc").read_text()
    no_grid = tmp_path / "no_grid.plc"
    no_grid.write_text("".join(line for line in text.splitlines(keepends=True) if "Columns" not in line))
    with pytest.raises(NetlistFormatError, match="Columns/Rows"):
        evaluate(netlist, read_plc(no_grid))
    with pytest.raises(NetlistFormatError, match="not a placement file"):
        evaluate(netlist, parse_plc("\n\n"))


def test_a_plc_of_another_design_is_rejected(circuit_data):
    ariane = read_netlist(circuit_data / "ariane133_ng45" / "netlist.pb.txt")
    tiles = read_netlist(circuit_data / "macro_tiles_10x10" / "netlist.pb.txt")
    with pytest.raises(NetlistFormatError, match="another design"):
        evaluate(tiles, read_plc(circuit_data / "ariane133_ng45" / "legalized.plc"))
    with pytest.raises(NetlistFormatError, match="another design"):
        evaluate(ariane, read_plc(circuit_data / "macro_tiles_10x10" / "initial.plc"))
    # without a counts block, a hard macro's line must carry an orientation and a port's must not
    toy = read_netlist(circuit_data / "toy_macro_stdcell" / "netlist.pb.txt")
    hard = int(toy.hard_macros[0])
    with pytest.raises(NetlistFormatError, match="another design"):
        evaluate(toy, parse_plc(f"# Columns : 20  Rows : 10\n# Width : 200  Height : 100\n{hard} 50 50 - 0\n"))


def test_every_shipped_plc_still_matches_its_netlist(circuit_data):
    checked = 0
    for design in sorted(p for p in circuit_data.iterdir() if (p / "netlist.pb.txt").is_file()):
        netlist = read_netlist(design / "netlist.pb.txt")
        for plc in sorted(design.glob("*.plc")):
            evaluate(netlist, read_plc(plc))
            checked += 1
    assert checked >= 8


def test_a_non_utf8_plc_is_a_format_error(circuit_data, tmp_path):
    bad = tmp_path / "latin1.plc"
    bad.write_bytes("# Columns : 20  Rows : 10\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(NetlistFormatError, match="not a text file"):
        read_plc(bad)
    netlist = circuit_data / "toy_macro_stdcell" / "netlist.pb.txt"
    assert_one_line_error(cost_cli("--netlist", str(netlist), "--plc", str(bad)), "not a text file")


def test_a_huge_grid_is_a_one_line_error(circuit_data):
    netlist = circuit_data / "toy_macro_stdcell" / "netlist.pb.txt"
    result = cost_cli("--netlist", str(netlist), "--columns", "100000", "--rows", "100000")
    assert_one_line_error(result, "1 to 128 columns and rows")


def test_a_first_macro_without_a_legal_cell_is_reported_at_construction(circuit_data):
    design = circuit_data / "toy_macro_stdcell"
    plc = parse_plc("# Columns : 20  Rows : 10\n# Width : 200  Height : 100\n# Blockage : 0 0 200 100 1\n")
    with pytest.raises(CircuitTrainingError, match="has no legal cell"):
        CircuitPlacementEnv(netlist_file=design / "netlist.pb.txt", placement=plc)
