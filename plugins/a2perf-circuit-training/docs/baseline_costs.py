"""The baselines on ariane133 next to Google's placement, all scored by the same evaluation flow.

Places ariane133's hard macros (``CircuitTraining-Ariane133-v0``: its netlist and initial.plc)
with random legal actions, greedy and simulated annealing, and scores each placement and Google's
``legalized.plc`` with ``evaluate_placement``: soft macros re-placed force-directed, plc header
routing, MacroPlacement's weights (1 / 0.5 / 0.5). Prints one markdown row per placement:

    python plugins/a2perf-circuit-training/docs/baseline_costs.py [DATA_DIR] [--budget MOVES]
        [--time-limit SECONDS] [--random-seeds N] [--out-dir DIR] [--out FILE]

``DATA_DIR`` holds ``circuit_training/ariane133_ng45/`` (default: ``A2PERF_DATA_PATH``). With
``--out-dir`` the placements are written as plc files there; with ``--out`` the table is also written
to a markdown file that names the command and the date that made it (how docs/baselines gets it).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
from pathlib import Path

from a2perf_circuit_training.evaluate import evaluate_placement
from a2perf_circuit_training.netlist import read_netlist
from a2perf_circuit_training.place import place_macros, placed_plc_text
from a2perf_circuit_training.plc import parse_plc, read_plc

DESIGN = Path("circuit_training") / "ariane133_ng45"


def find_design(argument: str | None) -> Path:
    roots = [argument] if argument else os.environ.get("A2PERF_DATA_PATH", "").split(os.pathsep)
    for root in roots:
        if root and (Path(root) / DESIGN / "legalized.plc").is_file():
            return Path(root) / DESIGN
    raise SystemExit(f"{DESIGN}/legalized.plc not found: pass the data folder or set A2PERF_DATA_PATH")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?")
    parser.add_argument("--budget", type=int, default=20000, help="annealing moves")
    parser.add_argument("--time-limit", type=float, help="annealing seconds")
    parser.add_argument("--random-seeds", type=int, default=3)
    parser.add_argument("--out-dir", type=Path)
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    design = find_design(args.data)
    netlist = read_netlist(design / "netlist.pb.txt")
    initial = read_plc(design / "initial.plc")
    placements = {"Google's legalized.plc": read_plc(design / "legalized.plc")}
    runs = [(f"random, seed {seed}", "random", seed) for seed in range(args.random_seeds)]
    runs += [("greedy", "greedy", 0), ("simulated annealing", "annealing", 0)]
    notes = {}
    for label, method, seed in runs:
        placed = place_macros(netlist, initial, method, seed=seed, moves=args.budget, time_limit=args.time_limit)
        text = placed_plc_text(netlist, placed)
        if args.out_dir:
            args.out_dir.mkdir(parents=True, exist_ok=True)
            (args.out_dir / f"{method}{seed if method == 'random' else ''}.plc").write_text(text)
        placements[label] = parse_plc(text, source=label)
        if placed.annealing is not None:
            a = placed.annealing
            notes[label] = f"{a.moves} moves, {a.seconds:.0f} s"
    rows = ["| placement | proxy (1, 0.5, 0.5) | wirelength | density | congestion |", "|---|---|---|---|---|"]
    for label, plc in placements.items():
        _, report = evaluate_placement(netlist, plc, weights="macroplacement")
        shown = f"{label} ({notes[label]})" if label in notes else label
        rows.append(
            f"| {shown} | {report.proxy_cost:.4f} | {report.wirelength_cost:.4f} | {report.density_cost:.4f} "
            f"| {report.congestion_cost:.4f} |"
        )
    print("\n".join(rows))
    if args.out:
        command = " ".join(
            [
                "python",
                "plugins/a2perf-circuit-training/docs/baseline_costs.py",
                *map(shlex.quote, argv or sys.argv[1:]),
            ]
        )
        made = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        header = [
            "# Circuit training: the baselines on ariane133 next to Google's placement",
            "",
            "Each placement's hard macros as the baseline left them, soft macros re-placed force-directed, scored",
            "by `a2perf circuit evaluate`'s flow with MacroPlacement's weights (1 / 0.5 / 0.5); lower is better.",
            f"Written by `{command}` on {made}; not typed by hand.",
            "",
        ]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join([*header, *rows, ""]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
