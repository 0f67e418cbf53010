"""Entry point of the ``a2perf-energy`` distribution: registers the ``energy`` metric lazily."""

from __future__ import annotations

from collections.abc import Callable

from a2perf_core.api import MetricSpec, hookimpl


@hookimpl
def a2perf_register_metrics(register: Callable[[MetricSpec], None]) -> None:
    register(
        MetricSpec(
            name="energy",
            factory="a2perf_energy.metric:EnergyMetric",
            unit="kWh",
            direction="lower",
            description="energy per phase split into CPU/RAM/GPU, emissions and mean power (codecarbon offline "
            "tracker); states whether the CPU figure is measured (RAPL) or modelled",
        )
    )
