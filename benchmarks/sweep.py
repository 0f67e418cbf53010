"""Sweep throughput on this machine: cells per hour against ``--jobs``, and vector-env steps per second
against the number of envs, each beside its ideal (linear in the parallelism, from the 1 measured in
the same run).

- cells per hour: ``python -m a2perf_core sweep`` of the bundled example submission on
  ``CircuitTraining-Synthetic-v0`` (the cheapest task), ``--phase train``, ``--cells`` seeds, into a
  fresh folder, with ``--jobs 1`` and then ``--jobs 2``; whole-process wall time, so interpreter
  start and the sweep's own bookkeeping count.
- vector-env steps per second: ``gymnasium.vector.AsyncVectorEnv`` (one process per env) of the
  quadruped task made with ``a2perf_core.make``, which is what ``participant.make_vec_env(n)``
  returns inside a run; random actions, ``--steps`` steps of the vector after one warm-up reset,
  ``n = 1, 2``. Env steps per second is ``n x steps / seconds``.

The load average is printed: the ideal assumes the machine's cores are free. ``--write-doc`` puts the
tables into docs/scaling.md between its ``sweep-bench`` markers (the doc's numbers come from here).

    nox -s bench -- benchmarks/sweep.py
    python benchmarks/sweep.py [--cells N] [--steps N] [--write-doc docs/scaling.md]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CELL_TASK = "CircuitTraining-Synthetic-v0"
QUADRUPED_TASK = "QuadrupedLocomotion-DogPace-v0"
BEGIN, END = "<!-- sweep-bench:begin -->", "<!-- sweep-bench:end -->"


def ideal(base: float, parallelism: int) -> float:
    """Linear scaling: ``parallelism`` times the rate measured with one."""
    return base * parallelism


def sweep_seconds(cells: int, jobs: int) -> float:
    """Wall seconds of a fresh ``a2perf sweep`` of ``cells`` seeds with ``--jobs jobs``."""
    env = {**os.environ, "A2PERF_LOAD_PLUGINS": "a2perf-circuit-training"}
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "a2perf_core", "sweep", "--task", CELL_TASK, "--phase", "train"]
        command += ["--seeds", f"0-{cells - 1}", "--jobs", str(jobs), "--out", folder, "--results-root", folder]
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start


def _make_quadruped() -> object:
    import a2perf_core

    return a2perf_core.make(QUADRUPED_TASK)


def vector_steps_per_s(n: int, steps: int) -> float:
    """Env steps per second of an ``AsyncVectorEnv`` of ``n`` quadruped envs."""
    import gymnasium

    vector = gymnasium.vector.AsyncVectorEnv([_make_quadruped] * n)
    try:
        vector.reset(seed=0)
        vector.action_space.seed(0)
        start = time.perf_counter()
        for _ in range(steps):
            vector.step(vector.action_space.sample())
        return n * steps / (time.perf_counter() - start)
    finally:
        vector.close()


def table(title: str, unit: str, parallel: str, rows: list[tuple[int, float]]) -> list[str]:
    base = rows[0][1]
    lines = [f"{title}", "", f"| {parallel} | {unit} | ideal (linear) | measured / ideal |", "|---|---|---|---|"]
    for k, value in rows:
        lines.append(f"| {k} | {value:.4g} | {ideal(base, k):.4g} | {value / ideal(base, k):.2f} |")
    return lines


def write_doc(path: Path, lines: list[str]) -> None:
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path}: no {BEGIN} ... {END} markers to put the tables between")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + BEGIN + "\n" + "\n".join(lines) + "\n" + END + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=4, help="cells (seeds) per sweep (default 4)")
    parser.add_argument("--steps", type=int, default=300, help="vector-env steps per n (default 300)")
    parser.add_argument("--write-doc", type=Path, help="put the tables into this file (docs/scaling.md)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    cells = [(jobs, args.cells / sweep_seconds(args.cells, jobs) * 3600) for jobs in (1, 2)]
    vector = [(n, vector_steps_per_s(n, args.steps)) for n in (1, 2)]
    lines = [
        f"Measured by `python benchmarks/sweep.py --cells {args.cells} --steps {args.steps}` on "
        f"{os.cpu_count()} logical CPUs, load average {load:.1f} at the start.",
        "",
        *table(f"Cells per hour, `a2perf sweep` of {CELL_TASK} `--phase train`:", "cells/h", "--jobs", cells),
        "",
        *table(f"Vector-env steps per second, AsyncVectorEnv of {QUADRUPED_TASK}:", "env steps/s", "n", vector),
    ]
    print("\n".join(lines))
    if args.write_doc:
        write_doc(args.write_doc, lines)
        print(f"wrote the tables into {args.write_doc}")


if __name__ == "__main__":
    main()
