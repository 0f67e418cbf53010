"""Entry point of the ``a2perf-latency`` distribution: registers the ``latency`` metric lazily."""

from __future__ import annotations

from collections.abc import Callable

from a2perf_core.api import MetricSpec, hookimpl


@hookimpl
def a2perf_register_metrics(register: Callable[[MetricSpec], None]) -> None:
    register(
        MetricSpec(
            name="latency",
            factory="a2perf_latency.metric:LatencyMetric",
            unit="ms",
            direction="lower",
            description="per-call infer_once latency on real observations: count, mean, std, min, p50-p99, max, "
            "throughput; warm-up calls and harness overhead reported separately",
        )
    )
