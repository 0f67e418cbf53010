"""The plugin API: the one module a plugin author imports from.

Every name is resolved on first use from the table below, so ``import a2perf_core.api`` and a
plugin's entry-point module stay cheap: ``from a2perf_core.api import hookimpl, Task`` imports
pluggy and attrs, never NumPy, Gymnasium or click.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from a2perf_core.data import asset_path, data_roots, get_asset, locate
    from a2perf_core.errors import A2PerfError, PluginError
    from a2perf_core.hookspecs import hookimpl
    from a2perf_core.metrics import Metric, MetricValue, PhaseContext, RunRecords
    from a2perf_core.protocols import Executor, SubmissionLoader
    from a2perf_core.results.cli import results_root_option
    from a2perf_core.results.groups import metric_group
    from a2perf_core.results.store import select_run_dirs
    from a2perf_core.runner.executor import RunRequest
    from a2perf_core.runner.results import submission_label
    from a2perf_core.runner.run import RunOutcome
    from a2perf_core.runner.summary import run_status
    from a2perf_core.settings import RunSettings
    from a2perf_core.specs import DataAsset, ExecutorSpec, LoaderSpec, MetricSpec, Task

#: public name -> "module:attribute" it is imported from on first use
EXPORTS: dict[str, str] = {
    # hooks and the specs they register
    "hookimpl": "a2perf_core.hookspecs:hookimpl",
    "Task": "a2perf_core.specs:Task",
    "DataAsset": "a2perf_core.specs:DataAsset",
    "MetricSpec": "a2perf_core.specs:MetricSpec",
    "LoaderSpec": "a2perf_core.specs:LoaderSpec",
    "ExecutorSpec": "a2perf_core.specs:ExecutorSpec",
    # metrics
    "Metric": "a2perf_core.metrics:Metric",
    "MetricValue": "a2perf_core.metrics:MetricValue",
    "PhaseContext": "a2perf_core.metrics:PhaseContext",
    "RunRecords": "a2perf_core.metrics:RunRecords",
    # runs, loaders and executors
    "RunSettings": "a2perf_core.settings:RunSettings",
    "SubmissionLoader": "a2perf_core.protocols:SubmissionLoader",
    "Executor": "a2perf_core.protocols:Executor",
    "RunRequest": "a2perf_core.runner.executor:RunRequest",
    "RunOutcome": "a2perf_core.runner.run:RunOutcome",
    # data assets
    "asset_path": "a2perf_core.data:asset_path",
    "locate": "a2perf_core.data:locate",
    "get_asset": "a2perf_core.data:get_asset",
    "data_roots": "a2perf_core.data:data_roots",
    # errors a plugin raises for a user's mistake (printed as one line by the CLI)
    "A2PerfError": "a2perf_core.errors:A2PerfError",
    "PluginError": "a2perf_core.errors:PluginError",
    # reading finished runs (hook a2perf_runs_finished)
    "run_status": "a2perf_core.runner.summary:run_status",
    "submission_label": "a2perf_core.runner.results:submission_label",
    "metric_group": "a2perf_core.results.groups:metric_group",
    # the results database (docs/results.md)
    "select_run_dirs": "a2perf_core.results.store:select_run_dirs",
    "results_root_option": "a2perf_core.results.cli:results_root_option",
}

__all__ = [
    "A2PerfError",
    "DataAsset",
    "Executor",
    "ExecutorSpec",
    "LoaderSpec",
    "Metric",
    "MetricSpec",
    "MetricValue",
    "PhaseContext",
    "PluginError",
    "RunOutcome",
    "RunRecords",
    "RunRequest",
    "RunSettings",
    "SubmissionLoader",
    "Task",
    "asset_path",
    "data_roots",
    "get_asset",
    "hookimpl",
    "locate",
    "metric_group",
    "run_status",
    "results_root_option",
    "select_run_dirs",
    "submission_label",
]


def __getattr__(name: str) -> Any:
    try:
        target = EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'a2perf_core.api' has no attribute {name!r}") from None
    module_name, _, attribute = target.partition(":")
    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
