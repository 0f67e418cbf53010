"""What the end-of-episode force-directed placer does to the cost of a known-good placement.

Takes ariane133's ``legalized.plc`` (hard macros legalized and soft macros placed by Google's
flow), keeps its hard macros, re-places the soft macros and standard cells with our
force-directed placer (the env's final stage, ``ForceDirectedSchedule()``), and prints the cost
before and after as the rows of the README's "Differences from A2Perf" table:

    python plugins/a2perf-circuit-training/docs/force_directed_effect.py [DATA_DIR]

``DATA_DIR`` is the folder holding ``circuit_training/ariane133_ng45/`` (default: the first
entry of ``A2PERF_DATA_PATH`` that has it). MacroPlacement's published comparison of Google's
force-directed placer with theirs is printed too, for scale: it is on a different clustering
of ariane133 (23 x 28 grid, 810 soft macros) whose netlist is not in the public data here, so it
cannot be re-run on our input.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from a2perf_circuit_training.cost import CostParameters, PlacementCost, ProxyWeights
from a2perf_circuit_training.netlist import MACRO, STDCELL, read_netlist
from a2perf_circuit_training.placer import force_directed_place
from a2perf_circuit_training.plc import apply_placement, read_plc

DESIGN = Path("circuit_training") / "ariane133_ng45"

# MacroPlacement, CodeElements/FDPlacement/ariane133/FD_metrics_0112.png (commit 20eddb6b): the
# same hard macros, soft macros placed by Circuit Training's binary or by their open placers;
# proxy = wirelength + 0.5 density + 0.5 congestion in that table.
MACROPLACEMENT_PUBLISHED = {
    # header of CodeElements/FDPlacement/ariane133/ariane.plc, the input, written by Google's binary
    # (its own routing parameters, smoothing 2); proxy with the table's weights
    "the input plc, before FD": (0.0526, 0.7209, 0.7721, 0.0526 + 0.5 * 0.7209 + 0.5 * 0.7721),
    "Circuit Training binary FD": (0.089807, 0.888838, 1.475658, 1.272055),
    "MacroPlacement Python FD": (0.084818, 0.912140, 1.460737, 1.271257),
    "MacroPlacement C++ FD": (0.086883, 0.954974, 1.495157, 1.311948),
}


def find_design(argument: str | None) -> Path:
    roots = [argument] if argument else os.environ.get("A2PERF_DATA_PATH", "").split(os.pathsep)
    for root in roots:
        if root and (Path(root) / DESIGN / "legalized.plc").is_file():
            return Path(root) / DESIGN
    raise SystemExit(f"{DESIGN}/legalized.plc not found: pass the data folder or set A2PERF_DATA_PATH")


def force_directed_effect(design: Path, *, use_plc_routing: bool) -> dict[str, dict[str, float]]:
    """Costs of ``legalized.plc`` as stored and after our placer re-places its soft macros and cells.

    ``use_plc_routing``: the plc header's routing and smoothing (the reference-value conditions),
    or else the environment's defaults (what the reward uses)."""
    netlist = read_netlist(design / "netlist.pb.txt")
    placement = read_plc(design / "legalized.plc")
    parameters = CostParameters.resolve(netlist, placement, use_plc_routing=use_plc_routing)
    x, y, orientation = netlist.x.copy(), netlist.y.copy(), netlist.orientation.copy()
    apply_placement(netlist, placement, x, y, orientation)
    movable = np.flatnonzero(((netlist.kind == MACRO) & netlist.is_soft) | (netlist.kind == STDCELL))
    placed_x, placed_y = force_directed_place(netlist, x, y, movable, (parameters.width, parameters.height))
    results = {}
    for label, (px, py) in {"legalized.plc": (x, y), "after our FD": (placed_x, placed_y)}.items():
        cost = PlacementCost(netlist, parameters, x=px, y=py, orientation=orientation, weights=ProxyWeights())
        report = cost.report()
        results[label] = {
            "wirelength": report.wirelength_cost,
            "density": report.density_cost,
            "congestion": report.congestion_cost,
            "proxy": report.proxy_cost,
            "proxy_mp_weights": report.wirelength_cost + 0.5 * report.density_cost + 0.5 * report.congestion_cost,
        }
    return results


def table_rows(design: Path) -> list[str]:
    rows = []
    for use_plc_routing, conditions in ((True, "plc header routing, smoothing 0"), (False, "env defaults")):
        effect = force_directed_effect(design, use_plc_routing=use_plc_routing)
        before, after = effect["legalized.plc"], effect["after our FD"]
        cells = [
            f"{key} {before[key]:.3f} -> {after[key]:.3f}" for key in ("wirelength", "density", "congestion", "proxy")
        ]
        rows.append(
            f"| ariane133, {conditions} | Google's soft macros in `legalized.plc` -> ours | " + ", ".join(cells) + " |"
        )
    for label, (wl, density, congestion, proxy) in MACROPLACEMENT_PUBLISHED.items():
        rows.append(
            f"| MacroPlacement's ariane133 (23 x 28), published | {label} | wirelength {wl:.3f}, density "
            f"{density:.3f}, congestion {congestion:.3f}, proxy (1, 0.5, 0.5) {proxy:.3f} |"
        )
    return rows


def main(argv: list[str]) -> int:
    design = find_design(argv[0] if argv else None)
    print("| input | soft macros placed by | costs before -> after (proxy weights 1, 1, 0.5) |")
    print("|---|---|---|")
    for row in table_rows(design):
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
