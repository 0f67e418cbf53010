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


@circuit_group.command(name="evaluate")
@click.argument("netlist_path", metavar="NETLIST", type=click.Path(dir_okay=False))
@click.argument("plc_path", metavar="PLC", type=click.Path(dir_okay=False))
@click.option(
    "--weights", type=click.Choice(["ct", "macroplacement"]), default="macroplacement", show_default=True,
    help="proxy weights: ct 1/1/0.5 (the env's), macroplacement 1/0.5/0.5 (published tables)",
)  # fmt: skip
@click.option(
    "--soft-macros", type=click.Choice(["force-directed", "keep"]), default="force-directed", show_default=True,
    help="re-place soft macros and standard cells force-directed, or score them where the plc has them",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def evaluate_command(netlist_path: str, plc_path: str, weights: str, soft_macros: str, as_json: bool) -> None:
    """Score a macro placement as MacroPlacement's flow does: place the soft macros, then the proxy cost.

    Macro coordinates are taken as they are (off the grid too); grid, canvas and routing come from
    the plc header.
    """
    from a2perf_circuit_training.evaluate import evaluate_placement
    from a2perf_circuit_training.netlist import read_netlist
    from a2perf_circuit_training.plc import read_plc

    netlist = read_netlist(netlist_path)
    cost, report = evaluate_placement(netlist, read_plc(plc_path), weights=weights, soft_macros=soft_macros)  # type: ignore[arg-type]
    w = cost.weights
    values = {
        **report.as_dict(), "weights_preset": weights, "soft_macros": soft_macros,
        "weights": {"wirelength": w.wirelength, "density": w.density, "congestion": w.congestion},
    }  # fmt: skip
    if as_json:
        click.echo(json.dumps(values))
        return
    click.echo(f"soft macros       {soft_macros}")
    click.echo(f"wirelength        {report.wirelength:.3f} um")
    click.echo(f"wirelength cost   {report.wirelength_cost:.9f}")
    click.echo(f"density cost      {report.density_cost:.9f}")
    click.echo(f"congestion cost   {report.congestion_cost:.9f}")
    click.echo(
        f"proxy cost        {report.proxy_cost:.9f}  "
        f"({weights}: {w.wirelength:g} wl + {w.density:g} density + {w.congestion:g} congestion)"
    )


@circuit_group.command(name="place")
@click.argument("netlist_path", metavar="NETLIST", type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(["random", "greedy", "annealing"]), required=True)
@click.option(
    "--plc", "plc_path", type=click.Path(dir_okay=False), help="initial placement (.plc): grid, canvas, fixed"
)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="plc file to write")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--budget", "moves", type=int, default=20000, show_default=True, help="annealing: moves proposed")
@click.option("--time-limit", type=float, help="annealing: stop after this many seconds")
@click.option(
    "--weights", type=click.Choice(["ct", "macroplacement"]), default="macroplacement", show_default=True,
    help="annealing: the weight preset it minimises",
)  # fmt: skip
def place_command(
    netlist_path: str,
    method: str,
    plc_path: str | None,
    out_path: str,
    seed: int,
    moves: int,
    time_limit: float | None,
    weights: str,
) -> None:
    """Place the hard macros with a baseline method and write the placement (score it with `evaluate`)."""
    from pathlib import Path

    from a2perf_circuit_training.netlist import read_netlist
    from a2perf_circuit_training.place import place_macros, placed_plc_text
    from a2perf_circuit_training.plc import read_plc

    netlist = read_netlist(netlist_path)
    plc = read_plc(plc_path) if plc_path else None
    placed = place_macros(netlist, plc, method, seed=seed, moves=moves, time_limit=time_limit, weights=weights)
    Path(out_path).write_text(placed_plc_text(netlist, placed))
    message = f"wrote {out_path} ({method})"
    if placed.annealing is not None:
        a = placed.annealing
        message += (
            f": {a.moves} moves in {a.seconds:.1f} s, {a.accepted} accepted, "
            f"{weights} proxy {a.start_cost:.6f} -> {a.best_cost:.6f} (soft macros as greedy left them)"
        )
    click.echo(message)
