"""``a2perf report RUNS... --out DIR``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
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
def report_command(runs: tuple[Path, ...], out_dir: Path, fmt: str, image_format: str) -> None:
    """Report RUNS (run folders, or folders holding them): the A2Perf table, plots and provenance."""
    from a2perf_report.report import write_report
    from a2perf_report.runs import find_run_dirs

    path = write_report(find_run_dirs(runs), out_dir, fmt, image_format)
    click.echo(f"wrote {path}")
