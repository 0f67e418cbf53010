"""Errors of a report's input: printed as one line by the CLI (exit code 2)."""

from __future__ import annotations

from a2perf_core.errors import A2PerfError


class ReportInputError(A2PerfError):
    """The runs asked for cannot be reported: none found, or a run folder that cannot be read."""
