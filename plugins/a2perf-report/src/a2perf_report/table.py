"""A2Perf's table: Application / Reliability / System sections, one row per metric and phase, one
column per submission and task (then across tasks), each cell the mean ± std over seeds.

A column with a failed run shows that it failed and is never averaged: a submission that crashes on
its hard seeds is not scored on its good ones (the rule of ``summary.json``). The best cell of a
row is marked within each task (and within the across-task columns), by the metric's direction;
ties are all marked. Units are the ``MetricValue``'s own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from a2perf_core.results.groups import GROUPS, metric_group
from a2perf_report.runs import RunEntry, numeric_value

#: the label of the columns that pool a submission's runs over every task
ALL_TASKS = "all tasks"
ARROWS = {"higher": "↑", "lower": "↓", "none": ""}
PHASE_ORDER = {"train": 0, "inference": 1, "generalization": 2}


def format_number(value: float) -> str:
    """Four significant digits: the one spelling of a number in every output format."""
    return f"{value:.4g}"


@attrs.frozen
class Column:
    """One submission on one task, or on every task (``task == ALL_TASKS``)."""

    submission: str
    task: str


@attrs.frozen
class Cell:
    """The numbers of one column's runs on one metric."""

    #: the values of the completed runs, in run order
    values: tuple[float, ...]
    n_runs: int
    #: "<run folder>: <why>" of each failed run in the column
    failures: tuple[str, ...] = ()
    mean: float | None = None
    std: float | None = None
    #: interquartile mean and its 95 % stratified bootstrap CI (``iqm_with_ci``)
    iqm: tuple[float, float, float] | None = None
    best: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    @property
    def text(self) -> str:
        """What the cell shows: ``mean ± std``, ``failed (k of n runs)`` or ``–`` (not measured)."""
        if self.failed:
            return f"failed ({len(self.failures)} of {self.n_runs} runs)"
        if self.mean is None:
            return "–"
        if self.std is None:
            return format_number(self.mean)
        return f"{format_number(self.mean)} ± {format_number(self.std)}"

    @property
    def ci_text(self) -> str:
        if self.iqm is None:
            return ""
        iqm, low, high = self.iqm
        return f"IQM {format_number(iqm)}, 95% CI [{format_number(low)}, {format_number(high)}], n={len(self.values)}"


@attrs.frozen
class Row:
    name: str
    phase: str | None
    unit: str
    direction: str
    group: str
    cells: dict[Column, Cell]

    @property
    def label(self) -> str:
        arrow = ARROWS.get(self.direction, "")
        unit = f" ({self.unit})" if self.unit else ""
        return f"{self.name}{unit}{' ' + arrow if arrow else ''}"


@attrs.frozen
class ReportTable:
    columns: tuple[Column, ...]
    #: group -> its rows, in the order of :data:`GROUPS`
    sections: dict[str, tuple[Row, ...]]

    def rows(self) -> list[Row]:
        return [row for rows in self.sections.values() for row in rows]


def columns_of(runs: Sequence[RunEntry]) -> tuple[Column, ...]:
    """Per task (sorted), each submission (sorted); then each submission over all tasks when there
    are several tasks."""
    tasks = sorted({r.task for r in runs})
    submissions = sorted({r.submission for r in runs})
    present = {(r.submission, r.task) for r in runs}
    per_task = [Column(s, t) for t in tasks for s in submissions if (s, t) in present]
    if len(tasks) < 2:
        return tuple(per_task)
    return (*per_task, *(Column(s, ALL_TASKS) for s in submissions))


def runs_of(runs: Sequence[RunEntry], column: Column) -> list[RunEntry]:
    return [r for r in runs if r.submission == column.submission and column.task in (ALL_TASKS, r.task)]


def _phase_key(phase: str | None) -> tuple[int, str]:
    head = (phase or "").split("-", 1)[0]
    return PHASE_ORDER.get(head, 3), phase or ""


def _cell(column_runs: Sequence[RunEntry], name: str, phase: str | None) -> Cell:
    from a2perf_reliability.compare import iqm_with_ci

    failures = tuple(f"{r.run_dir}: {r.reason}" for r in column_runs if not r.ok)
    values_by_task: dict[str, list[float]] = {}
    for run in column_runs:
        if not run.ok:
            continue
        for value in run.metrics:
            if value["name"] == name and value.get("phase") == phase and (number := numeric_value(value)) is not None:
                values_by_task.setdefault(run.task, []).append(number)
    values = tuple(v for task_values in values_by_task.values() for v in task_values)
    if failures or not values:
        return Cell(values, len(column_runs), failures)
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if array.size > 1 else None
    iqm = tuple(float(x) for x in iqm_with_ci(values_by_task, n_resamples=1000, seed=0))
    mean = math.fsum(values) / len(values)  # exact sum: three seeds of 0.1, -0.2, 0.1 average to 0, not 1.4e-17
    return Cell(values, len(column_runs), failures, mean, std, iqm)  # type: ignore[arg-type]


def _mark_best(cells: dict[Column, Cell], direction: str) -> dict[Column, Cell]:
    if direction not in ("higher", "lower"):
        return cells
    marked = dict(cells)
    for task in dict.fromkeys(c.task for c in cells):
        candidates = {c: cell.mean for c, cell in cells.items() if c.task == task and cell.mean is not None}
        if len(candidates) < 2:
            continue
        best = max(candidates.values()) if direction == "higher" else min(candidates.values())
        for column, mean in candidates.items():
            if mean == best:
                marked[column] = attrs.evolve(cells[column], best=True)
    return marked


def _across_cell(
    column_runs: Sequence[RunEntry], values: Sequence[dict[str, Any]], name: str, phase: str | None
) -> Cell:
    """One across-run value (dispersion across runs, IQM across runs): shown as recorded, no std."""
    failures = tuple(f"{r.run_dir}: {r.reason}" for r in column_runs if not r.ok)
    numbers = [
        n for v in values if v["name"] == name and v.get("phase") == phase and (n := numeric_value(v)) is not None
    ]
    if failures or not numbers:
        return Cell(tuple(numbers), len(column_runs), failures)
    return Cell((numbers[0],), len(column_runs), failures, numbers[0])


def build_table(
    runs: Sequence[RunEntry], across_runs: Mapping[tuple[str, str], Sequence[dict[str, Any]]] | None = None
) -> ReportTable:
    """Every numeric metric any run recorded, as rows; text values (a region, a method) are left out.

    ``across_runs`` (:func:`~a2perf_report.runs.load_across_runs`) adds the values a ``--seeds``
    root computed over its runs, one per submission and task (none in the all-task columns).
    """
    across_runs = across_runs or {}
    columns = columns_of(runs)
    described: dict[tuple[str, str | None], dict[str, Any]] = {}
    across_keys: set[tuple[str, str | None]] = set()
    for run in runs:
        for value in run.metrics:
            if numeric_value(value) is not None:
                described.setdefault((value["name"], value.get("phase")), value)
    for values in across_runs.values():
        for value in values:
            key = (value["name"], value.get("phase"))
            if key not in described and (numeric_value(value) is not None or value.get("value") is None):
                described[key] = value
                across_keys.add(key)
    rows: dict[str, list[Row]] = {group: [] for group in GROUPS}
    for (name, phase), first in sorted(described.items(), key=lambda kv: (kv[0][0], _phase_key(kv[0][1]))):
        direction = first.get("direction", "none")
        if (name, phase) in across_keys:
            cells = {
                column: _across_cell(
                    runs_of(runs, column), across_runs.get((column.submission, column.task), ()), name, phase
                )
                for column in columns
            }
            if all(cell.mean is None and not cell.failed for cell in cells.values()):
                continue
        else:
            cells = {column: _cell(runs_of(runs, column), name, phase) for column in columns}
        group = metric_group(name)
        row = Row(name, phase, first.get("unit", ""), direction, group, _mark_best(cells, direction))
        rows[group].append(row)
    return ReportTable(columns, {group: tuple(r) for group, r in rows.items()})
