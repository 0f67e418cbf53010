"""Running a sweep: every cell still to run goes to the executor in one batch, each run is indexed into
the results database as its outcome arrives, failed cells are retried, and the grid's report is
written at the end.

A re-run of the same sweep folder resumes it: cells whose run completed are skipped, a cell killed
midway continues its folder (``--resume`` of its run), and a failed cell is tried again until it
failed more than ``retries`` times.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from a2perf_core.errors import A2PerfError
from a2perf_core.sweep.grid import GridCell, build_grid
from a2perf_core.sweep.manifest import (
    MANIFEST,
    cell_entry,
    cell_state,
    failure_reason,
    new_manifest,
    read_manifest,
)
from a2perf_core.sweep.progress import SweepStatus
from a2perf_core.sweep.spec import SweepSpec

SWEEP_LOCK = ".sweep.lock"


class SweepInUse(A2PerfError):
    """Another ``a2perf sweep`` runs in the same folder."""


@attrs.frozen
class SweepResult:
    """What a sweep invocation ended with: each cell's status, and the lines the after-run hooks printed."""

    sweep_dir: Path
    #: cell path (relative to the sweep folder) -> ``done`` or ``failed``
    statuses: dict[str, str]
    #: cell paths this invocation ran (retries included once)
    ran: tuple[str, ...]
    messages: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(status == "done" for status in self.statuses.values())


def run_sweep(
    spec: SweepSpec,
    sweep_dir: Path,
    executor: Any,
    *,
    retries: int = 1,
    results_root: Path | None = None,
    console: Any = None,
) -> SweepResult:
    """Run the grid of ``spec`` into ``sweep_dir`` with ``executor`` (see the module docstring)."""
    from rich.console import Console

    console = console or Console(stderr=True, soft_wrap=True)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise A2PerfError(f"--retries {retries!r}: give a whole number, 0 or more")
    grid = build_grid(spec)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    sweep_dir = sweep_dir.resolve()
    lock = _lock(sweep_dir)
    try:
        manifest = new_manifest(spec, read_manifest(sweep_dir), executor.name, retries)
        return _run(grid, sweep_dir, manifest, executor, retries, results_root, console)
    finally:
        os.close(lock)


def _lock(sweep_dir: Path) -> int:
    fd = os.open(sweep_dir / SWEEP_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SweepInUse(f"{sweep_dir} is in use by another `a2perf sweep`; wait for it to end, or stop it") from None
    return fd


def _write(sweep_dir: Path, manifest: dict[str, Any]) -> None:
    from a2perf_core.runner.results import write_json
    from a2perf_core.runner.run import now

    manifest["updated"] = now()
    write_json(sweep_dir / MANIFEST, manifest)


def _run(
    grid: list[GridCell],
    sweep_dir: Path,
    manifest: dict[str, Any],
    executor: Any,
    retries: int,
    results_root: Path | None,
    console: Any,
) -> SweepResult:
    from rich.live import Live

    from a2perf_core.runner.executor import RunRequest, execute_runs

    entries = {g.cell.path: cell_entry(manifest, g.cell) for g in grid}
    states = {g.cell.path: cell_state(sweep_dir / g.cell.path, entries[g.cell.path], retries) for g in grid}
    for path, (status, _) in states.items():
        entries[path]["status"] = status if status != "pending" else entries[path]["status"]
    _write(sweep_dir, manifest)
    done = sum(status == "done" for status, _ in states.values())
    given_up = sum(status == "failed" for status, _ in states.values())
    console.print(
        f"[bold]a2perf sweep[/] {len(grid)} cells -> {sweep_dir} ({done} done, {given_up} failed before, "
        f"executor {executor.name})"
    )
    status = SweepStatus(len(grid), done, given_up)
    ran: list[str] = []
    with Live(status, console=console, refresh_per_second=1, transient=True, redirect_stdout=False) as live:
        if not console.is_terminal:
            live.stop()
        while todo := [g for g in grid if states[g.cell.path][0] == "pending"]:
            requests = [RunRequest(g.settings, sweep_dir / g.cell.path, states[g.cell.path][1]) for g in todo]
            status.queue([r.run_dir for r in requests])
            for entry in (entries[g.cell.path] for g in todo):
                entry["status"] = "pending"
            for cell_grid, outcome in zip(todo, execute_runs(executor, requests), strict=False):
                path = cell_grid.cell.path
                ran.append(path)
                states[path] = _record(sweep_dir, entries[path], outcome, retries, results_root, console)
                status.finished(sweep_dir / path, states[path][0] == "done")
                _write(sweep_dir, manifest)
                live.refresh()
    statuses = {g.cell.path: states[g.cell.path][0] for g in grid}
    _summaries(grid, sweep_dir, statuses)
    messages = _after_sweep(grid, sweep_dir)
    for line in messages:
        console.print(line, markup=False, highlight=False)
    failed = [p for p, s in statuses.items() if s != "done"]
    console.print(
        f"sweep: {len(grid) - len(failed)}/{len(grid)} done, {len(failed)} failed"
        + (f" ({', '.join(failed)})" if failed else ""),
        markup=False,
        highlight=False,
    )
    return SweepResult(sweep_dir, statuses, tuple(ran), tuple(messages))


def _record(
    sweep_dir: Path,
    entry: dict[str, Any],
    outcome: Any,
    retries: int,
    results_root: Path | None,
    console: Any,
) -> tuple[str, bool]:
    """The manifest entry updated from a run's outcome; the run indexed; the cell's next state."""
    from rich.markup import escape

    from a2perf_core.runner.cli import index_finished_run
    from a2perf_core.runner.run import now

    run_dir = Path(outcome.run_dir)
    entry["tries"] += 1
    entry["ended"] = now()
    ok = outcome.ok and (run_dir / "run.json").exists()
    path = run_dir.relative_to(sweep_dir) if run_dir.is_relative_to(sweep_dir) else run_dir
    if ok:
        entry["status"], entry["reason"] = "done", None
        console.print(f"  [green]done[/] {escape(str(path))}")
    else:
        entry["failures"] += 1
        entry["reason"] = failure_reason(run_dir)
        retry = entry["failures"] <= retries
        entry["status"] = "pending" if retry else "failed"
        again = " (retrying)" if retry else ""
        console.print(f"  [red]failed[/] {escape(str(path))}{again}: {escape(entry['reason'])}")
    if results_root is not None and (run_dir / "run.json").exists():
        from a2perf_core.results.store import run_id_of

        index_finished_run(console, run_dir, results_root)
        try:
            from a2perf_core.runner.results import read_json

            entry["run_id"] = run_id_of(read_json(run_dir / "run.json"))
        except (ValueError, KeyError, TypeError):
            entry["run_id"] = None
    if ok:
        return "done", False
    return ("pending", True) if entry["status"] == "pending" else ("failed", False)


def _summaries(grid: Sequence[GridCell], sweep_dir: Path, statuses: dict[str, str]) -> None:
    """A ``summary.json`` per submission and task over its seeds (what ``a2perf run --seeds`` writes)."""
    from a2perf_core.runner.summary import summarize

    groups: dict[str, list[Path]] = {}
    for g in grid:
        groups.setdefault(g.cell.group, []).append(sweep_dir / g.cell.path)
    for group, run_dirs in groups.items():
        if all((d / "run.json").exists() for d in run_dirs):
            summarize(run_dirs, sweep_dir / group)


def _after_sweep(grid: Sequence[GridCell], sweep_dir: Path) -> list[str]:
    """The after-run hooks (the report plugin writes ``<sweep>/report/``) over every run of the grid."""
    from a2perf_core.plugins import get_plugins

    run_dirs = [sweep_dir / g.cell.path for g in grid if (sweep_dir / g.cell.path / "run.json").exists()]
    if not run_dirs:
        return []
    return get_plugins().runs_finished(run_dirs, sweep_dir)
