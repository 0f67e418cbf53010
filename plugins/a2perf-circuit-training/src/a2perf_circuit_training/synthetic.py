"""Generated netlists: a design from (num_macros, num_stdcells, num_ports, seed), no download needed.

Vectorised so that designs 100 times the size of Ariane are made in seconds (the benchmark's
scaling series). The same arguments always give the same netlist.
"""

from __future__ import annotations

import math

import numpy as np

from a2perf_circuit_training.netlist import MACRO, MACRO_PIN, PORT, STDCELL, Netlist

MACRO_SIDE_RANGE = (20.0, 60.0)  # microns
STDCELL_SIDE = 4.0
MACRO_UTILIZATION = 0.35


def synthetic_netlist(
    num_macros: int = 12,
    num_stdcells: int = 48,
    num_ports: int = 16,
    seed: int = 0,
    *,
    pins_per_macro: int = 8,
    grid: tuple[int, int] | None = None,
) -> Netlist:
    """A random but reproducible design; macros cover about 35 % of a square canvas."""
    if num_macros < 1 or num_stdcells < 0 or num_ports < 0 or pins_per_macro < 1:
        from a2perf_circuit_training.errors import CircuitTrainingError

        raise CircuitTrainingError(
            "a synthetic netlist needs num_macros >= 1, pins_per_macro >= 1 and non-negative stdcell/port counts"
        )
    rng = np.random.default_rng(seed)
    low, high = MACRO_SIDE_RANGE
    macro_w = np.round(rng.uniform(low, high, num_macros), 1)
    macro_h = np.round(rng.uniform(low, high, num_macros), 1)
    side = math.sqrt(float(np.sum(macro_w * macro_h)) / MACRO_UTILIZATION + num_stdcells * STDCELL_SIDE**2)
    side = round(side, 1)
    columns, rows = grid or (min(128, max(4, round(2 * side / (low + high)) * 2)),) * 2

    # node layout: [macro, its pins] * num_macros, then ports, then stdcells
    block = 1 + pins_per_macro
    count = num_macros * block + num_ports + num_stdcells
    kind = np.empty(count, dtype=np.int8)
    macro_index = np.arange(num_macros) * block
    pin_index = (macro_index[:, None] + 1 + np.arange(pins_per_macro)[None, :]).ravel()
    port_index = num_macros * block + np.arange(num_ports)
    cell_index = num_macros * block + num_ports + np.arange(num_stdcells)
    kind[macro_index], kind[pin_index], kind[port_index], kind[cell_index] = MACRO, MACRO_PIN, PORT, STDCELL

    x = np.zeros(count)
    y = np.zeros(count)
    width = np.zeros(count)
    height = np.zeros(count)
    x_offset = np.zeros(count)
    y_offset = np.zeros(count)
    parent = np.full(count, -1, dtype=np.int64)

    width[macro_index], height[macro_index] = macro_w, macro_h
    x[macro_index] = rng.uniform(macro_w / 2, side - macro_w / 2)
    y[macro_index] = rng.uniform(macro_h / 2, side - macro_h / 2)
    owner = np.repeat(np.arange(num_macros), pins_per_macro)
    parent[pin_index] = macro_index[owner]
    x_offset[pin_index] = np.round(rng.uniform(-0.5, 0.5, len(pin_index)) * macro_w[owner], 2)
    y_offset[pin_index] = np.round(rng.uniform(-0.5, 0.5, len(pin_index)) * macro_h[owner], 2)

    sides = rng.integers(0, 4, num_ports)  # LEFT, RIGHT, BOTTOM, TOP
    along = np.round(rng.uniform(0, side, num_ports), 2)
    x[port_index] = np.select([sides == 0, sides == 1], [0.0, side], along)
    y[port_index] = np.select([sides == 2, sides == 3], [0.0, side], along)
    side_names = np.array(["LEFT", "RIGHT", "BOTTOM", "TOP"])[sides]

    width[cell_index] = height[cell_index] = STDCELL_SIDE
    x[cell_index] = np.round(rng.uniform(STDCELL_SIDE, side - STDCELL_SIDE, num_stdcells), 2)
    y[cell_index] = np.round(rng.uniform(STDCELL_SIDE, side - STDCELL_SIDE, num_stdcells), 2)

    # nets: half of the macro pins, every port and every stdcell drive 1-4 random sinks
    terminals = np.concatenate([pin_index, port_index, cell_index])
    drives = np.concatenate([rng.random(len(pin_index)) < 0.5, np.ones(num_ports + num_stdcells, dtype=bool)])
    drivers = np.sort(terminals[drives])
    fanout = rng.integers(1, 5, len(drivers))
    sinks = terminals[rng.integers(0, len(terminals), int(fanout.sum()))]
    driver_of_sink = np.repeat(drivers, fanout)
    clash = sinks == driver_of_sink
    sinks[clash] = terminals[(np.searchsorted(terminals, driver_of_sink[clash]) + 1) % len(terminals)]
    sinks[sinks == driver_of_sink] = terminals[0] if terminals[0] != driver_of_sink[0] else terminals[-1]
    net_ptr = np.zeros(len(drivers) + 1, dtype=np.int64)
    np.cumsum(fanout + 1, out=net_ptr[1:])
    net_pins = np.empty(int(net_ptr[-1]), dtype=np.int64)
    is_driver = np.zeros(len(net_pins), dtype=bool)
    is_driver[net_ptr[:-1]] = True
    net_pins[is_driver] = drivers
    net_pins[~is_driver] = sinks

    names = [""] * count
    for m, index in enumerate(macro_index.tolist()):
        names[index] = f"M{m}"
        for p in range(pins_per_macro):
            names[index + 1 + p] = f"M{m}/P{p}"
    for p, index in enumerate(port_index.tolist()):
        names[index] = f"port{p}"
    for c, index in enumerate(cell_index.tolist()):
        names[index] = f"cell{c}"

    return Netlist(
        names=names,
        kind=kind,
        is_soft=np.zeros(count, dtype=bool),
        x=x,
        y=y,
        width=width,
        height=height,
        orientation=np.zeros(count, dtype=np.int8),
        x_offset=x_offset,
        y_offset=y_offset,
        weight=np.ones(count),
        parent=parent,
        side={int(i): str(s) for i, s in zip(port_index, side_names, strict=True)},
        net_ptr=net_ptr,
        net_pins=net_pins,
        canvas=(side, side),
        grid=(columns, rows),
        source=f"synthetic(num_macros={num_macros}, num_stdcells={num_stdcells}, num_ports={num_ports}, seed={seed})",
    )
