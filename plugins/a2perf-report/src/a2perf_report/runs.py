"""Which runs a report shows, and what each run folder says about itself.

Selection is one step: :func:`find_run_dirs` turns paths into run folders (a folder holding
``run.json``, or any folder below which such folders lie); :func:`load_runs` reads a list of run
folders, whichever way they were chosen (a results database's filters give such a list too).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from a2perf_core.metrics import METRICS_JSON, RUN_JSON
from a2perf_core.runner.results import submission_label
from a2perf_core.runner.summary import run_status
from a2perf_report.errors import ReportInputError


@attrs.frozen
class RunEntry:
    """One run folder as the report sees it: whose, on which task, how it ended, what it measured."""

    run_dir: Path
    submission: str
    task: str
    seed: int | None
    #: ``ok`` or ``failed`` (the same rule as ``summary.json``)
    status: str
    #: phase -> why it did not complete (empty when ok)
    failed_phases: dict[str, str]
    #: the run's ``metrics.json``: a list of ``MetricValue.to_json()`` dicts
    metrics: tuple[dict[str, Any], ...]
    #: the run's ``run.json``
    info: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def reason(self) -> str:
        return "; ".join(f"{phase}: {why}" for phase, why in self.failed_phases.items())


def find_run_dirs(paths: Iterable[str | Path]) -> list[Path]:
    """Run folders at or below ``paths``, each once, in the order found (sorted within a folder)."""
    found: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise ReportInputError(f"{path}: no such file or folder")
        if path.is_file():
            if path.name != RUN_JSON:
                raise ReportInputError(f"{path}: give a run folder (holding {RUN_JSON}) or a folder of run folders")
            path = path.parent
        if (path / RUN_JSON).is_file():
            found.setdefault(path, None)
            continue
        below = sorted(p.parent for p in path.rglob(RUN_JSON) if not any(part.startswith(".") for part in p.parts))
        if not below:
            raise ReportInputError(f"{path}: no runs found (no {RUN_JSON} in it or below it)")
        for run_dir in below:
            found.setdefault(run_dir, None)
    if not found:
        raise ReportInputError("no runs given: name run folders or folders that hold them")
    return list(found)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise ReportInputError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportInputError(f"{path}: the {what} is not valid JSON ({exc})") from None


def load_run(run_dir: Path) -> RunEntry:
    """One run folder, checked enough that every number shown later is the one it recorded."""
    info = _read_json(run_dir / RUN_JSON, RUN_JSON)
    if not (isinstance(info, dict) and isinstance(info.get("task"), str) and isinstance(info.get("submission"), dict)):
        raise ReportInputError(f"{run_dir / RUN_JSON}: not an a2perf run record (no task or submission)")
    submission = info["submission"]
    label = submission_label(str(submission.get("reference") or run_dir.name), submission.get("content_hash"))
    metrics_path = run_dir / METRICS_JSON
    metrics = _read_json(metrics_path, METRICS_JSON) if metrics_path.exists() else []
    if not isinstance(metrics, list) or not all(isinstance(v, dict) and "name" in v for v in metrics):
        raise ReportInputError(f"{metrics_path}: not a list of metric values")
    status = run_status(run_dir)
    return RunEntry(
        run_dir=run_dir,
        submission=label,
        task=info["task"],
        seed=info.get("seed"),
        status=status["status"],
        failed_phases=dict(status["failed_phases"]),
        metrics=tuple(metrics),
        info=info,
    )


def load_runs(run_dirs: Sequence[str | Path]) -> list[RunEntry]:
    """The runs a report shows: every folder read and checked before anything is drawn."""
    if not run_dirs:
        raise ReportInputError("no runs to report")
    return [load_run(Path(d)) for d in run_dirs]


def numeric_value(value: dict[str, Any]) -> float | None:
    """The value as a finite float, or ``None`` for text, flags, missing and non-finite values."""
    number = value.get("value")
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        return None
    return float(number)


def load_across_runs(runs: Sequence[RunEntry]) -> dict[tuple[str, str], tuple[dict[str, Any], ...]]:
    """(submission, task) -> the across-run values (``<root>/metrics.json`` of a ``--seeds`` root).

    Only when the report holds exactly the runs that root's ``summary.json`` summarised, and all of
    the column's runs come from that one root: values computed over other runs are never shown.
    """
    by_column: dict[tuple[str, str], list[RunEntry]] = {}
    for run in runs:
        by_column.setdefault((run.submission, run.task), []).append(run)
    out = {}
    for column, members in by_column.items():
        roots = {m.run_dir.parent for m in members}
        if len(roots) != 1:
            continue
        root = roots.pop()
        summary_path, metrics_path = root / "summary.json", root / METRICS_JSON
        if not (summary_path.is_file() and metrics_path.is_file()):
            continue
        summary = _read_json(summary_path, "summary.json")
        listed = {(root / name).resolve() for name in summary.get("runs", [])} if isinstance(summary, dict) else set()
        if listed != {m.run_dir.resolve() for m in members}:
            continue
        values = _read_json(metrics_path, METRICS_JSON)
        if not isinstance(values, list) or not all(isinstance(v, dict) and "name" in v for v in values):
            raise ReportInputError(f"{metrics_path}: not a list of metric values")
        out[column] = tuple(values)
    return out
