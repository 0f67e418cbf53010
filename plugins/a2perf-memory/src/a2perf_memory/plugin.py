"""Entry point of the ``a2perf-memory`` distribution: registers the ``memory`` metric lazily."""

from __future__ import annotations

from collections.abc import Callable

from a2perf_core.api import MetricSpec, hookimpl


@hookimpl
def a2perf_register_metrics(register: Callable[[MetricSpec], None]) -> None:
    register(
        MetricSpec(
            name="memory",
            factory="a2perf_memory.metric:MemoryMetric",
            unit="MiB",
            direction="lower",
            description="peak and mean RSS of the participant's process tree per phase (polled every 100 ms), "
            "timeline CSV, cross-checked against the kernel's high-water marks",
        )
    )
