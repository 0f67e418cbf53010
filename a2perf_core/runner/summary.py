"""Across seeds: the across-run metrics and mean and std of every per-run metric, in ``summary.json``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from a2perf_core.metrics import METRICS_JSON, RunRecords
from a2perf_core.runner.results import read_json, write_json
from a2perf_core.runner.run import instantiate_metrics, now


def summarize(run_dirs: Sequence[Path], out_dir: Path) -> dict[str, Any]:
    """Across-run metrics plus mean and std of every numeric per-run metric; writes summary.json."""
    import numpy as np

    records = [RunRecords(d) for d in run_dirs]
    metrics = instantiate_metrics()
    across: list[dict[str, Any]] = []
    errors = []
    for name, metric in metrics.items():
        try:
            across.extend(v.to_json() for v in metric.summarize(records))
        except Exception as exc:
            errors.append(f"{name}.summarize: {type(exc).__name__}: {exc}")
    per_run: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for d in run_dirs:
        for value in read_json(d / METRICS_JSON) or []:
            if isinstance(value.get("value"), (int, float)) and not isinstance(value.get("value"), bool):
                per_run.setdefault((value["name"], value.get("phase")), []).append(value)
    aggregate = []
    for (name, phase), values in sorted(per_run.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        numbers = np.array([v["value"] for v in values], dtype=float)
        aggregate.append(
            {
                "name": name,
                "phase": phase,
                "unit": values[0].get("unit", ""),
                "direction": values[0].get("direction", "none"),
                "n": int(numbers.size),
                "mean": float(numbers.mean()),
                "std": float(numbers.std(ddof=1)) if numbers.size > 1 else None,
            }
        )
    summary = {
        "runs": [str(d.relative_to(out_dir)) if d.is_relative_to(out_dir) else str(d) for d in run_dirs],
        "across_runs": across,
        "aggregate": aggregate,
        "errors": errors,
        "created": now(),
    }
    write_json(out_dir / "summary.json", summary)
    write_json(out_dir / METRICS_JSON, across)
    return summary
