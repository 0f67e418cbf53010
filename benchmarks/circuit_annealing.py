"""Simulated annealing speed: moves per second on the incremental cost against full re-evaluation.

The same annealing run (same seed, same moves) is made twice in this process: once with
``PlacementCost.move_node`` updating only the moved macro's nets and rectangle, once with a cost
that recomputes everything after each move. Both must reach the same best cost; the ratio of
their moves per second is printed. Rounds alternate the two so that both see the same load.

    python benchmarks/circuit_annealing.py [--moves N] [--rounds R]

Data: ariane133 is looked up on A2PERF_DATA_PATH (``circuit_training/ariane133_ng45``); without
it the synthetic 12-macro design is used.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
from pathlib import Path

from a2perf_circuit_training.annealing import anneal
from a2perf_circuit_training.cost import PlacementCost
from a2perf_circuit_training.env import CircuitPlacementEnv
from a2perf_circuit_training.evaluate import weight_preset
from a2perf_circuit_training.greedy import greedy_place
from a2perf_circuit_training.netlist import read_netlist
from a2perf_circuit_training.plc import read_plc


class FullRecomputeCost(PlacementCost):
    """The baseline: every move recomputes the whole cost from the positions."""

    def move_node(self, node: int, x: float, y: float, orientation: int | None = None) -> None:
        self.x[node] = x
        self.y[node] = y
        if orientation is not None:
            self.orientation[node] = orientation
        self.recompute()


def find_design() -> Path | None:
    roots = os.environ.get("A2PERF_DATA_PATH", "").split(os.pathsep)
    roots.append(str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    for root in roots:
        candidate = Path(root) / "circuit_training" / "ariane133_ng45"
        if root and (candidate / "netlist.pb.txt").is_file():
            return candidate
    return None


def starting_env() -> tuple[str, CircuitPlacementEnv]:
    design = find_design()
    if design is None:
        print("ariane133_ng45 not found on A2PERF_DATA_PATH: using the synthetic design", file=sys.stderr)
        return "synthetic", CircuitPlacementEnv(synthetic={"num_macros": 12, "num_stdcells": 48, "num_ports": 16})
    netlist = read_netlist(design / "netlist.pb.txt")
    return "ariane133", CircuitPlacementEnv(netlist=netlist, placement=read_plc(design / "initial.plc"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=300, help="moves per annealing run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of both")
    args = parser.parse_args(argv)
    name, env = starting_env()
    greedy_place(env)
    weights = weight_preset("macroplacement")
    start = {"x": env.x, "y": env.y, "orientation": env.orientation, "weights": weights}
    rates: dict[str, list[float]] = {"incremental": [], "full": []}
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for label, kind in (("incremental", PlacementCost), ("full", FullRecomputeCost)):
            cost = kind(env.netlist, env.parameters, **copy.deepcopy(start))
            result = anneal(cost, moves=args.moves, seed=0, movable=env.macro_order)
            rates[label].append(result.moves / result.seconds)
            best[label] = result.best_cost
    if abs(best["incremental"] - best["full"]) > 1e-9 * abs(best["full"]):
        print(f"the two runs differ: best {best['incremental']!r} vs {best['full']!r}", file=sys.stderr)
        return 1
    incremental, full = statistics.median(rates["incremental"]), statistics.median(rates["full"])
    print(f"design {name}, {args.moves} moves per run, {args.rounds} rounds, best cost {best['full']:.6f} in both")
    print(f"incremental cost      {incremental:9.1f} moves/s (median of rounds)")
    print(f"full re-evaluation    {full:9.1f} moves/s")
    print(f"ratio                 {incremental / full:9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
