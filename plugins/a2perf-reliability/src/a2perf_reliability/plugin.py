"""Entry point of the ``a2perf-reliability`` distribution: registers the ``reliability`` metric lazily,
and the ``a2perf compare`` command."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from a2perf_core.api import MetricSpec, hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def a2perf_register_metrics(register: Callable[[MetricSpec], None]) -> None:
    register(
        MetricSpec(
            name="reliability",
            factory="a2perf_reliability.metric:ReliabilityMetric",
            unit="return",
            direction="none",
            description="Chan et al. (2020) reliability: dispersion and risk across time, runs and rollouts; "
            "returns (mean, std, IQM, min, max) and generalization; presets chan2020 and a2perf",
        )
    )


@hookimpl
def a2perf_register_commands(cli: click.Group) -> None:
    """``a2perf compare``: the module imports only click; the statistics load when it runs."""
    from a2perf_reliability.cli import compare_command

    cli.add_command(compare_command)
