"""Entry point of the ``a2perf-report`` distribution: the ``report`` command, and a report after
every ``a2perf run``. Everything heavy is imported when a report is written."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from a2perf_core.api import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def a2perf_register_commands(cli: click.Group) -> None:
    from a2perf_report.cli import report_command

    cli.add_command(report_command)


@hookimpl
def a2perf_runs_finished(run_dirs: Sequence[Path], out_dir: Path) -> str | None:
    from a2perf_report.report import report_after_run

    return report_after_run(run_dirs, out_dir)
