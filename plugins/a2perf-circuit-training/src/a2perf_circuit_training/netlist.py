"""Reading Circuit Training netlists (``netlist.pb.txt``) into flat numpy arrays.

The file is protobuf text: a flat sequence of ``node { name input* attr* }`` blocks. A node's
``input`` list is its fan-out, so a net is the node (driver) plus the names it lists. The fast path
matches whole node blocks with one regular expression each; only when a block does not match does a
small tokenizer re-read that block to report the exact line and what was expected there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import attrs
import numpy as np

from a2perf_circuit_training.errors import NetlistFormatError

MACRO, MACRO_PIN, PORT, STDCELL = 0, 1, 2, 3
KIND_NAMES = {"macro": MACRO, "macro_pin": MACRO_PIN, "port": PORT, "stdcell": STDCELL}

ORIENTATIONS = ("N", "FN", "S", "FS", "E", "FE", "W", "FW")
ORIENTATION_CODE = {name: code for code, name in enumerate(ORIENTATIONS)}
#: (a, b, c, d): a pin offset (dx, dy) becomes (a·dx + b·dy, c·dx + d·dy) under the orientation
ORIENTATION_MATRIX = np.array(
    [
        (1, 0, 0, 1),  # N
        (-1, 0, 0, 1),  # FN
        (-1, 0, 0, -1),  # S
        (1, 0, 0, -1),  # FS
        (0, 1, -1, 0),  # E
        (0, -1, -1, 0),  # FE
        (0, -1, 1, 0),  # W
        (0, 1, 1, 0),  # FW
    ],
    dtype=np.float64,
)

SOFT_MACRO_PREFIX = "Grp_"
#: density the binary assumes when sizing a canvas for a netlist without a placement header
DEFAULT_CANVAS_UTILIZATION = 0.6
DEFAULT_GRID = (10, 10)

_NODE_START = re.compile(r"(?:\s|#[^\n]*)*node\s*\{")
_VALUE = r'(?:"(?:[^"\\]|\\.)*"|[^\s{}"]+)'
_ATTR = r'attr\s*\{\s*key\s*:\s*"[^"]*"\s*value\s*\{\s*\w+\s*:\s*' + _VALUE + r"\s*\}\s*\}"
_NODE_BODY = re.compile(r'\s*name\s*:\s*"(?P<name>[^"]*)"\s*(?P<body>(?:input\s*:\s*"[^"]*"\s*|' + _ATTR + r"\s*)*)\}")
_INPUT = re.compile(r'input\s*:\s*"([^"]*)"')
_ATTR_FIELDS = re.compile(r'key\s*:\s*"([^"]*)"\s*value\s*\{\s*(\w+)\s*:\s*(' + _VALUE + r")")
_HEADER_BBOX = re.compile(r"FP bbox:\s*\{\s*(\S+)\s+(\S+)\s*\}\s*\{\s*(\S+)\s+(\S+)\s*\}")
_HEADER_SIZE = re.compile(r"Width\s*:\s*(\S+)\s+Height\s*:\s*(\S+)")
_HEADER_GRID = re.compile(r"Columns\s*:\s*(\d+)\s+Rows\s*:\s*(\d+)")


@attrs.define
class Netlist:
    """All nodes of a design as parallel arrays indexed by node index (file order, no metadata).

    Nets are stored compressed: net ``i`` has pins ``net_pins[net_ptr[i]:net_ptr[i+1]]``, the
    first of which is its driver.
    """

    names: list[str]
    kind: np.ndarray  # int8, MACRO / MACRO_PIN / PORT / STDCELL
    is_soft: np.ndarray  # bool; soft macros and their pins
    x: np.ndarray
    y: np.ndarray
    width: np.ndarray
    height: np.ndarray
    orientation: np.ndarray  # int8 code into ORIENTATIONS
    x_offset: np.ndarray
    y_offset: np.ndarray
    weight: np.ndarray
    parent: np.ndarray  # int64 macro index of a pin, else -1
    side: dict[int, str]
    net_ptr: np.ndarray
    net_pins: np.ndarray
    metadata: dict[str, object] = attrs.field(factory=dict)
    canvas: tuple[float, float] | None = None
    grid: tuple[int, int] | None = None  # (columns, rows)
    source: str = "<netlist>"

    @property
    def num_nodes(self) -> int:
        return len(self.names)

    @property
    def num_nets(self) -> int:
        return len(self.net_ptr) - 1

    @property
    def net_driver(self) -> np.ndarray:
        return self.net_pins[self.net_ptr[:-1]]

    @property
    def net_weight(self) -> np.ndarray:
        return self.weight[self.net_driver]

    def indices(self, kind: int, soft: bool | None = None) -> np.ndarray:
        """Node indices of one kind, optionally only soft (True) or hard (False) ones."""
        selected = self.kind == kind
        if soft is not None:
            selected &= self.is_soft == soft
        return np.flatnonzero(selected)

    @property
    def hard_macros(self) -> np.ndarray:
        return self.indices(MACRO, soft=False)

    @property
    def soft_macros(self) -> np.ndarray:
        return self.indices(MACRO, soft=True)

    @property
    def macros(self) -> np.ndarray:
        return self.indices(MACRO)

    @property
    def ports(self) -> np.ndarray:
        return self.indices(PORT)

    @property
    def stdcells(self) -> np.ndarray:
        return self.indices(STDCELL)

    def default_canvas(self) -> tuple[float, float]:
        """The binary's canvas for a bare netlist: a square at 60 % utilisation."""
        area = float(np.sum((self.width * self.height)[(self.kind == MACRO) | (self.kind == STDCELL)]))
        side = math.sqrt(area / DEFAULT_CANVAS_UTILIZATION) if area > 0 else 1.0
        return side, side

    def summary(self) -> dict[str, int]:
        return {
            "nodes": self.num_nodes,
            "hard_macros": len(self.hard_macros),
            "soft_macros": len(self.soft_macros),
            "hard_macro_pins": int(np.sum((self.kind == MACRO_PIN) & ~self.is_soft)),
            "soft_macro_pins": int(np.sum((self.kind == MACRO_PIN) & self.is_soft)),
            "ports": len(self.ports),
            "stdcells": len(self.stdcells),
            "nets": self.num_nets,
        }


def read_netlist(path: str | Path) -> Netlist:
    """Parse a ``netlist.pb.txt`` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NetlistFormatError("no such file", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise NetlistFormatError(f"not a text file ({exc.reason})", source=str(path)) from None
    return parse_netlist(text, source=str(path))


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _parse_header(text: str, source: str) -> tuple[int, tuple[float, float] | None, tuple[int, int] | None]:
    """Skip leading comment lines; read canvas size and grid from them."""
    position = 0
    number = 0
    canvas: tuple[float, float] | None = None
    grid: tuple[int, int] | None = None
    length = len(text)
    while position < length:
        end = text.find("\n", position)
        end = length if end < 0 else end + 1
        line = text[position:end].strip()
        number += 1
        if line and not line.startswith("#"):
            break
        try:
            if bbox := _HEADER_BBOX.search(line):
                x0, y0, x1, y1 = (float(v) for v in bbox.groups())
                canvas = (x1 - x0, y1 - y0)
            elif size := _HEADER_SIZE.search(line):
                canvas = (float(size.group(1)), float(size.group(2)))
            if cells := _HEADER_GRID.search(line):
                grid = (int(cells.group(1)), int(cells.group(2)))
        except ValueError:
            raise NetlistFormatError(
                f"bad canvas or grid in header line {line[:60]!r}", source=source, line=number
            ) from None
        position = end
    return position, canvas, grid


def parse_netlist(text: str, source: str = "<netlist>") -> Netlist:
    """Parse netlist text; a malformed file raises :class:`NetlistFormatError` with a line number."""
    position, canvas, grid = _parse_header(text, source)
    blocks: list[tuple[int, str, str]] = []  # (offset, name, body)
    length = len(text)
    while True:
        start = _NODE_START.match(text, position)
        if start is None:
            rest = re.sub(r"(?m)^\s*#.*$", "", text[position:])
            if rest.strip():
                offset = position + len(rest) - len(rest.lstrip())
                raise NetlistFormatError(
                    f"expected 'node {{', found {rest.lstrip()[:30]!r}", source=source, line=_line_of(text, offset)
                )
            break
        body = _NODE_BODY.match(text, start.end())
        if body is None:
            _raise_block_error(text, start.end(), source)
        blocks.append((text.rfind("node", start.start(), start.end()), body.group("name"), body.group("body")))
        position = body.end()
        if position >= length:
            break
    return _build(text, blocks, canvas, grid, source)


def _build(
    text: str,
    blocks: Sequence[tuple[int, str, str]],
    canvas: tuple[float, float] | None,
    grid: tuple[int, int] | None,
    source: str,
) -> Netlist:
    metadata: dict[str, object] = {}
    if blocks and blocks[0][1] == "__metadata__":
        for key, _, value in _ATTR_FIELDS.findall(blocks[0][2]):
            metadata[key] = _scalar(value)
        blocks = blocks[1:]
    count = len(blocks)
    if count == 0:
        raise NetlistFormatError("no nodes: not a netlist (a placement file given as the netlist?)", source=source)
    names = [name for _, name, _ in blocks]
    index = {name: i for i, name in enumerate(names)}
    if len(index) != count:
        seen: set[str] = set()
        for offset, name, _ in blocks:
            if name in seen:
                raise NetlistFormatError(f"duplicate node name {name!r}", source=source, line=_line_of(text, offset))
            seen.add(name)

    kind = np.full(count, -1, dtype=np.int8)
    numbers = {key: np.zeros(count) for key in ("x", "y", "width", "height", "x_offset", "y_offset")}
    weight = np.ones(count)
    orientation = np.zeros(count, dtype=np.int8)
    parent_names: dict[int, str] = {}
    side: dict[int, str] = {}
    net_sizes = np.zeros(count, dtype=np.int64)
    sinks: list[int] = []
    drivers_in_order: list[int] = []

    for i, (offset, name, body) in enumerate(blocks):
        if "input" in body:
            targets = _INPUT.findall(body)
            if targets:
                try:
                    sinks.extend(index[t] for t in targets)
                except KeyError:
                    missing = next(t for t in targets if t not in index)
                    raise NetlistFormatError(
                        f"node {name!r} lists input {missing!r}, which is not a node of this netlist",
                        source=source,
                        line=_line_of(text, offset),
                    ) from None
                drivers_in_order.append(i)
                net_sizes[i] = len(targets)
        for key, _value_kind, value in _ATTR_FIELDS.findall(body):
            if key == "type":
                node_kind = KIND_NAMES.get(value.strip('"').lower())
                if node_kind is None:
                    raise NetlistFormatError(
                        f"node {name!r} has unknown type {value}; expected MACRO, MACRO_PIN, PORT or STDCELL",
                        source=source,
                        line=_line_of(text, offset),
                    )
                kind[i] = node_kind
            elif key in numbers or key == "weight":
                try:
                    number = float(value)
                except ValueError:
                    raise NetlistFormatError(
                        f"node {name!r}: attribute {key!r} must be a number, got {value}",
                        source=source,
                        line=_line_of(text, offset),
                    ) from None
                if key == "weight":
                    weight[i] = number
                else:
                    numbers[key][i] = number
            elif key == "orientation":
                code = ORIENTATION_CODE.get(value.strip('"').upper())
                if code is None:
                    raise NetlistFormatError(
                        f"node {name!r} has orientation {value}; expected one of {', '.join(ORIENTATIONS)}",
                        source=source,
                        line=_line_of(text, offset),
                    )
                orientation[i] = code
            elif key == "macro_name":
                parent_names[i] = value.strip('"')
            elif key == "side":
                side[i] = value.strip('"').upper()

    untyped = np.flatnonzero(kind < 0)
    if len(untyped):
        offset, name, _ = blocks[untyped[0]]
        raise NetlistFormatError(f"node {name!r} has no 'type' attribute", source=source, line=_line_of(text, offset))

    parent = np.full(count, -1, dtype=np.int64)
    for i, macro_name in parent_names.items():
        j = index.get(macro_name)
        if j is None or kind[j] != MACRO:
            offset, name, _ = blocks[i]
            raise NetlistFormatError(
                f"pin {name!r} belongs to {macro_name!r}, which is not a macro of this netlist",
                source=source,
                line=_line_of(text, offset),
            )
        parent[i] = j
    orphan_pins = np.flatnonzero((kind == MACRO_PIN) & (parent < 0))
    if len(orphan_pins):
        offset, name, _ = blocks[orphan_pins[0]]
        raise NetlistFormatError(f"macro pin {name!r} has no 'macro_name'", source=source, line=_line_of(text, offset))

    is_soft = np.array([name.startswith(SOFT_MACRO_PREFIX) for name in names], dtype=bool) & (kind == MACRO)
    pin_of_soft = parent >= 0
    is_soft[pin_of_soft] = is_soft[parent[pin_of_soft]]

    drivers = np.asarray(drivers_in_order, dtype=np.int64)
    sizes = net_sizes[drivers] + 1
    net_ptr = np.zeros(len(drivers) + 1, dtype=np.int64)
    np.cumsum(sizes, out=net_ptr[1:])
    net_pins = np.empty(int(net_ptr[-1]), dtype=np.int64)
    sink_array = np.asarray(sinks, dtype=np.int64)
    is_driver_slot = np.zeros(len(net_pins), dtype=bool)
    is_driver_slot[net_ptr[:-1]] = True
    net_pins[is_driver_slot] = drivers
    net_pins[~is_driver_slot] = sink_array

    return Netlist(
        names=names,
        kind=kind,
        is_soft=is_soft,
        x=numbers["x"],
        y=numbers["y"],
        width=numbers["width"],
        height=numbers["height"],
        orientation=orientation,
        x_offset=numbers["x_offset"],
        y_offset=numbers["y_offset"],
        weight=weight,
        parent=parent,
        side=side,
        net_ptr=net_ptr,
        net_pins=net_pins,
        metadata=metadata,
        canvas=canvas,
        grid=grid,
        source=source,
    )


def _scalar(value: str) -> object:
    if value.startswith('"'):
        return value.strip('"')
    try:
        return float(value)
    except ValueError:
        return value


_TOKEN = re.compile(
    r'(?P<space>\s+)|(?P<comment>#[^\n]*)|(?P<string>"(?:[^"\\\n]|\\.)*")|(?P<punct>[{}:])|'
    r"(?P<word>[^\s{}:\"#]+)|(?P<bad>.)"
)


def _raise_block_error(text: str, offset: int, source: str) -> None:
    """Re-read the node block at ``offset`` token by token and raise an error at the first bad line."""
    tokens = []
    for match in _TOKEN.finditer(text, offset):
        group = match.lastgroup
        if group in ("space", "comment"):
            continue
        tokens.append((group, match.group(), match.start()))
        if len(tokens) > 100000:
            break
    position = 0

    def fail(message: str, at: int | None = None) -> None:
        index = min(at if at is not None else position, len(tokens) - 1)
        where = tokens[index][2] if tokens else offset
        raise NetlistFormatError(message, source=source, line=_line_of(text, where))

    def peek() -> tuple[str, str, int]:
        return tokens[position] if position < len(tokens) else ("eof", "end of file", len(text))

    def expect(value: str, what: str) -> None:
        nonlocal position
        kind, token, _ = peek()
        if token != value or kind not in ("punct", "word"):
            fail(f"expected {what}, found {token!r}" if kind != "eof" else f"expected {what}, found end of file")
        position += 1

    def field_value(field: str) -> None:
        nonlocal position
        kind, token, _ = peek()
        if kind not in ("string", "word"):
            fail(f"expected a value for {field!r}, found {token!r}")
        if field in ("name", "input", "key", "placeholder") and kind != "string":
            fail(f"{field!r} must be a quoted string, found {token!r}")
        if field == "f":
            try:
                float(token)
            except ValueError:
                fail(f"'f' must be a number, found {token!r}")
        position += 1

    expect("name", "'name:' as the first field of a node")
    expect(":", "':' after 'name'")
    field_value("name")
    while True:
        kind, token, _ = peek()
        if kind == "punct" and token == "}":
            break
        if kind == "eof":
            fail("unexpected end of file inside a node (missing '}')")
        if token == "input":
            position += 1
            expect(":", "':' after 'input'")
            field_value("input")
        elif token == "attr":
            position += 1
            expect("{", "'{' after 'attr'")
            expect("key", "'key:' inside attr")
            expect(":", "':' after 'key'")
            field_value("key")
            expect("value", "'value {' inside attr")
            expect("{", "'{' after 'value'")
            kind, token, _ = peek()
            if kind != "word":
                fail(f"expected a value kind such as 'f' or 'placeholder', found {token!r}")
            position += 1
            expect(":", f"':' after {token!r}")
            field_value(token)
            expect("}", "'}' closing 'value'")
            expect("}", "'}' closing 'attr'")
        else:
            fail(f"expected 'input', 'attr' or '}}' in a node, found {token!r}")
    fail("malformed node")  # the fast path rejected a block the slow path accepts: report its start


def pin_positions(netlist: Netlist, x: np.ndarray, y: np.ndarray, orientation: np.ndarray) -> tuple[np.ndarray, ...]:
    """Positions of every node: pins at parent centre + oriented offset, others at their own x, y."""
    px = x.copy()
    py = y.copy()
    pins = np.flatnonzero(netlist.parent >= 0)
    if len(pins):
        parents = netlist.parent[pins]
        matrix = ORIENTATION_MATRIX[orientation[parents]]
        dx = netlist.x_offset[pins]
        dy = netlist.y_offset[pins]
        px[pins] = x[parents] + matrix[:, 0] * dx + matrix[:, 1] * dy
        py[pins] = y[parents] + matrix[:, 2] * dx + matrix[:, 3] * dy
    return px, py


def format_netlist(netlist: Netlist) -> str:
    """Protobuf text for ``netlist`` (the inverse of :func:`parse_netlist`), e.g. to save a
    synthetic design for other tools."""
    kind_names = {MACRO: "MACRO", MACRO_PIN: "MACRO_PIN", PORT: "PORT", STDCELL: "STDCELL"}
    lines: list[str] = []
    if netlist.canvas is not None:
        lines.append(f"# FP bbox: {{0.0 0.0}} {{{netlist.canvas[0]!r} {netlist.canvas[1]!r}}}")
    if netlist.grid is not None:
        lines.append(f"# Columns : {netlist.grid[0]}  Rows : {netlist.grid[1]}")

    def attr(key: str, value: object) -> None:
        shown = f'placeholder: "{value}"' if isinstance(value, str) else f"f: {float(value)!r}"  # type: ignore[arg-type]
        lines.extend(["  attr {", f'    key: "{key}"', "    value {", f"      {shown}", "    }", "  }"])

    sinks_of = {
        int(netlist.net_pins[start]): netlist.net_pins[start + 1 : end]
        for start, end in zip(netlist.net_ptr[:-1], netlist.net_ptr[1:], strict=True)
    }
    for i, name in enumerate(netlist.names):
        lines.extend(["node {", f'  name: "{name}"'])
        lines.extend(f'  input: "{netlist.names[j]}"' for j in sinks_of.get(i, ()))
        kind = int(netlist.kind[i])
        attr("type", kind_names[kind])
        if kind == MACRO_PIN:
            attr("macro_name", netlist.names[netlist.parent[i]])
            attr("x_offset", netlist.x_offset[i])
            attr("y_offset", netlist.y_offset[i])
        else:
            attr("x", netlist.x[i])
            attr("y", netlist.y[i])
        if kind in (MACRO, STDCELL):
            attr("width", netlist.width[i])
            attr("height", netlist.height[i])
        if kind == MACRO and not netlist.is_soft[i]:
            attr("orientation", ORIENTATIONS[netlist.orientation[i]])
        if kind == PORT and i in netlist.side:
            attr("side", netlist.side[i])
        if netlist.weight[i] != 1.0:
            attr("weight", netlist.weight[i])
        lines.append("}")
    return "\n".join(lines) + "\n"
