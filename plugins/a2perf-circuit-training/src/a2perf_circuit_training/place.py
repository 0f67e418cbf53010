"""Macro placement by a named method (random, greedy, annealing), written as a plc for the evaluation flow.

Every method starts from the env built on the netlist and plc (its macro order, grid and mask):
``random`` plays seeded random legal actions, ``greedy`` plays :func:`greedy_place`, and
``annealing`` anneals from the greedy placement on the cost the evaluation flow reports (the plc
header's grid, canvas and routing, the chosen weight preset), soft macros and cells where the
greedy episode's final stage put them, flips included. The plc written carries the routing lines,
so ``a2perf circuit evaluate`` scores it under the same parameters.
"""

from __future__ import annotations

import attrs
import numpy as np

from a2perf_circuit_training.annealing import AnnealingResult, anneal
from a2perf_circuit_training.cost import CostParameters, PlacementCost
from a2perf_circuit_training.env import CircuitPlacementEnv
from a2perf_circuit_training.errors import CircuitTrainingError
from a2perf_circuit_training.evaluate import weight_preset
from a2perf_circuit_training.greedy import greedy_place
from a2perf_circuit_training.netlist import PORT, Netlist
from a2perf_circuit_training.plc import Placement, format_plc

METHODS = ("random", "greedy", "annealing")


@attrs.frozen
class PlacedDesign:
    """Node positions after a method ran, the parameters they are scored with, and the annealing run."""

    x: np.ndarray
    y: np.ndarray
    orientation: np.ndarray
    parameters: CostParameters
    annealing: AnnealingResult | None = None


def place_macros(
    netlist: Netlist,
    plc: Placement | None,
    method: str,
    *,
    seed: int = 0,
    moves: int = 20000,
    time_limit: float | None = None,
    weights: str = "macroplacement",
) -> PlacedDesign:
    if method not in METHODS:
        raise CircuitTrainingError(f"unknown placement method {method!r}; known: {', '.join(METHODS)}")
    parameters = CostParameters.resolve(netlist, plc, use_plc_routing=True)
    env = CircuitPlacementEnv(netlist=netlist, placement=plc)
    if method == "random":
        env.reset(seed=seed)
        env.action_space.seed(seed)
        while True:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            if info["infeasible"]:
                raise CircuitTrainingError(f"random placement (seed {seed}) reached a macro with no legal cell")
            if terminated or truncated:
                break
        return PlacedDesign(env.x.copy(), env.y.copy(), env.orientation.copy(), parameters)
    greedy_place(env)
    if method == "greedy":
        return PlacedDesign(env.x.copy(), env.y.copy(), env.orientation.copy(), parameters)
    cost = PlacementCost(
        netlist, parameters, x=env.x, y=env.y, orientation=env.orientation, weights=weight_preset(weights)
    )
    result = anneal(
        cost, moves=moves, seed=seed, time_limit=time_limit, macro_spacing=env.macro_spacing,
        overlap_threshold=env.overlap_threshold, movable=env.macro_order,
    )  # fmt: skip
    return PlacedDesign(result.x, result.y, result.orientation, parameters, result)


def placed_plc_text(netlist: Netlist, placed: PlacedDesign) -> str:
    """A plc of ``placed`` whose header has the grid, canvas, blockages and routing it was placed under."""
    p = placed.parameters
    header = {
        "Routes per micron, hor": f"{p.h_routes_per_micron:g}  ver : {p.v_routes_per_micron:g}",
        "Routes used by macros, hor": f"{p.h_macro_allocation:g}  ver : {p.v_macro_allocation:g}",
        "Smoothing factor": p.smoothing,
        "Overlap threshold": f"{p.overlap_threshold:g}",
    }
    return format_plc(
        netlist, placed.x, placed.y, placed.orientation, netlist.kind == PORT,
        columns=p.columns, rows=p.rows, width=p.width, height=p.height, header=header, blockages=p.blockages,
    )  # fmt: skip
