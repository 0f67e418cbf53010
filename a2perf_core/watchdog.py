"""A tiny process that ends what another process started, when that process goes away.

``python -m a2perf_core.watchdog [--cgroup DIR] [--match TEXT] [--remove DIR]`` reads process ids
from its standard input, one a line, until the pipe closes: when its owner closes it, exits, or is
killed with SIGKILL. It then kills the trees under those pids, every process with TEXT in its
command line and every member of the cgroup DIR (which it removes), and deletes the directory
given by ``--remove``. Start it in its own session so that a signal to its owner's process group
does not reach it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from a2perf_core.proctree import PhaseCgroup, ProcessTreeReader, kill_all, processes_with_argument, wait_gone


def end_everything(
    roots: Sequence[int], cgroup: Path | None = None, match: str | None = None, remove: Path | None = None
) -> list[int]:
    """Kill the trees under ``roots``, the processes matching ``match`` and the cgroup's members; return the pids."""
    reader = ProcessTreeReader()
    victims: list[int] = []
    for root in roots:
        victims.extend(pid for pid in reader.tree_pids(root) if pid != os.getpid())
    if match:
        for pid in processes_with_argument(match):
            victims.extend(reader.tree_pids(pid))
    victims = sorted(set(victims) - {os.getpid()})
    kill_all(victims)
    if cgroup is not None:
        PhaseCgroup(cgroup).remove()
    wait_gone(victims, reader=reader)
    if remove is not None:
        shutil.rmtree(remove, ignore_errors=True)
    return victims


def start_watchdog(
    cgroup: Path | None = None, match: str | None = None, remove: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a watchdog in its own session; write pids to its ``stdin``, close it to end them."""
    argv = [sys.executable, "-m", "a2perf_core.watchdog"]
    for flag, value in (("--cgroup", cgroup), ("--match", match), ("--remove", remove)):
        if value is not None:
            argv += [flag, os.fspath(value)]
    return subprocess.Popen(argv, stdin=subprocess.PIPE, start_new_session=True, close_fds=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a2perf_core.watchdog", description=__doc__)
    parser.add_argument("--cgroup", type=Path, help="a cgroup v2 directory to kill and remove")
    parser.add_argument("--match", help="end processes with this text in their command line")
    parser.add_argument("--remove", type=Path, help="a directory to delete at the end")
    args = parser.parse_args(argv)
    roots = []
    for line in sys.stdin.buffer:
        if line.strip().isdigit():
            roots.append(int(line))
    end_everything(roots, args.cgroup, args.match, args.remove)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
