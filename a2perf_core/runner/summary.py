"""Across seeds: the across-run metrics and mean and std of every per-run metric, in ``summary.json``.

A seed that failed counts as failed in every aggregate: a submission that crashes on its hard seeds
must not be scored on its good ones. Each run's status is recorded; when any run failed, every
aggregate's ``mean``/``std`` and every across-run value is ``null`` with the reason and
``n_failed``, and the numbers of the runs that completed stay visible beside it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from a2perf_core.metrics import METRICS_JSON, RUN_JSON, RunRecords
from a2perf_core.runner.results import read_json, write_json
from a2perf_core.runner.run import instantiate_metrics, now

#: phase statuses that count as a completed phase
COMPLETED = ("ok", "skipped")


def relative_to_root(path: Path, root: Path) -> str:
    """``path`` relative to the results root (``..`` when outside it), with ``/`` separators."""
    return Path(os.path.relpath(Path(path).resolve(), Path(root).resolve())).as_posix()


def run_status(run_dir: Path) -> dict[str, Any]:
    """``status`` ``ok`` when every requested phase completed (ok, or skipped for want of data),
    else ``failed`` with the reason of each phase that did not."""
    info = read_json(run_dir / RUN_JSON)
    if not info:
        return {"status": "failed", "seed": None, "failed_phases": {"*": f"no {RUN_JSON}: the run did not start"}}
    phases = info.get("phases", {})
    requested = info.get("phases_requested") or list(phases)
    failed = {}
    for phase in requested:
        record = phases.get(phase)
        if record is None:
            failed[phase] = "no record: the run stopped before this phase"
        elif record.get("status") not in COMPLETED:
            failed[phase] = f"{record.get('status')}: {record.get('reason') or 'no reason recorded'}"
    return {"status": "failed" if failed else "ok", "seed": info.get("seed"), "failed_phases": failed}


def failure_reason(statuses: dict[str, dict[str, Any]]) -> str | None:
    failed = {name: s for name, s in statuses.items() if s["status"] != "ok"}
    if not failed:
        return None
    listing = "; ".join(
        f"{name}: " + ", ".join(f"{phase} {why}" for phase, why in s["failed_phases"].items())
        for name, s in failed.items()
    )
    return f"{len(failed)} of {len(statuses)} runs failed ({listing}); a failed run counts as failed in every aggregate"


def summarize(run_dirs: Sequence[Path], out_dir: Path) -> dict[str, Any]:
    """Run statuses, across-run metrics and mean and std of every numeric per-run metric; writes
    ``summary.json`` and the across-run ``metrics.json`` into ``out_dir``."""
    import numpy as np

    names = [relative_to_root(d, out_dir) for d in run_dirs]
    statuses = {name: run_status(d) for name, d in zip(names, run_dirs, strict=True)}
    n_failed = sum(s["status"] != "ok" for s in statuses.values())
    reason = failure_reason(statuses)

    records = [RunRecords(d) for d in run_dirs]
    metrics = instantiate_metrics()
    across: list[dict[str, Any]] = []
    errors = []
    for metric_name, metric in metrics.items():
        try:
            across.extend(v.to_json() for v in metric.summarize(records))
        except Exception as exc:
            errors.append(f"{metric_name}.summarize: {type(exc).__name__}: {exc}")
    if reason:
        for value in across:
            details = {**value.get("details", {}), "n_failed": n_failed, "reason": reason}
            if value.get("value") is not None:
                details["value_of_completed_runs"] = value["value"]
            value.update(value=None, details=details)

    per_run: dict[tuple[str, str | None], dict[str, dict[str, Any]]] = {}
    for name, d in zip(names, run_dirs, strict=True):
        for value in read_json(d / METRICS_JSON) or []:
            if isinstance(value.get("value"), (int, float)) and not isinstance(value.get("value"), bool):
                per_run.setdefault((value["name"], value.get("phase")), {})[name] = value
    aggregate = []
    for (metric_name, phase), by_run in sorted(per_run.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        first = next(iter(by_run.values()))
        numbers = np.array([v["value"] for v in by_run.values()], dtype=float)
        entry: dict[str, Any] = {
            "name": metric_name,
            "phase": phase,
            "unit": first.get("unit", ""),
            "direction": first.get("direction", "none"),
            "n": int(numbers.size),
            "n_failed": n_failed,
            "mean": float(numbers.mean()),
            "std": float(numbers.std(ddof=1)) if numbers.size > 1 else None,
            "values": {name: by_run[name]["value"] if name in by_run else None for name in names},
        }
        if reason:
            entry.update(mean=None, std=None, reason=reason)
        aggregate.append(entry)
    summary = {
        "runs": names,
        "run_status": statuses,
        "n_failed": n_failed,
        "across_runs": across,
        "aggregate": aggregate,
        "errors": errors,
        "created": now(),
    }
    write_json(out_dir / "summary.json", summary)
    write_json(out_dir / METRICS_JSON, across)
    return summary
