"""A2Perf's gin names: ``Submission.*`` and ``track_emissions_decorator.*``.

Importing this module (an A2Perf gin file does) registers the names with gin; the compat plugin's
``a2perf_configure_run`` hook reads the bound values and maps them onto a2perf's run settings.
The functions themselves are never called by a2perf.
"""

from __future__ import annotations

from typing import Any

import gin

from a2perf.constants import BenchmarkDomain, BenchmarkMode, ReliabilityMetrics  # noqa: F401 - registers enums


@gin.configurable
def Submission(  # noqa: N802 - A2Perf's configurable name
    root_dir: str | None = None,
    metric_values_dir: str | None = None,
    participant_module_path: str | None = None,
    mode: Any = None,
    domain: Any = None,
    participant_args: str | None = None,
    num_inference_steps: int | None = None,
    num_inference_episodes: int | None = None,
    num_generalization_episodes: int | None = None,
    time_participant_code: bool | None = None,
    measure_emissions: bool | None = None,
    plot_metrics: bool | None = None,
    run_offline_metrics_only: bool | None = None,
    reliability_metrics: list | None = None,
    generalization_tasks: list | None = None,
) -> dict[str, Any]:
    """The values A2Perf's Submission took; bound through gin only."""
    return dict(locals())


@gin.configurable
def track_emissions_decorator(
    project_name: str | None = None,
    measure_power_secs: float | None = None,
    api_call_interval: int | None = None,
    api_endpoint: str | None = None,
    api_key: str | None = None,
    output_dir: str | None = None,
    output_file: str | None = None,
    save_to_file: bool | None = None,
    save_to_api: bool | None = None,
    save_to_logger: bool | None = None,
    save_to_prometheus: bool | None = None,
    prometheus_url: str | None = None,
    logging_logger: Any = None,
    offline: bool | None = None,
    emissions_endpoint: str | None = None,
    experiment_id: str | None = None,
    country_iso_code: str | None = None,
    region: str | None = None,
    cloud_provider: str | None = None,
    cloud_region: str | None = None,
    gpu_ids: list | None = None,
    co2_signal_api_token: str | None = None,
    log_level: Any = None,
    default_cpu_power: float | None = None,
    pue: float | None = None,
) -> dict[str, Any]:
    """The codecarbon options A2Perf's energy decorator took; bound through gin only."""
    return dict(locals())
