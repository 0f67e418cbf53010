"""``a2perf results index|list|show|export``: the results database from the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click

from a2perf_core.results.store import DEFAULT_RESULTS_ROOT, ResultsError

#: columns of ``a2perf results export``, one row per metric value
EXPORT_COLUMNS = (
    "run_id",
    "path",
    "submission",
    "task",
    "domain",
    "seed",
    "status",
    "reason",
    "started",
    "ended",
    "metric",
    "phase",
    "group",
    "value",
    "unit",
    "direction",
)


def results_root_option(help_text: str, parameter: str = "root") -> Any:
    """The ``--results-root`` option of every command that reads or writes the results database."""
    return click.option(
        "--results-root",
        parameter,
        type=click.Path(path_type=Path),
        default=DEFAULT_RESULTS_ROOT,
        show_default=True,
        envvar="A2PERF_RESULTS_ROOT",
        help=help_text,
    )


root_option = results_root_option("Folder holding results.sqlite (env A2PERF_RESULTS_ROOT).")


def filter_options(function: Any) -> Any:
    for option in reversed(
        [
            click.option("--task", multiple=True, help="Only this task (repeatable)."),
            click.option("--submission", multiple=True, help="Only this submission: label, or name for every version."),
            click.option(
                "--metric", help="Only runs (export: values) with a metric matching this glob, e.g. 'latency.*'."
            ),
            click.option("--status", type=click.Choice(["ok", "failed"]), help="Only runs that ended so."),
            click.option("--since", help="Only runs started at or after this ISO date or time (UTC)."),
        ]
    ):
        function = option(function)
    return function


@click.group("results")
def results_group() -> None:
    """The results database: every run indexed, listed, shown, exported (see docs/results.md)."""


@results_group.command("index")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--results-root",
    "root",
    type=click.Path(path_type=Path),
    help="Folder of the database (default: DIRECTORY itself).",
)
def index_command(directory: Path, root: Path | None) -> None:
    """(Re)build the index of every run folder below DIRECTORY; the folders stay the source of truth."""
    from a2perf_core.results.store import database_path, index_tree

    report = index_tree(directory, root)
    for reason in report.skipped:
        click.secho(f"warning: skipped {reason}", fg="yellow", err=True)
    removed = f", removed {len(report.removed)} whose folder is gone" if report.removed else ""
    click.echo(
        f"indexed {len(report.indexed)} runs into {database_path(root or directory)}"
        f" ({len(report.skipped)} skipped{removed})"
    )


def _run_rows(root: Path, task: tuple[str, ...], submission: tuple[str, ...], **filters: Any) -> list[dict[str, Any]]:
    from a2perf_core.results.store import open_database, parse_since, run_filter_sql

    parse_since(filters.get("since"))
    where, params = run_filter_sql(task or None, submission or None, **filters)
    with open_database(root) as db:
        cursor = db.execute(
            "SELECT run_id, path, submission, task, domain, seed, status, reason, started, ended FROM runs"
            f"{where} ORDER BY started, task, submission, seed",
            params,
        )
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@results_group.command("list")
@root_option
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(root: Path, task: tuple[str, ...], submission: tuple[str, ...], as_json: bool, **filters: Any) -> None:
    """List indexed runs: id, submission, task, seed, status (with the reason of a failure), start."""
    from a2perf_core.cli import show_rows

    rows = _run_rows(root, task, submission, **filters)
    show_rows(
        rows,
        as_json,
        f"runs in {root}",
        ["run", "submission", "task", "seed", "status", "started"],
        lambda r: (r["run_id"], r["submission"], r["task"], r["seed"], _status_text(r), r["started"]),
    )


def _status_text(row: dict[str, Any]) -> str:
    return row["status"] if row["status"] == "ok" else f"{row['status']}: {row['reason']}"


@results_group.command("show")
@click.argument("run")
@root_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_command(run: str, root: Path, as_json: bool) -> None:
    """Show one run (its id, an id prefix, or its folder): facts, phases with reasons, metrics with units."""
    from a2perf_core.cli import print_json, print_table
    from a2perf_core.results.store import load_runs, open_database, stored_path

    with open_database(root) as db:
        candidates = db.execute(
            "SELECT run_id FROM runs WHERE run_id LIKE ? OR path = ?",
            (run.replace("%", "") + "%", stored_path(Path(run), root)),
        ).fetchall()
        if len(candidates) != 1:
            if candidates:
                raise ResultsError(f"{run!r} matches {len(candidates)} runs; give more of the id")
            raise ResultsError(f"no run {run!r} in {root}; see a2perf results list --results-root {root}")
        (found,) = [r for r in load_runs(root, db=db) if r.run_id == candidates[0][0]]
    if as_json:
        data = {
            "run_id": found.run_id,
            "run_dir": str(found.run_dir),
            "submission": found.submission,
            "task": found.task,
            "seed": found.seed,
            "status": found.status,
            "reason": found.reason,
            "started": found.started,
            "ended": found.ended,
            "phases": {name: {"status": s, "reason": r} for name, (s, r) in found.phases.items()},
            "metrics": [m.to_json() for m in found.metrics],
        }
        print_json(data)
        return
    click.echo(f"run {found.run_id}: {found.submission} on {found.task}, seed {found.seed}, {found.run_dir}")
    click.echo(f"status: {found.status}" + (f": {found.reason}" if found.reason else ""))
    click.echo(f"started {found.started}, ended {found.ended}")
    print_table("phases", ["phase", "status", "reason"], [(p, s, r) for p, (s, r) in found.phases.items()])
    print_table(
        "metrics",
        ["metric", "phase", "value", "unit", "better"],
        [(m.name, m.phase, "n/a" if m.value is None else m.value, m.unit, m.direction) for m in found.metrics],
    )


def export_rows(root: Path, task: tuple[str, ...], submission: tuple[str, ...], **filters: Any) -> list[dict[str, Any]]:
    """One row per metric value with its run's columns (``EXPORT_COLUMNS``); values exactly as in ``metrics.json``."""
    from a2perf_core.results.store import open_database, parse_since, resolve_stored_path, run_filter_sql

    metric = filters.pop("metric", None)
    parse_since(filters.get("since"))
    where, params = run_filter_sql(task or None, submission or None, **filters)
    where = where.replace(" WHERE ", " AND ", 1) if where else ""
    metric_clause = " AND m.name GLOB ?" if metric else ""
    with open_database(root) as db:
        rows = db.execute(
            "SELECT r.run_id, r.path, r.submission, r.task, r.domain, r.seed, r.status, r.reason, r.started, r.ended, "
            "m.name, m.phase, m.metric_group, m.value_json, m.unit, m.direction FROM runs r JOIN metric_values m "
            f"ON m.run_id = r.run_id WHERE 1{where}{metric_clause} "
            "ORDER BY r.started, r.task, r.submission, r.seed, m.position",
            [*params, *([metric] if metric else [])],
        ).fetchall()
    out = []
    for row in rows:
        entry = dict(zip(EXPORT_COLUMNS, row, strict=True))
        entry["value"] = json.loads(entry["value"])
        entry["path"] = str(resolve_stored_path(entry["path"], root))
        out.append(entry)
    return out


@results_group.command("export")
@root_option
@filter_options
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write to this file (default: stdout).")
def export_command(
    root: Path, task: tuple[str, ...], submission: tuple[str, ...], fmt: str, out: Path | None, **filters: Any
) -> None:
    """Export every metric value of the matching runs, one row each, with the run's columns."""
    rows = export_rows(root, task, submission, **filters)
    if fmt == "json":
        text = json.dumps(rows, indent=2, sort_keys=True) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            value = row["value"]
            text_value = "" if value is None else json.dumps(value) if not isinstance(value, str) else value
            writer.writerow({**row, "value": text_value})
        text = buffer.getvalue()
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text)
    except OSError as exc:
        raise ResultsError(f"--out {out}: {exc.strerror}") from None
    click.echo(f"wrote {len(rows)} metric values to {out}", err=True)
