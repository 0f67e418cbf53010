"""Which of A2Perf's three table groups a metric belongs to: Application, Reliability or System.

A2Perf's tables put what the agent achieves (returns, generalization) under Application, how
steadily it achieves it (dispersion and risk) under Reliability, and what it costs (energy, memory,
latency, time) under System. A metric a plugin adds falls under System unless it says otherwise by
its name's prefix.
"""

from __future__ import annotations

from typing import Literal

Group = Literal["application", "reliability", "system"]

GROUPS: tuple[Group, ...] = ("application", "reliability", "system")

#: name prefixes of the Application group; other ``reliability.*`` values are Reliability
APPLICATION_PREFIXES = (
    "reliability.returns.",
    "reliability.generalization",
    "reliability.median_performance_during_training",
    "application.",
)


def metric_group(name: str) -> Group:
    """The table group of the metric value called ``name``."""
    if name.startswith(APPLICATION_PREFIXES):
        return "application"
    if name.startswith("reliability."):
        return "reliability"
    return "system"
