"""Reading and writing placement files (``*.plc``).

A placement file is a header of ``# Key : value`` comments (grid, canvas, blockages and, as written
by Google's binary, the routing parameters and the costs at save time) and a body of
``node_index x y orientation fixed`` lines for macros and ports.
"""

from __future__ import annotations

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
    source: str = "<plc>"


def read_plc(path: str | Path) -> Placement:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NetlistFormatError("no such file", source=str(path)) from None
    return parse_plc(text, source=str(path))


def parse_plc(text: str, source: str = "<plc>") -> Placement:
    """Parse placement-file text; a malformed line raises :class:`NetlistFormatError` with its number."""
    plc = Placement(source=source)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            _read_header_line(plc, line.lstrip("#").strip(), source, number)
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
        plc.locations[node] = (x, y, orientation, fixed)
    return plc


def _read_header_line(plc: Placement, line: str, source: str, number: int) -> None:
    try:
        if match := _GRID.search(line):
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


def apply_placement(
    netlist: Netlist, plc: Placement, x: np.ndarray, y: np.ndarray, orientation: np.ndarray
) -> np.ndarray:
    """Write the plc locations into ``x``, ``y``, ``orientation`` (in place); returns the fixed flags."""
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
    lines.append("#")
    lines.append("# node_index x y orientation fixed")
    for node in np.flatnonzero((netlist.kind == MACRO) | (netlist.kind == PORT)):
        hard = netlist.kind[node] == MACRO and not netlist.is_soft[node]
        name = ORIENTATIONS[orientation[node]] if hard else "-"
        lines.append(f"{node} {x[node]:.10g} {y[node]:.10g} {name} {int(bool(fixed[node]))}")
    return "\n".join(lines) + "\n"
