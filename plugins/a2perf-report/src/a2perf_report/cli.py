"""``a2perf report RUNS... --out DIR``."""

from __future__ import annotations

from pathlib import Path

import click

from a2perf_core.api import results_root_option


@click.command("report")
@click.argument("runs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Folder to write the report to.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "markdown", "latex"]),
    default="html",
    show_default=True,
    help="html: one self-contained report.html; markdown: report.md and images; latex: report.tex and images.",
)
@click.option("--image-format", type=click.Choice(["png", "svg"]), default="png", show_default=True)
@click.option("--task", multiple=True, help="Only runs of this task (repeatable); from the results database.")
@click.option("--submission", multiple=True, help="Only runs of this submission label or name (repeatable).")
@click.option("--status", type=click.Choice(["ok", "failed"]), help="Only runs that ended so.")
@click.option("--since", help="Only runs started at or after this ISO date or time.")
@results_root_option("Results root whose results.sqlite the filters query.", "results_root")
def report_command(
    runs: tuple[Path, ...],
    out_dir: Path,
    fmt: str,
    image_format: str,
    task: tuple[str, ...],
    submission: tuple[str, ...],
    status: str | None,
    since: str | None,
    results_root: Path,
) -> None:
    """Report RUNS (run folders, or folders holding them) or the indexed runs the filters select (with RUNS too:
    the runs among RUNS that the filters select): the A2Perf table, plots and provenance."""
    from a2perf_report.report import write_report
    from a2perf_report.runs import find_run_dirs

    filtered = bool(task or submission or status or since)
    if runs:
        selected = find_run_dirs(runs)
    if filtered or not runs:
        from a2perf_core.api import select_run_dirs

        indexed = select_run_dirs(
            results_root, task=task or None, submission=submission or None, status=status, since=since
        )
        if runs:
            wanted = {p.resolve() for p in indexed}
            selected = [p for p in selected if p.resolve() in wanted]
        else:
            selected = indexed
        if not selected:
            from a2perf_report.errors import ReportInputError

            raise ReportInputError(f"no run indexed in {results_root} matches the filters given")
    path = write_report(selected, out_dir, fmt, image_format)
    click.echo(f"wrote {path}")
