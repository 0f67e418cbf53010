"""The core's own features, registered through the same hooks as any plugin."""

from __future__ import annotations

from collections.abc import Callable

from a2perf_core.hookspecs import hookimpl
from a2perf_core.specs import ExecutorSpec, LoaderSpec, MetricSpec


@hookimpl(trylast=True)
def a2perf_register_submission_loaders(register: Callable[[LoaderSpec], None]) -> None:
    register(
        LoaderSpec(
            name="folder",
            factory="a2perf_core.runner.submission:FolderLoader",
            priority=10,
            description="an A2Perf submission folder (train.py, inference.py, requirements.txt, __init__.py)",
        )
    )
    register(
        LoaderSpec(
            name="module",
            factory="a2perf_core.runner.submission:ModuleLoader",
            priority=0,
            description="an importable package with train and inference modules, e.g. 'mypkg.submission'",
        )
    )


@hookimpl(trylast=True)
def a2perf_register_executors(register: Callable[[ExecutorSpec], None]) -> None:
    register(
        ExecutorSpec(
            name="local",
            factory="a2perf_core.runner.executor:LocalExecutor",
            description="each phase in a child process on this machine",
        )
    )


@hookimpl(trylast=True)
def a2perf_register_metrics(register: Callable[[MetricSpec], None]) -> None:
    register(
        MetricSpec(
            name="wall_clock",
            factory="a2perf_core.runner.wallclock:WallClockMetric",
            unit="s",
            direction="lower",
            description="wall-clock time of each phase, start-up of metric trackers excluded",
        )
    )
