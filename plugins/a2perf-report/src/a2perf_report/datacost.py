"""The "Data cost" section: for a run that trained on offline datasets (``run.json`` ``datasets``), its own
training cost, the cost of producing its datasets, and their sum.

A run's ``datasets`` is a list of ``{"id": str, "data_cost": {"energy_kwh", "env_steps", "wall_time_s",
"sources"}}``; a run without the key has no row. A quantity that one part did not measure (None) has no
sum: it reads "not measured", never the sum of the parts that were.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from a2perf_core.datasets import COST_FIELDS, total_cost, training_cost
from a2perf_core.errors import A2PerfError
from a2perf_report.errors import ReportInputError
from a2perf_report.runs import RunEntry

#: cost field -> (label, unit) as the section shows it
QUANTITIES = {"energy_kwh": ("energy", "kWh"), "env_steps": ("env steps", ""), "wall_time_s": ("wall time", "s")}


@attrs.frozen
class DataCostRow:
    """One run that declares datasets: what its own training, its data and both together cost."""

    run: RunEntry
    dataset_ids: tuple[str, ...]
    own: dict[str, Any]
    data: dict[str, Any]
    total: dict[str, Any]
    #: why the run's own training cost is not known (its train phase did not end ok); None when it is
    own_missing: str | None = None


def declared_datasets(run: RunEntry) -> list[dict[str, Any]]:
    """The run's ``datasets`` entries, checked: each has an id and a data cost with every field."""
    entries = run.info.get("datasets")
    if entries is None:
        return []
    where = f"{run.run_dir / 'run.json'}: datasets"
    if not isinstance(entries, list):
        raise ReportInputError(f"{where} is not a list")
    for entry in entries:
        cost = entry.get("data_cost") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not isinstance(cost, dict):
            raise ReportInputError(f"{where}: an entry without an id and a data_cost")
        missing = [name for name in COST_FIELDS if name not in cost]
        if missing:
            raise ReportInputError(f"{where}: {entry['id']} data_cost lacks {', '.join(missing)}")
        for name in COST_FIELDS:
            value = cost[name]
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ReportInputError(f"{where}: {entry['id']} data_cost {name} is not a number")
    return entries


def data_cost_rows(runs: Sequence[RunEntry]) -> list[DataCostRow]:
    """A row for each run that declares datasets, in the report's order."""
    rows = []
    for run in runs:
        entries = declared_datasets(run)
        if not entries:
            continue
        data = total_cost([e["data_cost"] for e in entries])
        try:
            own, missing = training_cost(run.run_dir), None
        except A2PerfError as exc:
            own, missing = dict.fromkeys(COST_FIELDS), str(exc)
        rows.append(
            DataCostRow(
                run=run,
                dataset_ids=tuple(e["id"] for e in entries),
                own=own,
                data=data,
                total=total_cost([own, data]),
                own_missing=missing,
            )
        )
    return rows


def cost_text(value: Any, field: str) -> str:
    """One cost as every format prints it."""
    if value is None:
        return "not measured"
    if field == "env_steps":
        return str(int(value))
    return f"{value:.4g}"
