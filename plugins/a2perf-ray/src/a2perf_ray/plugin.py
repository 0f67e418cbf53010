"""Entry point of the ``a2perf-ray`` distribution: registers the ``ray`` executor lazily (Ray is
imported only when a sweep uses it)."""

from __future__ import annotations

from collections.abc import Callable

from a2perf_core.api import ExecutorSpec, hookimpl


@hookimpl
def a2perf_register_executors(register: Callable[[ExecutorSpec], None]) -> None:
    register(
        ExecutorSpec(
            name="ray",
            factory="a2perf_ray.executor:RayExecutor",
            description="each run a Ray task (local instance, or --address of a cluster), with CPU, memory "
            "and browser requests per domain",
        )
    )
