"""Reading and writing placement files (``*.plc``).

A placement file is a header of ``# Key : value`` comments (grid, canvas, blockages and, as written
by Google's binary, the routing parameters and the costs at save time) and a body of
``node_index x y orientation fixed`` lines for macros and ports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
import numpy as np

from a2perf_circuit_training.errors import NetlistFormatError
from a2perf_circuit_training.netlist import MACRO, ORIENTATION_CODE, ORIENTATIONS, PORT, STDCELL, Netlist

_GRID = re.compile(r"Columns\s*:\s*(\d+)\s+Rows\s*:\s*(\d+)")
_SIZE = re.compile(r"Width\s*:\s*(\S+)\s+Height\s*:\s*(\S+)")
_ROUTES = re.compile(r"Routes per micron, hor\s*:\s*(\S+)\s+ver\s*:\s*(\S+)")
_MACRO_ROUTES = re.compile(r"Routes used by macros, hor\s*:\s*(\S+)\s+ver\s*:\s*(\S+)")
_SMOOTH = re.compile(r"Smoothing factor\s*:\s*(\S+)")
_OVERLAP = re.compile(r"Overlap threshold\s*:\s*(\S+)")
_BLOCKAGE = re.compile(r"Blockage\s*:\s*(.*)")
#: the "Counts of node types" block Google's writer emits, e.g. ``HARD_MACROs : 133``
_COUNT = re.compile(
    r"^(HARD_MACROs|HARD_MACRO_PINs|MACROs|MACRO_PINs|PORTs|SOFT_MACROs|SOFT_MACRO_PINs|STDCELLs)\s*:\s*(\d+)$"
)
WRITER_MARKER = "Placement file for Circuit Training"
_COST_LINES = {
    "wirelength": re.compile(r"^Wirelength\s*:\s*(\S+)"),
    "wirelength_cost": re.compile(r"^Wirelength cost\s*:\s*(\S+)"),
    "congestion_cost": re.compile(r"^Congestion cost\s*:\s*(\S+)"),
    "density_cost": re.compile(r"^Density cost\s*:\s*(\S+)"),
}


@attrs.frozen
class Blockage:
    """A rectangle where no macro may go (``rate`` as written in the file)."""

    x0: float
    y0: float
    x1: float
    y1: float
    rate: float = 1.0


@attrs.define
class Placement:
    """The contents of a placement file."""

    columns: int | None = None
    rows: int | None = None
    width: float | None = None
    height: float | None = None
    routes_per_micron: tuple[float, float] | None = None  # (horizontal, vertical)
    macro_routing_allocation: tuple[float, float] | None = None  # (horizontal, vertical)
    smoothing: float | None = None
    overlap_threshold: float | None = None
    blockages: list[Blockage] = attrs.field(factory=list)
    #: costs the writer recorded in the header (informational)
    recorded_costs: dict[str, float] = attrs.field(factory=dict)
    #: node index -> (x, y, orientation code or -1, fixed)
    locations: dict[int, tuple[float, float, int, bool]] = attrs.field(factory=dict)
    #: the header's counts of node types (``HARD_MACROs`` -> 133), when the writer recorded them
    node_counts: dict[str, int] = attrs.field(factory=dict)
    #: the first header line is the writers' "Placement file for Circuit Training"
    has_writer_marker: bool = False
    source: str = "<plc>"


def read_plc(path: str | Path) -> Placement:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NetlistFormatError("no such file", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise NetlistFormatError(f"not a text file ({exc.reason} at byte {exc.start})", source=str(path)) from None
    return parse_plc(text, source=str(path))


def parse_plc(text: str, source: str = "<plc>") -> Placement:
    """Parse placement-file text; a malformed line raises :class:`NetlistFormatError` with its number."""
    plc = Placement(source=source)
    width: int | None = None  # fields per body line: the same on every line of one file
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            header = line.lstrip("#").strip()
            if not plc.locations and not plc.has_writer_marker and header == WRITER_MARKER:
                plc.has_writer_marker = True
            _read_header_line(plc, header, source, number)
            continue
        fields = line.split()
        if len(fields) not in (3, 4, 5):
            raise NetlistFormatError(
                f"expected 'node_index x y orientation fixed', found {line[:60]!r}", source=source, line=number
            )
        try:
            node = int(fields[0])
            x, y = float(fields[1]), float(fields[2])
            orientation = -1
            if len(fields) >= 4 and fields[3] != "-":
                orientation = ORIENTATION_CODE[fields[3].upper()]
            fixed = len(fields) == 5 and int(fields[4]) != 0
        except (ValueError, KeyError):
            raise NetlistFormatError(
                f"bad placement line {line[:60]!r}: expected an integer index, two numbers, an orientation "
                f"({', '.join(ORIENTATIONS)} or -) and 0/1",
                source=source,
                line=number,
            ) from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise NetlistFormatError(f"node {node} has a non-finite location {x} {y}", source=source, line=number)
        if node in plc.locations:
            raise NetlistFormatError(f"node {node} is placed twice", source=source, line=number)
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            raise NetlistFormatError(
                f"{len(fields)} fields where the lines before have {width}: the file is truncated or mixed",
                source=source,
                line=number,
            )
        plc.locations[node] = (x, y, orientation, fixed)
    return plc


def _read_header_line(plc: Placement, line: str, source: str, number: int) -> None:
    try:
        if match := _COUNT.match(line):
            plc.node_counts[match.group(1)] = int(match.group(2))
        elif match := _GRID.search(line):
            plc.columns, plc.rows = int(match.group(1)), int(match.group(2))
        elif match := _SIZE.search(line):
            plc.width, plc.height = float(match.group(1)), float(match.group(2))
        elif match := _ROUTES.search(line):
            plc.routes_per_micron = (float(match.group(1)), float(match.group(2)))
        elif match := _MACRO_ROUTES.search(line):
            plc.macro_routing_allocation = (float(match.group(1)), float(match.group(2)))
        elif match := _SMOOTH.search(line):
            plc.smoothing = float(match.group(1))
        elif match := _OVERLAP.search(line):
            plc.overlap_threshold = float(match.group(1))
        elif match := _BLOCKAGE.search(line):
            values = [float(v) for v in match.group(1).split()]
            if len(values) not in (4, 5):
                raise ValueError("a blockage is 'x0 y0 x1 y1 [rate]'")
            plc.blockages.append(Blockage(*values))
        else:
            for key, pattern in _COST_LINES.items():
                if match := pattern.search(line):
                    plc.recorded_costs[key] = float(match.group(1))
    except ValueError as exc:
        raise NetlistFormatError(f"bad header line {line[:60]!r} ({exc})", source=source, line=number) from None


def check_placement_matches(netlist: Netlist, plc: Placement) -> None:
    """Reject a placement file that is not of this netlist or was cut short.

    A wrong or truncated file would otherwise be scored as a plausible placement. Checked: the
    header's counts of node types (as Google's writer records them) against the netlist's; with
    those counts, a body line for every macro and port; grid and canvas lines in a file that
    starts like the writers' output and has a body; each line's node kind (hard macros carry an
    orientation, ports carry ``-``).
    """
    summary = netlist.summary()
    ours = {
        "HARD_MACROs": summary["hard_macros"],
        "SOFT_MACROs": summary["soft_macros"],
        "MACROs": summary["hard_macros"] + summary["soft_macros"],
        "HARD_MACRO_PINs": summary["hard_macro_pins"],
        "SOFT_MACRO_PINs": summary["soft_macro_pins"],
        "MACRO_PINs": summary["hard_macro_pins"] + summary["soft_macro_pins"],
        "PORTs": summary["ports"],
        "STDCELLs": summary["stdcells"],
    }
    differing = [
        f"{key} {value} (netlist: {ours[key]})" for key, value in plc.node_counts.items() if ours[key] != value
    ]
    if differing:
        raise NetlistFormatError(
            f"placement is of another design than {netlist.source}: header counts {', '.join(differing)}",
            source=plc.source,
        )
    if not (plc.locations or plc.node_counts or plc.columns is not None or plc.width is not None):
        raise NetlistFormatError(
            "no placement lines and no grid or canvas header: not a placement file", source=plc.source
        )
    if plc.has_writer_marker and (plc.columns is None or plc.width is None):
        missing = "Columns/Rows" if plc.columns is None else "Width/Height"
        raise NetlistFormatError(f"header has no {missing} line: the file is truncated or not a plc", source=plc.source)
    if plc.node_counts:
        expected = ours["MACROs"] + ours["PORTs"]
        if len(plc.locations) != expected:
            raise NetlistFormatError(
                f"{len(plc.locations)} placement lines, but the header's counts call for {expected} "
                "(every macro and port): the file is truncated",
                source=plc.source,
            )
    hard = (netlist.kind == MACRO) & ~netlist.is_soft
    for node, (_, _, code, _) in plc.locations.items():
        if not 0 <= node < netlist.num_nodes:
            continue  # reported by apply_placement with the netlist's size
        if (hard[node] and code < 0) or (netlist.kind[node] == PORT and code >= 0):
            what = "hard macro without an orientation" if hard[node] else "port with an orientation"
            raise NetlistFormatError(
                f"node {node} ({netlist.names[node]!r}) is a {what} in this placement: "
                f"the placement is of another design than {netlist.source}",
                source=plc.source,
            )


def apply_placement(
    netlist: Netlist, plc: Placement, x: np.ndarray, y: np.ndarray, orientation: np.ndarray
) -> np.ndarray:
    """Write the plc locations into ``x``, ``y``, ``orientation`` (in place); returns the fixed flags.

    The placement is checked against the netlist first (:func:`check_placement_matches`)."""
    check_placement_matches(netlist, plc)
    fixed = np.zeros(netlist.num_nodes, dtype=bool)
    placeable = (MACRO, PORT, STDCELL)
    for node, (nx, ny, code, is_fixed) in plc.locations.items():
        if not 0 <= node < netlist.num_nodes or netlist.kind[node] not in placeable:
            what = "out of range" if not 0 <= node < netlist.num_nodes else "not a macro, port or standard cell"
            raise NetlistFormatError(
                f"node index {node} is {what} for netlist {netlist.source} ({netlist.num_nodes} nodes)",
                source=plc.source,
            )
        x[node] = nx
        y[node] = ny
        if code >= 0 and netlist.kind[node] == MACRO and not netlist.is_soft[node]:
            orientation[node] = code
        fixed[node] = is_fixed
    return fixed


def format_plc(
    netlist: Netlist,
    x: np.ndarray,
    y: np.ndarray,
    orientation: np.ndarray,
    fixed: np.ndarray,
    *,
    columns: int,
    rows: int,
    width: float,
    height: float,
    header: Mapping[str, object] | None = None,
    blockages: Iterable[Blockage] = (),
) -> str:
    """Placement-file text for the macros and ports of ``netlist``."""
    lines = [
        "# Placement file for Circuit Training",
        f"# Source input file(s) : {netlist.source}",
        f"# Columns : {columns}  Rows : {rows}",
        f"# Width : {width:.3f}  Height : {height:.3f}",
    ]
    for key, value in (header or {}).items():
        lines.append(f"# {key} : {value}")
    for blockage in blockages:
        lines.append(f"# Blockage : {blockage.x0} {blockage.y0} {blockage.x1} {blockage.y1} {blockage.rate}")
    summary = netlist.summary()
    lines.append("# Counts of node types:")
    lines.append(f"# HARD_MACROs : {summary['hard_macros']}")
    lines.append(f"# MACROs : {summary['hard_macros'] + summary['soft_macros']}")
    lines.append(f"# PORTs : {summary['ports']}")
    lines.append(f"# STDCELLs : {summary['stdcells']}")
    lines.append("#")
    lines.append("# node_index x y orientation fixed")
    for node in np.flatnonzero((netlist.kind == MACRO) | (netlist.kind == PORT)):
        hard = netlist.kind[node] == MACRO and not netlist.is_soft[node]
        name = ORIENTATIONS[orientation[node]] if hard else "-"
        lines.append(f"{node} {x[node]:.10g} {y[node]:.10g} {name} {int(bool(fixed[node]))}")
    return "\n".join(lines) + "\n"
