"""``a2perf circuit ...``: commands of the circuit-training domain."""

from __future__ import annotations

import json

import click


@click.group(name="circuit")
def circuit_group() -> None:
    """Chip macro placement: proxy cost of placements."""


@circuit_group.command(name="cost")
@click.option("--netlist", "netlist_path", required=True, type=click.Path(dir_okay=False), help="netlist.pb.txt")
@click.option("--plc", "plc_path", type=click.Path(dir_okay=False), help="placement (.plc); default: netlist x/y")
@click.option("--columns", type=int, help="grid columns (default: plc header, else netlist header, else 10)")
@click.option("--rows", type=int, help="grid rows")
@click.option("--width", type=float, help="canvas width in microns")
@click.option("--height", type=float, help="canvas height in microns")
@click.option("--h-routes", "h_routes_per_micron", type=float, help="horizontal routes per micron")
@click.option("--v-routes", "v_routes_per_micron", type=float, help="vertical routes per micron")
@click.option("--h-macro-alloc", "h_macro_allocation", type=float, help="horizontal routes used by macros")
@click.option("--v-macro-alloc", "v_macro_allocation", type=float, help="vertical routes used by macros")
@click.option("--smoothing", type=int, help="congestion smoothing range")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def cost_command(netlist_path: str, plc_path: str | None, as_json: bool, **overrides: object) -> None:
    """Print wirelength, density, congestion and proxy cost of a placement.

    Grid, canvas, routing and smoothing come from the plc header when present (then the netlist
    header, then the placement binary's defaults); flags override them.
    """
    from a2perf_circuit_training.cost import evaluate
    from a2perf_circuit_training.netlist import read_netlist
    from a2perf_circuit_training.plc import read_plc

    netlist = read_netlist(netlist_path)
    plc = read_plc(plc_path) if plc_path else None
    cost, report = evaluate(netlist, plc, use_plc_routing=True, **overrides)
    p = cost.parameters
    values = {
        **report.as_dict(),
        "canvas": [p.width, p.height],
        "grid": [p.columns, p.rows],
        "routes_per_micron": [p.h_routes_per_micron, p.v_routes_per_micron],
        "macro_routing_allocation": [p.h_macro_allocation, p.v_macro_allocation],
        "smoothing": p.smoothing,
        "weights": {"wirelength": cost.weights.wirelength, "density": cost.weights.density,
                    "congestion": cost.weights.congestion},
    }  # fmt: skip
    if as_json:
        click.echo(json.dumps(values))
        return
    click.echo(f"canvas            {p.width:g} x {p.height:g} um, grid {p.columns} x {p.rows}")
    click.echo(
        f"routing           H {p.h_routes_per_micron:g} / V {p.v_routes_per_micron:g} routes/um, macros "
        f"H {p.h_macro_allocation:g} / V {p.v_macro_allocation:g}, smoothing {p.smoothing}"
    )
    click.echo(f"wirelength        {report.wirelength:.3f} um")
    click.echo(f"wirelength cost   {report.wirelength_cost:.9f}")
    click.echo(f"density cost      {report.density_cost:.9f}")
    click.echo(f"congestion cost   {report.congestion_cost:.9f}")
    w = cost.weights
    click.echo(
        f"proxy cost        {report.proxy_cost:.9f}  "
        f"(= {w.wirelength:g} wl + {w.density:g} density + {w.congestion:g} congestion)"
    )


@circuit_group.command(name="render")
@click.option("--netlist", "netlist_path", required=True, type=click.Path(dir_okay=False), help="netlist.pb.txt")
@click.option("--plc", "plc_path", type=click.Path(dir_okay=False), help="placement (.plc); default: netlist x/y")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="PNG file to write")
@click.option("--congestion/--no-congestion", default=True, help="overlay the congestion heat map")
@click.option("--size", type=int, default=512, show_default=True, help="pixels on the longer side")
def render_command(netlist_path: str, plc_path: str | None, out_path: str, congestion: bool, size: int) -> None:
    """Draw a placement (hard macros, soft macros and cells, ports, grid) as a PNG."""
    import numpy as np
    from PIL import Image

    from a2perf_circuit_training.cost import evaluate
    from a2perf_circuit_training.netlist import read_netlist
    from a2perf_circuit_training.plc import read_plc
    from a2perf_circuit_training.render import render_placement

    netlist = read_netlist(netlist_path)
    plc = read_plc(plc_path) if plc_path else None
    cost, report = evaluate(netlist, plc, use_plc_routing=True)
    heat = np.maximum(*cost.congestion_grids()) if congestion else None
    placed = np.ones(netlist.num_nodes, dtype=bool)
    image = render_placement(netlist, cost.parameters, cost.x, cost.y, placed, congestion=heat, size=size)
    Image.fromarray(image).save(out_path, optimize=True)
    click.echo(f"wrote {out_path} (proxy cost {report.proxy_cost:.6f})")


@circuit_group.command(name="synth")
@click.option("--macros", "num_macros", type=int, default=12, show_default=True, help="hard macros")
@click.option("--stdcells", "num_stdcells", type=int, default=48, show_default=True, help="standard cells")
@click.option("--ports", "num_ports", type=int, default=16, show_default=True, help="ports")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="netlist.pb.txt to write")
def synth_command(num_macros: int, num_stdcells: int, num_ports: int, seed: int, out_path: str) -> None:
    """Write the synthetic netlist that CircuitTraining-Synthetic-v0 uses for these arguments."""
    from pathlib import Path

    from a2perf_circuit_training.netlist import format_netlist
    from a2perf_circuit_training.synthetic import synthetic_netlist

    netlist = synthetic_netlist(num_macros, num_stdcells, num_ports, seed)
    Path(out_path).write_text(format_netlist(netlist))
    click.echo(f"wrote {out_path}: {netlist.summary()}")
