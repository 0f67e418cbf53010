"""MacroPlacement's evaluation flow: take a macro placement, place the soft macros, score it.

A placement from any tool (the env, simulated annealing, a plc written elsewhere) is read with its
macro coordinates as they are, on the grid or not; hard macros keep them. The soft macros and
standard cells are then re-placed by the force-directed placer of the env's final stage (or kept
where the file has them), and the proxy cost is computed with a weight preset. Grid, canvas and
routing come from the plc header, as ``a2perf circuit cost`` reads them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from a2perf_circuit_training.cost import CostParameters, CostReport, PlacementCost, ProxyWeights
from a2perf_circuit_training.errors import CircuitTrainingError
from a2perf_circuit_training.netlist import MACRO, STDCELL, Netlist
from a2perf_circuit_training.placer import ForceDirectedSchedule, force_directed_place
from a2perf_circuit_training.plc import Placement, apply_placement

#: ``ct``: Google's environment (wirelength 1, density 1, congestion 0.5); ``macroplacement``: the
#: weights of MacroPlacement's published tables (1, 0.5, 0.5)
WEIGHT_PRESETS = {
    "ct": ProxyWeights(wirelength=1.0, density=1.0, congestion=0.5),
    "macroplacement": ProxyWeights(wirelength=1.0, density=0.5, congestion=0.5),
}
SoftMacros = Literal["force-directed", "keep"]


def weight_preset(name: str) -> ProxyWeights:
    try:
        return WEIGHT_PRESETS[name]
    except KeyError:
        raise CircuitTrainingError(f"unknown weight preset {name!r}; known: {', '.join(WEIGHT_PRESETS)}") from None


def evaluate_placement(
    netlist: Netlist,
    plc: Placement,
    *,
    weights: str = "macroplacement",
    soft_macros: SoftMacros = "force-directed",
    schedule: ForceDirectedSchedule | None = None,
    **overrides: object,
) -> tuple[PlacementCost, CostReport]:
    """The cost of ``plc``'s macro placement after the soft-macro stage, with a weight preset."""
    if soft_macros not in ("force-directed", "keep"):
        raise CircuitTrainingError(f"soft_macros must be 'force-directed' or 'keep', got {soft_macros!r}")
    preset = weight_preset(weights)
    parameters = CostParameters.resolve(netlist, plc, use_plc_routing=True, **overrides)
    x, y, orientation = netlist.x.copy(), netlist.y.copy(), netlist.orientation.copy()
    apply_placement(netlist, plc, x, y, orientation)
    if soft_macros == "force-directed":
        movable = np.flatnonzero(((netlist.kind == MACRO) & netlist.is_soft) | (netlist.kind == STDCELL))
        x, y = force_directed_place(netlist, x, y, movable, (parameters.width, parameters.height), schedule)
    cost = PlacementCost(netlist, parameters, x=x, y=y, orientation=orientation, weights=preset)
    return cost, cost.report()
