"""Errors for inputs on which a reliability metric is undefined."""

from __future__ import annotations

from a2perf_core.errors import A2PerfError


class ReliabilityInputError(A2PerfError, ValueError):
    """Curves, rollouts or parameters on which a metric cannot be computed; the message says why."""
